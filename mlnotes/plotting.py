"""Figures for the book: one look, byte-for-byte reproducible files, written atomically.

Every figure is a ``matplotlib.figure.Figure`` made without pyplot (no global state, no display) and
saved with [`save_figure`][], which

- strips the metadata that changes from run to run (creation dates, the software version string),
- fixes the salt of the ids matplotlib writes into SVG files,
- writes to a temporary file in the same folder and renames it into place, so a crash or an error
  leaves either the old file or the new one, never half of one.

The book is written in two languages, and so is every figure: a script draws one variant per
language in [`LANGUAGES`][] and [`save_figures`][] writes ``name.zh.svg`` and ``name.en.svg``. Text in
Chinese is drawn with a CJK font found on the machine ([`cjk_font`][]), stored as outlines, so the file
shows the same everywhere.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

LANGUAGES: tuple[str, ...] = ("zh", "en")
"""The languages of the book, the default first: every figure is drawn once for each."""

# Font files with Simplified Chinese glyphs, best first: Noto Sans CJK (Debian's fonts-noto-cjk, the
# one the book's own figures are drawn with), then what Windows, macOS and other Linux systems carry.
CJK_FONT_FILES: tuple[str, ...] = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSansSC-Regular.otf",
    "NotoSansSC-Regular.ttf",
    "SourceHanSansSC-Regular.otf",
    "SourceHanSans-Regular.ttc",
    "msyh.ttc",
    "simhei.ttf",
    "PingFang.ttc",
    "Hiragino Sans GB.ttc",
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
)
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_cjk_family: str | None = None

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


def cjk_font() -> str:
    """The family name of a font with Chinese glyphs, registered with Matplotlib (found once).

    Raises:
        ValueError: no such font is installed; the message names the package to install.
    """
    global _cjk_family
    if _cjk_family is None:
        found = {Path(p).name: p for p in font_manager.findSystemFonts()}
        for name in CJK_FONT_FILES:
            if name in found:
                font_manager.fontManager.addfont(found[name])
                _cjk_family = font_manager.FontProperties(fname=found[name]).get_name()
                break
        else:
            raise ValueError(
                "the Chinese figures need a font with Chinese glyphs: install Noto Sans CJK "
                "(Debian/Ubuntu: apt-get install fonts-noto-cjk; other systems: the Noto Sans SC font)"
            )
    return _cjk_family


def _use_cjk_font_where_needed(fig: Figure) -> None:
    """Give every text of ``fig`` that holds Chinese characters the CJK font.

    The CJK font comes first: in a label that mixes words and ``$math$``, Matplotlib draws the words
    with the first font of the list only (no fallback), and Noto Sans CJK has Latin letters too.
    """
    texts = [t for t in fig.findobj(Text) if _CJK.search(t.get_text())]
    if texts:
        family = [cjk_font(), "DejaVu Sans"]
        for text in texts:
            text.set_fontfamily(family)


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
        _use_cjk_font_where_needed(fig)
        with os.fdopen(fd, "wb") as handle, matplotlib.rc_context(STYLE):
            fig.savefig(handle, format=suffix[1:], metadata=_NO_METADATA[suffix])
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; figures are published files
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def save_figures(draw: Callable[[str], Figure], folder: str | os.PathLike[str], name: str) -> list[Path]:
    """Draw one figure per language, ``draw(language)``, and save each as ``folder/name.<language>.svg``.

    ``language`` is each of [`LANGUAGES`][] in turn. Returns the paths written, in that order.

    Raises:
        TypeError: ``draw`` is not callable, or does not return a ``matplotlib.figure.Figure``.
        ValueError: ``name`` is not a plain file name without extension, or as [`save_figure`][].
    """
    if not callable(draw):
        raise TypeError(f"draw must be a function of the language, got {type(draw).__name__}")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ValueError(
            f"name must be a file name without folder or extension, e.g. 'loss_curve', got {name!r}"
        )
    paths = []
    for language in LANGUAGES:
        fig = draw(language)
        if not isinstance(fig, Figure):
            raise TypeError(f"draw({language!r}) must return a matplotlib Figure, got {type(fig).__name__}")
        paths.append(save_figure(fig, Path(folder) / f"{name}.{language}.svg"))
    return paths
