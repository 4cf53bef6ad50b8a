"""The command line every ``examples/`` script shares.

Each script builds its parser with [`example_parser`][] and reads it with [`parse_example_args`][],
so all of them accept the same flags:

``--out DIR``
    where figures are written (default ``docs/figures``, the folder the book shows them from);
    it must be a folder that exists or can be created, and that this user can write to; an empty
    name is refused (``--out .`` is the current folder);
``--device {auto,cpu,cuda}``
    where tensors live (``auto``: CUDA if available);
``--seed N``
    the random seed, an integer from 0 to 2**32 - 1 (the range of NumPy's legacy seed; default 0);
``--quick``
    a small, fast version for tests; the figures of the book come from the full mode.

A bad flag ends the script before it computes anything, through ``parser.error``: exit status 2
and a one-line message, no traceback.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from mlnotes.device import DEVICE_CHOICES, resolve_device

DEFAULT_OUT = Path("docs") / "figures"
SEED_MAX = 2**32 - 1  # np.random.seed takes seeds in [0, 2**32)


def _seed(text: str) -> int:
    """``--seed``: an integer in [0, SEED_MAX], refused by argparse otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**32 - 1, got {text!r}") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**32 - 1 ({SEED_MAX}), got {value}")
    return value


def _out(text: str) -> Path:
    """``--out``: a folder name; an empty one is refused (``Path("")`` would silently mean ``.``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"must name a folder, got {text!r}; pass --out . to write into the current folder"
        )
    return Path(text)


def example_parser(description: str) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the flags shared by every example script."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--out", type=_out, default=DEFAULT_OUT, help=f"folder for the figures (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--device",
        choices=DEVICE_CHOICES,
        default="auto",
        help="where to compute (default: auto = cuda if available, else cpu)",
    )
    parser.add_argument(
        "--seed", type=_seed, default=0, metavar="N", help="random seed, 0 to 2**32 - 1 (default: 0)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small and fast, for tests; omit for the book's figures"
    )
    return parser


def check_out_folder(folder: str | os.PathLike[str]) -> Path:
    """Check that figures can be written into ``folder``, by trying it; return it as a ``Path``.

    The folder must exist or be creatable. Missing folders are created, a temporary file is written
    into the folder and removed, and then the folders this check created are removed again: the
    check leaves nothing behind, whether it passes or fails ([`save_figure`][mlnotes.plotting.save_figure]
    creates the folder when it writes the first figure). Trying is the only reliable test: as root,
    ``os.access`` says yes to everything, a read-only mount included.

    Raises:
        TypeError: ``folder`` is not a ``str`` or ``os.PathLike``.
        ValueError: ``folder`` is an existing file, lies below one, or cannot be created or written
            to; the one-line message names the folder and says why.
    """
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a str or a pathlib.Path, got {type(folder).__name__}")
    folder = Path(folder)
    created: list[Path] = []
    try:
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{folder} is an existing file, not a folder: pass a folder for the figures")
        missing = []
        ancestor = folder
        while not ancestor.exists() and ancestor.parent != ancestor:
            missing.append(ancestor)
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise ValueError(f"{folder} lies below {ancestor}, which is a file, not a folder: pass a folder")
        for path in reversed(missing):
            try:
                path.mkdir()
            except FileExistsError:  # made meanwhile, or a name like a/.. that resolves to a folder
                continue
            created.append(path)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".mlnotes-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValueError(f"cannot write to {folder} ({reason}): pass a folder you can write to") from None
    finally:
        for path in reversed(created):
            try:
                path.rmdir()
            except OSError:
                pass
    return folder


def parse_example_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """Parse ``argv``, check ``--out``, resolve ``--device`` to a ``torch.device`` and seed every generator.

    Everything is checked before the script computes anything: a seed outside [0, 2**32 - 1], an
    ``--out`` that cannot hold figures ([`check_out_folder`][]) or a device that does not exist here
    (``--device cuda`` without a GPU) ends the program through ``parser.error``: exit status 2 and a
    one-line message, no traceback.
    """
    args = parser.parse_args(argv)
    try:
        args.device = resolve_device(args.device)
    except ValueError as err:
        parser.error(f"--device: {err}")
    try:
        args.out = check_out_folder(args.out)
    except ValueError as err:
        parser.error(f"--out: {err}")
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    return args
