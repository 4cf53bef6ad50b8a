"""Argument checks shared by the package: one wording, and one decision per kind of input.

Every public function sends its arguments through these, so a kind of input (a NumPy scalar, a
``torch.device``, a one-element tensor, NaN) is accepted or refused the same way everywhere:

- numbers: Python and NumPy numbers are accepted, as PyTorch accepts them; so is a tensor holding
  one real number (a loss read off a model); ``bool`` is refused where a number is meant;
- devices: a name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"auto"``) or a ``torch.device``, refused
  at once when it does not exist on this machine ([`mlnotes.device.resolve_device`][]);
- models: the layers whose training mode makes a loss random or changes the model when it is
  evaluated (dropout, batch normalization that tracks running statistics) are named, with what to do.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor, nn

from mlnotes.device import resolve_device

INT_LIMIT = 2**63  # the range of torch's int64
SEED_LIMIT = 2**63  # torch.Generator.manual_seed takes seeds below 2**64; NumPy's legacy seed 2**32


def floating_tensor(name: str, value: object) -> Tensor:
    """Return ``value`` if it is a floating-point tensor, else raise ``TypeError``."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if value.is_meta:
        raise ValueError(
            f"{name} is on the 'meta' device, which holds shapes but no values: "
            "pass a tensor with data (e.g. on 'cpu' or 'cuda')"
        )
    return value


def all_finite(value: Tensor) -> bool:
    """Whether ``value`` holds no NaN or infinite entry.

    A NaN or an infinity in the entries makes their sum NaN or infinite, so a finite sum proves them
    all finite at the cost of one reduction; only a sum that is not finite (which finite entries give
    when it overflows) needs the entry-by-entry test.
    """
    return bool(torch.isfinite(value.sum())) or bool(torch.isfinite(value).all())


def finite(name: str, value: Tensor) -> Tensor:
    """Return ``value`` if it holds no NaN or infinite entry."""
    if not all_finite(value):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return value


def batch(
    inputs: Tensor, targets: Tensor, dtype: torch.dtype | None, device: torch.device | None, where: str
) -> None:
    """Refuse a batch that the model cannot take as it is: wrong dtype or device, or NaN/inf inputs.

    ``where`` names the batch in the message (e.g. ``"batch 3 of data: "``); a ``dtype`` or
    ``device`` of ``None`` is not checked.
    """
    for name, value in (("inputs", inputs), ("targets", targets)):
        if device is not None and value.device != device:
            raise ValueError(
                f"{where}{name} are on {value.device} but the model's parameters on {device}: "
                f"move them with .to({str(device)!r})"
            )
        if value.is_floating_point() and not all_finite(value):
            raise ValueError(f"{where}{name} contain NaN or infinite values: clean the data first")
    if dtype is not None and inputs.is_floating_point() and inputs.dtype != dtype:
        raise TypeError(
            f"{where}inputs have dtype {inputs.dtype} but the model's parameters {dtype}: convert the "
            f"inputs (inputs.to({dtype})) or the model (model.to({inputs.dtype}))"
        )


def vector(name: str, value: object) -> Tensor:
    """Return ``value`` if it is a 1-D floating-point tensor with at least one entry."""
    value = floating_tensor(name, value)
    if value.dim() != 1 or value.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D parameter vector, got shape {tuple(value.shape)}")
    return value


def square_matrix(name: str, value: object) -> Tensor:
    """Return ``value`` if it is a finite, square, floating-point matrix."""
    value = floating_tensor(name, value)
    if value.dim() != 2 or value.shape[0] != value.shape[1] or value.numel() == 0:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {tuple(value.shape)}")
    return finite(name, value)


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def real(name: str, value: object) -> float:
    """Return ``value`` as a float: a Python or NumPy real number, or a tensor holding one.

    ``bool`` is refused (``True`` as a learning rate is a mistake, not 1.0); NaN and infinities pass,
    for the caller's range check to reject with its own message.
    """
    if (
        isinstance(value, Tensor)
        and value.numel() == 1
        and not value.is_complex()
        and value.dtype != torch.bool
    ):
        return float(value.item())
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:  # an int beyond 1.8e308
        raise ValueError(
            f"{name} is too large to be a float, got an integer of {len(str(value))} digits"
        ) from None


def learning_rate(lr: object) -> float:
    """A learning rate that is a number: finite and >= 0 (NaN too is refused; torch.optim allows it).

    The optimizers and the schedules share it; PyTorch's wording, ``Invalid learning rate``.
    """
    try:
        value = real("lr", lr)
    except TypeError:
        raise TypeError(
            f"lr must be a real number or a callable schedule t -> lr, got {type(lr).__name__}"
        ) from None
    if not 0.0 <= value < math.inf:
        raise ValueError(f"Invalid learning rate: {lr}")
    return value


def integer(name: str, value: object) -> int:
    """Return ``value`` as an int: a Python or NumPy integer below 2**63 (not a bool, not 3.0)."""
    if (
        isinstance(value, Tensor)
        and value.numel() == 1
        and not value.is_floating_point()
        and not value.is_complex()
    ):
        if value.dtype != torch.bool:
            return int(value.item())
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    number = operator.index(value)
    if not -INT_LIMIT <= number < INT_LIMIT:  # no count, size or step in this package comes near
        raise ValueError(f"{name} is out of range: {number} is beyond 2**63")
    return number


def _int_at_least(name: str, value: object, low: int, words: str) -> int:
    """Return ``value`` as an int if it is an integer >= ``low`` (Python or NumPy), else raise with
    ``{name} must be {words}``."""
    try:
        number = integer(name, value)
    except TypeError:
        raise ValueError(f"{name} must be {words}, got {type(value).__name__} {value!r}") from None
    if number < low:
        raise ValueError(f"{name} must be {words}, got {number}")
    return number


def positive_int(name: str, value: object) -> int:
    """Return ``value`` as an int if it is an integer >= 1 (Python or NumPy), else raise."""
    return _int_at_least(name, value, 1, "a positive integer")


def nonnegative_int(name: str, value: object) -> int:
    """Return ``value`` as an int if it is an integer >= 0 (Python or NumPy), else raise."""
    return _int_at_least(name, value, 0, "an integer >= 0")


def seed(name: str, value: object, limit: int = SEED_LIMIT) -> int:
    """Return ``value`` as an int if it is a usable seed: an integer in [0, ``limit``).

    The default is torch's range; NumPy's legacy seeding and scikit-learn take seeds below 2**32.
    """
    number = integer(name, value)
    if not 0 <= number < limit:
        raise ValueError(f"{name} must be an integer >= 0 and below {limit}, got {number}")
    return number


def nonnegative(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a real number >= 0 (NaN is rejected)."""
    value = real(name, value)
    if not 0.0 <= value < math.inf:
        raise ValueError(f"Invalid {name}: {value} (expected a finite number >= 0)")
    return float(value)


def interval(
    name: str, value: object, low: float, high: float, closed: str = "neither", *, why: str = ""
) -> float:
    """Return ``value`` as a float if it is a real number in the interval from ``low`` to ``high``.

    ``closed`` says which ends belong to it: ``"neither"``, ``"left"``, ``"right"`` or ``"both"``.
    NaN is refused; the message writes the interval as ``(0, 1]``, followed by ``why`` if given.
    """
    value = real(name, value)
    left, right = closed in ("left", "both"), closed in ("right", "both")
    above = value >= low if left else value > low
    below = value <= high if right else value < high
    if not (above and below):
        shown = f"{'[' if left else '('}{low:g}, {high:g}{']' if right else ')'}"
        raise ValueError(f"{name} must be a number in {shown}, got {value!r}" + (f": {why}" if why else ""))
    return value


def choice(name: str, value: object, options: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``options``, else raise naming them."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def flag(name: str, value: object) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (a NumPy bool too)."""
    if not _is_bool(value):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def device(name: str, value: object) -> torch.device:
    """A device that exists here, from a name or a ``torch.device`` ([`resolve_device`][])."""
    if isinstance(value, torch.device):
        return resolve_device(str(value))
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a device name such as 'cpu' or a torch.device, got {type(value).__name__}"
        )
    try:
        return resolve_device(value)
    except ValueError as error:
        if name == "device":  # the message already says "device ..."
            raise
        raise ValueError(f"{name}: {error}") from None


def vector_dtype(name: str, value: object) -> torch.dtype:
    """float32 or float64: the dtypes in which the eigenvalue routines keep their digits."""
    if not isinstance(value, torch.dtype):
        raise TypeError(f"{name} must be a torch.dtype (torch.float32 or torch.float64), got {value!r}")
    if value not in (torch.float32, torch.float64):
        raise ValueError(
            f"{name} must be torch.float32 or torch.float64, got {value}: half precision keeps about "
            "3 digits, too few for eigenvalues; compute on a float32 copy (model.float())"
        )
    return value


def scalar_output(name: str, value: object) -> Tensor:
    """Return ``value`` if it is a 0-dim floating-point tensor (a loss)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must return a torch.Tensor, got {type(value).__name__}")
    if value.dim() != 0:
        raise ValueError(
            f"{name} must return a scalar (0-dim) loss, got shape {tuple(value.shape)}; "
            "reduce it first, e.g. with .mean() or .sum()"
        )
    if not value.is_floating_point():
        raise TypeError(f"{name} must return a floating-point loss, got dtype {value.dtype}")
    return value


def module(name: str, value: object) -> nn.Module:
    """Return ``value`` if it is an ``nn.Module``."""
    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value


def materialized(model: nn.Module) -> nn.Module:
    """Refuse a model whose parameters or buffers are on the ``meta`` device (shapes without values)."""
    for n, t in (*model.named_parameters(), *model.named_buffers()):
        if t.is_meta:
            raise ValueError(
                f"model tensor {n!r} is on the meta device, which holds shapes but no values: "
                "materialize the model first, e.g. model.to_empty(device='cpu') and load its weights"
            )
    return model


def mean_loss(name: str, loss_fn: object, *, over_examples: bool = False) -> object:
    """``loss_fn``, if it is callable and (for a loss module, e.g. ``nn.MSELoss``) averages the batch.

    With ``over_examples``, the mean must be a plain mean over the examples, so that batch means
    weighted by batch size add up to the mean over all data: a class-weighted cross-entropy divides
    by the sum of the weights instead, and is refused.
    """
    if not callable(loss_fn):
        raise TypeError(f"{name} must be callable, got {type(loss_fn).__name__}")
    reduction = getattr(loss_fn, "reduction", "mean")
    if reduction != "mean":
        raise ValueError(
            f"{name} must return the mean loss of a batch, but it has reduction={reduction!r}: "
            "use reduction='mean' (the default)"
        )
    weighted = isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)) and loss_fn.weight is not None
    if over_examples and weighted:
        raise ValueError(
            f"{name} has class weights, so its batch mean divides by the batch's total weight and batch "
            "means do not add up to the mean over the data: use the loss without weight="
        )
    return loss_fn


def ignored_index(loss_fn: object) -> int | None:
    """The target value that ``loss_fn`` leaves out of its mean (-100 for PyTorch's cross-entropy)."""
    if isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)):
        return loss_fn.ignore_index
    if loss_fn in (nn.functional.cross_entropy, nn.functional.nll_loss):
        return -100
    return None


def no_ignored_targets(name: str, targets: Tensor, loss_fn: object) -> None:
    """Refuse targets equal to the loss's ``ignore_index``: they leave the batch mean over fewer examples."""
    index = ignored_index(loss_fn)
    if index is not None and not targets.is_floating_point() and bool((targets == index).any()):
        raise ValueError(
            f"{name} targets hold {index}, the loss's ignore_index: the batch mean then counts fewer "
            "examples than the batch holds, so batch means do not add up; remove those examples first"
        )


def trainable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The model's parameters with ``requires_grad``, all real floating point of one dtype and device."""
    materialized(model)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("model has no trainable parameters (none with requires_grad=True)")
    first_name, first = named[0]
    for n, p in named:
        if not p.is_floating_point():
            raise TypeError(
                f"model parameter {n!r} has dtype {p.dtype}: derivatives here are for real floating-point "
                "parameters (a complex parameter can be split into two real ones)"
            )
        if p.dtype != first.dtype or p.device != first.device:
            raise ValueError(
                f"model parameters {first_name!r} ({first.dtype}, {first.device}) and {n!r} ({p.dtype}, "
                f"{p.device}) differ in dtype or device: move the model with model.to(dtype, device)"
            )
    return named


def parameter_subset(name: str, model: nn.Module, chosen: object) -> list[tuple[str, nn.Parameter]]:
    """The trainable parameters named by ``chosen`` (parameter tensors of ``model`` or their names),
    in the model's order; refused if empty, repeated, frozen or not the model's."""
    if isinstance(chosen, (Tensor, str, bytes)) or not isinstance(chosen, Iterable):
        raise TypeError(
            f"{name} must be a list of the model's parameters or of their names, got "
            f"{type(chosen).__name__}: write [model.fc.weight] or ['fc.weight']"
        )
    everything = dict(model.named_parameters())
    by_identity = {id(p): n for n, p in everything.items()}
    picked: list[str] = []
    for index, item in enumerate(chosen):
        if isinstance(item, str):
            if item not in everything:
                known = ", ".join(list(everything)[:6]) + (", ..." if len(everything) > 6 else "")
                raise ValueError(f"{name}[{index}] is {item!r}, not a parameter name of the model ({known})")
            found = item
        elif isinstance(item, Tensor):
            if id(item) not in by_identity:
                raise ValueError(
                    f"{name}[{index}] is a tensor of shape {tuple(item.shape)} that is not a parameter of "
                    "the model: pass the model's own parameters (e.g. model.fc.weight) or their names"
                )
            found = by_identity[id(item)]
        else:
            what = type(item).__name__
            raise TypeError(f"{name}[{index}] must be a parameter or a parameter name, got {what}")
        if found in picked:
            raise ValueError(f"{name} names the parameter {found!r} twice: list each parameter once")
        if not everything[found].requires_grad:
            raise ValueError(
                f"{name}[{index}] is {found!r}, which has requires_grad=False: a frozen parameter has no "
                "Hessian here; set requires_grad_(True) on it or leave it out"
            )
        picked.append(found)
    if not picked:
        raise ValueError(f"{name} is empty: name at least one parameter, or pass None for all of them")
    subset = set(picked)
    return [(n, p) for n, p in trainable(model) if n in subset]


def stateful_layers(model: nn.Module) -> list[str]:
    """The layers that make a forward pass random or change the model, each as ``layer 'name' (Type)``.

    Dropout with ``p > 0`` in training mode draws random masks; batch normalization in training
    mode that tracks running statistics updates them in place. Both ``torch.nn``'s layers and the
    package's own ([`mlnotes.regularization.Dropout`][], [`mlnotes.batchnorm.BatchNorm`][]) count.
    """
    from mlnotes.batchnorm import BatchNorm
    from mlnotes.regularization import Dropout

    found = []
    for layer_name, layer in model.named_modules():
        if not layer.training:
            continue
        dropout = isinstance(layer, (nn.modules.dropout._DropoutNd, Dropout)) and layer.p > 0
        norm = isinstance(layer, (nn.modules.batchnorm._NormBase, BatchNorm)) and bool(
            layer.track_running_stats
        )
        if dropout or norm:
            found.append(
                f"layer {layer_name!r} ({type(layer).__name__})" if layer_name else type(layer).__name__
            )
    return found


def batch_norm_layers(model: nn.Module) -> list[nn.Module]:
    """The model's batch-normalization layers, ``torch.nn``'s and the package's own."""
    from mlnotes.batchnorm import BatchNorm

    return [m for m in model.modules() if isinstance(m, (nn.modules.batchnorm._BatchNorm, BatchNorm))]


@contextmanager
def modes_restored(model: nn.Module) -> Iterator[nn.Module]:
    """Give every layer back its own train/eval mode afterwards, not one flag for the whole model
    (a batch-norm layer frozen with ``.eval()`` inside a training model stays frozen)."""
    modes = [(layer, layer.training) for layer in model.modules()]
    try:
        yield model
    finally:
        for layer, mode in modes:
            layer.training = mode


def eval_mode(model: nn.Module, what: str) -> None:
    """Refuse a model whose forward pass is random or changes it, naming the layers and the cure."""
    layers = stateful_layers(model)
    if layers:
        raise ValueError(
            f"{what} needs a deterministic model that is not changed by a forward pass, but the model is "
            f"in training mode with {', '.join(layers)}: call model.eval() first"
        )
