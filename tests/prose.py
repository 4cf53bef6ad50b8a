"""The prose of a book page, line by line: what a reader reads as sentences.

Code (fences and inline), math (display and inline), link targets, heading anchors, HTML tags and
comments, the English gloss in parentheses after a term, and the entries of a References section
(bibliographic data, with titles in their own language) are blanked out; line numbers stay those
of the file. A lab notebook gives its Markdown cells, each line numbered within its cell.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_parts import _fences_and_prose

CJK = r"\u3400-\u9fff\uf900-\ufaff"
CJK_CHAR = re.compile(f"[{CJK}]")
# CJK characters and the full-width punctuation that sits between them
CJK_OR_PUNCT = re.compile(
    f"[{CJK}\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u201c\u201d\u2018\u2019\u2014\u2026]"
)

_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(?:\\.|[^$\\\n])+\$")
_PAREN_MATH = re.compile(r"\\\((?:.|\n)*?\\\)")
_INLINE_CODE = re.compile(r"(`+)(?:.|\n)*?\1")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\([^)]*\)")
_LINK_TARGET = re.compile(r"\]\([^)]*\)|\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<https?://[^>]*>|https?://\S+")
_ATTRS = re.compile(r"\{\s*[#:.][^}]*\}")
_HTML_ALT = re.compile(r"<img\b[^>]*\balt=[\"'](?P<alt>[^\"']*)[\"'][^>]*>")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_ADMONITION = re.compile(r'^(\s*)(?:!!!|\?\?\?\+?)\s+\S+(?:\s+"(?P<title>[^"]*)")?\s*$')
_DIRECTIVE = re.compile(r"^\s*:::.*$")
# an English gloss: a parenthesis, full- or half-width, with no Chinese inside
_GLOSS = re.compile(f"（[^（）{CJK}]*）|\\([^(){CJK}]*\\)")


def _blank(match: re.Match) -> str:
    """The match replaced by spaces, newlines kept (so offsets and line numbers stay)."""
    return re.sub(r"[^\n]", " ", match.group(0))


@dataclass(frozen=True)
class Line:
    where: str  # "path:line" or "path, cell N, line M"
    text: str  # the prose of the line, code and math blanked
    raw: str  # the line as written


def _markdown_prose(text: str) -> str:
    original = text
    fences, _ = _fences_and_prose(text)
    chars = list(text)
    for fence in fences:  # blank fences in place, keeping newlines
        for i in range(fence.start, fence.end):
            if chars[i] != "\n":
                chars[i] = " "
    text = "".join(chars)
    for pattern in (_HTML_COMMENT, _DISPLAY_MATH, _PAREN_MATH, _INLINE_CODE, _INLINE_MATH):
        text = pattern.sub(_blank, text)
    text = _IMAGE.sub(lambda m: "  " + m["alt"] + " " * (len(m.group(0)) - len(m["alt"]) - 2), text)
    text = _HTML_ALT.sub(lambda m: m["alt"].ljust(len(m.group(0))), text)
    for pattern in (_LINK_TARGET, _AUTOLINK, _ATTRS, _HTML_TAG):
        text = pattern.sub(_blank, text)
    lines = []
    in_references = False
    for line, raw in zip(text.split("\n"), original.split("\n"), strict=True):
        if raw.startswith("#"):
            in_references = "{ #references }" in raw
        admonition = _ADMONITION.match(line)
        if in_references and raw.startswith("- "):
            line = ""
        elif admonition:
            line = admonition["title"] or ""
        elif _DIRECTIVE.match(line):
            line = ""
        lines.append(line)
    return "\n".join(lines)


def without_glosses(text: str) -> str:
    """``text`` with English glosses in parentheses blanked: 回合（epoch） reads as 回合."""
    return _GLOSS.sub(_blank, text)


def prose_lines(path: Path) -> list[Line]:
    """Every line of prose of a page or a lab notebook, glosses kept (see ``without_glosses``)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        result = []
        for number, cell in enumerate(cells, 1):
            if cell["cell_type"] != "markdown":
                continue
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for k, (line, raw) in enumerate(
                zip(_markdown_prose(source).split("\n"), source.split("\n"), strict=True), 1
            ):
                result.append(Line(f"{path}, cell {number}, line {k}", line, raw))
            result.append(Line(f"{path}, after cell {number}", "", ""))  # cells are separate paragraphs
        return result
    text = path.read_text(encoding="utf-8")
    pairs = zip(_markdown_prose(text).split("\n"), text.split("\n"), strict=True)
    return [Line(f"{path}:{k}", line, raw) for k, (line, raw) in enumerate(pairs, 1)]


def math_of(path: Path) -> list[str]:
    """Every formula of a page or notebook, display and inline, as written."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join(
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells
            if c["cell_type"] == "markdown"
        )
    else:
        text = path.read_text(encoding="utf-8")
        _, text = _fences_and_prose(text)
    text = _INLINE_CODE.sub(" ", text)
    found = [m.group(0) for m in _DISPLAY_MATH.finditer(text)]
    rest = _DISPLAY_MATH.sub(" ", text)
    found += [m.group(0) for m in _INLINE_MATH.finditer(rest)] + [
        m.group(0) for m in _PAREN_MATH.finditer(rest)
    ]
    return found
