"""The error surface of y = w1 w2 x (critical points): mlnotes.analyze_point and escape_step."""

import warnings

import torch

import mlnotes as ml

PAGE = "chapters/critical-points"
SETTINGS = [
    {"w1": 0.5, "w2": -0.3, "step": 0.5},
    {"w1": 0.0, "w2": 0.0, "step": 1.0},  # the saddle at the origin
    {"w1": 1.25, "w2": 0.8, "step": 0.3},  # on the curve of minima: w1 w2 = 1
    {"w1": -1.7, "w2": 1.1, "step": 2.0},
    {"w1": 2.0, "w2": 0.0, "step": 0.0},
    {"w1": 0.3, "w2": 0.3, "step": 1.5},
]
UP_TO_SIGN = ("eigenvectors",)
TOL = 1e-6


def reference(s: dict) -> dict:
    theta = torch.tensor([s["w1"], s["w2"]], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ml.NotCriticalPointWarning)
        report = ml.analyze_point(ml.product_model_loss, theta, tol=TOL, grad_tol=TOL, require_critical=False)
    out = {
        "theta": theta.tolist(),
        "loss": report.loss,
        "gradient": ml.gradient(ml.product_model_loss, theta).tolist(),
        "grad_norm": report.grad_norm,
        "is_critical": report.is_critical,
        "hessian": ml.hessian(ml.product_model_loss, theta).tolist(),
        "eigenvalues": report.eigenvalues.tolist(),
        "eigenvectors": report.eigenvectors.T.tolist(),  # one row per eigenvector, as the widget lists them
        "kind": str(report.kind),
        "escape": None,
        "escape_loss": None,
    }
    if report.eigenvalues[0] < -TOL:
        new = ml.escape_step(ml.product_model_loss, theta, s["step"], tol=TOL)
        out["escape"] = new.tolist()
        out["escape_loss"] = float(ml.product_model_loss(new))
    return out
