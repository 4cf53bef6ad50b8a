"""mlnotes.BatchNorm against torch.nn.BatchNorm1d and BatchNorm2d: outputs, gradients, running statistics,
eval mode."""

import numpy as np
import pytest
import torch
from torch import nn

from mlnotes.batchnorm import BatchNorm

F64 = torch.float64


def pair(num_features, dims=2, **kwargs):
    """Ours and PyTorch's for inputs of ``dims`` dimensions: BatchNorm1d for 2 and 3, BatchNorm2d for 4."""
    ours = BatchNorm(num_features, **kwargs).double()
    theirs = (nn.BatchNorm2d if dims == 4 else nn.BatchNorm1d)(num_features, **kwargs).double()
    return ours, theirs


def train_side_by_side(ours, theirs, shapes, seed=0, lr=0.1):
    """A few SGD steps on the same random batches; every output and gradient must agree."""
    gen = torch.Generator().manual_seed(seed)
    opts = [torch.optim.SGD(m.parameters(), lr=lr) for m in (ours, theirs) if list(m.parameters())]
    for shape in shapes:
        x = (torch.randn(*shape, generator=gen, dtype=F64) * 3 + 5).requires_grad_()
        x2 = x.detach().clone().requires_grad_()
        w = torch.randn(*shape, generator=gen, dtype=F64)  # a loss that weighs outputs unequally
        y_ours, y_theirs = ours(x), theirs(x2)
        torch.testing.assert_close(y_ours, y_theirs, rtol=1e-12, atol=1e-12)
        for opt in opts:
            opt.zero_grad()
        (w * y_ours).sum().backward()
        (w * y_theirs).sum().backward()
        torch.testing.assert_close(x.grad, x2.grad, rtol=1e-10, atol=1e-12)
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12)
        for opt in opts:
            opt.step()
        if theirs.track_running_stats:
            torch.testing.assert_close(ours.running_mean, theirs.running_mean, rtol=1e-12, atol=1e-14)
            torch.testing.assert_close(ours.running_var, theirs.running_var, rtol=1e-12, atol=1e-14)
            assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item()


@pytest.mark.parametrize(
    "shapes",
    [
        [(8, 3)] * 4,
        [(4, 3, 5)] * 3,
        [(2, 3), (7, 3), (16, 3)],
        [(4, 3, 5, 6)] * 3,
        [(1, 3, 2, 2), (5, 3, 4, 1), (2, 3, 7, 3)],  # one image of 2 x 2, then other sizes
    ],
)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"momentum": 0.3, "eps": 1e-3},
        {"momentum": None},
        {"affine": False},
        {"track_running_stats": False},
    ],
)
def test_training_steps_and_eval_mode_equal_torch(shapes, kwargs):
    ours, theirs = pair(3, dims=len(shapes[0]), **kwargs)
    train_side_by_side(ours, theirs, shapes)
    ours.eval()
    theirs.eval()
    x = torch.randn(1, *shapes[0][1:], dtype=F64)  # eval mode accepts a single example
    if not theirs.track_running_stats:
        x = torch.randn(2, *shapes[0][1:], dtype=F64)  # then eval mode still uses batch statistics
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-12, atol=1e-12)


def test_running_statistics_by_hand():
    bn = BatchNorm(1).double()
    x = torch.tensor([[1.0], [2.0], [6.0]], dtype=F64)  # mean 3, biased var 14/3, unbiased var 7
    y = bn(x)
    torch.testing.assert_close(bn.running_mean, torch.tensor([0.3], dtype=F64))
    torch.testing.assert_close(bn.running_var, torch.tensor([0.9 + 0.7], dtype=F64))
    torch.testing.assert_close(y.squeeze(), (x.squeeze() - 3) / (14 / 3 + 1e-5) ** 0.5)
    bn.eval()
    torch.testing.assert_close(bn(torch.tensor([[0.3]], dtype=F64)), torch.zeros(1, 1, dtype=F64))


def test_examples_of_a_batch_are_coupled():
    bn = BatchNorm(2).double()
    a = torch.tensor([[1.0, 2.0], [3.0, 5.0], [0.0, 1.0]], dtype=F64)
    b = a.clone()
    b[2] = torch.tensor([10.0, -4.0])  # change only the third example
    assert not torch.allclose(bn(a)[0], bn(b)[0])  # and the first example's output changes
    bn.eval()
    torch.testing.assert_close(bn(a)[0], bn(b)[0])  # in eval mode it does not


def test_state_dicts_load_across():
    ours, theirs = pair(4)
    train_side_by_side(ours, theirs, [(6, 4)] * 2)
    fresh = nn.BatchNorm1d(4).double()
    fresh.load_state_dict(ours.state_dict())
    fresh.eval()
    ours.eval()
    x = torch.randn(3, 4, dtype=F64)
    torch.testing.assert_close(fresh(x), ours(x))


def test_one_value_per_channel_in_training_fails_like_torch():
    ours, theirs = pair(3)
    x = torch.randn(1, 3, dtype=F64)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training") as err:
        ours(x)
    with pytest.raises(ValueError) as torch_err:
        theirs(x)
    assert str(err.value) == str(torch_err.value)
    ours.eval()
    ours(x)  # fine in eval mode
    pair_3d = BatchNorm(3)
    pair_3d(torch.randn(1, 3, 2))  # one example, but two values per channel: allowed, as in torch


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_features": 0}, ValueError, "num_features"),
        ({"num_features": 2, "eps": 0.0}, ValueError, "epsilon"),
        ({"num_features": 2, "eps": "1e-5"}, TypeError, "eps"),
        ({"num_features": 2, "momentum": 1.5}, ValueError, "momentum"),
        ({"num_features": 2, "momentum": float("nan")}, ValueError, "momentum"),
        ({"num_features": 2, "affine": 1}, TypeError, "affine"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        BatchNorm(**kwargs)


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (torch.zeros(4, 3, 2, 2, 2), ValueError, r"expected 2D, 3D or 4D input \(got 5D input\)"),
        (torch.zeros(4), ValueError, "got 1D input"),
        (torch.zeros(4, 2), ValueError, "expected 3 channels"),
        (torch.zeros(4, 3, dtype=torch.long), TypeError, "floating-point"),
    ],
)
def test_bad_inputs(x, error, message):
    with pytest.raises(error, match=message):
        BatchNorm(3)(x)


@pytest.mark.parametrize("affine", [np.bool_(True), np.bool_(False)])
@pytest.mark.parametrize("track", [np.bool_(True), np.bool_(False)])
def test_numpy_bools_are_accepted_as_torch_accepts_them(affine, track):
    ours = BatchNorm(3, affine=affine, track_running_stats=track)
    theirs = nn.BatchNorm1d(3, affine=affine, track_running_stats=track)
    assert type(ours.affine) is bool and type(ours.track_running_stats) is bool
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("name", ["affine", "track_running_stats"])
def test_a_flag_that_is_not_a_bool_is_refused_naming_it(name):
    with pytest.raises(TypeError, match=rf"^{name} must be True or False, got 1"):
        BatchNorm(3, **{name: 1})


def test_a_convolutional_batch_is_normalized_per_channel_over_examples_and_positions():
    """By hand: channel c of (N, C, H, W) has mean 0 and biased variance 1 over its N H W values."""
    x = torch.randn(6, 4, 5, 3, dtype=F64) * torch.tensor([1.0, 3.0, 0.1, 10.0], dtype=F64).view(1, 4, 1, 1)
    y = BatchNorm(4, eps=1e-12).double()(x + 7)
    per_channel = y.transpose(0, 1).reshape(4, -1)
    torch.testing.assert_close(per_channel.mean(dim=1), torch.zeros(4, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(
        per_channel.var(dim=1, unbiased=False), torch.ones(4, dtype=F64), rtol=1e-9, atol=0
    )


def test_batchnorm_in_a_convolutional_network_trains_like_torchs():
    """A conv -> BatchNorm -> ReLU -> conv network, ours against nn.BatchNorm2d, same weights and batches."""
    torch.manual_seed(0)

    def network(norm):
        return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), norm(4), nn.ReLU(), nn.Conv2d(4, 1, 1)).double()

    ours, theirs = network(BatchNorm), network(nn.BatchNorm2d)
    theirs.load_state_dict(ours.state_dict())
    opts = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (ours, theirs)]
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        x = torch.randn(8, 2, 6, 6, generator=gen, dtype=F64)
        for model, opt in zip((ours, theirs), opts, strict=True):
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=name)
    ours.eval()
    theirs.eval()
    x = torch.randn(3, 2, 6, 6, generator=gen, dtype=F64)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-10, atol=1e-12)
