r"""Optimizers in the book's notation, as ``torch.optim.Optimizer`` subclasses.

The book writes the parameters as $\boldsymbol\theta$, the gradient of the loss of the current batch
at step $t$ as $\mathbf{g}^t$ and the learning rate as $\eta$ (or $\eta^t$ when it follows a
schedule). Every optimizer here shares one skeleton, [`OptimizerBase`][]: it validates the
hyperparameters, reads the learning rate of step $t$ (a number, or a schedule $t \mapsto \eta^t$) in
one place, keeps a step counter per parameter, and leaves one method, ``_update``, to each
optimizer. They drop into any PyTorch training loop:

```python
opt = Momentum(model.parameters(), lr=0.1, momentum=0.9)
for x, y in batches:
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()
```

A schedule is any function of the step $t = 0, 1, 2, \dots$ that returns a learning rate, for
example ``lr=lambda t: 0.1 / (t + 1) ** 0.5``. A number works with ``torch.optim.lr_scheduler`` as
well, which rewrites ``group["lr"]``; a schedule passed as ``lr`` cannot be combined with one (a
[`mlnotes.schedules.Schedule`][] there makes the scheduler raise a ``TypeError`` that says so).

Hyperparameters are Python or NumPy numbers (a one-element tensor too, as PyTorch allows), and
they are checked wherever they come from: the constructor, a parameter group, a value edited in
``group[...]`` before a ``step()``. Beyond the formulas, these optimizers differ from
``torch.optim`` in what they accept and how they compute:

- refused here, accepted by PyTorch: ``eps = 0`` (a zero gradient entry would give 0/0), a
  momentum of 1 or more (``torch.optim.SGD`` takes any momentum >= 0), a NaN learning rate;
- a ``step()`` checks every group's hyperparameters, every learning rate $\eta^t$ and the
  gradients' layout before it changes anything: when it raises, no parameter and no state moved;
- a gradient holding NaN or inf is refused with [`NonFiniteGradient`][] (a ``ValueError``) before
  any update, where ``torch.optim`` writes the NaN into the parameters and the state. The check
  costs one host-device synchronization per step (per device);
- a parameter group with a ``torch.optim`` option these optimizers do not implement, set to a value
  that would change the update (``weight_decay=0.1``, ``nesterov=True``, ``amsgrad=True``,
  ``maximize=True``, ``foreach=True``, ...), is refused when the group is added; ``torch.optim``
  would apply it, and silently ignoring it would give other numbers;
- ``state_dict()`` records which optimizer saved it (the key ``"mlnotes_optimizer"``), and
  ``load_state_dict`` refuses a state saved by another optimizer, ``torch.optim``'s included, whose
  state would otherwise fail at the next ``step()`` or be mixed with this one's;
- float16 and bfloat16 parameters are computed in float32: the state is kept in float32 and the
  result is rounded to the parameter's dtype. ``torch.optim`` computes in the parameter's dtype,
  where $\epsilon = 10^{-8}$ rounds to 0 and a zero gradient entry turns Adam's update into NaN.

A complex parameter is optimized as its real view, its real and imaginary parts as two real
parameters (the squares of Adagrad, RMSProp and Adam are taken per part), exactly as
``torch.optim`` does; its state has that real shape ``(..., 2)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager
from itertools import chain
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.optimizer import ParamsT

from mlnotes import _checks, _deprecation

__all__ = [
    "Adagrad",
    "Adam",
    "GradientDescent",
    "Momentum",
    "NonFiniteGradient",
    "OptimizerBase",
    "RMSProp",
    "check_lr",
]

LearningRate = float | Callable[[int], float]
Check = Callable[[object], object]
SAVED_BY = "mlnotes_optimizer"  # the state_dict key naming the optimizer that saved it


class NonFiniteGradient(ValueError):
    """A ``step()`` found a gradient holding NaN or inf, and changed no parameter and no state."""


# torch.optim options without a counterpart here: the values that leave the update unchanged, and
# what to do instead of the others (the name of the class is put in front of the message)
_SWITCHES = ("foreach", "fused", "capturable", "differentiable")  # None or False only
_TORCH_OPTIONS: dict[str, str] = {
    "weight_decay": "add mlnotes.l2_penalty to the loss, or use torch.optim.{weight_decay}",
    "nesterov": "use torch.optim.SGD(nesterov=True)",
    "dampening": "use torch.optim.SGD(dampening=...)",
    "maximize": "minimize the negated loss, or use torch.optim.{torch}(maximize=True)",
    "amsgrad": "use torch.optim.Adam(amsgrad=True)",
    "centered": "use torch.optim.RMSprop(centered=True)",
    "lr_decay": "pass a schedule as lr, e.g. lr=lambda t: eta / (1 + t * lr_decay), "
    "or use torch.optim.Adagrad",
    "initial_accumulator_value": "use torch.optim.Adagrad(initial_accumulator_value=...)",
    **dict.fromkeys(
        _SWITCHES, "leave it unset (None or False): the update is computed one parameter at a time"
    ),
}


def _inactive(key: str, value: object) -> bool:
    """Whether a torch.optim option has a value that leaves the update as it is (0, False, None)."""
    if value is None or (_checks._is_bool(value) and not value):
        return True
    if key in _SWITCHES:
        return False
    try:
        return not _checks._is_bool(value) and _checks.real(key, value) == 0.0
    except TypeError:
        return False


def check_lr(lr: object) -> LearningRate:
    """Validate a learning rate: a finite number >= 0, or a callable schedule of the step."""
    return lr if callable(lr) else _checks.learning_rate(lr)


def _unit_interval(name: str, value: object, message: str) -> float:
    """A float in [0, 1); ``message`` is PyTorch's wording for the error."""
    value = _checks.real(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(message.format(value))
    return value


def _epsilon(eps: object) -> float:
    eps = _checks.real("eps", eps)
    if not 0.0 < eps < math.inf:  # PyTorch accepts 0; here the denominator must stay positive
        raise ValueError(f"Invalid epsilon value: {eps}")
    return eps


def _momentum(momentum: object) -> float:
    return _unit_interval("momentum", momentum, "Invalid momentum value: {}")


def _alpha(alpha: object) -> float:
    return _unit_interval("alpha", alpha, "Invalid alpha value: {}")


def _betas(betas: object) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    beta1 = _unit_interval("betas[0]", betas[0], "Invalid beta parameter at index 0: {}")
    beta2 = _unit_interval("betas[1]", betas[1], "Invalid beta parameter at index 1: {}")
    return beta1, beta2


def _bias_correction(value: object) -> bool:
    return _checks.flag("bias_correction", value)


@contextmanager
def _prefixed(where: str):
    """Put ``where`` (which parameter group) in front of a ``TypeError``/``ValueError`` raised inside."""
    try:
        yield
    except (TypeError, ValueError) as error:
        error.args = (f"{where}{error}",)
        raise


def _real(tensor: Tensor) -> Tensor:
    """A complex tensor as its real view, shape ``(..., 2)``, as torch.optim treats it; others as they are."""
    return torch.view_as_real(tensor) if tensor.is_complex() else tensor


def _low_precision(tensor: Tensor) -> bool:
    """float16, bfloat16 (and the real view of a complex32): computed in float32 here."""
    return _real(tensor).dtype.itemsize < 4


class OptimizerBase(Optimizer):
    r"""The skeleton every ``mlnotes`` optimizer shares.

    A subclass declares its hyperparameters once, as ``hyperparameters``: a mapping from each name
    to the check that validates it and returns the value to use. The same checks run on the
    constructor's arguments, on every parameter group (those given as dicts and those added with
    ``add_param_group``), and at every ``step`` on the values then in ``group[...]``, so a value
    edited by hand after construction is refused too. A ``torch.optim`` option without a
    counterpart here (``weight_decay``, ``nesterov``, ``amsgrad``, ``maximize``, ``foreach``, ...)
    is refused when a group is added, unless its value leaves the update unchanged (0, ``False``,
    ``None``). Other keys, such as those ``torch.optim.lr_scheduler`` adds to a group later
    (``initial_lr``, ``max_lr``, ...), are left alone, as ``torch.optim`` leaves them. The subclass implements
    ``_update(param, grad, state, group, lr, t)``, which changes ``param`` in place for step ``t``
    (0 for the first update of that parameter) with learning rate ``lr`` $=\eta^t$.

    ``step`` first checks everything (hyperparameters, every learning rate $\eta^t$, sparse
    gradients); a step that fails changes no parameter and no state. Then ``_update`` only ever
    sees real tensors: a complex parameter as its real view, and a float16 or bfloat16 parameter
    as a float32 copy, with float32 state, whose result is rounded back into the parameter.

    Args:
        params: parameters or parameter groups, as for any ``torch.optim.Optimizer``.
        lr: $\eta$, a finite number >= 0, or a schedule: a callable ``t -> lr`` of the step.
        defaults: the optimizer's other hyperparameters, by name.

    Raises:
        TypeError: ``lr`` is neither a real number nor callable, or another hyperparameter has the
            wrong type.
        ValueError: ``lr`` is negative, infinite or NaN ("Invalid learning rate: ..."), a schedule
            returns such a value at some step, or another hyperparameter is out of range. Errors
            about a parameter group name it ("param group 1: Invalid epsilon value: 0.0").
    """

    hyperparameters: ClassVar[dict[str, Check]] = {}

    def __init__(self, params: ParamsT, lr: LearningRate, defaults: dict[str, Any]):
        super().__init__(params, self._checked({"lr": lr, **defaults}))

    def _checked(self, values: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``values`` with every hyperparameter that has a check replaced by its checked value."""
        checks = {"lr": check_lr, **self.hyperparameters}
        return {name: checks[name](value) if name in checks else value for name, value in values.items()}

    def _checked_group(self, i: int, group: dict[str, Any]) -> dict[str, Any]:
        """``_checked(group)`` for group ``i`` at a step, computed again only when a value was replaced.

        The checks are pure functions of the values, so the last result is reused while every key
        still holds the very object it held then (``is``). A value that is a tensor can change in
        place, so a group holding one is checked at every step.
        """
        cache = self.__dict__.setdefault("_checked_groups", {})
        seen = cache.get(i)
        if seen is not None and seen[0] is group and len(seen[1]) == len(group):
            if all(name in group and group[name] is value for name, value in seen[1]):
                return seen[2]
        checked = self._checked(group)
        if not any(isinstance(value, Tensor) for value in group.values()):
            cache[i] = (group, list(group.items()), checked)
        return checked

    _torch_name: ClassVar[str] = "SGD"  # the torch.optim class closest to this one

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        with _prefixed(f"param group {len(self.param_groups)}: "):
            if isinstance(param_group, dict):
                self._refuse_torch_options(param_group)
            param_group.update(self._checked(param_group))
        super().add_param_group(param_group)

    def _refuse_torch_options(self, group: dict[str, Any]) -> None:
        """Refuse a torch.optim option this optimizer does not implement, set to a value that acts."""
        for key, cure in _TORCH_OPTIONS.items():
            if key in group and not _inactive(key, group[key]):
                name = type(self).__name__
                weight_decay = "AdamW" if name == "Adam" else f"{self._torch_name}(weight_decay=...)"
                raise ValueError(
                    f"mlnotes.{name} has no {key} (got {key}={group[key]!r}): "
                    + cure.format(torch=self._torch_name, weight_decay=weight_decay)
                )

    @staticmethod
    def learning_rate(group: dict[str, Any], t: int) -> float:
        """$\\eta^t$ of one parameter group: the number itself, or the schedule evaluated at ``t``."""
        lr = group["lr"]
        if not callable(lr):
            return _checks.learning_rate(lr)
        value = lr(t)
        try:
            return _checks.learning_rate(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"the learning-rate schedule returned {value!r} at step {t}: {error}") from None

    def _plan(self) -> list[tuple[Tensor, dict[str, Any], float, int]]:
        """``(param, checked group, lr, t)`` of every update of this step, all checked before any is made."""
        plan = []
        for i, group in enumerate(self.param_groups):
            where = f"param group {i}: "
            params = [p for p in group["params"] if p.grad is not None]
            if any(p.grad.is_sparse for p in params):
                raise TypeError(
                    f"{where}{type(self).__name__} does not support sparse gradients: use dense ones "
                    "(e.g. nn.Embedding(..., sparse=False))"
                )
            steps = [self.state.get(p, {}).get("step", 0) for p in params]
            with _prefixed(where):
                group = self._checked_group(i, group)
                rates = {t: self.learning_rate(group, t) for t in set(steps)}
            plan += [(p, group, rates[t], t) for p, t in zip(params, steps, strict=True)]
        self._refuse_non_finite_gradients()
        return plan

    def _refuse_non_finite_gradients(self) -> None:
        """Raise ``NonFiniteGradient`` if a gradient holds NaN or inf: one synchronization per device."""
        by_device: dict[torch.device, list[Tensor]] = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and not p.grad.is_meta:
                    by_device.setdefault(p.grad.device, []).append(torch.isfinite(p.grad).all())
        if all(
            bool(flags[0] if len(flags) == 1 else torch.stack(flags).all()) for flags in by_device.values()
        ):
            return
        for i, group in enumerate(self.param_groups):  # only on failure: find the culprit
            for j, p in enumerate(group["params"]):
                if p.grad is not None and not p.grad.is_meta and not _checks.all_finite(p.grad):
                    raise NonFiniteGradient(
                        f"param group {i}, parameter {j}: the gradient holds NaN or inf; no parameter "
                        "was changed (lower the learning rate, or check the loss)"
                    )

    def _apply(self, param: Tensor, group: dict[str, Any], lr: float, t: int) -> None:
        """``_update`` on real tensors: the real view of a complex parameter, float32 for half precision."""
        theta, grad, state = _real(param), _real(param.grad), self.state[param]
        if _low_precision(param):
            theta32 = theta.float()
            self._update(theta32, grad.float(), state, group, lr, t)
            theta.copy_(theta32)  # rounded to the parameter's dtype
        else:
            self._update(theta, grad, state, group, lr, t)
        state["step"] = t + 1

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict, lr: float, t: int) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """One update of every parameter that has a gradient; returns the closure's loss, if any."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for update in self._plan():
            self._apply(*update)
        return loss

    def state_dict(self) -> dict[str, Any]:
        """As ``torch.optim``'s, with the key ``"mlnotes_optimizer"``: the name of this optimizer's class."""
        state = super().state_dict()
        state[SAVED_BY] = type(self).__name__
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``torch.optim``'s, but the float32 state of a half-precision parameter stays float32.

        (PyTorch casts floating-point state to the parameter's dtype when it loads it.)

        Raises:
            ValueError: ``state_dict`` was saved by another optimizer (another ``mlnotes`` one, or
                ``torch.optim``'s, whose state has other names): its state would fail at the next
                ``step()``, or be mixed with this optimizer's.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"state_dict must be a dict from {name}.state_dict(), got {type(state_dict).__name__}"
            )
        saved = state_dict.get(SAVED_BY)
        if saved is None:
            raise ValueError(
                f"state_dict was not saved by an mlnotes optimizer (no {SAVED_BY!r} key; torch.optim's?), "
                f"so it cannot be loaded into mlnotes.{name}: load a state saved by {name}.state_dict()"
            )
        if saved != name:
            raise ValueError(
                f"state_dict was saved by mlnotes.{saved}, not by mlnotes.{name}: its state does not fit "
                f"this optimizer; load it into mlnotes.{saved}, or start {name} afresh"
            )
        state_dict = {k: v for k, v in state_dict.items() if k != SAVED_BY}
        super().load_state_dict(state_dict)
        saved = chain.from_iterable(g["params"] for g in state_dict["param_groups"])
        params = chain.from_iterable(g["params"] for g in self.param_groups)
        for key, param in zip(saved, params, strict=True):
            if _low_precision(param) and key in state_dict["state"]:
                for name, value in state_dict["state"][key].items():
                    if isinstance(value, Tensor) and value.is_floating_point():
                        self.state[param][name] = value.to(device=param.device, dtype=torch.float32)


class GradientDescent(OptimizerBase):
    r"""Plain (mini-batch) gradient descent.

    $\boldsymbol\theta^{t+1} = \boldsymbol\theta^t - \eta^t\,\mathbf{g}^t$. Equal to
    ``torch.optim.SGD(params, lr)`` with its defaults (no momentum, no weight decay).

    Args:
        params: parameters or parameter groups.
        lr: $\eta$, a finite number >= 0 or a schedule ``t -> lr``.

    Examples:
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = GradientDescent([w], lr=0.25)
        >>> (w ** 2).sum().backward()     # g = 2w = (2, -4)
        >>> _ = opt.step()
        >>> w.detach().tolist()
        [0.5, -1.0]
    """

    def __init__(self, params: ParamsT, lr: LearningRate = 0.01):
        super().__init__(params, lr, {})

    def _update(self, param, grad, state, group, lr, t):
        param.add_(grad, alpha=-lr)


class Momentum(OptimizerBase):
    r"""Gradient descent with momentum, in the lecture's notation.

    $$
    \mathbf{m}^{0} = \mathbf{0}, \qquad
    \mathbf{m}^{t+1} = \beta\,\mathbf{m}^{t} - \eta^t\,\mathbf{g}^{t}, \qquad
    \boldsymbol\theta^{t+1} = \boldsymbol\theta^{t} + \mathbf{m}^{t+1}
    $$

    Unrolled, $\mathbf{m}^{t+1} = -\sum_{k=0}^{t} \beta^{t-k}\,\eta^k\,\mathbf{g}^k$: the step is a
    weighted sum of all past gradients, the recent ones weighing most.

    **How it maps to** ``torch.optim.SGD(params, lr, momentum)``. PyTorch keeps a buffer of raw
    gradients, $\mathbf{v}^{t+1} = \beta\,\mathbf{v}^{t} + \mathbf{g}^{t}$ (the first step sets
    $\mathbf{v}^1 = \mathbf{g}^0$), and steps $\boldsymbol\theta^{t+1} = \boldsymbol\theta^t -
    \text{lr}\cdot\mathbf{v}^{t+1}$. With the same $\beta$ and a *constant* $\text{lr} = \eta$ the two
    are the same method, $\mathbf{m}^t = -\eta\,\mathbf{v}^t$, and give the same trajectory. With a
    learning rate that changes they differ: here each gradient keeps the learning rate of the step
    it was taken at, while PyTorch multiplies the whole buffer by the current rate. (``dampening``
    and ``nesterov`` have no counterpart here.)

    Args:
        params: parameters or parameter groups.
        lr: $\eta$, a finite number >= 0 or a schedule ``t -> lr``.
        momentum: the momentum coefficient $\beta$ (the lecture's $\lambda$), in $[0, 1)$.
            PyTorch accepts any value >= 0; at $\beta \ge 1$ the
            weights of old gradients stop shrinking and the sum no longer forgets.

    Examples:
        >>> w = torch.tensor([1.0], requires_grad=True)
        >>> opt = Momentum([w], lr=0.1, momentum=0.5)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     _ = opt.step()
        >>> # m1 = -0.1 * 2 = -0.2, w1 = 0.8; m2 = 0.5 * -0.2 - 0.1 * 1.6 = -0.26, w2 = 0.54
        >>> round(w.item(), 6)
        0.54
    """

    hyperparameters: ClassVar[dict[str, Check]] = {"momentum": _momentum}

    def __init__(self, params: ParamsT, lr: LearningRate = 0.01, momentum: float = 0.9):
        super().__init__(params, lr, {"momentum": momentum})

    def _update(self, param, grad, state, group, lr, t):
        if "m" not in state:
            state["m"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        m = state["m"]
        m.mul_(group["momentum"]).add_(grad, alpha=-lr)
        param.add_(m)


class Adagrad(OptimizerBase):
    r"""Adagrad as the lecture writes it: divide by the root *mean* square of all past gradients.

    $$
    \sigma^t = \sqrt{\frac{1}{t+1}\sum_{i=0}^{t}\left(\mathbf{g}^i\right)^2}, \qquad
    \boldsymbol\theta^{t+1} = \boldsymbol\theta^t - \frac{\eta^t}{\sigma^t + \epsilon}\,\mathbf{g}^t
    $$

    (squares, roots and the division are element-wise: every parameter has its own $\sigma$).

    **Difference from** ``torch.optim.Adagrad``, which divides by the root of the *sum*,
    $\sqrt{\sum_i (\mathbf{g}^i)^2} + \epsilon$. The two differ by the factor $\sqrt{t+1}$: with a
    constant $\eta$ this optimizer's step $t$ is $\sqrt{t+1}$ times PyTorch's. They coincide when
    the lecture's decay $\eta^t = \eta/\sqrt{t+1}$ is used, ``lr=lambda t: eta / (t + 1) ** 0.5``,
    up to where $\epsilon$ sits ($\epsilon\sqrt{t+1}$ against $\epsilon$ in the denominator).

    Args:
        params: parameters or parameter groups.
        lr: $\eta$, a finite number >= 0 or a schedule ``t -> lr``.
        eps: $\epsilon > 0$, added to $\sigma^t$ (PyTorch also allows 0).
    """

    _torch_name: ClassVar[str] = "Adagrad"
    hyperparameters: ClassVar[dict[str, Check]] = {"eps": _epsilon}

    def __init__(self, params: ParamsT, lr: LearningRate = 0.01, eps: float = 1e-10):
        super().__init__(params, lr, {"eps": eps})

    def _update(self, param, grad, state, group, lr, t):
        if "sum_sq" not in state:
            state["sum_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        sum_sq = state["sum_sq"]
        sum_sq.addcmul_(grad, grad)
        sigma = sum_sq.div(t + 1).sqrt_().add_(group["eps"])
        param.addcdiv_(grad, sigma, value=-lr)


class RMSProp(OptimizerBase):
    r"""RMSProp as the lecture writes it: $\sigma$ starts at the first gradient's magnitude.

    $$
    \sigma^0 = \left|\mathbf{g}^0\right|, \qquad
    \sigma^t = \sqrt{\rho\left(\sigma^{t-1}\right)^2 + (1-\rho)\left(\mathbf{g}^t\right)^2}, \qquad
    \boldsymbol\theta^{t+1} = \boldsymbol\theta^t - \frac{\eta^t}{\sigma^t + \epsilon}\,\mathbf{g}^t
    $$

    **Difference from** ``torch.optim.RMSprop``, whose running average starts at zero:
    $v^t = \rho v^{t-1} + (1-\rho)(\mathbf{g}^t)^2$ with $v^{-1} = 0$. PyTorch's first step is
    therefore $1/\sqrt{1-\rho}$ times larger (10 times at its default $\rho = 0.99$), and the
    two stay apart while $\rho^t$ is not negligible. PyTorch's form is what [`Adam`][] computes
    with $\beta_1 = 0$ and no bias correction.

    Args:
        params: parameters or parameter groups.
        lr: $\eta$, a finite number >= 0 or a schedule ``t -> lr``.
        alpha: the decay rate $\rho \in [0, 1)$ (the lecture's $\alpha$), the weight of the past.
        eps: $\epsilon > 0$, added to $\sigma^t$ (PyTorch also allows 0).
    """

    _torch_name: ClassVar[str] = "RMSprop"
    hyperparameters: ClassVar[dict[str, Check]] = {"alpha": _alpha, "eps": _epsilon}

    def __init__(self, params: ParamsT, lr: LearningRate = 0.01, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(params, lr, {"alpha": alpha, "eps": eps})

    def _update(self, param, grad, state, group, lr, t):
        if "sq_avg" not in state:
            state["sq_avg"] = grad * grad  # sigma^0 squared
        else:
            alpha = group["alpha"]
            state["sq_avg"].mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        sigma = state["sq_avg"].sqrt().add_(group["eps"])
        param.addcdiv_(grad, sigma, value=-lr)


class Adam(OptimizerBase):
    r"""Adam: momentum (a moving average of gradients) divided by RMSProp's $\sigma$, bias-corrected.

    $$
    \mathbf{m}^t = \beta_1\mathbf{m}^{t-1} + (1-\beta_1)\,\mathbf{g}^t, \qquad
    \mathbf{v}^t = \beta_2\mathbf{v}^{t-1} + (1-\beta_2)\left(\mathbf{g}^t\right)^2, \qquad
    \mathbf{m}^{-1} = \mathbf{v}^{-1} = \mathbf{0}
    $$

    $$
    \hat{\mathbf{m}}^t = \frac{\mathbf{m}^t}{1-\beta_1^{t+1}}, \qquad
    \hat{\mathbf{v}}^t = \frac{\mathbf{v}^t}{1-\beta_2^{t+1}}, \qquad
    \boldsymbol\theta^{t+1} = \boldsymbol\theta^t
        - \frac{\eta^t}{\sqrt{\hat{\mathbf{v}}^t} + \epsilon}\,\hat{\mathbf{m}}^t
    $$

    This is the summary formula of the chapter, $\boldsymbol\theta \leftarrow \boldsymbol\theta -
    (\eta^t/\sigma^t)\,\mathbf{m}^t$, with $\sigma^t = \sqrt{\hat{\mathbf{v}}^t} + \epsilon$. Note the
    lecture's momentum ($\mathbf{m} \leftarrow \beta\mathbf{m} - \eta\mathbf{g}$) sums gradients,
    while Adam *averages* them with weight $1-\beta_1$.

    **Same as** ``torch.optim.Adam`` (``amsgrad=False``, ``weight_decay=0``): $\epsilon$ is added
    after the square root of the bias-corrected $\hat{\mathbf{v}}$, as in the Adam paper. With
    ``bias_correction=False`` the division by $1-\beta^{t+1}$ is left out; with $\beta_1 = 0$ as well
    this is ``torch.optim.RMSprop`` (zero start).

    Args:
        params: parameters or parameter groups.
        lr: $\eta$, a finite number >= 0 or a schedule ``t -> lr``.
        betas: $(\beta_1, \beta_2)$, each in $[0, 1)$.
        eps: $\epsilon > 0$ (PyTorch also allows 0).
        bias_correction: divide by $1-\beta^{t+1}$ (default) or not; ``True`` or ``False``.
    """

    _torch_name: ClassVar[str] = "Adam"
    hyperparameters: ClassVar[dict[str, Check]] = {
        "betas": _betas,
        "eps": _epsilon,
        "bias_correction": _bias_correction,
    }

    def __init__(
        self,
        params: ParamsT,
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        bias_correction: bool = True,
    ):
        super().__init__(params, lr, {"betas": betas, "eps": eps, "bias_correction": bias_correction})

    def _update(self, param, grad, state, group, lr, t):
        if "m" not in state:
            state["m"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["v"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        beta1, beta2 = group["betas"]
        m, v = state["m"], state["v"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if group["bias_correction"]:
            step_size = lr / (1 - beta1 ** (t + 1))
            denom = (v.sqrt() / math.sqrt(1 - beta2 ** (t + 1))).add_(group["eps"])
        else:
            step_size = lr
            denom = v.sqrt().add_(group["eps"])
        param.addcdiv_(m, denom, value=-step_size)


__getattr__ = _deprecation.module_getattr(__name__, {"LectureOptimizer": ("OptimizerBase", OptimizerBase)})
