"""A chapter's pieces, found from its slug in ``site_config/chapters.yml``.

Each check names what to add, so an author who lists a new chapter (or a new module) there can follow
the failures to a complete chapter: its pages, its lab, the navigation, its examples, its block count,
its glossary terms, and for each module it introduces the API page, the reference index, the
package's exports and the README.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest
import yaml
from markdown_parts import DOCS, LANGUAGES, parse_page
from site_build import mkdocs_config

import mlnotes

ROOT = DOCS.parent
LAYOUT = yaml.safe_load((ROOT / "site_config" / "chapters.yml").read_text(encoding="utf-8"))
CHAPTERS = [chapter["slug"] for chapter in LAYOUT["chapters"]]
MODULES = {chapter["slug"]: chapter["modules"] for chapter in LAYOUT["chapters"]}
SUPPORT = LAYOUT["support"]
EXAMPLES = ROOT / "examples"


def _nav() -> dict[str, list[str]]:
    """mkdocs.yml's navigation: each section's title and its pages (a top-level page is its own title)."""
    sections: dict[str, list[str]] = {}
    for entry in mkdocs_config()["nav"]:
        if isinstance(entry, str):
            sections[entry] = [entry]
        else:
            ((title, pages),) = entry.items()
            sections[title] = pages
    return sections


NAV = _nav()


def _reference_name(module: str) -> str:
    return module.replace("_", "-")


def _chapter_modules() -> dict[str, list[str]]:
    """Each module listed in chapters.yml: the chapters that introduce it, in order."""
    found: dict[str, list[str]] = {}
    for slug in CHAPTERS:
        for module in MODULES[slug]:
            found.setdefault(module, []).append(slug)
    return found


def _book_anchors(slug: str, language: str) -> set[str]:
    return {
        anchor for _, anchor in parse_page(DOCS / "chapters" / f"{slug}.{language}.md").headings if anchor
    }


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


# --- the list itself ---


def test_the_chapter_list_is_well_formed():
    assert CHAPTERS, "site_config/chapters.yml lists no chapters"
    assert len(set(CHAPTERS)) == len(CHAPTERS), f"a slug is listed twice: {CHAPTERS}"
    for slug in CHAPTERS:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", slug), f"slug {slug!r}: lower-case words joined by '-'"
    for slug, modules in MODULES.items():
        assert isinstance(modules, list), f"chapter {slug!r}: modules must be a list ([] for none)"


def test_every_chapter_page_and_lab_is_in_the_list():
    for folder, suffix in (("chapters", "md"), ("labs", "ipynb")):
        slugs = {path.name.split(".")[0] for path in (DOCS / folder).glob(f"*.{suffix}")}
        extra = sorted(slugs - set(CHAPTERS))
        assert not extra, f"docs/{folder}/ holds {extra}: list them in site_config/chapters.yml"


# --- each chapter ---


@pytest.mark.parametrize("slug", CHAPTERS)
def test_a_chapter_has_its_pages_and_its_lab_in_both_languages(slug):
    missing = [
        f"docs/{folder}/{slug}.{language}.{suffix}"
        for folder, suffix in (("chapters", "md"), ("labs", "ipynb"))
        for language in LANGUAGES
        if not (DOCS / folder / f"{slug}.{language}.{suffix}").is_file()
    ]
    assert not missing, f"chapter {slug!r}: add {', '.join(missing)}"


@pytest.mark.parametrize(
    ("section", "folder", "suffix"), [("Chapters", "chapters", "md"), ("Labs", "labs", "ipynb")]
)
def test_the_navigation_lists_the_chapters_and_labs_in_the_lists_order(section, folder, suffix):
    expected = [f"{folder}/{slug}.{suffix}" for slug in CHAPTERS]
    assert NAV.get(section) == expected, f"mkdocs.yml nav, {section}: write {expected}"


def test_every_chapter_has_its_count_of_python_blocks():
    counts = json.loads((ROOT / "tests" / "doc_blocks.json").read_text(encoding="utf-8"))
    missing = [slug for slug in CHAPTERS if f"chapters/{slug}" not in counts]
    assert not missing, f"tests/doc_blocks.json: add the number of Python blocks of {missing}"


def test_every_chapter_defines_glossary_terms():
    glossary = yaml.safe_load((ROOT / "site_config" / "glossary.yml").read_text(encoding="utf-8"))
    terms = [term for group in glossary.values() if isinstance(group, list) for term in group]
    defined = {term.get("chapter") for term in terms if isinstance(term, dict)}
    without = [slug for slug in CHAPTERS if slug not in defined]
    assert not without, f"site_config/glossary.yml: add the terms that {without} define (chapter: slug)"
    unknown = sorted(defined - set(CHAPTERS) - {None})
    assert not unknown, f"site_config/glossary.yml names chapters not in site_config/chapters.yml: {unknown}"


# --- the examples ---


def _chapter_scripts(slug: str) -> list[Path]:
    return sorted(p for p in (EXAMPLES / slug).glob("*.py") if not p.name.startswith("_"))


def test_examples_are_grouped_by_chapter():
    loose = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name != "make_figures.py")
    assert not loose, f"examples/: move {loose} into examples/<chapter slug>/"
    folders = {p.name for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    strays = sorted(folders - set(CHAPTERS))
    assert not strays, f"examples/{strays}: no such chapter in site_config/chapters.yml; use a chapter's slug"
    stems = [p.stem for slug in CHAPTERS for p in _chapter_scripts(slug)]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    assert not twice, f"examples: {twice} are in two chapters' folders; a script's name names its figures"


@pytest.mark.parametrize("slug", CHAPTERS)
def test_a_chapters_scripts_say_where_the_book_shows_them_and_the_chapter_names_them(slug):
    scripts = _chapter_scripts(slug)
    assert scripts, f"chapter {slug!r}: add the scripts behind its figures to examples/{slug}/"
    for script in scripts:
        name = script.relative_to(ROOT).as_posix()
        book = re.search(r"^Book: (.+?)\.$", _docstring(script), re.MULTILINE | re.DOTALL)
        assert book, f"{name}: its docstring needs a line 'Book: {slug}#<section anchor>.'"
        places = re.split(r",\s+", book[1])
        assert places[0].startswith(f"{slug}#"), f"{name}: name its own chapter first in 'Book:' ({slug}#...)"
        for place in places:
            chapter, _, anchor = place.partition("#")
            assert chapter in CHAPTERS, (
                f"{name}: 'Book: {place}' names no chapter of site_config/chapters.yml"
            )
            for language in LANGUAGES:
                assert anchor in _book_anchors(chapter, language), (
                    f"{name}: 'Book: {place}': docs/chapters/{chapter}.{language}.md has no heading"
                    f" {{ #{anchor} }}"
                )
        for language in LANGUAGES:
            page = DOCS / "chapters" / f"{slug}.{language}.md"
            assert name in page.read_text(encoding="utf-8"), (
                f"{page.relative_to(ROOT)}: tell the reader to run {name}"
            )


def test_every_script_the_book_and_the_readme_name_exists():
    sources = [*DOCS.rglob("*.md"), *DOCS.rglob("*.ipynb"), ROOT / "README.md"]
    missing = set()
    for path in sources:
        for named in re.findall(r"examples/[\w/-]+\.py", path.read_text(encoding="utf-8")):
            if not (ROOT / named).is_file():
                missing.add(f"{path.relative_to(ROOT)}: {named}")
    assert not missing, f"scripts named but not there: {sorted(missing)}"


# --- the modules ---


def test_every_module_of_the_package_is_introduced_by_a_chapter_or_is_support():
    package = {p.stem for p in (ROOT / "mlnotes").glob("*.py") if not p.name.startswith("_")}
    listed = set(_chapter_modules()) | set(SUPPORT)
    assert not sorted(package - listed), (
        f"site_config/chapters.yml: list {sorted(package - listed)} under the chapter that introduces it"
    )
    lacking = sorted(listed - package)
    assert not lacking, f"site_config/chapters.yml lists {lacking}: add mlnotes/<module>.py for each"


@pytest.mark.parametrize("module", sorted(_chapter_modules()))
def test_a_chapters_module_has_its_page_its_row_its_exports_and_its_readme_entry(module):
    chapters = _chapter_modules()[module]
    page = _reference_name(module)
    for language in LANGUAGES:
        path = DOCS / "reference" / f"{page}.{language}.md"
        assert path.is_file(), f"module {module}: add {path.relative_to(ROOT)} holding '::: mlnotes.{module}'"
        assert f"::: mlnotes.{module}" in path.read_text(encoding="utf-8"), (
            f"{path.relative_to(ROOT)}: add '::: mlnotes.{module}'"
        )
        index = DOCS / "reference" / f"index.{language}.md"
        (row,) = [
            line for line in index.read_text(encoding="utf-8").splitlines() if f"]({page}.md)" in line
        ] or [None]
        assert row, f"{index.relative_to(ROOT)}: add a row for [`mlnotes.{module}`]({page}.md)"
        for slug in chapters:
            assert f"../chapters/{slug}.md" in row, (
                f"{index.relative_to(ROOT)}: link the {module} row to {slug}.md"
            )
    assert f"reference/{page}.md" in NAV["Reference"], f"mkdocs.yml nav, Reference: add reference/{page}.md"
    assert f"[`mlnotes.{module}`][]" in mlnotes.__doc__, (
        f"mlnotes/__init__.py: name [`mlnotes.{module}`][] in its docstring"
    )
    readme_row = next(
        line
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `mlnotes/`")
    )
    assert f"`{module}`" in readme_row, f"README.md, Layout: describe `{module}` in the mlnotes/ row"
    loaded = importlib.import_module(f"mlnotes.{module}")
    public = [
        name
        for name, value in vars(loaded).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == loaded.__name__
    ]
    unexported = [name for name in public if getattr(mlnotes, name, None) is not vars(loaded)[name]]
    assert not unexported, (
        f"mlnotes/__init__.py: import {unexported} from mlnotes.{module} and add them to __all__"
    )
    assert set(public) <= set(mlnotes.__all__), (
        f"mlnotes.__all__: add {sorted(set(public) - set(mlnotes.__all__))}"
    )


def test_the_support_modules_share_one_page():
    for language in LANGUAGES:
        text = (DOCS / "reference" / f"support.{language}.md").read_text(encoding="utf-8")
        missing = [module for module in SUPPORT if f"::: mlnotes.{module}" not in text]
        assert not missing, f"docs/reference/support.{language}.md: add ::: mlnotes.<module> for {missing}"
