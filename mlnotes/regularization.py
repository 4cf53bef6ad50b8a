r"""Regularization from scratch: L1 and L2 penalties, dropout, early stopping.

**Penalties.** The lecture adds to the loss $L(\boldsymbol\theta)$ a penalty on the size of the
weights, $L + \alpha\sum_i |w_i|$ (L1) or $L + \alpha\sum_i w_i^2$ (L2). [`l1_penalty`][] and
[`l2_penalty`][] compute the penalty terms; add them to the loss before ``backward()``.

**L2 and weight decay.** The gradient of $\alpha\sum_i w_i^2$ is $2\alpha\mathbf{w}$, so a
gradient-descent step on the penalized loss is

$$
\mathbf{w} \leftarrow \mathbf{w} - \eta\left(\mathbf{g} + 2\alpha\mathbf{w}\right)
= (1 - 2\eta\alpha)\,\mathbf{w} - \eta\,\mathbf{g},
$$

every step shrinks the weights by a constant factor before the usual update: **weight decay**.
``torch.optim.SGD(weight_decay=d)`` adds $d\,\mathbf{w}$ to the gradient, so it is the L2 penalty
with $\alpha = d/2$ (the penalty has no factor $\frac12$, as in the lecture, which writes the
strength as $\lambda$; the book keeps $\lambda$ for Hessian eigenvalues). For adaptive optimizers the
two are *not* the same: Adam divides the penalty's gradient by $\sigma$ like any other gradient, so
weights with large gradients are barely decayed. ``torch.optim.AdamW`` decays the weights
directly instead (decoupled weight decay, Loshchilov and Hutter, 2019), while
``torch.optim.Adam(weight_decay=d)`` is the L2 penalty. The tests check all three statements.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import torch
from torch import Tensor, nn

from mlnotes import _checks


def _tensors(params: object) -> list[Tensor]:
    """``params`` as a list of real floating-point tensors; one message for a tensor and for a list."""
    if isinstance(params, Tensor):
        tensors = [params]
    elif isinstance(params, nn.Module) and not isinstance(params, nn.ParameterList):
        raise TypeError("params must be tensors, e.g. model.parameters(), not the module itself")
    else:
        try:
            tensors = list(params)  # type: ignore[arg-type]
        except TypeError:
            kind = type(params).__name__
            raise TypeError(f"params must be a tensor or an iterable of tensors, got {kind}") from None
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"every element of params must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(
                f"params must be real floating-point tensors (weights), got dtype {t.dtype}: "
                "a penalty on complex or integer tensors is not defined here"
            )
    if not tensors:
        raise ValueError("params is empty")
    return tensors


def _finite_penalty(what: str, penalty: Tensor, tensors: list[Tensor], lam: float) -> Tensor:
    """``penalty`` if it is finite; else a ``ValueError`` saying whether the weights or the sum are at fault.

    One host-device synchronization per call (reading one boolean).
    """
    if penalty.is_meta or bool(torch.isfinite(penalty)):
        return penalty
    if not all(_checks.all_finite(t) for t in tensors):
        raise ValueError(
            f"{what}: params hold NaN or infinite values, so the penalty is {penalty.item()}: "
            "the model has diverged; check the loss and lower the learning rate"
        )
    cure = (
        "use float32 parameters (model.float())"
        if penalty.dtype in (torch.float16, torch.bfloat16)
        else "shrink the weights (did training diverge?)"
    )
    raise ValueError(
        f"{what} overflows {penalty.dtype}: the sum over the weights times lam={lam} is beyond its "
        f"largest number; {cure}, or use a smaller lam"
    )


def l1_penalty(params: Iterable[Tensor] | Tensor, lam: float) -> Tensor:
    r"""$\alpha\sum_i |w_i|$ over every entry of ``params``.

    Args:
        params: a tensor or an iterable of tensors, e.g. the weights of a model.
        lam: the penalty strength $\alpha \ge 0$ (named after the lecture's $\lambda$).

    Examples:
        >>> l1_penalty([torch.tensor([1.0, -2.0]), torch.tensor([0.5])], lam=0.1)
        tensor(0.3500)
    """
    lam = _checks.nonnegative("lam", lam)
    tensors = _tensors(params)
    return _finite_penalty("l1_penalty", lam * sum(t.abs().sum() for t in tensors), tensors, lam)


def l2_penalty(params: Iterable[Tensor] | Tensor, lam: float) -> Tensor:
    r"""$\alpha\sum_i w_i^2$ over every entry of ``params`` (no factor $\frac12$, as in the lecture).

    Its gradient is $2\alpha\mathbf{w}$: the same as ``weight_decay=2 * lam`` in ``torch.optim.SGD``.

    Examples:
        >>> l2_penalty(torch.tensor([1.0, -2.0]), lam=0.1)
        tensor(0.5000)
    """
    lam = _checks.nonnegative("lam", lam)
    tensors = _tensors(params)
    return _finite_penalty("l2_penalty", lam * sum((t * t).sum() for t in tensors), tensors, lam)


def _probability(p: object) -> float:
    p = _checks.real("p", p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return p


class Dropout(nn.Module):
    r"""Dropout: in training, zero each value with probability $p$ and scale the rest by $1/(1-p)$.

    The scaling keeps the expected value of every output equal to its input, so nothing has to
    change at test time: in eval mode the module is the identity. (The lecture's version scales the
    *weights* by $1-p$ at test time instead; the two give the same expected outputs.)

    The mask is drawn as ``torch.empty_like(x).bernoulli_(1 - p)`` from the global generator, the
    same draw ``torch.nn.Dropout`` makes on the CPU, so after the same ``torch.manual_seed`` the two
    produce the same output.

    Args:
        p: the probability of zeroing a value, in $[0, 1]$ (PyTorch's default 0.5).

    Raises:
        ValueError: ``p`` outside $[0, 1]$, with PyTorch's message.

    Examples:
        >>> drop = Dropout(0.5)
        >>> _ = torch.manual_seed(0)
        >>> drop(torch.ones(6))
        tensor([0., 0., 2., 0., 0., 0.])
        >>> drop.eval()(torch.ones(3))
        tensor([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _probability(p)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: Tensor) -> Tensor:
        x = _checks.floating_tensor("input", x)
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            # zeros still connected to x, as torch.nn.Dropout(1.0) returns: the gradient is 0, not None
            return x * 0.0
        keep = 1.0 - self.p
        mask = torch.empty_like(x).bernoulli_(keep).div_(keep)
        return x * mask


class EarlyStopping:
    r"""Stop training when the validation loss has not improved for ``patience`` checks.

    Call [`step`][mlnotes.regularization.EarlyStopping.step] after every epoch with the validation
    loss and the model; it remembers a copy of the model's ``state_dict`` whenever the loss is the
    best so far (lower by more than ``min_delta``) and returns ``True`` once ``patience`` checks in a
    row brought no improvement. [`restore`][mlnotes.regularization.EarlyStopping.restore] then loads
    the best state back.

    Examples:
        >>> net = nn.Linear(1, 1)
        >>> stopper = EarlyStopping(patience=2)
        >>> [stopper.step(loss, net) for loss in (3.0, 2.0, 2.5, 2.1)]
        [False, False, False, True]
        >>> stopper.best_loss, stopper.best_epoch
        (2.0, 1)
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0) -> None:
        self.patience = _checks.positive_int("patience", patience)
        self.min_delta = _checks.nonnegative("min_delta", min_delta)
        self.best_loss = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, Tensor] | None = None
        self.checks = 0
        self.bad_checks = 0

    def step(self, val_loss: float, model: nn.Module) -> bool:
        """Record one validation loss; ``True`` means: stop now.

        ``val_loss`` is a number (Python, NumPy, or a one-element tensor). NaN or inf means the model
        diverged, and is refused with a ``ValueError`` rather than counted as a check without
        improvement: a diverged model is not one to wait for.
        """
        val_loss = _checks.real("val_loss", val_loss)
        model = _checks.module("model", model)
        if not math.isfinite(val_loss):
            saved = (
                "restore() loads the best state seen"
                if self.best_state is not None
                else "no state is saved yet"
            )
            raise ValueError(f"val_loss is {val_loss}: the model diverged; stop training ({saved})")
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_checks = val_loss, self.checks, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_checks += 1
        self.checks += 1
        return self.bad_checks >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best state seen into ``model``.

        Raises:
            ValueError: no state was saved yet, or ``model`` has other keys or tensor shapes than
                the saved state (the message names the first few).
        """
        model = _checks.module("model", model)
        if self.best_state is None:
            raise ValueError(
                "no validation loss recorded yet: call step(val_loss, model) after each epoch first"
            )
        own = model.state_dict()
        missing = [repr(k) for k in own if k not in self.best_state]
        unexpected = [repr(k) for k in self.best_state if k not in own]
        if missing or unexpected:
            raise ValueError(
                f"model does not have the keys of the saved best state (missing: {_first(missing)}; "
                f"unexpected: {_first(unexpected)}): restore into the model passed to step()"
            )
        sizes = [
            f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}"
            for k, v in self.best_state.items()
            if isinstance(v, Tensor) and isinstance(own[k], Tensor) and v.shape != own[k].shape
        ]
        if sizes:
            raise ValueError(
                f"model tensors have other shapes than the saved best state ({_first(sizes)}): "
                "restore into the model passed to step()"
            )
        model.load_state_dict(self.best_state)


def _first(names: list[str], count: int = 3) -> str:
    """The first ``count`` of ``names``, comma-separated, with how many more there are."""
    if not names:
        return "none"
    shown = ", ".join(names[:count])
    return shown + (f" and {len(names) - count} more" if len(names) > count else "")
