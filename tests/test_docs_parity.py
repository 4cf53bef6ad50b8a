"""Both languages of every page and lab notebook carry the same code, display math, figures, anchors
and API-reference directives; every chapter has a lab notebook."""

import difflib
import re

import pytest
from markdown_parts import LANGUAGES, page_pairs, parse_page

PAGES = page_pairs()
NOTEBOOKS = page_pairs("*.ipynb")
EVERYTHING = {**PAGES, **NOTEBOOKS}
CHAPTERS = sorted(name.removeprefix("chapters/") for name in PAGES if name.startswith("chapters/"))


def test_the_book_has_pages():
    assert {"index", "chapters/critical-points", "reference/index"} <= set(PAGES)
    assert "labs/critical-points" in NOTEBOOKS
    assert not set(PAGES) & set(NOTEBOOKS), "a page and a notebook share a name"


@pytest.mark.parametrize("name", sorted(EVERYTHING))
def test_every_page_exists_in_both_languages(name):
    found = set(EVERYTHING[name])
    suffix = ".ipynb" if name in NOTEBOOKS else ".md"
    assert found == set(LANGUAGES), (
        f"docs/{name}: found languages {sorted(map(str, found))}; every page needs "
        f"{name}.zh{suffix} and {name}.en{suffix} (a file without a language suffix is not allowed)"
    )


def _diff(label, zh, en):
    lines = difflib.unified_diff([repr(x) for x in zh], [repr(x) for x in en], "zh", "en", lineterm="")
    return f"{label} differ between languages:\n" + "\n".join(lines)


@pytest.mark.parametrize("name", sorted(n for n in EVERYTHING if set(EVERYTHING[n]) == set(LANGUAGES)))
def test_languages_share_code_math_figures_and_anchors(name):
    zh, en = (parse_page(EVERYTHING[name][lang]) for lang in LANGUAGES)
    zh_code = [(f.info, f.code) for f in zh.fences]
    en_code = [(f.info, f.code) for f in en.fences]
    assert zh_code == en_code, _diff(f"{name}: code blocks", zh_code, en_code)
    assert zh.display_math == en.display_math, _diff(
        f"{name}: display math", zh.display_math, en.display_math
    )
    # each language shows its own variant of a figure: name.zh.svg and name.en.svg
    zh_images, en_images = ([re.sub(r"\.(zh|en)(\.\w+)$", r"\2", src) for src in p.images] for p in (zh, en))
    assert zh_images == en_images, _diff(f"{name}: images", zh_images, en_images)
    zh_anchors = [a for _, a in zh.headings]
    en_anchors = [a for _, a in en.headings]
    assert zh_anchors == en_anchors, _diff(f"{name}: heading anchors", zh_anchors, en_anchors)
    assert zh.directives == en.directives, _diff(f"{name}: ::: directives", zh.directives, en.directives)


@pytest.mark.parametrize("name", sorted(EVERYTHING))
def test_every_heading_has_an_explicit_anchor(name):
    for path in EVERYTHING[name].values():
        missing = [title for title, anchor in parse_page(path).headings if anchor is None]
        assert not missing, f"{path}: headings without {{ #anchor }}: {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_a_lab_notebook_it_links_to(chapter):
    assert f"labs/{chapter}" in NOTEBOOKS, f"chapters/{chapter} has no docs/labs/{chapter}.{{zh,en}}.ipynb"
    for path in PAGES[f"chapters/{chapter}"].values():
        assert f"(../labs/{chapter}.ipynb)" in path.read_text(encoding="utf-8"), (
            f"{path} does not link its lab notebook ../labs/{chapter}.ipynb"
        )
