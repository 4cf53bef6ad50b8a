"""Adagrad, RMSProp and Adam of mlnotes: equal to torch.optim where the definitions coincide, and
different exactly as their docstrings say where they do not. float64 throughout."""

import math

import pytest
import torch
from optim_cases import batches, one_param, small_net, trajectory

import mlnotes.optim as mo
from mlnotes.schedules import InverseSqrtDecay


def run(make_optimizer, steps=30):
    net = small_net()
    return trajectory(net, make_optimizer(net.parameters()), batches(steps))


def same(a, b, atol=1e-13):
    torch.testing.assert_close(a, b, rtol=0, atol=atol)


# ---------------------------------------------------------------- where the definitions coincide


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)])
def test_adam_is_torch_adam(betas):
    same(
        run(lambda p: mo.Adam(p, lr=0.01, betas=betas, eps=1e-8)),
        run(lambda p: torch.optim.Adam(p, lr=0.01, betas=betas, eps=1e-8, foreach=False)),
    )


@pytest.mark.parametrize("alpha", [0.9, 0.99])
def test_adam_without_momentum_or_bias_correction_is_torch_rmsprop(alpha):
    same(
        run(lambda p: mo.Adam(p, lr=0.01, betas=(0.0, alpha), eps=1e-8, bias_correction=False)),
        run(lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=alpha, eps=1e-8, foreach=False)),
    )


def test_lecture_adagrad_with_the_lecture_decay_is_torch_adagrad():
    # eta^t = eta / sqrt(t + 1) turns the root mean square into the root of the sum; eps is made
    # negligible because it sits in different places (eps sqrt(t + 1) against eps)
    same(
        run(lambda p: mo.Adagrad(p, lr=InverseSqrtDecay(0.1), eps=1e-300)),
        run(lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-300, foreach=False)),
    )


# ---------------------------------------------------------------- where they differ, and by how much


def _one_weight(make):
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    return w, make([w])


def _steps(w, opt, grads):
    out = []
    for g in grads:
        before = w.item()
        w.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        out.append(w.item() - before)
    return out


GRADS = [2.0, -1.0, 0.5, 3.0, 1.0]


def test_lecture_adagrad_steps_are_sqrt_t_plus_1_times_torchs():
    ours = _steps(*_one_weight(lambda p: mo.Adagrad(p, lr=0.1, eps=1e-300)), GRADS)
    theirs = _steps(*_one_weight(lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-300)), GRADS)
    for t, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == pytest.approx(math.sqrt(t + 1) * b, rel=1e-12)
    # and by hand: sigma^t is the root mean square of the gradients so far
    for t, a in enumerate(ours):
        rms = math.sqrt(sum(g * g for g in GRADS[: t + 1]) / (t + 1))
        assert a == pytest.approx(-0.1 * GRADS[t] / rms, rel=1e-12)


def test_lecture_rmsprop_starts_at_the_first_gradient_and_torch_at_zero():
    alpha = 0.99
    ours = _steps(*_one_weight(lambda p: mo.RMSProp(p, lr=0.01, alpha=alpha, eps=1e-300)), GRADS)
    theirs = _steps(*_one_weight(lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=alpha, eps=1e-300)), GRADS)
    # first step: sigma^0 = |g^0| here, sqrt(1 - alpha) |g^0| in PyTorch: 10 times larger there
    assert ours[0] == pytest.approx(-0.01, rel=1e-12)
    assert theirs[0] == pytest.approx(ours[0] / math.sqrt(1 - alpha), rel=1e-12)
    # later steps by hand from the lecture's recursion
    sigma2 = GRADS[0] ** 2
    for t in range(1, len(GRADS)):
        sigma2 = alpha * sigma2 + (1 - alpha) * GRADS[t] ** 2
        assert ours[t] == pytest.approx(-0.01 * GRADS[t] / math.sqrt(sigma2), rel=1e-12)
        assert abs(ours[t] - theirs[t]) > 1e-4


def test_adam_bias_correction_by_hand():
    b1, b2, lr = 0.9, 0.999, 0.1
    ours = _steps(*_one_weight(lambda p: mo.Adam(p, lr=lr, betas=(b1, b2), eps=1e-300)), GRADS)
    m = v = 0.0
    for t, g in enumerate(GRADS):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))
        assert ours[t] == pytest.approx(-lr * m_hat / math.sqrt(v_hat), rel=1e-12)
    # the first bias-corrected step is lr * sign(g), whatever the size of g
    assert ours[0] == pytest.approx(-lr)


# ---------------------------------------------------------------- bad arguments, in PyTorch's words


@pytest.mark.parametrize("betas", [(-0.1, 0.9), (1.0, 0.9), (0.9, 1.0), (0.9, -1e-3), (math.nan, 0.9)])
def test_betas_outside_the_unit_interval(betas):
    index = 0 if not (0 <= betas[0] < 1) else 1
    with pytest.raises(ValueError, match=f"Invalid beta parameter at index {index}"):
        mo.Adam(one_param(), betas=betas)


def test_beta_messages_match_pytorchs():
    for betas in [(-0.5, 0.9), (0.9, 1.5)]:
        with pytest.raises(ValueError) as theirs:
            torch.optim.Adam(one_param(), betas=betas)
        with pytest.raises(ValueError) as ours:
            mo.Adam(one_param(), betas=betas)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("cls", [mo.Adagrad, mo.RMSProp, mo.Adam])
@pytest.mark.parametrize("eps", [0.0, -1e-8, math.nan, math.inf])
def test_eps_must_be_positive(cls, eps):
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        cls(one_param(), eps=eps)


def test_negative_eps_message_matches_pytorchs():
    with pytest.raises(ValueError) as theirs:
        torch.optim.Adam(one_param(), eps=-1.0)
    with pytest.raises(ValueError) as ours:
        mo.Adam(one_param(), eps=-1.0)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("alpha", [-0.1, 1.0, math.nan])
def test_rmsprop_alpha(alpha):
    with pytest.raises(ValueError, match="Invalid alpha value"):
        mo.RMSProp(one_param(), alpha=alpha)


@pytest.mark.parametrize("cls", [mo.Adagrad, mo.RMSProp, mo.Adam])
def test_negative_and_nan_lr(cls):
    for lr in (-0.1, math.nan):
        with pytest.raises(ValueError, match="Invalid learning rate"):
            cls(one_param(), lr=lr)


def test_adam_argument_types():
    with pytest.raises(TypeError, match="betas must be a pair"):
        mo.Adam(one_param(), betas=0.9)
    with pytest.raises(TypeError, match="betas\\[0\\] must be a real number"):
        mo.Adam(one_param(), betas=("0.9", 0.999))
    with pytest.raises(TypeError, match="bias_correction must be True or False"):
        mo.Adam(one_param(), bias_correction=1)
