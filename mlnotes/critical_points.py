r"""Critical points: what kind of point training is stuck at, and how to leave a saddle.

Near a point $\boldsymbol\theta'$ the loss is approximated by its second-order Taylor model

$$
L(\boldsymbol\theta) \approx L(\boldsymbol\theta')
 + (\boldsymbol\theta-\boldsymbol\theta')^\top\mathbf{g}
 + \tfrac12(\boldsymbol\theta-\boldsymbol\theta')^\top\mathbf{H}(\boldsymbol\theta-\boldsymbol\theta'),
$$

([`TaylorModel`][]). At a critical point $\mathbf{g}=\mathbf{0}$ and the eigenvalues
$\lambda_i$ of $\mathbf{H}$ decide the kind ([`classify_hessian`][], [`analyze_point`][]): all
positive, a local minimum; all negative, a local maximum; both signs, a saddle point; otherwise
(some $\lambda_i = 0$, the rest of one sign) the second-order test says nothing. Along an eigenvector
$\mathbf{u}$ with $\lambda<0$ the model falls by $\tfrac12\lambda\lVert\mathbf{u}\rVert^2$
([`escape_direction`][], [`escape_step`][]).

Half precision (``float16``, ``bfloat16``) is accepted: PyTorch has no eigen-solver for it, so the
eigen-decomposition is computed on a float32 copy of the (half-precision) Hessian and the
eigenvalues and eigenvectors are returned in the input dtype. Such a Hessian holds about 3
significant digits (``bfloat16``: 2), so choose ``tol`` to match.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import Tensor

from mlnotes import _checks
from mlnotes.derivatives import LossFn, gradient, hessian


class PointKind(StrEnum):
    """The verdict of the eigenvalue test; ``str(kind)`` is its value, e.g. ``"saddle point"``."""

    LOCAL_MINIMUM = "local minimum"
    LOCAL_MAXIMUM = "local maximum"
    SADDLE_POINT = "saddle point"
    INCONCLUSIVE = "inconclusive"


class NotCriticalPointWarning(UserWarning):
    """The gradient at the analysed point is larger than ``grad_tol``."""


def product_model_loss(theta: Tensor, x: float = 1.0, y_hat: float = 1.0) -> Tensor:
    r"""The book's worked example: $y = w_1 w_2 x$ with squared error on one example.

    $L(w_1, w_2) = (\hat y - w_1 w_2 x)^2$ with $x = 1$, $\hat y = 1$ by default. ``theta`` holds
    $(w_1, w_2)$ in its last dimension, so a grid of points of shape ``(..., 2)`` gives a grid of
    losses of shape ``(...)``.

    Args:
        theta: a floating-point tensor of shape ``(2,)`` or ``(..., 2)``.
        x: the input $x$, a finite real number (a one-element tensor counts as one).
        y_hat: the target $\hat y$, a finite real number.

    Raises:
        TypeError: ``theta`` is not a floating-point tensor, or ``x`` / ``y_hat`` is not a number.
        ValueError: the last dimension of ``theta`` is not 2, or ``x`` / ``y_hat`` is NaN or infinite.

    Examples:
        >>> import torch
        >>> product_model_loss(torch.tensor([0.0, 0.0]))
        tensor(1.)
    """
    theta = _checks.floating_tensor("theta", theta)
    if theta.dim() == 0 or theta.shape[-1] != 2:
        raise ValueError(
            "theta must have exactly 2 entries (w1, w2) in its last dimension, "
            f"got shape {tuple(theta.shape)}"
        )
    x = _checks.real("x", x)
    y_hat = _checks.real("y_hat", y_hat)
    for name, value in (("x", x), ("y_hat", y_hat)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value}")
    return (y_hat - theta[..., 0] * theta[..., 1] * x) ** 2


_HALF = (torch.float16, torch.bfloat16)


def _symmetric_eigh(hessian_matrix: Tensor) -> tuple[Tensor, Tensor]:
    """Eigenvalues (ascending) and eigenvectors of $(H + H^T)/2$; float32 for half-precision ``H``.

    PyTorch's ``eigh`` has no float16/bfloat16 kernels: such a matrix is decomposed as float32, and
    the float32 results are returned (callers cast them back to the input dtype).
    """
    h = _checks.square_matrix("hessian", hessian_matrix)
    if h.dtype in _HALF:
        h = h.float()
    values, vectors = torch.linalg.eigh(h / 2 + h.T / 2)  # h + h.T could overflow a finite h
    if not _checks.all_finite(values):
        raise ValueError(
            f"the eigenvalues of the {h.dtype} Hessian are not finite: its entries are too large"
        )
    return values, vectors


def _as_input_dtype(name: str, values: Tensor, dtype: torch.dtype) -> Tensor:
    """``values`` in ``dtype``, refusing what overflows it (a half-precision eigenvalue above 65504)."""
    cast = values.to(dtype)
    if not _checks.all_finite(cast):
        raise ValueError(
            f"the {name} of the Hessian exceed the range of {dtype} (largest magnitude "
            f"{float(values.abs().max()):.3g}): compute in float32, e.g. theta.float()"
        )
    return cast


def _kind_from_eigenvalues(eigenvalues: Tensor, tol: float) -> PointKind:
    has_positive = bool((eigenvalues > tol).any())
    has_negative = bool((eigenvalues < -tol).any())
    if has_positive and has_negative:
        return PointKind.SADDLE_POINT
    if bool((eigenvalues.abs() <= tol).any()):
        return PointKind.INCONCLUSIVE
    return PointKind.LOCAL_MINIMUM if has_positive else PointKind.LOCAL_MAXIMUM


def classify_hessian(hessian_matrix: Tensor, tol: float = 1e-6) -> PointKind:
    r"""Classify a critical point from the eigenvalues of its Hessian.

    Eigenvalues with $|\lambda| \le$ ``tol`` count as zero. Both signs present: a saddle point, even
    if some eigenvalues are zero. Otherwise any zero eigenvalue makes the test inconclusive (higher
    derivatives decide). The matrix is symmetrized as $(\mathbf{H}+\mathbf{H}^\top)/2$ first.

    Args:
        hessian_matrix: $\mathbf{H}$, a finite square floating-point matrix.
        tol: the zero tolerance for eigenvalues, a finite number >= 0.

    Returns:
        A [`PointKind`][].

    Examples:
        >>> import torch
        >>> str(classify_hessian(torch.tensor([[0.0, -2.0], [-2.0, 0.0]])))
        'saddle point'
    """
    tol = _checks.nonnegative("tol", tol)
    return _kind_from_eigenvalues(_symmetric_eigh(hessian_matrix)[0], tol)


@dataclass(frozen=True)
class PointReport:
    """What [`analyze_point`][] found at ``theta``.

    Attributes:
        theta: the point analysed.
        loss: $L(\\boldsymbol\\theta)$.
        grad_norm: $\\lVert\\mathbf{g}\\rVert_2$.
        is_critical: whether ``grad_norm <= grad_tol``.
        kind: the verdict of the eigenvalue test on $\\mathbf{H}$.
        eigenvalues: eigenvalues of $\\mathbf{H}$, ascending.
        eigenvectors: the matching unit eigenvectors, as columns.
        min_ratio: share of eigenvalues above ``tol`` (1 at a strict local minimum).
    """

    theta: Tensor
    loss: float
    grad_norm: float
    is_critical: bool
    kind: PointKind
    eigenvalues: Tensor
    eigenvectors: Tensor
    min_ratio: float


def analyze_point(
    loss_fn: LossFn,
    theta: Tensor,
    *,
    tol: float = 1e-6,
    grad_tol: float = 1e-6,
    require_critical: bool = True,
) -> PointReport:
    r"""Gradient norm, Hessian eigenvalues and the kind of point at ``theta``.

    The eigenvalue test only classifies *critical* points. If $\lVert\mathbf{g}\rVert$ exceeds
    ``grad_tol`` this raises ``ValueError``; with ``require_critical=False`` it warns with
    [`NotCriticalPointWarning`][] instead and reports the curvature anyway.

    Args:
        loss_fn: $L$, a function of a 1-D parameter vector returning a 0-dim tensor.
        theta: $\boldsymbol\theta'$, the point.
        tol: eigenvalues with $|\lambda|\le$ ``tol`` count as zero.
        grad_tol: the largest gradient norm accepted as zero.
        require_critical: raise (default) or only warn at a non-critical point.

    Returns:
        A [`PointReport`][].

    Raises:
        ValueError: the point is not critical and ``require_critical`` is true, or bad arguments.

    Examples:
        >>> import torch
        >>> report = analyze_point(product_model_loss, torch.zeros(2, dtype=torch.float64))
        >>> str(report.kind), report.eigenvalues.tolist()
        ('saddle point', [-2.0, 2.0])
    """
    tol = _checks.nonnegative("tol", tol)
    grad_tol = _checks.nonnegative("grad_tol", grad_tol)
    require_critical = _checks.flag("require_critical", require_critical)
    theta = _checks.vector("theta", theta).detach()
    g = gradient(loss_fn, theta)
    grad_norm = float(torch.linalg.vector_norm(g))
    is_critical = grad_norm <= grad_tol
    if not is_critical:
        message = (
            f"theta is not a critical point: gradient norm {grad_norm:.3g} > grad_tol {grad_tol:g}; "
            "the eigenvalue test describes the curvature here, not the kind of critical point"
        )
        if require_critical:
            raise ValueError(message)
        warnings.warn(message, NotCriticalPointWarning, stacklevel=2)
    eigenvalues, eigenvectors = _symmetric_eigh(hessian(loss_fn, theta))
    return PointReport(
        theta=theta,
        loss=float(loss_fn(theta)),
        grad_norm=grad_norm,
        is_critical=is_critical,
        kind=_kind_from_eigenvalues(eigenvalues, tol),
        eigenvalues=_as_input_dtype("eigenvalues", eigenvalues, theta.dtype),
        eigenvectors=eigenvectors.to(theta.dtype),
        min_ratio=float((eigenvalues > tol).double().mean()),
    )


def escape_direction(hessian_matrix: Tensor, tol: float = 1e-6) -> tuple[float, Tensor]:
    r"""The eigenvector of the most negative eigenvalue: the steepest way down from a saddle.

    For an eigenvector $\mathbf{u}$ with eigenvalue $\lambda<0$,
    $\mathbf{u}^\top\mathbf{H}\mathbf{u} = \lambda\lVert\mathbf{u}\rVert^2 < 0$, so at a critical
    point the Taylor model falls along $\pm\mathbf{u}$. The sign is fixed so that the entry of
    largest magnitude is positive (eigen-solvers return either sign).

    Args:
        hessian_matrix: $\mathbf{H}$, a finite square floating-point matrix.
        tol: eigenvalues above $-$``tol`` do not count as negative.

    Returns:
        ``(lambda_min, u)``: the eigenvalue and the unit eigenvector.

    Raises:
        ValueError: no eigenvalue is below $-$``tol`` (a minimum or a flat direction: no escape).

    Examples:
        >>> import torch
        >>> lam, u = escape_direction(torch.tensor([[0.0, -2.0], [-2.0, 0.0]]))
        >>> lam, (u * 2**0.5).round(decimals=4).tolist()
        (-2.0, [1.0, 1.0])
    """
    tol = _checks.nonnegative("tol", tol)
    eigenvalues, eigenvectors = _symmetric_eigh(hessian_matrix)
    eigenvectors = eigenvectors.to(hessian_matrix.dtype)  # float32 back to half precision
    lam = float(eigenvalues[0])
    if not lam < -tol:
        raise ValueError(
            f"the Hessian has no eigenvalue below -tol = {-tol:g} (smallest is {lam:.3g}): "
            "no direction of negative curvature to escape along"
        )
    u = eigenvectors[:, 0]
    if u[u.abs().argmax()] < 0:
        u = -u
    return lam, u


def escape_step(loss_fn: LossFn, theta: Tensor, step_size: float = 1.0, *, tol: float = 1e-6) -> Tensor:
    r"""One step from ``theta`` along the escape direction: $\boldsymbol\theta' + \eta\,\mathbf{u}$.

    Args:
        loss_fn: $L$.
        theta: $\boldsymbol\theta'$, usually a saddle point.
        step_size: $\eta$, the length of the step (``u`` has unit length), a finite number >= 0.
        tol: as in [`escape_direction`][].

    Returns:
        The new point.

    Examples:
        >>> import torch
        >>> new = escape_step(product_model_loss, torch.zeros(2, dtype=torch.float64), 2**0.5)
        >>> round(float(product_model_loss(new)), 6)
        0.0
    """
    step_size = _checks.nonnegative("step_size", step_size)
    theta = _checks.vector("theta", theta).detach()
    _, u = escape_direction(hessian(loss_fn, theta), tol)
    new = theta + step_size * u
    if not _checks.all_finite(new):
        raise ValueError(
            f"step_size {step_size:g} takes theta beyond the range of {theta.dtype}: take a smaller step"
        )
    return new


class TaylorModel:
    r"""The second-order Taylor model of ``loss_fn`` around ``theta0``.

    ``TaylorModel(loss_fn, theta0)(theta)`` returns
    $L(\boldsymbol\theta') + \mathbf{d}^\top\mathbf{g} + \tfrac12\mathbf{d}^\top\mathbf{H}\mathbf{d}$
    with $\mathbf{d} = \boldsymbol\theta - \boldsymbol\theta'$. ``theta`` may carry leading batch
    dimensions, ``(..., n)``, to evaluate the model on a grid at once; it must have the dtype and
    device of ``theta0`` (a ``TypeError`` or ``ValueError`` says how to convert it otherwise).

    Attributes:
        theta0: $\boldsymbol\theta'$.
        loss0: $L(\boldsymbol\theta')$ as a 0-dim tensor.
        grad: $\mathbf{g}$ at $\boldsymbol\theta'$.
        hessian: $\mathbf{H}$ at $\boldsymbol\theta'$.

    Examples:
        >>> import torch
        >>> q = TaylorModel(product_model_loss, torch.zeros(2, dtype=torch.float64))
        >>> float(q(torch.tensor([1.0, 1.0], dtype=torch.float64)))
        -1.0
    """

    def __init__(self, loss_fn: LossFn, theta0: Tensor) -> None:
        self.theta0 = _checks.vector("theta0", theta0).detach()
        self.grad = gradient(loss_fn, self.theta0)  # validates loss_fn and theta0 first
        self.loss0 = loss_fn(self.theta0).detach()
        self.hessian = hessian(loss_fn, self.theta0)

    def __call__(self, theta: Tensor) -> Tensor:
        theta = _checks.floating_tensor("theta", theta)
        if theta.dtype != self.theta0.dtype:
            raise TypeError(
                f"theta must have theta0's dtype {self.theta0.dtype}, got {theta.dtype}: "
                f"convert it with theta.to({self.theta0.dtype})"
            )
        if theta.device != self.theta0.device:
            raise ValueError(
                f"theta must be on theta0's device {self.theta0.device}, got {theta.device}: "
                f"move it with theta.to('{self.theta0.device}')"
            )
        n = self.theta0.numel()
        if theta.dim() == 0 or theta.shape[-1] != n:
            raise ValueError(f"theta must have {n} entries in its last dimension, got {tuple(theta.shape)}")
        _checks.finite("theta", theta)
        d = theta - self.theta0
        return self.loss0 + d @ self.grad + 0.5 * ((d @ self.hessian) * d).sum(-1)
