"""The eigenvalue test, the escape step and the Taylor model, checked against hand derivations."""

import math
import warnings

import pytest
import torch

from mlnotes import (
    NotCriticalPointWarning,
    PointKind,
    TaylorModel,
    analyze_point,
    classify_hessian,
    escape_direction,
    escape_step,
    gradient,
    hessian,
    product_model_loss,
)

F64 = torch.float64


def test_worked_example_gradient_by_hand():
    # L = (1 - w1 w2)^2:  dL/dw1 = -2 w2 (1 - w1 w2),  dL/dw2 = -2 w1 (1 - w1 w2)
    for w1, w2 in [(0.3, -0.8), (2.0, 0.5), (-1.0, 1.5)]:
        r = 1 - w1 * w2
        expected = torch.tensor([-2 * w2 * r, -2 * w1 * r], dtype=F64)
        torch.testing.assert_close(gradient(product_model_loss, torch.tensor([w1, w2], dtype=F64)), expected)


def test_worked_example_hessian_by_hand():
    # H = [[2 w2^2, 4 w1 w2 - 2], [4 w1 w2 - 2, 2 w1^2]], which is [[0, -2], [-2, 0]] at the origin
    for w1, w2 in [(0.0, 0.0), (0.3, -0.8), (2.0, 0.5)]:
        expected = torch.tensor([[2 * w2**2, 4 * w1 * w2 - 2], [4 * w1 * w2 - 2, 2 * w1**2]], dtype=F64)
        torch.testing.assert_close(hessian(product_model_loss, torch.tensor([w1, w2], dtype=F64)), expected)


def test_origin_is_a_saddle_with_eigenvalues_plus_minus_two():
    report = analyze_point(product_model_loss, torch.zeros(2, dtype=F64))
    assert report.kind is PointKind.SADDLE_POINT
    assert report.is_critical and report.grad_norm == 0.0
    assert report.loss == 1.0
    torch.testing.assert_close(report.eigenvalues, torch.tensor([-2.0, 2.0], dtype=F64))
    assert report.min_ratio == 0.5


def test_points_on_the_curve_w1_w2_equal_one_are_minima_up_to_a_flat_direction():
    # Along the hyperbola the loss is 0 everywhere: one eigenvalue is exactly 0, so the
    # second-order test is inconclusive even though each point is a (non-strict) minimum.
    for w1 in (0.5, 1.0, 2.0):
        theta = torch.tensor([w1, 1 / w1], dtype=F64)
        report = analyze_point(product_model_loss, theta, tol=1e-9)
        assert report.loss == pytest.approx(0.0, abs=1e-15)
        assert report.kind is PointKind.INCONCLUSIVE
        # the non-zero eigenvalue is tr(H) = 2 (w1^2 + w2^2), along (w2, w1)
        assert report.eigenvalues[1].item() == pytest.approx(2 * (w1**2 + 1 / w1**2))


def test_escape_along_u_equal_one_one_lowers_the_loss():
    origin = torch.zeros(2, dtype=F64)
    lam, u = escape_direction(hessian(product_model_loss, origin))
    assert lam == pytest.approx(-2.0)
    torch.testing.assert_close(u, torch.tensor([1.0, 1.0], dtype=F64) / math.sqrt(2))
    # u^T H u = lambda |u|^2
    h = hessian(product_model_loss, origin)
    assert float(u @ h @ u) == pytest.approx(lam)
    for eta in (0.1, 0.5, 1.0, math.sqrt(2)):
        new = escape_step(product_model_loss, origin, eta)
        # on the diagonal w1 = w2 = eta / sqrt 2, the loss is (1 - eta^2 / 2)^2 < 1
        assert float(product_model_loss(new)) == pytest.approx((1 - eta**2 / 2) ** 2)
        assert float(product_model_loss(new)) < 1.0


@pytest.mark.parametrize(
    ("diagonal", "kind"),
    [
        ([1.0, 2.0, 3.0], PointKind.LOCAL_MINIMUM),
        ([-1.0, -2.0], PointKind.LOCAL_MAXIMUM),
        ([1.0, -1.0], PointKind.SADDLE_POINT),
        ([1.0, 0.0, -1.0], PointKind.SADDLE_POINT),
        ([1.0, 0.0], PointKind.INCONCLUSIVE),
        ([0.0, -3.0], PointKind.INCONCLUSIVE),
        ([1e-9, 1.0], PointKind.INCONCLUSIVE),
    ],
)
def test_classification_of_rotated_diagonal_quadratics(diagonal, kind):
    # H = Q diag Q^T for a random rotation Q: the eigenvalues, hence the verdict, are the diagonal's
    n = len(diagonal)
    q, _ = torch.linalg.qr(torch.randn(n, n, dtype=F64, generator=torch.Generator().manual_seed(n)))
    h = q @ torch.diag(torch.tensor(diagonal, dtype=F64)) @ q.T
    assert classify_hessian(h, tol=1e-6) is kind
    report = analyze_point(lambda t: 0.5 * t @ h @ t, torch.zeros(n, dtype=F64))
    assert report.kind is kind
    torch.testing.assert_close(report.eigenvalues, torch.tensor(sorted(diagonal), dtype=F64))


def test_tolerance_decides_what_counts_as_zero():
    h = torch.diag(torch.tensor([1e-3, 1.0], dtype=F64))
    assert classify_hessian(h, tol=1e-6) is PointKind.LOCAL_MINIMUM
    assert classify_hessian(h, tol=1e-2) is PointKind.INCONCLUSIVE


def test_non_critical_point_is_refused_or_warned():
    theta = torch.tensor([0.5, 0.5], dtype=F64)  # gradient (-0.75, -0.75)
    with pytest.raises(ValueError, match=r"not a critical point: gradient norm 1\.06"):
        analyze_point(product_model_loss, theta)
    with pytest.warns(NotCriticalPointWarning, match="not a critical point"):
        report = analyze_point(product_model_loss, theta, require_critical=False)
    assert not report.is_critical
    assert report.grad_norm == pytest.approx(0.75 * math.sqrt(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analyze_point(product_model_loss, theta, grad_tol=2.0)  # accepted as critical: no warning


def test_no_escape_direction_at_a_minimum():
    with pytest.raises(ValueError, match="no direction of negative curvature"):
        escape_direction(torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match="no direction of negative curvature"):
        escape_step(lambda t: (t**2).sum(), torch.zeros(2, dtype=F64))


def test_taylor_model_is_exact_for_a_quadratic():
    a = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=F64)
    b = torch.tensor([1.0, -1.0], dtype=F64)

    def loss(t):
        return 0.5 * t @ a @ t + b @ t + 4.0

    q = TaylorModel(loss, torch.tensor([0.3, -0.2], dtype=F64))
    points = torch.randn(10, 2, dtype=F64, generator=torch.Generator().manual_seed(0)) * 5
    torch.testing.assert_close(q(points), torch.stack([loss(p) for p in points]))


def test_taylor_model_error_shrinks_like_the_cube_of_the_distance():
    theta0 = torch.tensor([0.4, 0.9], dtype=F64)
    q = TaylorModel(product_model_loss, theta0)
    direction = torch.tensor([0.6, -0.8], dtype=F64)
    errors = [
        abs(float(product_model_loss(theta0 + r * direction) - q(theta0 + r * direction)))
        for r in (1e-1, 1e-2)
    ]
    # a third-order remainder: 10x closer means about 1000x smaller
    assert 500 < errors[0] / errors[1] < 2000


def test_taylor_model_at_the_origin_by_hand():
    q = TaylorModel(product_model_loss, torch.zeros(2, dtype=F64))
    # q(w) = 1 - 2 w1 w2, so along the diagonal q(t, t) = 1 - 2 t^2
    for t in (0.0, 0.5, 1.0):
        assert float(q(torch.tensor([t, t], dtype=F64))) == pytest.approx(1 - 2 * t**2)


def test_bad_arguments():
    h = torch.eye(2)
    with pytest.raises(ValueError, match="Invalid tol: -1"):
        classify_hessian(h, tol=-1)
    with pytest.raises(ValueError, match="Invalid tol: nan"):
        classify_hessian(h, tol=float("nan"))
    with pytest.raises(TypeError, match="tol must be a real number"):
        classify_hessian(h, tol="small")
    with pytest.raises(ValueError, match="square"):
        classify_hessian(torch.ones(2, 3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        classify_hessian(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="floating-point"):
        classify_hessian(torch.eye(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="Invalid grad_tol"):
        analyze_point(product_model_loss, torch.zeros(2), grad_tol=-0.1)
    with pytest.raises(ValueError, match="Invalid step_size"):
        escape_step(product_model_loss, torch.zeros(2), step_size=float("inf"))
    with pytest.raises(ValueError, match=r"\(w1, w2\)"):
        product_model_loss(torch.zeros(3))
    q = TaylorModel(product_model_loss, torch.zeros(2, dtype=F64))
    with pytest.raises(ValueError, match="2 entries in its last dimension"):
        q(torch.zeros(3, dtype=F64))


HALF = [torch.float16, torch.bfloat16]
HALF_TOL = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2}  # a few units in the last place


def _saddle_matrix(dtype):
    # a symmetric matrix with eigenvalues of both signs, exactly representable in half precision
    return torch.tensor([[1.0, 2.0, 0.5], [2.0, -3.0, 0.25], [0.5, 0.25, 0.75]], dtype=dtype)


@pytest.mark.parametrize("dtype", HALF)
def test_half_precision_hessians_are_decomposed_like_float64(dtype):
    h = _saddle_matrix(dtype)
    ref_values, ref_vectors = torch.linalg.eigh(h.double())  # the same matrix, in float64
    assert classify_hessian(h) is classify_hessian(h.double()) is PointKind.SADDLE_POINT
    lam, u = escape_direction(h)
    assert u.dtype == dtype
    tol = HALF_TOL[dtype]
    assert lam == pytest.approx(ref_values[0].item(), rel=tol)
    ref_u = ref_vectors[:, 0] * torch.sign(ref_vectors[ref_vectors[:, 0].abs().argmax(), 0])
    torch.testing.assert_close(u.double(), ref_u, rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", HALF)
def test_analyze_point_and_escape_step_in_half_precision(dtype):
    theta = torch.zeros(2, dtype=dtype)
    report = analyze_point(product_model_loss, theta)
    assert report.kind is PointKind.SADDLE_POINT
    assert report.eigenvalues.dtype == report.eigenvectors.dtype == dtype
    reference = analyze_point(product_model_loss, torch.zeros(2, dtype=F64))
    tol = HALF_TOL[dtype]
    torch.testing.assert_close(report.eigenvalues.double(), reference.eigenvalues, rtol=0, atol=tol)
    new = escape_step(product_model_loss, theta, 2**0.5)
    assert new.dtype == dtype
    expected = escape_step(product_model_loss, torch.zeros(2, dtype=F64), 2**0.5)
    torch.testing.assert_close(new.double(), expected, rtol=0, atol=2 * tol)


def test_half_precision_eigenvalues_that_overflow_the_dtype_are_refused():
    def loss(theta):
        return 3e4 * theta.sum() ** 2  # H = 6e4 [[1, 1], [1, 1]]: entries fit float16, eigenvalue 1.2e5 not

    theta = torch.zeros(2, dtype=torch.float16)
    assert torch.isfinite(hessian(loss, theta)).all()
    with pytest.raises(ValueError, match=r"eigenvalues of the Hessian exceed the range of torch\.float16"):
        analyze_point(loss, theta)
    assert classify_hessian(hessian(loss, theta)) is PointKind.INCONCLUSIVE  # 0 and 1.2e5, in float32


def test_an_escape_step_that_overflows_the_dtype_is_refused():
    with pytest.raises(ValueError, match="step_size"):
        escape_step(product_model_loss, torch.zeros(2, dtype=torch.float16), 1e5)


def test_taylor_model_refuses_a_theta_of_another_dtype():
    q = TaylorModel(product_model_loss, torch.zeros(2))
    with pytest.raises(TypeError, match=r"theta must have theta0's dtype torch\.float32, got torch\.float64"):
        q(torch.ones(2, dtype=F64))
    assert float(q(torch.ones(2))) == -1.0  # the same point in theta0's dtype: 1 - 2 w1 w2


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"x": "a"}, TypeError, "x"),
        ({"x": torch.ones(5)}, TypeError, "x"),
        ({"y_hat": [1.0]}, TypeError, "y_hat"),
        ({"x": True}, TypeError, "x"),
        ({"x": float("nan")}, ValueError, "x"),
        ({"y_hat": float("inf")}, ValueError, "y_hat"),
    ],
)
def test_product_model_loss_refuses_what_is_not_a_finite_number(kwargs, error, name):
    with pytest.raises(error, match=f"^{name} must be a"):
        product_model_loss(torch.ones(2), **kwargs)


def test_product_model_loss_takes_numbers_in_any_form():
    theta = torch.tensor([0.5, 3.0], dtype=F64)
    by_hand = (2.0 - 0.5 * 3.0 * 4.0) ** 2  # (y_hat - w1 w2 x)^2 = 16
    for x, y_hat in [(4.0, 2.0), (torch.tensor(4.0), torch.tensor([2.0])), (4, 2)]:
        assert float(product_model_loss(theta, x=x, y_hat=y_hat)) == by_hand
    with pytest.raises(ValueError, match="exactly 2 entries"):
        product_model_loss(torch.ones(2, 3))
