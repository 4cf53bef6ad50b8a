"""Argument checks shared by the package: one wording for every public function."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def floating_tensor(name: str, value: object) -> Tensor:
    """Return ``value`` if it is a floating-point tensor, else raise ``TypeError``."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value


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
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} contains NaN or infinite entries")
    return value


def real(name: str, value: object) -> float:
    """Return ``value`` as a float if it is an int or float (not a bool), else raise ``TypeError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 1 (not a bool), else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def nonnegative(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a real number >= 0 (NaN is rejected)."""
    value = real(name, value)
    if not 0.0 <= value < math.inf:
        raise ValueError(f"Invalid {name}: {value} (expected a finite number >= 0)")
    return float(value)


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
