"""Both languages of every page carry the same code, display math, figures and heading anchors."""

import difflib

import pytest
from markdown_parts import LANGUAGES, page_pairs, parse_page

PAGES = page_pairs()


def test_the_book_has_pages():
    assert {"index", "chapters/critical-points"} <= set(PAGES)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_exists_in_both_languages(name):
    found = set(PAGES[name])
    assert found == set(LANGUAGES), (
        f"docs/{name}: found languages {sorted(map(str, found))}; every page needs "
        f"{name}.zh.md and {name}.en.md (a file without a language suffix is not allowed)"
    )


def _diff(label, zh, en):
    lines = difflib.unified_diff([repr(x) for x in zh], [repr(x) for x in en], "zh", "en", lineterm="")
    return f"{label} differ between languages:\n" + "\n".join(lines)


@pytest.mark.parametrize("name", sorted(n for n in PAGES if set(PAGES[n]) == set(LANGUAGES)))
def test_languages_share_code_math_figures_and_anchors(name):
    zh, en = (parse_page(PAGES[name][lang]) for lang in LANGUAGES)
    zh_code = [(f.info, f.code) for f in zh.fences]
    en_code = [(f.info, f.code) for f in en.fences]
    assert zh_code == en_code, _diff(f"{name}: code blocks", zh_code, en_code)
    assert zh.display_math == en.display_math, _diff(
        f"{name}: display math", zh.display_math, en.display_math
    )
    assert zh.images == en.images, _diff(f"{name}: images", zh.images, en.images)
    zh_anchors = [a for _, a in zh.headings]
    en_anchors = [a for _, a in en.headings]
    assert zh_anchors == en_anchors, _diff(f"{name}: heading anchors", zh_anchors, en_anchors)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_heading_has_an_explicit_anchor(name):
    for path in PAGES[name].values():
        missing = [title for title, anchor in parse_page(path).headings if anchor is None]
        assert not missing, f"{path}: headings without {{ #anchor }}: {missing}"
