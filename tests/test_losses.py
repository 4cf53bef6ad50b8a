"""mlnotes.losses against torch.nn.functional, by hand, and with hypothesis for logits of any size."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from mlnotes import losses

F64 = torch.float64

# logits of every magnitude up to 1e4, the range the issue asks for, and beyond
finite = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def batches(draw, max_classes=6, max_examples=5):
    c = draw(st.integers(1, max_classes))
    n = draw(st.integers(1, max_examples))
    values = draw(st.lists(finite, min_size=n * c, max_size=n * c))
    labels = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    return torch.tensor(values, dtype=F64).view(n, c), torch.tensor(labels)


@settings(max_examples=200, deadline=None)
@given(batches())
def test_softmax_and_log_softmax_equal_torch_and_stay_finite(batch):
    logits, _ = batch
    p, log_p = losses.softmax(logits), losses.log_softmax(logits)
    assert torch.isfinite(p).all() and torch.isfinite(log_p).all()
    torch.testing.assert_close(p, F.softmax(logits, dim=-1), rtol=1e-12, atol=1e-300)
    torch.testing.assert_close(log_p, F.log_softmax(logits, dim=-1), rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(p.sum(-1), torch.ones(len(logits), dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(losses.logsumexp(logits), torch.logsumexp(logits, -1), rtol=1e-12, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(batches())
def test_cross_entropy_with_class_indices_equals_torch_in_value_and_gradient(batch):
    logits, labels = batch
    ours_in = logits.clone().requires_grad_()
    theirs_in = logits.clone().requires_grad_()
    ours = losses.cross_entropy(ours_in, labels)
    theirs = F.cross_entropy(theirs_in, labels)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-9)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(ours_in.grad, theirs_in.grad, rtol=1e-10, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(batches(), st.data())
def test_cross_entropy_with_probability_targets_equals_torch(batch, data):
    logits, _ = batch
    raw = data.draw(st.lists(st.floats(0.0, 1.0), min_size=logits.numel(), max_size=logits.numel()))
    target = torch.tensor(raw, dtype=F64).view_as(logits)
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(
            losses.cross_entropy(logits, target, reduction=reduction),
            F.cross_entropy(logits, target, reduction=reduction),
            rtol=1e-12,
            atol=1e-9,
        )


@settings(max_examples=100, deadline=None)
@given(batches())
def test_one_hot_target_gives_the_same_loss_as_the_class_index(batch):
    logits, labels = batch
    as_probabilities = losses.one_hot(labels, logits.shape[1], dtype=F64)
    torch.testing.assert_close(
        losses.cross_entropy(logits, as_probabilities), losses.cross_entropy(logits, labels)
    )


def test_extreme_logits_of_plus_minus_1e4():
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=torch.float32)
    labels = torch.tensor([1, 2])
    naive = -(logits.exp() / logits.exp().sum(-1, keepdim=True)).log()
    assert not torch.isfinite(naive).all()  # the textbook formula overflows here
    ours = losses.cross_entropy(logits, labels, reduction="none")
    torch.testing.assert_close(ours, F.cross_entropy(logits, labels, reduction="none"))
    # by hand (float64, since float32 resolves 1e4 only to about 1e-3): row 1 picks -1e4 against a
    # max of 1e4, loss 2e4; row 2 is uniform over 3 classes, loss ln 3
    exact = losses.cross_entropy(logits.double(), labels, reduction="none")
    torch.testing.assert_close(exact, torch.tensor([2e4, math.log(3)], dtype=F64), rtol=1e-15, atol=1e-11)


def test_cross_entropy_by_hand():
    logits = torch.tensor([2.0, 0.0, -1.0], dtype=F64)
    p0 = math.exp(2) / (math.exp(2) + 1 + math.exp(-1))
    assert losses.cross_entropy(logits, torch.tensor(0)).item() == pytest.approx(-math.log(p0), rel=1e-14)


def test_two_classes_softmax_is_the_sigmoid_of_the_logit_difference():
    y = torch.tensor([[3.0, -1.0], [0.5, 0.25], [-800.0, 800.0]], dtype=F64)
    torch.testing.assert_close(losses.softmax(y)[:, 0], losses.sigmoid(y[:, 0] - y[:, 1]))
    torch.testing.assert_close(losses.sigmoid(y[:, 0] - y[:, 1]), torch.sigmoid(y[:, 0] - y[:, 1]))


def test_sigmoid_is_finite_and_exact_at_the_extremes():
    z = torch.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=F64)
    torch.testing.assert_close(losses.sigmoid(z), torch.sigmoid(z), rtol=1e-14, atol=0)


def test_softmax_mse_sums_over_classes_and_is_c_times_torchs_mse():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], dtype=F64)
    labels = torch.tensor([0, 2])
    p = F.softmax(logits, dim=-1)
    target = F.one_hot(labels, 3).to(F64)
    by_hand = ((target - p) ** 2).sum(dim=1).mean()
    ours = losses.softmax_mse(logits, labels)
    torch.testing.assert_close(ours, by_hand)
    torch.testing.assert_close(ours / 3, F.mse_loss(p, target))  # torch also averages over classes
    torch.testing.assert_close(losses.softmax_mse(logits, target), ours)


def test_one_hot_matches_torch_and_is_floating_point():
    labels = torch.tensor([[0, 3], [2, 1]])
    ours = losses.one_hot(labels, 4)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, F.one_hot(labels, 4).float())


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: losses.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3])), ValueError, "class 3"),
        (lambda: losses.cross_entropy(torch.zeros(2, 3), torch.tensor([-1, 0])), ValueError, "class -1"),
        (lambda: losses.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1, 2])), ValueError, "shape"),
        (lambda: losses.cross_entropy(torch.zeros(2, 3), torch.zeros(2, 4)), ValueError, "shape of logits"),
        (
            lambda: losses.cross_entropy(torch.zeros(2, 3, dtype=torch.long), torch.tensor([0, 1])),
            TypeError,
            "floating-point",
        ),
        (lambda: losses.cross_entropy(torch.zeros(2, 3), [0, 1]), TypeError, "torch.Tensor"),
        (lambda: losses.cross_entropy(torch.zeros(2, 3), torch.zeros(2, 3, dtype=F64)), TypeError, "dtype"),
        (
            lambda: losses.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), reduction="avg"),
            ValueError,
            "reduction",
        ),
        (lambda: losses.softmax(torch.zeros(2, 3, 4)), ValueError, r"\(N, C\)"),
        (lambda: losses.softmax(torch.zeros(2, 0)), ValueError, "C >= 1"),
        (lambda: losses.one_hot(torch.tensor([0.0, 1.0]), 2), TypeError, "integer"),
        (lambda: losses.one_hot(torch.tensor([0, 2]), 2), ValueError, r"\[0, 1\]"),
        (lambda: losses.one_hot(torch.tensor([0]), 0), ValueError, "num_classes"),
        (lambda: losses.one_hot(torch.tensor([0]), 2, dtype=torch.long), TypeError, "dtype"),
        (lambda: losses.sigmoid(torch.tensor([1])), TypeError, "floating-point"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


EMPTY_TARGETS = [torch.zeros(0, dtype=torch.long), torch.zeros(0, 3)]


@pytest.mark.parametrize("loss", [losses.cross_entropy, losses.softmax_mse])
@pytest.mark.parametrize("target", EMPTY_TARGETS)
def test_the_mean_over_an_empty_batch_is_refused_where_torch_returns_nan(loss, target):
    logits = torch.zeros(0, 3)
    assert torch.isnan(F.cross_entropy(logits, target))  # what torch does
    with pytest.raises(ValueError, match=r"empty batch.*reduction='sum'") as error:
        loss(logits, target)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("target", EMPTY_TARGETS)
def test_sum_and_none_over_an_empty_batch_are_those_of_torch(target):
    logits = torch.zeros(0, 3)
    for reduction in ("sum", "none"):
        theirs = F.cross_entropy(logits, target, reduction=reduction)
        torch.testing.assert_close(losses.cross_entropy(logits, target, reduction=reduction), theirs)
        mse = F.mse_loss(torch.zeros(0, 3), torch.zeros(0, 3), reduction="sum")
        if reduction == "sum":
            torch.testing.assert_close(losses.softmax_mse(logits, target, reduction="sum"), mse)
        else:
            assert losses.softmax_mse(logits, target, reduction="none").shape == (0,)


META = torch.device("meta")


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: losses.cross_entropy(torch.zeros(2, 3, device=META), torch.tensor([0, 1])), "logits"),
        (lambda: losses.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1], device=META)), "target"),
        (lambda: losses.cross_entropy(torch.zeros(2, 3), torch.zeros(2, 3, device=META)), "target"),
        (lambda: losses.softmax_mse(torch.zeros(2, 3, device=META), torch.tensor([0, 1])), "logits"),
        (lambda: losses.softmax_mse(torch.zeros(2, 3), torch.tensor([0, 1], device=META)), "target"),
        (lambda: losses.softmax(torch.zeros(2, 3, device=META)), "logits"),
        (lambda: losses.log_softmax(torch.zeros(3, device=META)), "logits"),
        (lambda: losses.logsumexp(torch.zeros(3, device=META)), "logits"),
        (lambda: losses.sigmoid(torch.zeros(3, device=META)), "z"),
        (lambda: losses.one_hot(torch.tensor([0, 1], device=META), 2), "labels"),
    ],
)
def test_meta_tensors_are_refused_in_one_line_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=f"^{name} is on the 'meta' device") as error:
        call()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("shape", "num_classes"), [((2,), 2**62), ((1,), 2**40 + 1), ((1024, 2), 2**30)])
def test_a_one_hot_too_large_to_exist_is_refused_naming_num_classes(shape, num_classes):
    labels = torch.zeros(shape, dtype=torch.long)
    with pytest.raises(ValueError, match=rf"^num_classes={num_classes} is too large: "):
        losses.one_hot(labels, num_classes)


def test_an_empty_one_hot_of_many_classes_is_torchs():
    out = losses.one_hot(torch.zeros(0, dtype=torch.long), 2**50)
    assert out.shape == (0, 2**50) and out.dtype == torch.float32


def test_nan_and_all_minus_inf_logits_give_nan_exactly_as_torch():
    logits = torch.tensor([[math.nan, 0.0, 1.0], [-math.inf] * 3, [0.0, 1.0, 2.0]])
    target = torch.tensor([1, 0, 2])
    ours = losses.cross_entropy(logits, target, reduction="none")
    theirs = F.cross_entropy(logits, target, reduction="none")
    torch.testing.assert_close(ours, theirs, equal_nan=True)
    assert ours[:2].isnan().all() and ours[2].isfinite()
    torch.testing.assert_close(losses.softmax(logits), F.softmax(logits, dim=-1), equal_nan=True)
    assert "gives NaN, exactly as" in losses.__doc__
