r"""Classification losses from scratch: one-hot targets, softmax, cross-entropy, squared error.

A classifier's network outputs one real number per class, the **logits** $\mathbf{y}$. Softmax turns
them into probabilities,

$$
y'_i = \frac{\exp(y_i)}{\sum_j \exp(y_j)},
$$

and the cross-entropy of the probabilities against a target distribution $\hat{\mathbf{y}}$ (a one-hot
vector for a class label) is $e = -\sum_i \hat y_i \ln y'_i$.

Written that way, $\exp(y_i)$ overflows for logits above about 89 in float32 (709 in float64) and
$\ln y'_i$ is $-\infty$ as soon as a probability underflows to zero. Every function here computes in
the stable form instead: subtract the largest logit before exponentiating (which leaves softmax
unchanged) and compute $\ln y'_i = y_i - \operatorname{logsumexp}(\mathbf{y})$ directly. They return
the same numbers as ``torch.nn.functional`` and stay finite for logits of any size.

Logits are ``(N, C)`` (a batch of $N$ examples, $C$ classes) or ``(C,)`` (one example); the class
dimension is the last one.

A NaN in the logits, or a row of logits that are all $-\infty$, gives NaN, exactly as
``torch.nn.functional`` does: a NaN in is the caller's NaN, passed on rather than hidden
([`mlnotes.training.train`][] reports a NaN loss as divergence).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mlnotes import _checks

_REDUCTIONS = ("mean", "sum", "none")
_ONE_HOT_LIMIT = 2**40  # entries of a one-hot tensor: 4 TiB in float32, beyond any memory


def _not_meta(name: str, value: Tensor) -> Tensor:
    """Refuse a tensor on the 'meta' device: it has a shape but no values to compute a loss from."""
    if value.device.type == "meta":
        raise ValueError(
            f"{name} is on the 'meta' device, which holds shapes but no values: "
            "pass a tensor with data (e.g. on 'cpu' or 'cuda')"
        )
    return value


def _logits(logits: object) -> Tensor:
    logits = _not_meta("logits", _checks.floating_tensor("logits", logits))
    if logits.dim() not in (1, 2) or logits.shape[-1] == 0:
        raise ValueError(
            f"logits must have shape (N, C) or (C,) with C >= 1 classes, got shape {tuple(logits.shape)}"
        )
    return logits


def _reduce(per_example: Tensor, reduction: object) -> Tensor:
    reduction = _checks.choice("reduction", reduction, _REDUCTIONS)
    if reduction == "mean":
        if per_example.numel() == 0:  # torch returns nan here
            raise ValueError(
                "the mean over an empty batch is undefined: pass at least one example, or reduction='sum'"
            )
        return per_example.mean()
    if reduction == "sum":
        return per_example.sum()
    return per_example


def one_hot(labels: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    r"""Class numbers as one-hot vectors: label $k$ becomes $\hat{\mathbf{y}}$ with $\hat y_k = 1$, else 0.

    Class numbers used directly as regression targets would say that class 1 is closer to class 2
    than to class 3; one-hot vectors put every class at the same distance from every other.

    Args:
        labels: integer tensor of class numbers in $[0, C-1]$, any shape.
        num_classes: $C \ge 1$.
        dtype: a floating-point dtype for the result (float32 by default).

    Returns:
        A tensor of shape ``labels.shape + (num_classes,)``. Unlike
        ``torch.nn.functional.one_hot`` (which returns int64), it is floating point, ready to be a
        target.

    Raises:
        TypeError: ``labels`` is not an integer tensor, or ``dtype`` is not floating point.
        ValueError: ``num_classes`` is not a positive integer, a label is outside $[0, C-1]$, or
            the result would have more than $2^{40}$ entries.

    Examples:
        >>> one_hot(torch.tensor([2, 0]), 3)
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    num_classes = _checks.positive_int("num_classes", num_classes)
    labels = _class_indices("labels", labels, num_classes)
    if labels.numel() * num_classes > _ONE_HOT_LIMIT:
        raise ValueError(
            f"num_classes={num_classes} is too large: {labels.numel()} labels times {num_classes} "
            f"classes is more than 2**40 entries; use the class numbers themselves as targets "
            "(cross_entropy takes them)"
        )
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    out = torch.zeros(*labels.shape, num_classes, dtype=dtype, device=labels.device)
    return out.scatter_(-1, labels.unsqueeze(-1), 1.0)


def _class_indices(name: str, labels: object, num_classes: int) -> Tensor:
    if not isinstance(labels, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class numbers, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor of class numbers, got dtype {labels.dtype}")
    _not_meta(name, labels)
    if labels.dtype in (torch.uint16, torch.uint32, torch.uint64):  # PyTorch has no min/max for these
        raise TypeError(f"{name} has dtype {labels.dtype}: convert the class numbers with .long()")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0].item()
        raise ValueError(
            f"{name} contains class {bad}, outside the range [0, {num_classes - 1}] of {num_classes} classes"
        )
    return labels.long()


def _shifted(logits: Tensor) -> tuple[Tensor, Tensor]:
    """``(logits - m, m)`` with ``m`` the row maximum (0 for a row without a finite maximum)."""
    m = logits.max(dim=-1, keepdim=True).values.detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # a row of -inf stays -inf, not NaN
    return logits - m, m


def logsumexp(logits: Tensor) -> Tensor:
    r"""$\ln\sum_j \exp(y_j)$ over the last dimension, computed as $m + \ln\sum_j \exp(y_j - m)$.

    With $m = \max_j y_j$, every term $\exp(y_j - m)$ is at most 1 and the largest is exactly 1, so
    the sum neither overflows nor underflows to zero.
    """
    shifted, m = _shifted(_logits(logits))
    return (m + shifted.exp().sum(dim=-1, keepdim=True).log()).squeeze(-1)


def log_softmax(logits: Tensor) -> Tensor:
    r"""$\ln y'_i = (y_i - m) - \ln\sum_j \exp(y_j - m)$ over the last dimension, $m = \max_j y_j$.

    Mathematically $y_i - \operatorname{logsumexp}(\mathbf{y})$; subtracting $m$ first keeps the
    digits that a large $m$ would swallow (in float32, $10^4 + \ln 3$ is stored to about $10^{-3}$).

    Examples:
        >>> log_softmax(torch.tensor([1000.0, 0.0]))   # exp(1000) would overflow
        tensor([    0., -1000.])
    """
    shifted, _ = _shifted(_logits(logits))
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()


def softmax(logits: Tensor) -> Tensor:
    r"""$y'_i = \exp(y_i - m) / \sum_j \exp(y_j - m)$ with $m = \max_j y_j$, over the last dimension.

    Subtracting $m$ multiplies numerator and denominator by the same $\exp(-m)$, so the result is
    the softmax; the largest term becomes $\exp(0) = 1$ and nothing overflows.

    Examples:
        >>> softmax(torch.tensor([3.0, 1.0, -3.0]))
        tensor([0.8789, 0.1189, 0.0022])
    """
    shifted, _ = _shifted(_logits(logits))
    e = shifted.exp()
    return e / e.sum(dim=-1, keepdim=True)


def sigmoid(z: Tensor) -> Tensor:
    r"""$\sigma(z) = 1/(1 + e^{-z})$, evaluated without overflow for large $|z|$.

    With two classes, softmax is a sigmoid of the logit difference:
    $y'_1 = e^{y_1}/(e^{y_1} + e^{y_2}) = \sigma(y_1 - y_2)$.
    """
    z = _not_meta("z", _checks.floating_tensor("z", z))
    # e = exp(-|z|) lies in (0, 1] and never overflows; written with -z and z rather than |z|, whose
    # derivative at 0 is 0 in autograd, which would make the gradient at z = 0 vanish instead of 1/4
    e = torch.where(z >= 0, -z, z).exp()
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _target_for(logits: Tensor, target: object) -> tuple[Tensor, bool]:
    """Check ``target`` against ``logits``; return it and whether it holds class indices."""
    if not isinstance(target, Tensor):
        raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
    _not_meta("target", target)
    if target.device != logits.device:
        raise ValueError(
            f"target is on device {target.device} but logits on {logits.device}: move both to one device"
        )
    if target.is_floating_point():
        if target.shape != logits.shape:
            raise ValueError(
                "a probability target must have the shape of logits, "
                f"got target {tuple(target.shape)} and logits {tuple(logits.shape)}"
            )
        if target.dtype != logits.dtype:
            raise TypeError(f"target has dtype {target.dtype} but logits are {logits.dtype}")
        return target, False
    if target.shape != logits.shape[:-1]:
        raise ValueError(
            f"class-index target must have shape {tuple(logits.shape[:-1])} for logits of shape "
            f"{tuple(logits.shape)}, got {tuple(target.shape)}"
        )
    return _class_indices("target", target, logits.shape[-1]), True


def cross_entropy(logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    r"""Cross-entropy $e = -\sum_i \hat y_i \ln y'_i$ computed from the logits, like ``nn.CrossEntropyLoss``.

    The network's outputs go in *before* softmax: the function takes the log-softmax itself, stably.
    Passing probabilities instead of logits is a common bug: softmax is then applied twice.

    Args:
        logits: ``(N, C)`` or ``(C,)`` floating-point logits.
        target: either class indices (integer tensor of shape ``(N,)`` or ``()``), which stand for
            one-hot $\hat{\mathbf{y}}$ and pick $-\ln y'_k$ directly; or class probabilities (a
            floating-point tensor with the shape of ``logits``).
        reduction: ``"mean"`` over examples (default), ``"sum"``, or ``"none"`` for one loss per
            example. On an empty batch (``N = 0``) ``"sum"`` gives 0 and ``"none"`` an empty tensor,
            as in PyTorch; ``"mean"`` raises ``ValueError``, where PyTorch returns ``nan``.

    Raises:
        TypeError: non-float logits, a target that is not a tensor, or a probability target of a
            different dtype.
        ValueError: wrong shapes, a class index outside $[0, C-1]$, an unknown ``reduction``, the
            mean over an empty batch, tensors on the ``meta`` device or on two different devices.

    Examples:
        >>> logits = torch.tensor([[2.0, 0.0, -1.0]])
        >>> round(cross_entropy(logits, torch.tensor([0])).item(), 4)   # -ln softmax(logits)[0]
        0.1698
    """
    logits = _logits(logits)
    target, indices = _target_for(logits, target)
    log_p = log_softmax(logits)
    if indices:
        per_example = -log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    else:
        per_example = -(target * log_p).sum(dim=-1)
    return _reduce(per_example, reduction)


def softmax_mse(logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    r"""Squared error between softmax probabilities and the target: $e = \sum_i (\hat y_i - y'_i)^2$.

    Summed over the classes, averaged over the examples (``reduction="mean"``). PyTorch's
    ``F.mse_loss(softmax(logits), one_hot)`` averages over classes as well, so it is this value
    divided by $C$.

    Args:
        logits: ``(N, C)`` or ``(C,)`` floating-point logits.
        target: class indices or class probabilities, as for [`cross_entropy`][].
        reduction: ``"mean"``, ``"sum"`` or ``"none"``; on an empty batch ``"mean"`` raises
            ``ValueError`` (PyTorch's ``F.mse_loss`` returns ``nan``), as for [`cross_entropy`][].

    Raises:
        TypeError, ValueError: as for [`cross_entropy`][].
    """
    logits = _logits(logits)
    target, indices = _target_for(logits, target)
    if indices:
        target = one_hot(target, logits.shape[-1], dtype=logits.dtype)
    per_example = ((target - softmax(logits)) ** 2).sum(dim=-1)
    return _reduce(per_example, reduction)
