"""Choosing the device an experiment runs on: ``auto``, ``cpu`` or ``cuda``."""

from __future__ import annotations

import torch

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """Turn ``auto``/``cpu``/``cuda`` (or ``cuda:N``) into a ``torch.device`` that exists here.

    ``auto`` picks CUDA when PyTorch sees a GPU and the CPU otherwise.

    Raises:
        ValueError: an unknown name, or ``cuda`` asked for on a machine where PyTorch has no
            usable GPU (the message says which PyTorch build is installed).

    Examples:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if not isinstance(name, str):
        raise TypeError(f"device must be a string, got {type(name).__name__}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            build = torch.version.cuda or "none (a CPU-only build)"
            raise ValueError(
                f"device {name!r} was requested but CUDA is not available: torch "
                f"{torch.__version__}, CUDA build {build}, GPUs visible: "
                f"{torch.cuda.device_count() if torch.version.cuda else 0}. "
                "Use --device cpu, or --device auto to fall back to the CPU."
            )
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {name!r} does not exist: only {torch.cuda.device_count()} GPU(s) visible"
            )
        return device
    raise ValueError(f"device must be one of {DEVICE_CHOICES} or 'cuda:N', got {name!r}")
