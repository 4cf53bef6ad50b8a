"""Real data that works offline: scikit-learn's handwritten digits.

The experiments use [`load_digits`][]: 1,797 grey-scale 8x8 images of the digits 0-9 that ship
inside scikit-learn, so nothing is downloaded, split into training, validation and test sets.
[`as_split`][] accepts the usual ways of holding a split of data (a pair of tensors, a
``TensorDataset``) as a [`Split`][].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from mlnotes import _checks


def _check_pair(x: object, y: object, prefix: str, parts: tuple[str, str]) -> None:
    """Both tensors, with a first dimension, of one length; messages start ``prefix`` + a part's name."""
    for part, tensor in zip(parts, (x, y), strict=True):
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"{prefix}{part} must be a torch.Tensor, got {type(tensor).__name__}: convert with "
                "torch.as_tensor, or use Split.from_arrays"
            )
        if tensor.dim() == 0:
            raise ValueError(f"{prefix}{part} is a 0-dim tensor: it needs one entry per example")
    if len(x) != len(y):
        raise ValueError(
            f"{prefix}{parts[0]} and {parts[1]} must have the same first dimension (one per example), "
            f"got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (float, one row per example) and integer class labels ``y``.

    Raises:
        TypeError: ``x`` or ``y`` is not a ``torch.Tensor``.
        ValueError: ``x`` or ``y`` is 0-dim, or their first dimensions (the number of examples)
            differ.
    """

    x: Tensor
    y: Tensor

    def __post_init__(self) -> None:
        _check_pair(self.x, self.y, "Split ", ("x", "y"))

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray) -> Split:
        """float32 inputs and int64 labels from numpy arrays.

        Raises:
            TypeError: ``y`` does not hold real numbers.
            ValueError: ``y`` holds a value that is not an integer (``1.7``, NaN): class labels are
                not rounded.
        """
        array = np.asarray(y)
        if array.dtype == np.uint64 and array.size and int(array.max()) >= 2**63:  # would wrap to < 0
            raise ValueError(f"y holds the label {int(array.max())}, beyond the int64 range of class labels")
        labels = torch.as_tensor(array)
        if labels.is_complex():
            raise TypeError(f"y must hold integer class labels, got dtype {labels.dtype}")
        if labels.is_floating_point():
            integral = (labels.abs() < 2.0**63) & (labels == labels.round())  # NaN, inf: False
            if not integral.all():
                bad = labels[~integral][0].item()
                raise ValueError(
                    f"y must hold integer class labels, got {bad!r}: labels are not rounded; "
                    "pass the class numbers"
                )
        return cls(torch.as_tensor(x, dtype=torch.float32), labels.to(torch.long))


@dataclass(frozen=True)
class Dataset:
    """A training, a validation and a test split, and the number of classes.

    Raises:
        TypeError: a split is not a [`Split`][].
        ValueError: ``num_classes`` is not a positive integer.
    """

    train: Split
    val: Split
    test: Split
    num_classes: int

    def __post_init__(self) -> None:
        for name in ("train", "val", "test"):
            value = getattr(self, name)
            if not isinstance(value, Split):
                raise TypeError(
                    f"Dataset {name} must be a Split, got {type(value).__name__}: "
                    "build it with Split(x, y) or Split.from_arrays"
                )
        object.__setattr__(self, "num_classes", _checks.positive_int("num_classes", self.num_classes))


def as_split(name: str, value: object) -> Split:
    """``value`` as a [`Split`][]: the inputs and targets of a whole split of data, as two tensors.

    Accepted: a [`Split`][]; an ``(inputs, targets)`` pair (tuple or list) of tensors; a
    ``torch.utils.data.TensorDataset`` of two tensors; any object with tensor attributes ``.x`` and
    ``.y``. Both must be tensors with the same first dimension (the number of examples, at least 1).
    A ``Split`` is returned as it is; the tensors of the others are not copied or converted.

    Raises:
        TypeError: ``value`` is none of these (a ``DataLoader``, a [`Dataset`][] of three splits,
            NumPy arrays), with the one-line message naming ``name`` and what to pass instead.
        ValueError: the wrong number of tensors, a 0-dim tensor, no examples, or inputs and targets
            of different lengths.

    Examples:
        >>> split = as_split("data", (torch.zeros(5, 3), torch.arange(5)))
        >>> tuple(split.x.shape), len(split)
        ((5, 3), 5)
    """
    if isinstance(value, Split):
        x, y = value.x, value.y
    elif isinstance(value, DataLoader):
        raise TypeError(
            f"{name} takes the whole split as tensors, (inputs, targets), not a DataLoader: the batches are "
            "drawn by the function itself; pass the loader's TensorDataset (loader.dataset) or its tensors"
        )
    elif isinstance(value, Dataset):
        raise TypeError(
            f"{name} takes one split, got a Dataset of train/val/test splits: pass e.g. data.train"
        )
    elif isinstance(value, (tuple, list, TensorDataset)):
        parts = value.tensors if isinstance(value, TensorDataset) else value
        if len(parts) != 2:
            kind = type(value).__name__
            raise ValueError(f"{name} must hold two tensors, (inputs, targets), got a {kind} of {len(parts)}")
        x, y = parts
    elif hasattr(value, "x") and hasattr(value, "y"):
        x, y = value.x, value.y
    else:
        raise TypeError(
            f"{name} must be a Split, an (inputs, targets) pair of tensors, a TensorDataset of two "
            f"tensors or an object with tensor attributes .x and .y, got {type(value).__name__}"
        )
    _check_pair(x, y, f"{name}: the ", ("inputs", "targets"))
    if len(x) == 0:
        raise ValueError(f"{name} holds no examples (first dimension 0): pass at least one")
    return value if isinstance(value, Split) else Split(x, y)


def _fraction(name: str, value: object) -> float:
    try:
        number = _checks.real(name, value)
    except TypeError:
        number = math.nan
    if not 0.0 < number < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return number


def _check_split_sizes(y: np.ndarray, val_fraction: float, test_fraction: float) -> None:
    """Refuse fractions that leave a split fewer examples than classes (stratification needs one each).

    The sizes are scikit-learn's: ``ceil(test_size * n)`` for the split taken off, the rest for the
    other, first for the test split and then for the validation split out of the rest.
    """
    n, classes = len(y), len(np.unique(y))
    n_test = math.ceil(test_fraction * n)
    n_rest = n - n_test
    n_val = math.ceil(val_fraction / (1.0 - test_fraction) * n_rest)
    n_train = n_rest - n_val
    why = f"fewer than the {classes} classes (a stratified split needs at least one of each)"
    largest = math.floor((1.0 - (classes + 2) / n) * 1e4) / 1e4  # 2: the two ceilings below
    if n_test < classes:
        raise ValueError(
            f"test_fraction={test_fraction} gives the test split {n_test} of the {n} examples, {why}: "
            f"pass test_fraction >= {classes / n:.4g}"
        )
    if n_rest < 2 * classes:
        raise ValueError(
            f"test_fraction={test_fraction} leaves {n_rest} of the {n} examples for the training and "
            f"validation splits, {why} in each: make val_fraction + test_fraction at most {largest}"
        )
    if n_val < classes:
        smallest = classes * (1.0 - test_fraction) / n_rest
        raise ValueError(
            f"val_fraction={val_fraction} gives the validation split {n_val} of the {n} examples, {why}: "
            f"pass val_fraction >= {smallest:.4g} (with test_fraction={test_fraction})"
        )
    if n_train < classes:
        raise ValueError(
            f"val_fraction + test_fraction = {val_fraction} + {test_fraction} leaves the training split "
            f"{n_train} of the {n} examples, {why}: make the sum at most {largest}"
        )


def _split(x: np.ndarray, y: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> Dataset:
    from sklearn.model_selection import train_test_split

    val_fraction = _fraction("val_fraction", val_fraction)
    test_fraction = _fraction("test_fraction", test_fraction)
    seed = _checks.seed("seed", seed, limit=2**32)  # scikit-learn's random_state: below 2**32
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1, got {val_fraction} + {test_fraction}"
        )
    _check_split_sizes(y, val_fraction, test_fraction)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction / (1.0 - test_fraction), random_state=seed, stratify=y_rest
    )
    return Dataset(
        Split.from_arrays(x_train, y_train),
        Split.from_arrays(x_val, y_val),
        Split.from_arrays(x_test, y_test),
        int(y.max()) + 1,
    )


def load_digits(*, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's handwritten digits, pixels scaled to [0, 1], split into train/val/test.

    The splits are stratified (every class in the same proportion) and fixed by ``seed``.

    Examples:
        >>> data = load_digits()
        >>> len(data.train), len(data.val), len(data.test), data.num_classes
        (1077, 360, 360, 10)
        >>> tuple(data.train.x.shape), float(data.train.x.max())
        ((1077, 64), 1.0)
    """
    from sklearn.datasets import load_digits as _sklearn_digits

    bunch = _sklearn_digits()
    return _split(bunch.data / 16.0, bunch.target, val_fraction, test_fraction, seed)
