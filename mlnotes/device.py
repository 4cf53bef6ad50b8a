"""Choosing the device a computation runs on: ``auto``, ``cpu``, ``cuda`` (or ``cuda:N``), ``mps``."""

from __future__ import annotations

import torch

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device) -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:N``/``mps`` or a ``torch.device`` into a device that exists here.

    ``auto`` picks CUDA when PyTorch sees a GPU and the CPU otherwise. A device that this machine
    does not have is refused here, with a message that says what is installed, rather than later
    by PyTorch with an ``AssertionError``.

    Raises:
        TypeError: ``name`` is neither a string nor a ``torch.device``.
        ValueError: an unknown name, or a GPU asked for on a machine where PyTorch has none (the
            message says which PyTorch build is installed).

    Examples:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device(torch.device("cpu"))
        device(type='cpu')
    """
    if isinstance(name, torch.device):
        name = str(name)
    if not isinstance(name, str):
        raise TypeError(f"device must be a string such as 'cpu' or a torch.device, got {type(name).__name__}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu" or name.startswith("cpu:"):  # PyTorch takes "cpu:0"; there is one CPU device
        try:
            torch.device(name)
        except RuntimeError:
            raise ValueError(f"device {name!r} is not a device name: use 'cpu'") from None
        return torch.device("cpu")
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("device 'mps' was requested but this machine has no Apple GPU: use 'cpu'")
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:"):
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ValueError(f"device {name!r} is not a device name: use 'cuda' or 'cuda:N'") from None
        if not torch.cuda.is_available():
            build = torch.version.cuda or "none (a CPU-only build)"
            raise ValueError(
                f"device {name!r} was requested but CUDA is not available: torch "
                f"{torch.__version__}, CUDA build {build}, GPUs visible: "
                f"{torch.cuda.device_count() if torch.version.cuda else 0}. "
                "Use 'cpu', or 'auto' to fall back to the CPU."
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {name!r} does not exist: only {torch.cuda.device_count()} GPU(s) visible"
            )
        return device
    raise ValueError(
        f"device must be one of {(*DEVICE_CHOICES, 'mps')}, 'cuda:N' or a torch.device, got {name!r}"
    )


def synchronize(device: torch.device) -> None:
    """Wait until ``device`` has finished its queued work, so that a clock read next is honest.

    A no-op on the CPU, whose work is done when a call returns; on a GPU ``torch.cuda.synchronize``.
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)
