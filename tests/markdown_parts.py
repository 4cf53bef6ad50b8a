"""Pull the language-independent parts out of a book page: code, display math, images, anchors.

A small line scanner rather than a Markdown parser, because the comparison must see the source as
written (fence info strings, indentation inside content tabs), not the rendered HTML. Lab notebooks
give the same parts: their code cells are the code, their Markdown cells the prose.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
LANGUAGES = ("zh", "en")

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<title>.*?)\s*$")
_ANCHOR = re.compile(r"\{\s*#(?P<id>[A-Za-z0-9_-]+)\s*\}$")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\((?P<src>[^)\s]+)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*\bsrc=[\"'](?P<src>[^\"']+)")
_DISPLAY_MATH = re.compile(r"\$\$(?P<tex>.*?)\$\$", re.S)
_DIRECTIVE = re.compile(r"^:::\s*(?P<target>\S+)", re.M)  # mkdocstrings: ::: mlnotes.module


@dataclass(frozen=True)
class Fence:
    info: str  # the language after the backticks, e.g. "python"
    code: str  # the content, dedented by the fence's own indentation
    line: int  # 1-based line of the opening fence
    start: int  # character offset of the opening fence
    end: int  # character offset just after the closing fence


@dataclass(frozen=True)
class PageParts:
    fences: list[Fence]
    display_math: list[str]
    images: list[str]
    headings: list[tuple[str, str | None]]  # (title, explicit anchor or None)
    directives: list[str]  # the objects mkdocstrings documents on the page


def _fences_and_prose(text: str) -> tuple[list[Fence], str]:
    fences: list[Fence] = []
    prose: list[str] = []
    lines = text.splitlines(keepends=True)
    offset = 0
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i].rstrip("\n"))
        if not match:
            prose.append(lines[i])
            offset += len(lines[i])
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        closing = re.compile(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        start, first_line = offset, i + 1
        body = []
        offset += len(lines[i])
        i += 1
        while i < len(lines) and not closing.match(lines[i].rstrip("\n")):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i].lstrip())
            offset += len(lines[i])
            i += 1
        if i < len(lines):  # the closing fence
            offset += len(lines[i])
            i += 1
        fences.append(Fence(match["info"].strip().split(" ")[0], "".join(body), first_line, start, offset))
        prose.append("\n")
    return fences, "".join(prose)


def parse_page(path: Path) -> PageParts:
    """The parts of a Markdown page, or of a notebook (``.ipynb``)."""
    if path.suffix == ".ipynb":
        return _parse_notebook(path)
    text = path.read_text(encoding="utf-8")
    fences, prose = _fences_and_prose(text)
    return _parts(fences, prose)


def _parse_notebook(path: Path) -> PageParts:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    source = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]
    fences = [
        Fence("python", text, index + 1, 0, 0)
        for index, (cell, text) in enumerate(zip(cells, source, strict=True))
        if cell["cell_type"] == "code"
    ]
    markdown = [text for cell, text in zip(cells, source, strict=True) if cell["cell_type"] == "markdown"]
    prose = "\n\n".join(markdown)
    return _parts(fences, prose)


def _parts(fences: list[Fence], prose: str) -> PageParts:
    headings = []
    for line in prose.splitlines():
        heading = _HEADING.match(line)
        if heading:
            anchor = _ANCHOR.search(heading["title"])
            headings.append((heading["title"], anchor["id"] if anchor else None))
    return PageParts(
        fences=fences,
        display_math=[
            "\n".join(s.strip() for s in m["tex"].strip().splitlines()) for m in _DISPLAY_MATH.finditer(prose)
        ],
        images=[m["src"] for m in _MD_IMAGE.finditer(prose)]
        + [m["src"] for m in _HTML_IMAGE.finditer(prose)],
        headings=headings,
        directives=[m["target"] for m in _DIRECTIVE.finditer(prose)],
    )


def page_pairs(pattern: str = "*.md") -> dict[str, dict[str, Path]]:
    """Every page of the book by its language-free name: {"chapters/x": {"zh": path, "en": path}}.

    ``pattern="*.ipynb"`` gives the lab notebooks instead.
    """
    pages: dict[str, dict[str, Path]] = {}
    for path in sorted(DOCS.rglob(pattern)):
        if any(part.startswith(".") for part in path.relative_to(DOCS).parts):
            continue  # .ipynb_checkpoints and the like
        parts = path.name.split(".")
        language = parts[-2] if len(parts) >= 3 else None
        name = path.relative_to(DOCS).with_name(parts[0]).as_posix()
        pages.setdefault(name, {})[language] = path
    return pages
