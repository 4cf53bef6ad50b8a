"""L1 against L2 (regularization): scikit-learn's Lasso and Ridge on the two-feature data of
examples/regularization/l1_l2.py (seed 0), the penalties as the chapter writes them (L + alpha sum |w|,
L + alpha sum w^2, L = ||y - X w||^2 / (2N)), and mlnotes' penalties to confirm that each solution is
the minimum."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import Lasso, Ridge

import mlnotes as ml

PAGE = "chapters/regularization"
SETTINGS = [
    {"alpha": 1.0, "show": "both"},  # the chapter's figure: L1 on an axis, L2 inside the quadrant
    {"alpha": 0.01, "show": "both"},  # both L1 weights non-zero
    {"alpha": 2.5, "show": "l1"},  # alpha above |b|: both L1 weights zero
    {"alpha": 1e-3, "show": "l2"},
    {"alpha": 30.0, "show": "both"},
]
_spec = importlib.util.spec_from_file_location(
    "l1_l2_example", Path(__file__).resolve().parents[2] / "examples" / "regularization" / "l1_l2.py"
)
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)
X, Y = _example.two_features(0)
N = len(Y)


def _lasso(alpha):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Lasso(alpha=alpha, fit_intercept=False, tol=1e-15, max_iter=10**6).fit(X, Y).coef_.tolist()


def _ridge(alpha):
    return Ridge(alpha=2 * N * alpha, fit_intercept=False, solver="cholesky").fit(X, Y).coef_.tolist()


def _is_minimum(w, alpha, penalty):
    """The penalized loss, computed with mlnotes' penalty, is lowest at w among nearby points."""
    x, y = torch.tensor(X), torch.tensor(Y)

    def objective(v):
        v = torch.tensor(v, dtype=torch.float64)
        return float(((y - x @ v) ** 2).sum() / (2 * N) + penalty(v, alpha))

    best = objective(w)
    steps = [(d1, d2) for d1 in (-1e-6, 0, 1e-6) for d2 in (-1e-6, 0, 1e-6) if (d1, d2) != (0, 0)]
    return all(objective([w[0] + d1, w[1] + d2]) >= best - 1e-15 for d1, d2 in steps)


def reference(s: dict) -> dict:
    alpha = s["alpha"]
    alphas = _example.ALPHAS.tolist()
    l1, l2 = _lasso(alpha), _ridge(alpha)
    assert _is_minimum(l1, alpha, ml.l1_penalty) and _is_minimum(l2, alpha, ml.l2_penalty)
    return {
        "alpha": alpha,
        "l1": l1,
        "l2": l2,
        "unpenalized": np.linalg.lstsq(X, Y, rcond=None)[0].tolist(),
        "A": (X.T @ X / N).tolist(),
        "b": (X.T @ Y / N).tolist(),
        "c": float(Y @ Y / (2 * N)),
        "alphas": alphas,
        "l1_path": [_lasso(a) for a in alphas],
        "l2_path": [_ridge(a) for a in alphas],
    }
