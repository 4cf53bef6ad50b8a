r"""Learning-rate schedules $\eta^t$, for ``mlnotes`` optimizers and for ``torch.optim``.

A schedule is a callable of the step $t = 0, 1, 2, \dots$ (the number of updates already made) that
returns the learning rate of update $t$. It is the product of a base rate and a factor,
``schedule(t) == schedule.base * schedule.factor(t)``, which makes it usable in two ways:

```python
opt = mlnotes.Adam(model.parameters(), lr=LinearWarmup(1e-3, warmup_steps=100))

# the same rates in torch: call sched.step() after every opt.step()
opt = torch.optim.Adam(model.parameters(), lr=schedule.base)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=schedule.factor)
```

A schedule passed as ``lr`` is evaluated by the optimizer itself and must not be combined with a
``torch.optim.lr_scheduler`` as well: the scheduler's first computation with ``group["lr"]`` raises a
``TypeError`` that says so (rather than Python's "unsupported operand").

Rates and factors may be Python or NumPy numbers, step counts Python or NumPy integers; the step
$t$ must be an integer >= 0 (a bool, or a float such as ``3.0``, is refused).
"""

from __future__ import annotations

import inspect
import math

from mlnotes import _checks


def _step(t: object) -> int:
    """The step: a Python or NumPy integer >= 0 (a bool or a float such as 3.0 is refused)."""
    try:
        step = _checks.integer("t", t)
    except TypeError:
        step = -1
    if step < 0:
        raise ValueError(f"the step t must be an integer >= 0, got {t!r}")
    return step


def _base_lr(lr: object) -> float:
    """The optimizers' learning-rate check, without the schedule: a schedule's base is a number."""
    if callable(lr):
        raise TypeError(f"lr must be a real number, got {type(lr).__name__}")
    return _checks.learning_rate(lr)


def _gamma(gamma: object) -> float:
    return _checks.interval("gamma", gamma, 0.0, 1.0, closed="right")


_NO_TORCH_SCHEDULER = (
    "a Schedule passed as lr cannot be combined with torch.optim.lr_scheduler: pass lr=schedule.base "
    "with LambdaLR(opt, schedule.factor), or use the schedule alone"
)


class Schedule:
    """Base class: ``base`` times ``factor(t)``; subclasses implement ``factor``."""

    base: float

    def factor(self, t: int) -> float:
        raise NotImplementedError

    def __call__(self, t: int) -> float:
        return self.base * self.factor(_step(t))

    def _not_arithmetic(self, other: object) -> None:
        raise TypeError(_NO_TORCH_SCHEDULER)

    # torch.optim.lr_scheduler computes with group["lr"] (StepLR, ExponentialLR, LinearLR multiply
    # it, LambdaLR multiplies the initial lr, CosineAnnealingLR adds and subtracts): a schedule in
    # group["lr"] refuses all of it with one message, instead of Python's "unsupported operand"
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _not_arithmetic
    __add__ = __radd__ = __sub__ = __rsub__ = __pow__ = _not_arithmetic

    def __repr__(self) -> str:
        """The constructor call that makes this schedule (``base`` is shown as ``lr`` where it is one)."""
        arguments = inspect.signature(type(self).__init__).parameters
        fields = {("lr" if k == "base" else k): v for k, v in vars(self).items()}
        shown = ", ".join(f"{k}={v!r}" for k, v in fields.items() if k in arguments)
        return f"{type(self).__name__}({shown})"


class StepDecay(Schedule):
    r"""$\eta^t = \eta\,\gamma^{\lfloor t / s \rfloor}$: multiply by $\gamma$ every $s$ steps.

    The same rates as ``torch.optim.lr_scheduler.StepLR(opt, step_size=s, gamma=gamma)``.
    """

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1):
        self.base = _base_lr(lr)
        self.step_size = _checks.positive_int("step_size", step_size)
        self.gamma = _gamma(gamma)

    def factor(self, t: int) -> float:
        return self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    r"""$\eta^t = \eta\,\gamma^t$, as ``torch.optim.lr_scheduler.ExponentialLR``."""

    def __init__(self, lr: float, gamma: float):
        self.base = _base_lr(lr)
        self.gamma = _gamma(gamma)

    def factor(self, t: int) -> float:
        return self.gamma**t


class InverseSqrtDecay(Schedule):
    r"""$\eta^t = \eta/\sqrt{t+1}$, the decay the lecture pairs with Adagrad."""

    def __init__(self, lr: float):
        self.base = _base_lr(lr)

    def factor(self, t: int) -> float:
        return 1.0 / math.sqrt(t + 1)


class LinearWarmup(Schedule):
    r"""$\eta^t = \eta\,\min\!\left(1, \frac{t+1}{w}\right)$: rise linearly over $w$ steps, then hold.

    The same rates as ``torch.optim.lr_scheduler.LinearLR(opt, start_factor=1/w, total_iters=w-1)``.
    """

    def __init__(self, lr: float, warmup_steps: int):
        self.base = _base_lr(lr)
        self.warmup_steps = _checks.positive_int("warmup_steps", warmup_steps)

    def factor(self, t: int) -> float:
        return min(1.0, (t + 1) / self.warmup_steps)


class TransformerWarmup(Schedule):
    r"""The Transformer's warm-up: $\eta^t = d^{-0.5}\min\!\left(s^{-0.5}, s\,w^{-1.5}\right)$, $s = t+1$.

    It rises linearly for $w$ steps and then decays as $1/\sqrt{s}$; the peak, at $s = w$, is
    $(d\,w)^{-0.5}$. The formula counts steps from 1, so update $t$ (counted from 0 here) uses
    $s = t + 1$. ``scale`` multiplies the whole schedule (1 in the original paper).

    Examples:
        >>> sched = TransformerWarmup(d_model=512, warmup_steps=4000)
        >>> round(sched(3999) / (512 * 4000) ** -0.5, 12)   # the peak, at s = w
        1.0
    """

    def __init__(self, d_model: int, warmup_steps: int, scale: float = 1.0):
        self.d_model = _checks.positive_int("d_model", d_model)
        self.warmup_steps = _checks.positive_int("warmup_steps", warmup_steps)
        self.scale = _checks.nonnegative("scale", scale)
        self.base = self.scale * self.d_model**-0.5

    def factor(self, t: int) -> float:
        s = t + 1
        return min(s**-0.5, s * self.warmup_steps**-1.5)


class CosineDecay(Schedule):
    r"""$\eta^t = \eta_{\min} + \frac{\eta-\eta_{\min}}{2}\left(1 + \cos\frac{\pi\,\min(t, T)}{T}\right)$.

    From $\eta$ at $t = 0$ down to $\eta_{\min}$ at $t = T$, then held. For $t \le T$ the same rates
    as ``torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=T, eta_min=min_lr)``.
    """

    def __init__(self, lr: float, total_steps: int, min_lr: float = 0.0):
        self.base = _base_lr(lr)
        self.total_steps = _checks.positive_int("total_steps", total_steps)
        min_lr = _checks.nonnegative("min_lr", min_lr)
        if min_lr > self.base:
            raise ValueError(f"min_lr must not exceed lr, got min_lr={min_lr} > lr={self.base}")
        self.min_lr = min_lr

    def factor(self, t: int) -> float:
        if self.base == 0.0:
            return 0.0
        cosine = 0.5 * (1 + math.cos(math.pi * min(t, self.total_steps) / self.total_steps))
        ratio = self.min_lr / self.base
        return ratio + (1 - ratio) * cosine
