"""The convolution and eval-mode batch norm of ``mlnotes._double_backward`` against PyTorch's own.

Each case builds a small network's loss as a function of its flat parameters, then compares, in
float64, the loss, the gradient, Hessian-vector products and a third-order product taken with the
mode on against the same taken without it; the Hessian also against ``torch.func.hessian``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mlnotes._double_backward import _Convolution, double_backward_friendly
from mlnotes.curvature import HessianOperator
from mlnotes.derivatives import ModuleLoss, hvp


def conv_net(dims: int, **options) -> nn.Module:
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]
    norm = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dims]
    torch.manual_seed(0)
    net = nn.Sequential(
        conv(2, 4, 3, **options),
        norm(4),
        nn.Tanh(),  # smooth, so that the Hessian has second-derivative terms through every layer
        conv(4, 4, 3, padding=1, bias=False),
        norm(4, affine=False),
        nn.Tanh(),
        nn.Flatten(),
        nn.LazyLinear(3),
    ).double()
    shape = {1: (5, 2, 9), 2: (5, 2, 7, 7), 3: (5, 2, 5, 5, 5)}[dims]
    net(torch.randn(shape, dtype=torch.float64))  # sizes the lazy layer
    for layer in net.modules():  # running statistics away from 0 and 1, so that they matter
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 2.0)
    return net.eval()


CASES = [
    (1, {}),
    (2, {}),
    (3, {}),
    (2, {"stride": 2, "padding": 1}),
    (2, {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}),
    (2, {"groups": 2}),
    (2, {"padding": "valid"}),
    (2, {"padding": "same"}),  # not taken over: PyTorch's path
    (2, {"padding": 1, "padding_mode": "reflect"}),
    (1, {"bias": False, "stride": 2}),
]


def loss_of(net: nn.Module, dims: int) -> tuple[ModuleLoss, torch.Tensor]:
    shape = {1: (5, 2, 9), 2: (5, 2, 7, 7), 3: (5, 2, 5, 5, 5)}[dims]
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (5,), generator=gen)
    loss = ModuleLoss(net, nn.CrossEntropyLoss(), x, y)
    theta = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    return loss, theta


def derivatives(loss, theta, v, u, friendly: bool):
    """The loss, its gradient, Hv and the third-order product d(u^T H v)/d theta."""
    theta = theta.clone().requires_grad_(True)
    with torch.enable_grad(), double_backward_friendly() if friendly else torch.enable_grad():
        value = loss(theta)
        (g,) = torch.autograd.grad(value, theta, create_graph=True)
        (hv,) = torch.autograd.grad(g, theta, grad_outputs=v, create_graph=True)
        (third,) = torch.autograd.grad(hv @ u, theta)
    return value.detach(), g.detach(), hv.detach(), third


@pytest.mark.parametrize(("dims", "options"), CASES)
def test_every_derivative_equals_pytorchs_own(dims, options):
    net = conv_net(dims, **options)
    loss, theta = loss_of(net, dims)
    gen = torch.Generator().manual_seed(2)
    v, u = (torch.randn(theta.shape, generator=gen, dtype=torch.float64) for _ in range(2))
    ours = derivatives(loss, theta, v, u, friendly=True)
    plain = derivatives(loss, theta, v, u, friendly=False)
    assert float(plain[2].norm()) > 1e-3  # a Hessian that is not zero in that direction
    for mine, theirs in zip(ours, plain, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-12)
    exact = torch.func.hessian(loss)(theta)
    product = hvp(loss, theta, v, method="double-backward")
    torch.testing.assert_close(product, exact @ v, rtol=1e-10, atol=1e-12)


def test_the_mode_takes_over_numeric_padding_and_eval_batch_norm_only():
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    mean, var = torch.zeros(3), torch.ones(3)
    with double_backward_friendly():
        taken = F.conv2d(x, w, padding=1)
        same = F.conv2d(x, w, padding="same")
        unbatched = F.conv2d(x[0], w, padding=1)
        eval_norm = F.batch_norm(x, mean, var, training=False)
        train_norm = F.batch_norm(x, None, None, training=True)
    assert type(taken.grad_fn).__name__ == "_ConvolutionBackward"
    assert issubclass(type(taken.grad_fn)._forward_cls, _Convolution)
    assert type(same.grad_fn).__name__ == "ConvolutionBackward0"
    assert type(unbatched.grad_fn).__name__ != "_ConvolutionBackward"
    assert type(eval_norm.grad_fn).__name__ == "AddcmulBackward0"
    assert type(train_norm.grad_fn).__name__ == "NativeBatchNormBackward0"
    torch.testing.assert_close(unbatched, F.conv2d(x[0], w, padding=1))
    torch.testing.assert_close(eval_norm, F.batch_norm(x, mean, var, training=False))


@pytest.mark.parametrize("params", [None, ["0.weight"], ["0.bias", "7.weight"], ["3.weight"]])
def test_the_operator_on_a_conv_net_and_on_its_layers_equals_torch_func(params):
    net = conv_net(2, padding=1)
    loss, theta = loss_of(net, 2)
    op = HessianOperator(net, nn.CrossEntropyLoss(), (loss.inputs, loss.targets), params=params)
    assert op.cache_graph
    names = [n for n, _ in net.named_parameters()]
    sizes = [p.numel() for p in net.parameters()]
    exact = torch.func.hessian(loss)(theta)
    chosen = [params is None or n in params for n in names]
    keep = torch.cat([torch.full((s,), c) for c, s in zip(chosen, sizes, strict=True)])
    torch.testing.assert_close(op.dense(), exact[keep][:, keep], rtol=1e-10, atol=1e-12)


def test_float32_products_agree_with_pytorchs_to_rounding():
    net = conv_net(2, padding=1)
    loss, theta = loss_of(net, 2)
    loss = ModuleLoss(net.float(), nn.CrossEntropyLoss(), loss.inputs.float(), loss.targets)
    theta = theta.float()
    v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(3))
    ours = derivatives(loss, theta, v, v, friendly=True)[2]
    plain = derivatives(loss, theta, v, v, friendly=False)[2]
    torch.testing.assert_close(ours, plain, rtol=1e-4, atol=1e-5 * float(plain.abs().max()))
