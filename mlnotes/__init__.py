"""mlnotes: the code behind the book *Why neural-network training fails, and what to do about it*.

One module per chapter concept:

- [`mlnotes.derivatives`][]: gradient, Hessian and Hessian-vector products of a loss;
- [`mlnotes.critical_points`][]: the Taylor model, the eigenvalue test, escaping saddle points;
- [`mlnotes.device`][], [`mlnotes.cli`][], [`mlnotes.plotting`][]: what the example scripts share.
"""

from mlnotes.critical_points import (
    NotCriticalPointWarning,
    PointKind,
    PointReport,
    TaylorModel,
    analyze_point,
    classify_hessian,
    escape_direction,
    escape_step,
    product_model_loss,
)
from mlnotes.derivatives import ModuleLoss, gradient, hessian, hvp

__version__ = "0.1.0"

__all__ = [
    "ModuleLoss",
    "NotCriticalPointWarning",
    "PointKind",
    "PointReport",
    "TaylorModel",
    "analyze_point",
    "classify_hessian",
    "escape_direction",
    "escape_step",
    "gradient",
    "hessian",
    "hvp",
    "product_model_loss",
]
