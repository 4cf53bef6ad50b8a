"""The glossary pages, built from site_config/glossary.yml.

``docs/glossary.zh.md`` and ``docs/glossary.en.md`` hold the prose around the tables and two markers,
``<!-- glossary:terms -->`` and ``<!-- glossary:symbols -->``; this hook replaces each marker with its
table in the page's language before the page is rendered. The data file is the only place a term is
written down: the tests (tests/test_glossary.py) and the search test read it too.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

GLOSSARY = Path(__file__).resolve().parent.parent / "glossary.yml"
TERMS_MARKER = "<!-- glossary:terms -->"
SYMBOLS_MARKER = "<!-- glossary:symbols -->"

_HEADERS = {
    "zh": {
        "terms": ("中文", "English", "其他说法", "定义在"),
        "symbols": ("符号", "含义"),
    },
    "en": {
        "terms": ("English", "中文", "Other names and search words", "Defined in"),
        "symbols": ("Symbol", "Meaning"),
    },
}
DOCS = GLOSSARY.parent.parent / "docs"


def load_glossary(path: Path = GLOSSARY) -> dict:
    """The data file as a dict: ``terms``, ``phrases``, ``boilerplate``, ``symbols``."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def chapter_title(chapter: str, language: str) -> str:
    """The chapter's own title: the first heading of docs/chapters/<chapter>.<language>.md."""
    page = DOCS / "chapters" / f"{chapter}.{language}.md"
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return re.sub(r"\s*\{\s*#[^}]*\}\s*$", "", line[2:]).strip()
    raise ValueError(f"{page} has no '# ' title for the glossary to link to")


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


def other_names(term: dict, language: str) -> list[str]:
    """The names other than the book's under which a reader may look a term up, once each: in Chinese
    the rejected variants and the Chinese search words, in English the English search words."""
    if language == "zh":
        names = term.get("reject", []) + term.get("search_zh", [])
        names = [n for n in names if n.lower() != term["en"].lower()]
    else:
        names = term.get("search_en", [])
    return list(dict.fromkeys(names))


def terms_table(glossary: dict, language: str) -> str:
    """The terms as a Markdown table, in the book's chapter order, for a page at docs/glossary.*.md."""
    head = _HEADERS[language]["terms"]
    rows = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    order = list(dict.fromkeys(t["chapter"] for t in glossary["terms"]))  # the file's chapter order
    for term in sorted(glossary["terms"], key=lambda t: order.index(t["chapter"])):
        link = f"[{chapter_title(term['chapter'], language)}](chapters/{term['chapter']}.md)"
        first, second = (term["zh"], term["en"]) if language == "zh" else (term["en"], term["zh"])
        also = "、".join(other_names(term, "zh")) if language == "zh" else ", ".join(other_names(term, "en"))
        rows.append(f"| {_cell(first)} | {_cell(second)} | {_cell(also)} | {link} |")
    return "\n".join(rows)


def symbols_table(glossary: dict, language: str) -> str:
    head = _HEADERS[language]["symbols"]
    rows = [f"| {' | '.join(head)} |", "|---|---|"]
    for symbol in glossary["symbols"]:
        rows.append(f"| ${symbol['tex']}$ | {_cell(symbol[language])} |")
    return "\n".join(rows)


def page_language(src_uri: str) -> str | None:
    """``"zh"`` or ``"en"`` for the glossary pages' sources, else ``None``."""
    for language in ("zh", "en"):
        if src_uri == f"glossary.{language}.md":
            return language
    return None


def on_page_markdown(markdown, page, config, files):
    language = page_language(page.file.src_uri)
    if language is None:
        return markdown
    for marker in (TERMS_MARKER, SYMBOLS_MARKER):
        if marker not in markdown:
            raise ValueError(
                f"{page.file.src_uri} lost its marker {marker}; the hook fills it from glossary.yml"
            )
    glossary = load_glossary()
    return markdown.replace(TERMS_MARKER, terms_table(glossary, language)).replace(
        SYMBOLS_MARKER, symbols_table(glossary, language)
    )
