"""Penalties, weight decay, dropout and early stopping against hand derivations and torch."""

import itertools
import math

import pytest
import torch
from torch import nn

from mlnotes.regularization import Dropout, EarlyStopping, l1_penalty, l2_penalty

F64 = torch.float64


def test_penalties_and_their_gradients_by_hand():
    w = torch.tensor([1.5, -2.0, 0.0, 0.25], dtype=F64, requires_grad=True)
    b = torch.tensor([[3.0]], dtype=F64, requires_grad=True)
    l1 = l1_penalty([w, b], lam=0.1)
    assert l1.item() == pytest.approx(0.1 * (1.5 + 2.0 + 0.0 + 0.25 + 3.0))
    l1.backward()
    torch.testing.assert_close(w.grad, 0.1 * torch.sign(w.detach()))
    w.grad = None
    l2 = l2_penalty(w, lam=0.1)
    assert l2.item() == pytest.approx(0.1 * (2.25 + 4.0 + 0.0 + 0.0625))
    l2.backward()
    torch.testing.assert_close(w.grad, 2 * 0.1 * w.detach())


def trajectory(make_optimizer, lam=0.0, steps=25):
    """Train a small model on fixed data; ``lam`` > 0 adds l2_penalty(lam) to the loss."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    x, y = torch.randn(32, 5, dtype=F64), torch.randint(0, 3, (32,))
    opt = make_optimizer(net.parameters())
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        if lam:
            loss = loss + l2_penalty(net.parameters(), lam)
        loss.backward()
        opt.step()
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_sgd_weight_decay_is_the_l2_penalty_with_half_the_coefficient():
    decayed = trajectory(lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.02))
    penalized = trajectory(lambda p: torch.optim.SGD(p, lr=0.1), lam=0.01)
    torch.testing.assert_close(decayed, penalized, rtol=0, atol=1e-12)
    plain = trajectory(lambda p: torch.optim.SGD(p, lr=0.1))
    assert (decayed - plain).abs().max() > 1e-3  # the decay does something


def test_adam_weight_decay_is_l2_but_adamw_decay_is_not():
    penalized = trajectory(lambda p: torch.optim.Adam(p, lr=0.01), lam=0.05)
    coupled = trajectory(lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1))
    decoupled = trajectory(lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1))
    torch.testing.assert_close(coupled, penalized, rtol=0, atol=1e-12)
    assert (decoupled - penalized).abs().max() > 1e-3


def test_adamw_decays_the_weights_directly():
    """One AdamW step by hand: w <- (1 - lr d) w - lr m_hat / (sqrt(v_hat) + eps).

    At the first step m_hat / sqrt(v_hat) is sign(g), here (1, 1).
    """
    w = torch.tensor([2.0, -1.0], dtype=F64, requires_grad=True)
    opt = torch.optim.AdamW([w], lr=0.1, weight_decay=0.5, eps=0.0)
    (3 * w[0] - w[1] ** 2).backward()  # g = (3, 2)
    opt.step()
    start, sign = torch.tensor([2.0, -1.0], dtype=F64), torch.tensor([1.0, 1.0], dtype=F64)
    expected = start * (1 - 0.1 * 0.5) - 0.1 * sign
    torch.testing.assert_close(w.detach(), expected)


@pytest.mark.parametrize(
    ("p", "shape"), list(itertools.product([0.0, 0.1, 0.5, 0.9, 1.0], [(7,), (4, 5), (2, 3, 6)]))
)
def test_dropout_equals_torch_for_the_same_seed(p, shape):
    x = torch.randn(*shape, dtype=F64) + 3
    torch.manual_seed(42)
    ours = Dropout(p)(x)
    torch.manual_seed(42)
    theirs = nn.Dropout(p)(x)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_dropout_keeps_the_expectation_and_is_the_identity_in_eval_mode():
    torch.manual_seed(0)
    drop = Dropout(0.3)
    x = torch.full((200_000,), 2.0, dtype=F64)
    y = drop(x)
    kept = (y != 0).double().mean().item()
    assert kept == pytest.approx(0.7, abs=0.005)  # 5 standard errors of a share of 200,000
    assert set(y[y != 0].unique().tolist()) == {2.0 / 0.7}
    assert y.mean().item() == pytest.approx(2.0, abs=0.02)
    drop.eval()
    assert torch.equal(drop(x), x)


def test_dropout_gradient_is_the_mask():
    torch.manual_seed(1)
    x = torch.ones(10, dtype=F64, requires_grad=True)
    y = Dropout(0.5)(x)
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())


def test_dropout_refuses_nan_which_torch_lets_through():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        Dropout(float("nan"))
    nn.Dropout(float("nan"))  # accepted by torch: its check is p < 0 or p > 1


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_bad_probability_has_torchs_message(p):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1") as ours:
        Dropout(p)
    with pytest.raises(ValueError) as theirs:
        nn.Dropout(p)
    assert str(ours.value) == str(theirs.value)


def test_early_stopping_waits_for_patience_and_restores_the_best_weights():
    net = nn.Linear(2, 1)
    stopper = EarlyStopping(patience=3, min_delta=0.01)
    stops, states = [], []
    for loss in (1.0, 0.8, 0.795, 0.9, 0.7, 0.71, 0.705, 0.75, 0.6):
        with torch.no_grad():
            net.weight.add_(1.0)  # a different model at every check
        states.append(net.weight.detach().clone())
        stops.append(stopper.step(loss, net))
    # 0.795 is not better than 0.8 by more than min_delta (bad check 1), 0.9 is bad check 2, 0.7 is
    # the best; then 0.71, 0.705 and 0.75 are three bad checks in a row: stop at the eighth check
    assert stops == [False] * 7 + [True, False]
    assert (stopper.best_loss, stopper.best_epoch) == (0.6, 8)  # stepping on past a stop still records
    fresh = EarlyStopping(patience=3, min_delta=0.01)
    for loss in (1.0, 0.8, 0.795, 0.9, 0.7, 0.71, 0.705, 0.75):
        fresh.step(loss, net)
    assert (fresh.best_loss, fresh.best_epoch) == (0.7, 4)
    stopper.restore(net)
    torch.testing.assert_close(net.weight.detach(), states[8])


def test_early_stopping_errors():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="step"):
        EarlyStopping().restore(nn.Linear(1, 1))
    with pytest.raises(ValueError, match="val_loss is nan: the model diverged"):
        EarlyStopping().step(float("nan"), nn.Linear(1, 1))
    stopper = EarlyStopping(patience=1)
    stopper.step(1.0, nn.Linear(1, 1))
    with pytest.raises(ValueError, match=r"val_loss is inf: .*restore\(\) loads the best state"):
        stopper.step(float("inf"), nn.Linear(1, 1))
    assert stopper.best_loss == 1.0 and stopper.bad_checks == 0  # the refused value was not counted


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: l1_penalty(torch.ones(2), -0.1), ValueError, "lam"),
        (lambda: l2_penalty(torch.ones(2), float("nan")), ValueError, "lam"),
        (lambda: l2_penalty(nn.Linear(1, 1), 0.1), TypeError, "parameters"),
        (lambda: l2_penalty([torch.ones(2, dtype=torch.long)], 0.1), TypeError, "floating-point"),
        (lambda: l1_penalty([], 0.1), ValueError, "empty"),
        (lambda: l1_penalty(3.0, 0.1), TypeError, "iterable"),
    ],
)
def test_penalty_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("penalty", [l1_penalty, l2_penalty])
@pytest.mark.parametrize(
    "bad", [torch.tensor([1j, 2 + 0j]), torch.tensor([1, 2]), torch.tensor([True, False])]
)
def test_penalties_refuse_complex_and_integer_tensors_alone_or_in_a_list(penalty, bad):
    with pytest.raises(TypeError) as alone:
        penalty(bad, 1.0)
    with pytest.raises(TypeError) as listed:
        penalty([torch.ones(2), bad], 1.0)
    assert str(alone.value) == str(listed.value)
    assert "params" in str(alone.value) and "floating-point" in str(alone.value)
    assert "\n" not in str(alone.value)


def test_dropout_of_one_keeps_the_graph_with_a_zero_gradient_like_torch():
    ours_in = nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=F64))
    theirs_in = nn.Parameter(ours_in.detach().clone())
    ours = Dropout(1.0)(ours_in * 2)  # a layer before dropout must get a gradient too
    theirs = nn.Dropout(1.0)(theirs_in * 2)
    assert ours.requires_grad and ours.grad_fn is not None
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    ours.sum().backward()
    theirs.sum().backward()
    assert ours_in.grad is not None
    torch.testing.assert_close(ours_in.grad, theirs_in.grad, rtol=0, atol=0)
    assert torch.equal(ours_in.grad, torch.zeros(3, dtype=F64))


# ---------------------------------------------------------------- penalties that overflow their dtype


@pytest.mark.parametrize(
    ("call", "dtype"),
    [
        (lambda: l1_penalty(torch.ones(100000, dtype=torch.float16), 1.0), "torch.float16"),
        (lambda: l2_penalty(torch.full((2,), 1e30), 1.0), "torch.float32"),
        (lambda: l2_penalty(torch.ones(2, dtype=torch.bfloat16), 1e300), "torch.bfloat16"),
    ],
)
def test_a_penalty_that_overflows_its_dtype_is_refused(call, dtype):
    with pytest.raises(ValueError, match=rf"^l[12]_penalty overflows {dtype}: .*lam=") as caught:
        call()
    assert "\n" not in str(caught.value)


def test_a_penalty_of_weights_holding_nan_is_refused_naming_params():
    with pytest.raises(ValueError, match=r"^l2_penalty: params hold NaN or infinite values"):
        l2_penalty([torch.ones(2), torch.tensor([math.nan])], 0.1)


def test_a_half_precision_penalty_that_fits_is_computed_as_before():
    w = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float16)
    assert l1_penalty(w, 0.5).item() == 0.5 * (0.5 + 1.5 + 2.0)
    assert l2_penalty(w, 0.5).dtype == torch.float16


# ---------------------------------------------------------------- restoring into another model


def test_restore_into_a_model_with_other_keys_is_a_value_error_naming_them():
    stopper = EarlyStopping()
    stopper.step(1.0, nn.Linear(2, 2))
    other = nn.Sequential(nn.Linear(2, 2))
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(ValueError) as caught:
        stopper.restore(other)
    message = str(caught.value)
    assert "\n" not in message and "'0.weight'" in message and "'weight'" in message
    assert message.startswith("model does not have the keys of the saved best state (missing: '0.weight'")
    assert all(torch.equal(before[k], v) for k, v in other.state_dict().items())


def test_restore_into_a_model_with_other_shapes_is_a_value_error_naming_the_tensor():
    stopper = EarlyStopping()
    stopper.step(1.0, nn.Linear(2, 2))
    with pytest.raises(
        ValueError, match=r"other shapes than the saved best state \(weight \(2, 2\) vs \(2, 3\)"
    ):
        stopper.restore(nn.Linear(3, 2))
