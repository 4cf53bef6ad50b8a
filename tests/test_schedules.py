"""mlnotes.schedules against torch.optim.lr_scheduler, closed forms, and through both optimizers."""

import itertools
import math

import numpy as np
import pytest
import torch

import mlnotes.optim as mo
from mlnotes.schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseSqrtDecay,
    LinearWarmup,
    StepDecay,
    TransformerWarmup,
)


def torch_rates(base, make_scheduler, steps):
    """The learning rate torch uses for updates 0, 1, ..., steps - 1."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = make_scheduler(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


@pytest.mark.parametrize(
    ("schedule", "make_scheduler"),
    [
        (StepDecay(0.5, step_size=7, gamma=0.3), lambda o: torch.optim.lr_scheduler.StepLR(o, 7, gamma=0.3)),
        (ExponentialDecay(0.5, gamma=0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
        (
            LinearWarmup(0.5, warmup_steps=10),
            lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=9),
        ),
        (
            CosineDecay(0.5, total_steps=20, min_lr=0.05),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=0.05),
        ),
    ],
)
def test_schedules_give_the_rates_of_their_torch_counterparts(schedule, make_scheduler):
    steps = 21  # through the end of the cosine's period and past the warm-up
    ours = [schedule(t) for t in range(steps)]
    assert ours == pytest.approx(torch_rates(schedule.base, make_scheduler, steps), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "schedule",
    [
        StepDecay(0.5, step_size=3),
        ExponentialDecay(0.5, gamma=0.8),
        InverseSqrtDecay(0.5),
        LinearWarmup(0.5, warmup_steps=5),
        TransformerWarmup(d_model=64, warmup_steps=5),
        CosineDecay(0.5, total_steps=8),
    ],
)
def test_every_schedule_works_through_lambda_lr_and_as_an_mlnotes_lr(schedule):
    steps = 12
    assert [schedule(t) for t in range(steps)] == pytest.approx(
        torch_rates(schedule.base, lambda o: torch.optim.lr_scheduler.LambdaLR(o, schedule.factor), steps),
        rel=1e-12,
        abs=1e-15,
    )

    def run(make):
        w = torch.tensor([1.0, -0.5], dtype=torch.float64, requires_grad=True)
        opt, sched = make(w)
        for _ in range(steps):
            opt.zero_grad()
            (0.5 * w**2 + 0.1 * w**4).sum().backward()
            opt.step()
            if sched is not None:
                sched.step()
        return w.detach()

    ours = run(lambda w: (mo.GradientDescent([w], lr=schedule), None))

    def with_torch(w):
        opt = torch.optim.SGD([w], lr=schedule.base)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, schedule.factor)

    torch.testing.assert_close(ours, run(with_torch), rtol=0, atol=1e-14)


def test_transformer_warmup_closed_form():
    d, w = 512, 4000
    sched = TransformerWarmup(d_model=d, warmup_steps=w)
    assert sched(0) == pytest.approx(d**-0.5 * w**-1.5)  # s = 1
    assert sched(w - 1) == pytest.approx((d * w) ** -0.5)  # the peak, s = w
    assert sched(4 * w - 1) == pytest.approx(d**-0.5 * (4 * w) ** -0.5)  # decaying as 1/sqrt(s)
    rates = [sched(t) for t in range(0, 3 * w, 97)]
    peak = max(range(len(rates)), key=rates.__getitem__)
    assert all(a < b for a, b in itertools.pairwise(rates[: peak + 1]))
    assert all(a > b for a, b in itertools.pairwise(rates[peak:]))
    assert TransformerWarmup(d, w, scale=2.0)(10) == pytest.approx(2 * sched(10))


def test_cosine_holds_its_minimum_after_the_period_and_inverse_sqrt_by_hand():
    cos = CosineDecay(1.0, total_steps=10, min_lr=0.1)
    assert cos(0) == 1.0 and cos(10) == pytest.approx(0.1) and cos(25) == pytest.approx(0.1)
    assert cos(5) == pytest.approx(0.55)
    assert [InverseSqrtDecay(0.3)(t) for t in (0, 3, 8)] == pytest.approx([0.3, 0.15, 0.1])


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: StepDecay(-0.1, 3), ValueError, "Invalid learning rate: -0.1"),
        (lambda: StepDecay(math.nan, 3), ValueError, "Invalid learning rate: nan"),
        (lambda: StepDecay("0.1", 3), TypeError, "lr must be a real number"),
        (lambda: StepDecay(0.1, 0), ValueError, "step_size must be a positive integer"),
        (lambda: StepDecay(0.1, 2.5), ValueError, "step_size must be a positive integer"),
        (lambda: StepDecay(0.1, 3, gamma=0.0), ValueError, r"gamma must be a number in \(0, 1\]"),
        (lambda: StepDecay(0.1, 3, gamma=np.float64(1.5)), ValueError, r"gamma must be a number in \(0, 1\]"),
        (lambda: StepDecay(0.1, 3, gamma="0.5"), TypeError, "gamma must be a real number, got str"),
        (lambda: StepDecay(0.1, 3, gamma=True), TypeError, "gamma must be a real number, got bool"),
        (lambda: StepDecay(0.1, np.float64(3.0)), ValueError, "step_size must be a positive integer"),
        (lambda: ExponentialDecay(0.1, gamma=1.5), ValueError, "gamma must be a number"),
        (lambda: LinearWarmup(0.1, 0), ValueError, "warmup_steps must be a positive integer"),
        (lambda: TransformerWarmup(0, 10), ValueError, "d_model must be a positive integer"),
        (lambda: TransformerWarmup(64, 10, scale=-1.0), ValueError, "Invalid scale: -1.0"),
        (lambda: CosineDecay(0.1, 0), ValueError, "total_steps must be a positive integer"),
        (lambda: CosineDecay(0.1, 10, min_lr=0.2), ValueError, "min_lr must not exceed lr"),
    ],
)
def test_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("t", [-1, 1.5, 3.0, True, np.float64(3.0), np.bool_(True), np.int64(-2), "3"])
def test_the_step_must_be_a_non_negative_integer(t):
    with pytest.raises(ValueError, match="the step t must be an integer >= 0"):
        ExponentialDecay(0.1, 0.9)(t)


def test_numpy_arguments_and_steps_are_accepted():
    base = float(np.float32(0.1))  # the float32 number nearest 0.1, as a Python float
    sched = StepDecay(np.float32(0.1), np.int64(10), np.float64(0.5))
    assert sched(np.int64(3)) == base and type(sched(np.int64(3))) is float
    assert [sched(np.int64(t)) for t in (9, 10, 25)] == [base, base * 0.5, base * 0.25]
    assert ExponentialDecay(np.float64(0.5), np.float32(0.5))(np.int32(3)) == 0.5 * 0.5**3
    assert ExponentialDecay(0.5, 0.5)(torch.tensor(2)) == 0.5 * 0.5**2  # a one-element integer tensor
    assert LinearWarmup(1.0, np.int64(4))(np.uint8(1)) == 0.5
    assert CosineDecay(np.float64(1.0), np.int64(10), min_lr=np.float32(0.0))(5) == pytest.approx(0.5)


# ---------------------------------------------------------------- a Schedule lr with a torch scheduler

NO_TORCH_SCHEDULER = (
    "a Schedule passed as lr cannot be combined with torch.optim.lr_scheduler: pass lr=schedule.base "
    "with LambdaLR(opt, schedule.factor), or use the schedule alone"
)


@pytest.mark.parametrize(
    "make_scheduler",
    [
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5),
        lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5**t),
        lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5),
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4),
        lambda opt: torch.optim.lr_scheduler.LinearLR(opt),
    ],
)
def test_a_schedule_lr_with_a_torch_scheduler_is_refused_in_one_line(make_scheduler):
    schedule = StepDecay(0.1, step_size=2)
    w = torch.ones(2, requires_grad=True)
    opt = mo.Adam([w], lr=schedule)
    with pytest.raises(TypeError) as caught:
        scheduler = make_scheduler(opt)
        w.grad = torch.ones(2)
        opt.step()
        scheduler.step()
    assert str(caught.value) == NO_TORCH_SCHEDULER
    assert opt.param_groups[0]["lr"] is schedule


def test_the_suggested_lambda_lr_gives_the_schedules_own_trajectory():
    schedule = StepDecay(0.1, step_size=2, gamma=0.5)
    ours = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    theirs = ours.detach().clone().requires_grad_()
    opt_ours = mo.Adam([ours], lr=schedule)
    opt_theirs = mo.Adam([theirs], lr=schedule.base)
    sched = torch.optim.lr_scheduler.LambdaLR(opt_theirs, schedule.factor)
    for _ in range(6):
        for w, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad()
            (w**2).sum().backward()
            opt.step()
        sched.step()
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-15)
