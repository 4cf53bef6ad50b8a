r"""Why more data and fewer hypotheses help: the bound on bad training sets, and a simulator.

Take a finite set $\mathcal{H}$ of classifiers and a loss in $[0, 1]$. A training set
$\mathcal{D}_N$ of $N$ examples drawn independently from all the data $\mathcal{D}$ (the lecture's
$\mathcal{D}_{\mathrm{train}}$ and $\mathcal{D}_{\mathrm{all}}$) is **bad** when some hypothesis's
training loss is far from its loss on all the data:

$$
\max_{h \in \mathcal{H}} \left|L(h, \mathcal{D}_N) - L(h, \mathcal{D})\right| > \varepsilon .
$$

Hoeffding's inequality bounds that probability for one $h$ by $2\exp(-2N\varepsilon^2)$, and the union
bound over $\mathcal{H}$ bounds the probability that $\mathcal{D}_N$ is bad by

$$
|\mathcal{H}|\cdot 2\exp(-2N\varepsilon^2).
$$

[`bad_set_bound`][] evaluates it, [`examples_needed`][] solves it for $N$, and
[`ThresholdProblem`][] draws training sets to measure the true probability for threshold
classifiers, so that the two can be compared.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext

import numpy as np

from mlnotes import _checks

_LOG_FLOAT_MAX = math.log(sys.float_info.max)  # about 709.78
_LOG_10 = math.log(10.0)


def _epsilon(eps: object) -> float:
    """``eps`` in (0, 1): it bounds a difference of two losses in [0, 1], which never exceeds 1."""
    why = (
        "it bounds |L(h, D_N) - L(h, D)|, a difference of two losses in [0, 1], "
        "so no training set is bad for eps >= 1"
    )
    return _checks.interval("eps", eps, 0.0, 1.0, why=why)


def bad_set_bound(num_hypotheses: int, n: int, eps: float) -> float:
    r"""$|\mathcal{H}|\cdot 2\exp(-2N\varepsilon^2)$, the bound on the probability of a bad training set.

    The value is returned as computed, even above 1 (where it says nothing). It is evaluated without
    intermediate overflow or early underflow, through its logarithm where $\exp(-2N\varepsilon^2)$
    alone would underflow; a value below the smallest float is returned as ``0.0``.

    Args:
        num_hypotheses: $|\mathcal{H}| \ge 1$.
        n: $N \ge 1$, the number of training examples.
        eps: $\varepsilon$ in $(0, 1)$: it bounds a difference of two losses in $[0, 1]$.

    Raises:
        ValueError: an argument out of range, or a bound beyond the largest float (about
            $1.8\cdot 10^{308}$); such a bound is above 1, so it says nothing.

    Examples:
        >>> round(bad_set_bound(10, 100, 0.1), 6)       # 10 * 2 * exp(-2)
        2.706706
    """
    num_hypotheses = _checks.positive_int("num_hypotheses", num_hypotheses)
    n = _checks.positive_int("n", n)
    eps = _epsilon(eps)
    exponent = 2.0 * n * eps * eps  # ((2N) eps) eps: eps^2 alone would underflow for eps < 1e-162
    two_h = 2 * num_hypotheses
    if two_h < 2**1000 and exponent < 700.0:  # both factors are plain floats, the product <= 2|H|
        return two_h * math.exp(-exponent)
    # through the logarithm: exp(-exponent) alone may underflow to 0 where the bound does not, and
    # math.log takes integers of any size
    log_bound = math.log(two_h) - exponent
    if log_bound < _LOG_FLOAT_MAX:
        return math.exp(log_bound)
    raise ValueError(
        f"the bound 2|H|exp(-2N eps^2) is about 10^{log_bound / _LOG_10:.0f}, beyond float range "
        "(it is vacuous: above 1): num_hypotheses is too large for a float result"
    )


def examples_needed(num_hypotheses: int, eps: float, delta: float) -> int:
    r"""The smallest $N$ with $|\mathcal{H}|\cdot 2\exp(-2N\varepsilon^2) \le \delta$.

    $N \ge \ln(2|\mathcal{H}|/\delta) / (2\varepsilon^2)$. The quotient is computed in decimal
    arithmetic with enough digits for its ceiling to be exact, so $N$ is exact for any
    $\varepsilon$ and $\delta$, even where it is beyond the range of a float (a Python ``int`` has
    no upper limit; more examples than any data set holds say that the bound is useless there).

    Args:
        num_hypotheses: $|\mathcal{H}| \ge 1$.
        eps: $\varepsilon$ in $(0, 1)$.
        delta: $\delta$ in $(0, 1)$.

    Examples:
        >>> examples_needed(10_000, eps=0.1, delta=0.1)   # ln(2e5) / 0.02 = 610.3
        611
    """
    num_hypotheses = _checks.positive_int("num_hypotheses", num_hypotheses)
    eps = _epsilon(eps)
    delta = _checks.interval("delta", delta, 0.0, 1.0)
    two_h = 2 * num_hypotheses
    log_ratio = math.log(two_h) - math.log(delta)  # > ln 2: no overflow of 2|H|/delta
    digits = max(0, math.ceil((math.log(log_ratio) - math.log(2.0) - 2.0 * math.log(eps)) / _LOG_10))
    with localcontext() as context:  # the integer digits of N and 30 more
        context.prec = digits + 30
        quotient = (Decimal(two_h).ln() - Decimal(delta).ln()) / (2 * Decimal(eps) ** 2)
        needed = int(quotient.to_integral_value(rounding=ROUND_CEILING))
    return max(1, needed)


def _real_array(name: str, value: object) -> np.ndarray:
    """``value`` as a float array, refusing complex numbers (NumPy would drop the imaginary part)."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):  # a ragged nested list
        kind = type(value).__name__
        raise TypeError(f"{name} must be a 1-D array of real numbers, got a ragged {kind}") from None
    if array.dtype.kind in "biufO":  # object arrays: Fractions, Decimals, ... convert; others do not
        try:
            return array.astype(float)
        except OverflowError:
            raise ValueError(f"{name} holds a number too large for a float: pass finite values") from None
        except (TypeError, ValueError):
            pass
    raise TypeError(f"{name} must be an array of real numbers, got dtype {array.dtype}")


_SIMULATION_LIMIT = 10**8  # numbers one simulated training set takes: 800 MB


@dataclass(frozen=True)
class ThresholdProblem:
    r"""Threshold classifiers on one feature, with $\mathcal{D}$ a fixed finite data set.

    The hypotheses are $h_k(x) = [x \ge t_k]$ for the thresholds $t_k$; the loss of a hypothesis on a
    set is its error rate (0/1 loss, in $[0, 1]$). A training set is $N$ examples drawn from
    $\mathcal{D}$ uniformly, with replacement (independent draws, as Hoeffding's
    inequality assumes).

    Attributes:
        x: the feature of every example of $\mathcal{D}$.
        y: its label, 0 or 1.
        thresholds: $t_1, \dots, t_{|\mathcal{H}|}$.

    Raises:
        TypeError: ``x``, ``y`` or ``thresholds`` does not hold real numbers (complex numbers,
            strings, ragged lists).
        ValueError: wrong shapes, labels other than 0 and 1, or NaN or infinite ``x`` or thresholds.
    """

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray

    def __post_init__(self) -> None:
        x, y, t = (_real_array(name, getattr(self, name)) for name in ("x", "y", "thresholds"))
        if x.ndim != 1 or x.size == 0 or y.shape != x.shape:
            raise ValueError(
                f"x and y must be 1-D and of the same non-zero length, got shapes {x.shape} and {y.shape}"
            )
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("y must hold labels 0 and 1 only")
        if t.ndim != 1 or t.size == 0:
            raise ValueError(f"thresholds must be a non-empty 1-D array, got shape {t.shape}")
        if not np.isfinite(x).all():
            raise ValueError("x contains NaN or infinite values: pass finite feature values")
        if not np.isfinite(t).all():
            raise ValueError(
                "thresholds contains NaN or infinite values: pass finite numbers "
                "(a threshold below or above every x gives a constant classifier)"
            )
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "thresholds", t)

    @classmethod
    def noisy(cls, size: int, num_hypotheses: int, noise: float = 0.1, seed: int = 0) -> ThresholdProblem:
        """``size`` points uniform on [0, 1], label ``x >= 0.5`` flipped with probability ``noise``,
        and ``num_hypotheses`` thresholds evenly spaced on [0, 1]."""
        size = _checks.positive_int("size", size)
        num_hypotheses = _checks.positive_int("num_hypotheses", num_hypotheses)
        noise = _checks.interval("noise", noise, 0.0, 0.5, closed="both")
        rng = np.random.default_rng(_checks.seed("seed", seed))
        x = rng.uniform(0.0, 1.0, size)
        y = (x >= 0.5) ^ (rng.uniform(size=size) < noise)
        return cls(x, y.astype(float), np.linspace(0.0, 1.0, num_hypotheses))

    @property
    def num_hypotheses(self) -> int:
        return len(self.thresholds)

    def errors(self) -> np.ndarray:
        """``errors()[k, i]`` is 1 where $h_k$ misclassifies example $i$ of $\\mathcal{D}$."""
        predictions = self.x[None, :] >= self.thresholds[:, None]
        return (predictions != self.y[None, :].astype(bool)).astype(float)

    def all_losses(self) -> np.ndarray:
        r"""$L(h_k, \mathcal{D})$ for every $k$."""
        return self.errors().mean(axis=1)

    def bad_fraction(self, n: int, eps: float, trials: int = 10_000, seed: int = 0) -> float:
        r"""The share of ``trials`` random training sets of size $N$ that are bad for $\varepsilon$.

        One training set costs $O(N + |\mathcal{H}|)$, not $O(N\,|\mathcal{H}|)$: a threshold's
        training error is a count of examples on either side of it, so each set is reduced to how
        many of its examples of each label fall between consecutive thresholds, and cumulative sums
        give every threshold's error at once (the same numbers, exactly, as averaging ``errors()``
        over the set). ``n + 2 (num_hypotheses + 1)``, the numbers one set takes, may be at most
        $10^8$; more is refused with a ``ValueError``.
        """
        n = _checks.positive_int("n", n)
        hypotheses = self.num_hypotheses
        per_set = n + 2 * (hypotheses + 1)
        if per_set > _SIMULATION_LIMIT:
            raise ValueError(
                f"n={n} is too large to simulate: one training set of n examples with {hypotheses} "
                f"hypotheses needs n + 2 * (num_hypotheses + 1) = {per_set} numbers, more than "
                f"{_SIMULATION_LIMIT:.0e}; use a smaller n, or the bound itself"
            )
        eps = _epsilon(eps)
        trials = _checks.positive_int("trials", trials)
        rng = np.random.default_rng(_checks.seed("seed", seed))
        truth = self.all_losses()
        order = np.argsort(self.thresholds, kind="stable")
        # bin of example i: how many thresholds are <= x_i, so h_k(x_i) = 1 exactly when the bin of
        # x_i is above k's place in sorted order; the key also holds the label
        bins = np.searchsorted(self.thresholds[order], self.x, side="right")
        keys = 2 * bins + self.y.astype(np.int64)
        width = 2 * (hypotheses + 1)
        rank = np.empty(hypotheses, dtype=np.int64)
        rank[order] = np.arange(hypotheses)
        bad, start = 0, 0
        chunk = max(1, 2_000_000 // per_set)  # training sets per round: about 2e6 numbers each (fastest here)
        while start < trials:
            count = min(chunk, trials - start)
            start += count
            picks = rng.integers(0, len(self.x), size=(count, n))
            offsets = width * np.arange(count)[:, None]
            counts = np.bincount((keys[picks] + offsets).ravel(), minlength=count * width)
            counts = counts.reshape(count, hypotheses + 1, 2)
            label0, label1 = counts[:, :, 0].cumsum(axis=1), counts[:, :, 1].cumsum(axis=1)
            # errors of the k-th threshold in sorted order: label 0 above it, label 1 at or below it
            wrong = (label0[:, -1:] - label0[:, :-1]) + label1[:, :-1]
            train_losses = wrong[:, rank] / n  # (count, |H|), in the order of self.thresholds
            bad += int((np.abs(train_losses - truth[None, :]) > eps).any(axis=1).sum())
        return bad / trials
