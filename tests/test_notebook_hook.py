"""site_config/hooks/notebooks.py on hand-made nbconvert output: ids from { #anchor }, no CDN scripts."""

import importlib.util
from types import SimpleNamespace

import nbformat
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


def lab(markdown, code):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), *(nbformat.v4.new_code_cell(c) for c in code)]
    return nb


def test_identical_code_is_executed_once_and_each_language_keeps_its_text(tmp_path, monkeypatch):
    runs = []

    def execute(self, nb, resources=None, km=None):  # stands in for a kernel: records the call
        runs.append([c.source for c in nb.cells if c.cell_type == "code"])
        for k, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            cell.execution_count = k + 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{cell.source}: True\n")]
        return nb, resources

    monkeypatch.setitem(hook._SHARED, "folder", tmp_path / "outputs")
    once = hook.share_outputs(execute)
    zh, _ = once(None, lab("# 实验", ["a = 1", "print(a)"]), {})
    en, _ = once(None, lab("# Lab", ["a = 1", "print(a)"]), {})
    other, _ = once(None, lab("# Lab", ["a = 2"]), {})
    assert runs == [["a = 1", "print(a)"], ["a = 2"]]  # the English copy did not run again
    assert en.cells[0].source == "# Lab" and zh.cells[0].source == "# 实验"
    assert [c.outputs for c in en.cells[1:]] == [c.outputs for c in zh.cells[1:]]
    assert en.cells[2].outputs[0].text == "print(a): True\n" and en.cells[2].execution_count == 2
    assert other.cells[1].outputs[0].text == "a = 2: True\n"
    assert not list((tmp_path / "outputs").glob("*.tmp"))


def test_without_a_configured_folder_every_notebook_executes(monkeypatch):
    runs = []
    monkeypatch.delitem(hook._SHARED, "folder", raising=False)
    once = hook.share_outputs(lambda self, nb, resources=None, km=None: (runs.append(1), (nb, resources))[1])
    once(None, lab("# a", ["x = 1"]), {})
    once(None, lab("# b", ["x = 1"]), {})
    assert runs == [1, 1]
