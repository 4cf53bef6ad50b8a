"""site_config/hooks/notebooks.py on hand-made nbconvert output: ids from { #anchor }, no CDN scripts."""

import importlib.util
from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError
from mkdocs.structure.toc import get_toc
from site_build import ROOT

_spec = importlib.util.spec_from_file_location(
    "notebooks_hook", ROOT / "site_config" / "hooks" / "notebooks.py"
)
hook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hook)


def heading(level, text, nb_id):
    return f'<h{level} id="{nb_id}">{text}<a class="anchor-link" href="#{nb_id}">¶</a></h{level}>'


def page(src_uri="labs/x.zh.ipynb", title="实验 { #lab }"):
    toc = get_toc(
        [
            {
                "level": 1,
                "id": "_1",
                "name": title,
                "children": [
                    {"level": 2, "id": "_2", "name": "鞍点 { #saddle-point }", "children": []},
                ],
            },
        ]
    )
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri, locale="zh"), toc=toc, title=title)


def test_headings_take_the_explicit_anchor_and_lose_the_marker():
    html = (
        heading(1, "实验 { #lab }", "")
        + "<p>a</p>"
        + heading(2, "没有锚点", "")
        + heading(2, "鞍点 { #saddle-point }", "")
    )
    p = page()
    out = hook.on_page_content(html, p, None, None)
    assert '<h1 id="lab">实验<a class="anchor-link" href="#lab">¶</a></h1>' in out
    assert '<h2 id="saddle-point">鞍点<a class="anchor-link" href="#saddle-point">¶</a></h2>' in out
    # a heading without a marker is left alone, not swallowed into the next one
    assert heading(2, "没有锚点", "") in out
    assert p.title == "实验"
    top = p.toc.items[0]
    assert (top.id, top.title) == ("lab", "实验")
    assert (top.children[0].id, top.children[0].title) == ("saddle-point", "鞍点")


def test_download_link_in_the_page_language():
    out = hook.on_page_content("<p>x</p>", page(), None, None)
    assert out.startswith('<p class="mlnotes-download"><a class="md-button" href="x.zh.ipynb" download>下载')


def test_cdn_scripts_are_removed_and_any_other_fails_the_build():
    mathjax = (
        '<!-- Load mathjax -->\n<script src="https://cdn.example/mathjax.js"> </script>\n'
        '<!-- MathJax configuration -->\n<script type="text/x-mathjax-config">init()</script>'
    )
    mermaid = '<script type="module">const m = (await import("https://cdn.example/mermaid.mjs"));</script>'
    out = hook.on_page_content(mathjax + mermaid + "<p>body</p>", page(), None, None)
    assert "cdn.example" not in out and "<p>body</p>" in out
    with pytest.raises(PluginError, match=r"labs/x\.zh\.ipynb"):
        hook.on_page_content('<script src="https://cdn.example/other.js"></script>', page(), None, None)


def test_markdown_pages_pass_through_untouched():
    html = heading(2, "Title { #t }", "")
    assert hook.on_page_content(html, page(src_uri="chapters/x.en.md"), None, None) == html


def test_notebooks_count_as_pages_for_mkdocs():
    import mkdocs.utils

    assert mkdocs.utils.is_markdown_file("labs/x.zh.ipynb")
