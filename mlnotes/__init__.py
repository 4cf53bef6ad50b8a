"""mlnotes: the code behind the book *Why neural-network training fails, and what to do about it*.

One module per chapter concept:

- [`mlnotes.derivatives`][]: gradient, Hessian and Hessian-vector products of a loss;
- [`mlnotes.critical_points`][]: the Taylor model, the eigenvalue test, escaping saddle points;
- [`mlnotes.curvature`][]: the Hessian of a dataset's loss as a matrix-free operator (for all parameters
  or one layer's, across processes); Lanczos, Hutchinson's trace, the spectral density;
- [`mlnotes.optim`][]: optimizers in the lecture's notation (gradient descent, momentum, Adagrad,
  RMSProp, Adam);
- [`mlnotes.schedules`][]: learning-rate schedules (decay, warm-up, cosine);
- [`mlnotes.losses`][]: one-hot targets, stable softmax and cross-entropy, squared error on softmax;
- [`mlnotes.batchnorm`][]: batch normalization from scratch;
- [`mlnotes.regularization`][]: L1 and L2 penalties, dropout, early stopping;
- [`mlnotes.learning_theory`][]: the bound on bad training sets and a simulator;
- [`mlnotes.data`][]: the bundled digits data, split for training;
- [`mlnotes.training`][]: the small training loop of the experiments;
- [`mlnotes.device`][], [`mlnotes.cli`][], [`mlnotes.plotting`][]: what the example scripts share.
"""

from mlnotes import _deprecation
from mlnotes.batchnorm import BatchNorm
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
from mlnotes.curvature import (
    HessianOperator,
    LanczosResult,
    SpectralDensity,
    hutchinson_trace,
    lanczos,
    spectral_density,
)
from mlnotes.data import Dataset, Split, as_split, load_digits
from mlnotes.derivatives import ModuleLoss, gradient, hessian, hvp
from mlnotes.learning_theory import ThresholdProblem, bad_set_bound, examples_needed
from mlnotes.losses import cross_entropy, log_softmax, logsumexp, one_hot, sigmoid, softmax, softmax_mse
from mlnotes.optim import (
    Adagrad,
    Adam,
    GradientDescent,
    Momentum,
    NonFiniteGradient,
    OptimizerBase,
    RMSProp,
    check_lr,
)
from mlnotes.regularization import Dropout, EarlyStopping, l1_penalty, l2_penalty
from mlnotes.schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseSqrtDecay,
    LinearWarmup,
    Schedule,
    StepDecay,
    TransformerWarmup,
)
from mlnotes.training import EpochResult, History, TrainingDiverged, activation_spread, evaluate, train

__version__ = "0.1.0"

__all__ = [
    "Adagrad",
    "Adam",
    "BatchNorm",
    "CosineDecay",
    "Dataset",
    "Dropout",
    "EarlyStopping",
    "EpochResult",
    "ExponentialDecay",
    "GradientDescent",
    "HessianOperator",
    "History",
    "InverseSqrtDecay",
    "LanczosResult",
    "LinearWarmup",
    "ModuleLoss",
    "Momentum",
    "NonFiniteGradient",
    "NotCriticalPointWarning",
    "OptimizerBase",
    "PointKind",
    "PointReport",
    "RMSProp",
    "Schedule",
    "SpectralDensity",
    "Split",
    "StepDecay",
    "TaylorModel",
    "ThresholdProblem",
    "TrainingDiverged",
    "TransformerWarmup",
    "activation_spread",
    "analyze_point",
    "as_split",
    "bad_set_bound",
    "check_lr",
    "classify_hessian",
    "cross_entropy",
    "escape_direction",
    "escape_step",
    "evaluate",
    "examples_needed",
    "gradient",
    "hessian",
    "hutchinson_trace",
    "hvp",
    "l1_penalty",
    "l2_penalty",
    "lanczos",
    "load_digits",
    "log_softmax",
    "logsumexp",
    "one_hot",
    "product_model_loss",
    "sigmoid",
    "softmax",
    "softmax_mse",
    "spectral_density",
    "train",
]


# the old name of OptimizerBase, kept for one release
__getattr__ = _deprecation.module_getattr(__name__, {"LectureOptimizer": ("OptimizerBase", OptimizerBase)})
