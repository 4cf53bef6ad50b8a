"""Figures for the book: one look, byte-for-byte reproducible files, written atomically.

Every figure is a ``matplotlib.figure.Figure`` made without pyplot (no global state, no display) and
saved with [`save_figure`][], which

- strips the metadata that changes from run to run (creation dates, the software version string),
- fixes the salt of the ids matplotlib writes into SVG files,
- writes to a temporary file in the same folder and renames it into place, so a crash or an error
  leaves either the old file or the new one, never half of one.

Labels use math symbols only, so one image serves both languages of the book.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

STYLE: dict[str, object] = {
    "svg.hashsalt": "mlnotes",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 10.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100.0,
    "savefig.bbox": "tight",
    "image.cmap": "viridis",
}

_NO_METADATA: dict[str, dict[str, None]] = {
    ".svg": {"Date": None, "Creator": None},
    ".png": {"Software": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


def new_figure(
    ncols: int = 1, nrows: int = 1, *, width: float = 5.0, height: float = 4.0, **subplot_kw: object
) -> tuple[Figure, object]:
    """A figure of ``nrows x ncols`` panels, each ``width x height`` inches, in the book's style.

    Returns ``(fig, axes)`` as ``Figure.subplots`` does.
    """
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, subplot_kw=subplot_kw or None)
    return fig, axes


def _folder_problem(path: Path) -> str | None:
    """Why the folder of ``path`` cannot hold it (an ancestor is a file), or ``None``."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor.parent != ancestor:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        return f"path {path} lies below {ancestor}, which is a file, not a folder: pass a path in a folder"
    return None


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Save ``fig`` to ``path`` (``.svg``, ``.png`` or ``.pdf``) deterministically and atomically.

    Missing folders above ``path`` are created. The figure is written to a temporary file next to
    ``path`` and renamed into place, so an error leaves the old file (if any) untouched.

    Raises:
        TypeError: ``fig`` is not a ``matplotlib.figure.Figure``, or ``path`` is not a path.
        ValueError: an unsupported file extension; ``path`` is an existing folder, lies below a
            file, or its folder cannot be created or written to (the message names ``path`` and
            says why).
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure (e.g. from new_figure()), got {type(fig).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a pathlib.Path, got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _NO_METADATA:
        raise ValueError(f"path must end in one of {sorted(_NO_METADATA)}, got {path.name!r}")
    try:  # the checks themselves can fail: a name too long, a folder that cannot be read
        if path.is_dir():
            raise ValueError(f"path {path} is an existing folder: pass a file name, e.g. {path / 'fig.svg'}")
        problem = _folder_problem(path)
        if problem:
            raise ValueError(problem)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValueError(
            f"cannot write path {path} ({reason}): pass a path in a folder you can write to"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle, matplotlib.rc_context(STYLE):
            fig.savefig(handle, format=suffix[1:], metadata=_NO_METADATA[suffix])
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; figures are published files
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
