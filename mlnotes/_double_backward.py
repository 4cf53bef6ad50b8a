r"""Convolution and eval-mode batch norm with a cheaper second backward pass.

A Hessian-vector product by double backward differentiates the gradient's graph once more. For a
convolution $\mathbf{y} = \mathbf{W} * \mathbf{x}$ the gradient's graph holds
$\mathbf{g}_x = \mathbf{W}^\top * \mathbf{g}_y$ and $\mathbf{g}_W = \mathbf{x} \star \mathbf{g}_y$
(a transposed convolution and a correlation), and differentiating them in directions
$(\dot{\mathbf{g}}_x, \dot{\mathbf{g}}_W, \dot{\mathbf{g}}_b)$ gives, by linearity in each argument,

$$
\frac{\partial}{\partial\mathbf{g}_y} = \mathbf{W} * \dot{\mathbf{g}}_x + \dot{\mathbf{g}}_W * \mathbf{x}
  + \dot{\mathbf{g}}_b, \qquad
\frac{\partial}{\partial\mathbf{x}} = \dot{\mathbf{g}}_W^\top * \mathbf{g}_y, \qquad
\frac{\partial}{\partial\mathbf{W}} = \dot{\mathbf{g}}_x \star \mathbf{g}_y:
$$

two convolutions, one input gradient and one weight gradient of a convolution. PyTorch 2.13's own
rule (``_convolution_double_backward``) computes the last one as a convolution of transposed tensors,
which on the CPU took 36 of the 160 ms of one product on the benchmarks' 1.2M-parameter network;
asking ``convolution_backward`` for the weight gradient, the kernel a training step uses, saves about
a tenth of each product. In evaluation mode batch norm is the affine map
$x\,\gamma/\sqrt{\sigma^2_{\text{run}} + \epsilon} + \beta - \mu_{\text{run}}\gamma/\sqrt{\cdot}$, and
writing it so (``addcmul``) is cheaper to differentiate twice than ``batch_norm``'s own backward.

[`double_backward_friendly`][] is a ``TorchFunctionMode`` (PyTorch's public hook for overriding
functions) under which ``conv1d``, ``conv2d``, ``conv3d`` with numeric padding and eval-mode
``batch_norm`` take these forms; every other call, and every derivative, is PyTorch's. The values and
derivatives of every order are the same functions, up to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.overrides import TorchFunctionMode

_aten = torch.ops.aten
_FORWARD = {1: torch.conv1d, 2: torch.conv2d, 3: torch.conv3d}  # F.conv2d is torch.conv2d
_CONVOLUTIONS = {conv: dims for dims, conv in _FORWARD.items()}


def _arguments(names: tuple[str, ...], args: tuple, kwargs: dict) -> dict:
    """The call's arguments by name, positional ones first."""
    return {**dict(zip(names, args, strict=False)), **kwargs}


def _per_dimension(value: int | Sequence[int], dims: int) -> list[int]:
    values = [int(value)] if isinstance(value, int) else [int(v) for v in value]
    return values * dims if len(values) == 1 else values


class _ConvolutionGradient(torch.autograd.Function):
    """``(g_x, g_W, g_b)`` of a convolution from ``g_y``, differentiable with the rule above."""

    @staticmethod
    def forward(ctx, grad_out, inputs, weight, mask, config):
        ctx.save_for_backward(grad_out, inputs, weight)
        ctx.config = config
        ctx.set_materialize_grads(False)
        stride, padding, dilation, groups = config
        bias_sizes = [weight.shape[0]] if mask[2] else None
        zeros = [0] * len(stride)
        return _aten.convolution_backward(
            grad_out, inputs, weight, bias_sizes, stride, padding, dilation, False, zeros, groups, mask
        )

    @staticmethod
    def backward(ctx, dot_x, dot_w, dot_b):
        grad_out, inputs, weight = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.config
        conv = _FORWARD[len(stride)]
        zeros = [0] * len(stride)
        d_grad_out = d_inputs = d_weight = None
        if ctx.needs_input_grad[0]:
            parts = []
            if dot_x is not None:
                parts.append(conv(dot_x, weight, None, stride, padding, dilation, groups))
            if dot_w is not None:
                parts.append(conv(inputs, dot_w, None, stride, padding, dilation, groups))
            if dot_b is not None:
                parts.append(dot_b.reshape(1, -1, *[1] * len(stride)).expand_as(grad_out))
            if parts:
                d_grad_out = sum(parts[1:], parts[0])
        if ctx.needs_input_grad[1] and dot_w is not None:
            mask = [True, False, False]
            d_inputs = _aten.convolution_backward(
                grad_out, inputs, dot_w, None, stride, padding, dilation, False, zeros, groups, mask
            )[0]
        if ctx.needs_input_grad[2] and dot_x is not None:
            mask = [False, True, False]
            d_weight = _aten.convolution_backward(
                grad_out, dot_x, weight, None, stride, padding, dilation, False, zeros, groups, mask
            )[1]
        return d_grad_out, d_inputs, d_weight, None, None


class _Convolution(torch.autograd.Function):
    """A convolution whose backward is [`_ConvolutionGradient`][], so that its second backward is too."""

    @staticmethod
    def forward(ctx, inputs, weight, bias, config):
        ctx.save_for_backward(inputs, weight)
        ctx.config = config
        stride, padding, dilation, groups = config
        return _FORWARD[len(stride)](inputs, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_out):
        inputs, weight = ctx.saved_tensors
        mask = list(ctx.needs_input_grad[:3])  # convolution_backward returns None where it is False
        return *_ConvolutionGradient.apply(grad_out, inputs, weight, mask, ctx.config), None


def _convolution(dims: int, args: tuple, kwargs: dict) -> Tensor | None:
    given = _arguments(("input", "weight", "bias", "stride", "padding", "dilation", "groups"), args, kwargs)
    padding = given.get("padding", 0)
    if isinstance(padding, str):  # "same" may pad unevenly; PyTorch's own path handles it
        if padding != "valid":
            return None
        padding = 0
    inputs, weight, bias = given["input"], given["weight"], given.get("bias")
    if inputs.dim() != dims + 2:  # unbatched input: PyTorch's path adds and removes the batch dimension
        return None
    config = (
        _per_dimension(given.get("stride", 1), dims),
        _per_dimension(padding, dims),
        _per_dimension(given.get("dilation", 1), dims),
        int(given.get("groups", 1)),
    )
    return _Convolution.apply(inputs, weight, bias, config)


def _eval_batch_norm(args: tuple, kwargs: dict) -> Tensor | None:
    names = ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps")
    given = _arguments(names, args, kwargs)
    mean, var = given.get("running_mean"), given.get("running_var")
    if given.get("training", False) or mean is None or var is None:
        return None
    x, weight, bias = given["input"], given.get("weight"), given.get("bias")
    if x.dim() < 2:  # PyTorch's own path gives the error
        return None
    scale = torch.rsqrt(var + given.get("eps", 1e-5))
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    shape = (1, -1, *[1] * (x.dim() - 2))
    return torch.addcmul(shift.reshape(shape), x, scale.reshape(shape))


class double_backward_friendly(TorchFunctionMode):
    """Within it, convolutions and eval-mode batch norm build graphs that are cheaper to differentiate
    twice (see the module notes); used where the operator builds a gradient graph to differentiate."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = None
        if func in _CONVOLUTIONS:
            result = _convolution(_CONVOLUTIONS[func], args, kwargs)
        elif func is F.batch_norm:
            result = _eval_batch_norm(args, kwargs)
        return func(*args, **kwargs) if result is None else result
