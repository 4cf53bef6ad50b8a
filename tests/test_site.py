"""The site builds with ``mkdocs build --strict``, in both languages, searchable in both, offline.

The browser-level checks (math typeset on screen, the switcher clicked, search typed) are in the
browser test suite; this test checks what the build itself must produce.
"""

import json
import re

import pytest
from markdown_parts import page_pairs
from site_build import mkdocs_build


def pages(site):
    return sorted(p for p in site.rglob("index.html"))


def test_every_page_is_built_in_both_languages(built_site):
    zh = {
        p.relative_to(built_site).as_posix()
        for p in pages(built_site)
        if not p.relative_to(built_site).as_posix().startswith("en/")
    }
    en = {p.relative_to(built_site / "en").as_posix() for p in (built_site / "en").rglob("index.html")}
    assert "chapters/critical-points/index.html" in zh
    assert zh == en


def test_language_switcher_leads_to_the_same_page(built_site):
    zh = (built_site / "chapters/critical-points/index.html").read_text(encoding="utf-8")
    en = (built_site / "en/chapters/critical-points/index.html").read_text(encoding="utf-8")
    assert re.search(r'<a href="../../en/chapters/critical-points/" hreflang="en"', zh)
    assert re.search(r'<a href="../../../chapters/critical-points/" hreflang="zh"', en)
    assert '<html lang="zh"' in zh and '<html lang="en"' in en


def test_no_head_alternate_links_so_no_sitemap_is_fetched_per_page(built_site):
    # Material fetches sitemap.xml relative to each <link rel="alternate">;
    # see site_config/hooks/head_alternates.py.
    for page in pages(built_site):
        assert 'rel="alternate"' not in page.read_text(encoding="utf-8"), page


def test_pages_load_nothing_from_other_hosts(built_site):
    pattern = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(https?:)?//', re.I)
    for page in pages(built_site):
        html = page.read_text(encoding="utf-8")
        assert not pattern.search(html), f"{page} loads a third-party resource"
        # Material's repository widget fetches stars and releases from the GitHub API
        assert 'data-md-component="source"' not in html, f"{page} shows the repository widget"
    css = (built_site / "assets/katex/katex.min.css").read_text(encoding="utf-8")
    assert "url(fonts/KaTeX_Main-Regular.woff2)" in css
    assert (built_site / "assets/katex/fonts/KaTeX_Main-Regular.woff2").is_file()


def test_math_is_left_for_katex_in_arithmatex_elements(built_site):
    html = (built_site / "en/chapters/critical-points/index.html").read_text(encoding="utf-8")
    assert html.count('class="arithmatex"') > 20
    assert r"\begin{bmatrix}" in html
    assert "katex.min.js" in html and "katex-render.js" in html


def _index(built_site):
    return json.loads((built_site / "search/search_index.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("term", ["鞍点", "海森矩阵", "临界点", "特征值"])
def test_chinese_terms_are_whole_tokens_in_the_search_index(built_site, term):
    # jieba segments at build time; a query matches only if the term is one token after splitting
    # with the separator the browser-side search uses
    index = _index(built_site)
    separator = re.compile(index["config"]["separator"])
    tokens = set()
    for doc in index["docs"]:
        if not doc["location"].startswith("en/"):
            tokens |= set(separator.split(doc["title"] + " " + doc["text"]))
    assert term in tokens


def test_english_search_is_not_stemmed_away(built_site):
    index = _index(built_site)
    assert index["config"]["pipeline"] == ["stopWordFilter"]
    en_text = " ".join(d["text"] for d in index["docs"] if d["location"].startswith("en/"))
    assert "saddle" in en_text and "Hessian" in en_text


def test_lab_notebooks_are_pages_in_both_languages_with_their_download(built_site):
    for name, languages in page_pairs("*.ipynb").items():
        for language, source in languages.items():
            folder = built_site / ("" if language == "zh" else "en") / name
            html = (folder / "index.html").read_text(encoding="utf-8")
            assert 'class="jp-Notebook' in html, f"{folder}: not rendered as a notebook"
            assert 'class="jp-OutputArea-child' in html, f"{folder}: the executed outputs are missing"
            assert f'href="{source.name}" download' in html, f"{folder}: no download link"
            # the download is the notebook itself, with the install line put first (hooks/wheel.py)
            offered = json.loads((folder / source.name).read_text(encoding="utf-8"))
            original = json.loads(source.read_text(encoding="utf-8"))
            assert offered["cells"][0]["metadata"] == {"mlnotes": "install"}, f"{folder}: no install cell"
            same = offered["cells"][1:] == original["cells"]
            assert same, f"{folder}: the download's cells after the first are not the lab's"
            assert {k: v for k, v in offered.items() if k != "cells"} == {
                k: v for k, v in original.items() if k != "cells"
            }
            assert 'id=""' not in html, f"{folder}: a heading without its {{ #anchor }} id"


def test_a_second_build_takes_every_notebook_from_the_cache(built_site, tmp_path):
    # built_site has executed (or reused) every notebook; building again must execute none, in
    # either language: the i18n plugin's second language no longer evicts the first one's cache
    proc = mkdocs_build(tmp_path / "site")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Converting notebook" not in proc.stderr, proc.stderr[-3000:]
    notebooks = [p for pair in page_pairs("*.ipynb").values() for p in pair.values()]
    for notebook in notebooks:
        assert f"Cache hit: {notebook}" in proc.stderr, f"{notebook} was not taken from the cache"
