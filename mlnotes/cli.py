"""The command line every ``examples/`` script shares.

Each script builds its parser with [`example_parser`][] and reads it with [`parse_example_args`][],
so all of them accept the same flags:

``--out DIR``
    where figures are written (default ``docs/figures``, the folder the book shows them from);
``--device {auto,cpu,cuda}``
    where tensors live (``auto``: CUDA if available);
``--seed N``
    the random seed (default 0);
``--quick``
    a small, fast version for tests; the figures of the book come from the full mode.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from mlnotes.device import DEVICE_CHOICES, resolve_device

DEFAULT_OUT = Path("docs") / "figures"


def example_parser(description: str) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the flags shared by every example script."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"folder for the figures (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--device",
        choices=DEVICE_CHOICES,
        default="auto",
        help="where to compute (default: auto = cuda if available, else cpu)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--quick", action="store_true", help="small and fast, for tests; omit for the book's figures"
    )
    return parser


def parse_example_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """Parse ``argv``, resolve ``--device`` to a ``torch.device`` and seed every generator.

    A device that does not exist here (``--device cuda`` without a GPU) ends the program through
    ``parser.error``: exit status 2 and a one-line message, no traceback.
    """
    args = parser.parse_args(argv)
    try:
        args.device = resolve_device(args.device)
    except ValueError as err:
        parser.error(f"--device: {err}")
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    return args
