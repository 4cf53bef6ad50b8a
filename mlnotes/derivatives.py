r"""Gradient, Hessian and Hessian-vector products of a loss $L(\boldsymbol\theta)$.

The book writes the parameters of a network as one flat vector $\boldsymbol\theta\in\mathbb{R}^n$
(argument ``theta``) and the loss as a scalar function of it (argument ``loss_fn``). Around a point
$\boldsymbol\theta'$ the loss is described by

$$
\mathbf{g}_i = \frac{\partial L(\boldsymbol\theta')}{\partial \theta_i}, \qquad
\mathbf{H}_{ij} = \frac{\partial^2 L(\boldsymbol\theta')}{\partial \theta_i\,\partial \theta_j},
$$

the gradient ``gradient(loss_fn, theta)`` and the Hessian ``hessian(loss_fn, theta)``. For a network,
[`ModuleLoss`][] turns an ``nn.Module``, a loss and a batch of data into such a function of one flat
vector, so the same three functions serve both cases.

Forming $\mathbf{H}$ costs $n$ gradient evaluations and $n^2$ numbers of memory. A Hessian-vector
product $\mathbf{H}\mathbf{v}$ costs about one more gradient and no matrix at all: it is the
directional derivative of the gradient, $\mathbf{H}\mathbf{v} = \frac{d}{dt}\,\mathbf{g}
(\boldsymbol\theta + t\mathbf{v})\big|_{t=0}$. [`hvp`][] computes it forward-over-reverse (a JVP
of the gradient, ``torch.func``) or by differentiating $\mathbf{g}^\top\mathbf{v}$ a second time
(double backward).

**What they refuse.** The three functions need $L$ to be one fixed function of $\boldsymbol\theta$.
A loss that draws random numbers (a model with dropout in training mode) or changes a tensor while
it is evaluated (batch normalization in training mode updating its running statistics) has no
fixed gradient or Hessian, so it is refused with a ``ValueError`` that says to call
``model.eval()``, where ``torch.func`` would fail with a message about its transforms, or double
backward would quietly return a random number and update the model. A ``theta`` or ``v`` with NaN
or infinite entries, and a result that is not finite, are refused too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, jvp
from torch.func import hessian as _func_hessian

from mlnotes import _checks
from mlnotes._double_backward import double_backward_friendly

LossFn = Callable[[Tensor], Tensor]
HvpMethod = Literal["auto", "forward-over-reverse", "double-backward"]
HVP_METHODS: tuple[str, ...] = ("auto", "forward-over-reverse", "double-backward")


def _rng_states() -> list[Tensor]:
    states = [torch.random.get_rng_state()]
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states += torch.cuda.get_rng_state_all()
    return states


def _checked(loss_fn: object) -> LossFn:
    """Wrap ``loss_fn`` so that a loss without a fixed derivative fails with a clear message.

    A non-scalar or non-float loss is refused, and so is a loss that draws random numbers (dropout in
    training mode): its gradient and Hessian would change from call to call. The checks run inside
    the ``torch.func`` transforms, so they cost no extra evaluation.
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")

    def checked(theta: Tensor) -> Tensor:
        before = _rng_states()
        value = loss_fn(theta)
        if any(not torch.equal(a, b) for a, b in zip(before, _rng_states(), strict=True)):
            raise ValueError(_RANDOM)
        return _checks.scalar_output("loss_fn", value)

    return checked


_RANDOM = (
    "loss_fn drew random numbers (dropout in training mode?), so it has no fixed gradient or Hessian: "
    "call model.eval() first"
)
_TRANSFORM_ERRORS = {  # what torch.func says when a loss is not a pure function of theta
    "randomness": _RANDOM,
    "mutate a captured Tensor": (
        "loss_fn changes a tensor in place while it is evaluated (batch normalization in training mode "
        "updating its running statistics?): call model.eval() first, or use "
        "HessianOperator(..., mode='train') for the Hessian with batch statistics"
    ),
}


def _transform_error(error: RuntimeError) -> ValueError | None:
    """The clear message for a ``torch.func`` error that means "the loss is not a pure function"."""
    for marker, message in _TRANSFORM_ERRORS.items():
        if marker in str(error):
            return ValueError(message)
    return None


def _transformed(compute: Callable[[], Tensor], what: str) -> Tensor:
    """Run a ``torch.func`` computation, translating its errors and refusing a non-finite result."""
    try:
        result = compute()
    except RuntimeError as error:
        clear = _transform_error(error)
        if clear is None:
            raise
        raise clear from None
    return _finite_result(result, what)


def _finite_result(result: Tensor, what: str) -> Tensor:
    if not _checks.all_finite(result):
        raise ValueError(
            f"the {what} at theta is not finite (NaN or inf): loss_fn overflows or is undefined there; "
            "check theta and the data for NaN or inf, or lower the learning rate that led there"
        )
    return result


def _point(name: str, value: object) -> Tensor:
    """A finite, non-empty 1-D floating-point vector, detached."""
    return _checks.finite(name, _checks.vector(name, value).detach())


def gradient(loss_fn: LossFn, theta: Tensor) -> Tensor:
    r"""Gradient $\mathbf{g} = \nabla L(\boldsymbol\theta)$ of a scalar loss.

    Args:
        loss_fn: $L$, a function of a 1-D parameter vector that returns a 0-dim tensor.
        theta: $\boldsymbol\theta$, the point, a non-empty 1-D floating-point tensor.

    Returns:
        A tensor shaped like ``theta``.

    Raises:
        TypeError: ``theta`` is not a floating-point tensor, or ``loss_fn`` is not callable.
        ValueError: ``theta`` is not 1-D or not finite, ``loss_fn`` does not return a scalar or is
            not a pure function of ``theta`` (see the module notes), or the result is not finite.

    Examples:
        >>> import torch
        >>> gradient(lambda t: (t**2).sum(), torch.tensor([1.0, -2.0]))
        tensor([ 2., -4.])
    """
    theta = _point("theta", theta)
    checked = _checked(loss_fn)
    return _transformed(lambda: grad(checked)(theta), "gradient")


def hessian(loss_fn: LossFn, theta: Tensor) -> Tensor:
    r"""Hessian $\mathbf{H}_{ij} = \partial^2 L / \partial\theta_i \partial\theta_j$, formed in full.

    Computed forward-over-reverse with ``torch.func.hessian``: $n$ Jacobian-vector products of the
    gradient. Use [`hvp`][] when $n$ is large and only products $\mathbf{H}\mathbf{v}$ are needed.

    Args:
        loss_fn: $L$, a function of a 1-D parameter vector that returns a 0-dim tensor.
        theta: $\boldsymbol\theta$, the point, a non-empty 1-D floating-point tensor.

    Returns:
        The symmetric ``(n, n)`` matrix $\mathbf{H}$.

    Raises:
        TypeError: ``theta`` is not a floating-point tensor, or ``loss_fn`` is not callable.
        ValueError: ``theta`` is not 1-D or not finite, ``loss_fn`` does not return a scalar or is
            not a pure function of ``theta`` (see the module notes), or the result is not finite.

    Examples:
        >>> import torch
        >>> hessian(lambda t: t[0] * t[1], torch.zeros(2))
        tensor([[0., 1.],
                [1., 0.]])
    """
    theta = _point("theta", theta)
    checked = _checked(loss_fn)
    return _transformed(lambda: _func_hessian(checked)(theta), "Hessian")


def hvp(
    loss_fn: LossFn,
    theta: Tensor,
    v: Tensor,
    *,
    method: HvpMethod = "auto",
) -> Tensor:
    r"""Hessian-vector product $\mathbf{H}\mathbf{v}$ without forming $\mathbf{H}$.

    Two ways, equal up to rounding, and ``"auto"`` (the default) that tries the first and falls back
    to the second when ``torch.func`` cannot trace the loss (in torch 2.13, for example, the
    forward-mode rule of ``F.mse_loss``'s backward fails with "ZeroTensors are immutable"):

    - ``"forward-over-reverse"``: $\mathbf{H}\mathbf{v}$ is the Jacobian-vector product of the
      gradient function in direction $\mathbf{v}$ (``torch.func.jvp`` of ``torch.func.grad``).
    - ``"double-backward"``: backpropagate once with a graph, then backpropagate
      $\mathbf{g}^\top\mathbf{v}$ again, since $\nabla_{\boldsymbol\theta}(\mathbf{g}^\top
      \mathbf{v}) = \mathbf{H}\mathbf{v}$. Works for code that ``torch.func`` cannot trace.

    Args:
        loss_fn: $L$, a function of a 1-D parameter vector that returns a 0-dim tensor.
        theta: $\boldsymbol\theta$, the point, a non-empty 1-D floating-point tensor.
        v: $\mathbf{v}$, the direction, same shape and dtype as ``theta``.
        method: ``"auto"`` (default), ``"forward-over-reverse"`` or ``"double-backward"``.

    Returns:
        $\mathbf{H}\mathbf{v}$, shaped like ``theta``.

    Raises:
        TypeError: ``theta`` or ``v`` is not a floating-point tensor.
        ValueError: shapes or dtypes of ``theta`` and ``v`` differ, either is not finite, an unknown
            ``method``, a non-scalar loss, a loss that is not a pure function of ``theta`` (see the
            module notes; ``"auto"`` then does not fall back), or a result that is not finite.

    Examples:
        >>> import torch
        >>> hvp(lambda t: t[0] * t[1], torch.zeros(2), torch.tensor([1.0, 0.0]))
        tensor([0., 1.])
    """
    theta = _point("theta", theta)
    v = _checks.floating_tensor("v", v).detach()
    if v.shape != theta.shape or v.dtype != theta.dtype:
        raise ValueError(
            f"v must match theta in shape and dtype: theta is {tuple(theta.shape)} {theta.dtype}, "
            f"v is {tuple(v.shape)} {v.dtype}"
        )
    method = _checks.choice("method", method, HVP_METHODS)
    _checks.finite("v", v)
    checked = _checked(loss_fn)
    if method == "double-backward":
        return _finite_result(_hvp_double_backward(checked, theta, v), "Hessian-vector product")
    try:
        result = jvp(grad(checked), (theta,), (v,))[1]
    except RuntimeError as error:
        # a loss that is not a pure function of theta must not fall back to double backward, where
        # it would run (and change the model, or draw random numbers) without complaint
        clear = _transform_error(error)
        if clear is not None:
            raise clear from None
        if method == "forward-over-reverse":
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ValueError(
                f"torch.func cannot take this loss forward-over-reverse ({first}): "
                "use method='auto' or method='double-backward'"
            ) from error
        result = _hvp_double_backward(checked, theta, v)
    return _finite_result(result, "Hessian-vector product")


def _hvp_double_backward(loss_fn: LossFn, theta: Tensor, v: Tensor) -> Tensor:
    theta = theta.clone().requires_grad_(True)
    with torch.enable_grad(), double_backward_friendly():
        loss = loss_fn(theta)
        if not loss.requires_grad:  # a constant loss has a zero Hessian
            return torch.zeros_like(v)
        (g,) = torch.autograd.grad(loss, theta, create_graph=True)
        if not g.requires_grad:  # a linear loss has a zero Hessian
            return torch.zeros_like(v)
        (hv,) = torch.autograd.grad(g, theta, grad_outputs=v, allow_unused=True)
    return torch.zeros_like(v) if hv is None else hv.detach()


class ModuleLoss:
    r"""The loss of a network on fixed data as a function of one flat parameter vector.

    ``ModuleLoss(model, loss_fn, inputs, targets)(theta)`` returns
    ``loss_fn(model(inputs), targets)`` computed with the model's trainable parameters replaced by
    the entries of ``theta`` (in the order of ``model.named_parameters()``). The model itself is not
    changed, so [`gradient`][], [`hessian`][] and [`hvp`][] apply to a network unchanged.

    The model is called in the mode it is in, and that mode must make the loss one deterministic
    function of $\boldsymbol\theta$ that leaves the model unchanged: a model in training mode with
    dropout or with batch normalization that tracks running statistics is refused (call
    ``model.eval()``; [`mlnotes.curvature.HessianOperator`][] offers the Hessian with batch statistics).
    The check is made when the loss is built and again at every call, since the mode may change.

    Args:
        model: the network; its parameters with ``requires_grad`` make up $\boldsymbol\theta$; they
            must share one real floating-point dtype and one device.
        loss_fn: ``loss_fn(outputs, targets)``, returning a 0-dim tensor (e.g. ``nn.MSELoss()``).
        inputs: the batch fed to ``model``, at least one example, on the model's device; floating-point
            inputs must have the model's dtype and be finite (integer inputs, e.g. token ids, pass).
        targets: the targets, with the same number of examples as ``inputs``.
        names: the names (as in ``model.named_parameters()``) of the trainable parameters that make
            up $\boldsymbol\theta$, taken in the model's order; the others keep their values. The
            default, ``None``, takes all of them.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``loss_fn`` is not callable, the data are not
            tensors, or floating-point inputs differ in dtype from the parameters.
        ValueError: the model has no trainable parameters or is in a training mode that makes the
            loss random or stateful, the data are empty, on another device, not finite, or inputs and
            targets differ in length; ``names`` that are empty, repeated, or not trainable parameters.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Linear(2, 1)
        >>> f = ModuleLoss(net, nn.MSELoss(), torch.ones(4, 2), torch.zeros(4, 1))
        >>> f.theta.shape
        torch.Size([3])
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[Tensor, Tensor], Tensor],
        inputs: Tensor,
        targets: Tensor,
        *,
        names: Sequence[str] | None = None,
    ) -> None:
        model = _checks.module("model", model)
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        for name, value in (("inputs", inputs), ("targets", targets)):
            if not isinstance(value, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if inputs.dim() == 0 or targets.dim() == 0 or inputs.shape[0] != targets.shape[0]:
            raise ValueError(
                "inputs and targets must hold the same number of examples (first dimension), "
                f"got shapes {tuple(inputs.shape)} and {tuple(targets.shape)}"
            )
        if inputs.shape[0] == 0:
            raise ValueError("inputs and targets hold no examples")
        named = _checks.trainable(model)
        if names is not None:
            named = _checks.parameter_subset("names", model, names)
        first = named[0][1]
        _checks.batch(inputs, targets, first.dtype, first.device, "")
        _checks.eval_mode(model, "ModuleLoss")
        self.model = model
        self.loss_fn = loss_fn
        self.inputs = inputs
        self.targets = targets
        self.names = [n for n, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.dtype = first.dtype

    @property
    def num_parameters(self) -> int:
        r"""$n$, the length of $\boldsymbol\theta$."""
        return sum(self.sizes)

    @property
    def theta(self) -> Tensor:
        """The model's current parameters as one flat vector (a detached copy)."""
        params = dict(self.model.named_parameters())
        return torch.cat([params[n].detach().reshape(-1) for n in self.names])

    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """Split a flat vector into the model's named parameter tensors."""
        theta = _checks.vector("theta", theta)
        if theta.numel() != self.num_parameters:
            raise ValueError(
                f"theta has {theta.numel()} entries but the model has {self.num_parameters} "
                "trainable parameters"
            )
        if theta.dtype != self.dtype:
            raise TypeError(f"theta has dtype {theta.dtype} but the model's parameters are {self.dtype}")
        pieces = torch.split(theta, self.sizes)
        return {n: p.view(s) for n, p, s in zip(self.names, pieces, self.shapes, strict=True)}

    def __call__(self, theta: Tensor) -> Tensor:
        _checks.eval_mode(self.model, "ModuleLoss")
        outputs = functional_call(self.model, self.unflatten(theta), (self.inputs,))
        return self.loss_fn(outputs, self.targets)
