"""The lab hooks on hand-made nbconvert output and tiny hand-made notebooks.

site_config/hooks/notebook_pages.py: ids from { #anchor }, no CDN scripts, the download link.
site_config/hooks/notebook_execution.py: outputs shared between languages, labs executed after the
first page under ``mkdocs serve`` and before it under ``mkdocs build``, kernels without the TCP
warning. site_config/hooks/jieba_log.py: no DEBUG lines."""

import logging
import time
from types import SimpleNamespace

import nbformat
import pytest
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import get_toc
from mkdocs_jupyter.plugin import Plugin as Jupyter
from nbclient.exceptions import CellExecutionError
from nbconvert.preprocessors import ExecutePreprocessor
from site_build import site_hook

pages = site_hook("notebook_pages")
hook = site_hook("notebook_execution")


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
    out = pages.on_page_content(html, p, None, None)
    assert '<h1 id="lab">实验<a class="anchor-link" href="#lab">¶</a></h1>' in out
    assert '<h2 id="saddle-point">鞍点<a class="anchor-link" href="#saddle-point">¶</a></h2>' in out
    # a heading without a marker is left alone, not swallowed into the next one
    assert heading(2, "没有锚点", "") in out
    assert p.title == "实验"
    top = p.toc.items[0]
    assert (top.id, top.title) == ("lab", "实验")
    assert (top.children[0].id, top.children[0].title) == ("saddle-point", "鞍点")


def test_download_link_in_the_page_language():
    out = pages.on_page_content("<p>x</p>", page(), None, None)
    assert out.startswith('<p class="mlnotes-download"><a class="md-button" href="x.zh.ipynb" download>下载')


def test_cdn_scripts_are_removed_and_any_other_fails_the_build():
    mathjax = (
        '<!-- Load mathjax -->\n<script src="https://cdn.example/mathjax.js"> </script>\n'
        '<!-- MathJax configuration -->\n<script type="text/x-mathjax-config">init()</script>'
    )
    mermaid = '<script type="module">const m = (await import("https://cdn.example/mermaid.mjs"));</script>'
    out = pages.on_page_content(mathjax + mermaid + "<p>body</p>", page(), None, None)
    assert "cdn.example" not in out and "<p>body</p>" in out
    with pytest.raises(PluginError, match=r"labs/x\.zh\.ipynb"):
        pages.on_page_content('<script src="https://cdn.example/other.js"></script>', page(), None, None)


def test_markdown_pages_pass_through_untouched():
    html = heading(2, "Title { #t }", "")
    assert pages.on_page_content(html, page(src_uri="chapters/x.en.md"), None, None) == html


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
    zh, _ = once(ExecutePreprocessor(), lab("# 实验", ["a = 1", "print(a)"]), {})
    en, _ = once(ExecutePreprocessor(), lab("# Lab", ["a = 1", "print(a)"]), {})
    other, _ = once(ExecutePreprocessor(), lab("# Lab", ["a = 2"]), {})
    assert runs == [["a = 1", "print(a)"], ["a = 2"]]  # the English copy did not run again
    assert en.cells[0].source == "# Lab" and zh.cells[0].source == "# 实验"
    assert [c.outputs for c in en.cells[1:]] == [c.outputs for c in zh.cells[1:]]
    assert en.cells[2].outputs[0].text == "print(a): True\n" and en.cells[2].execution_count == 2
    assert other.cells[1].outputs[0].text == "a = 2: True\n"
    assert not list(tmp_path.rglob("*.tmp"))  # no partial file left, in the folder or beside it


def test_without_a_configured_folder_every_notebook_executes(monkeypatch):
    runs = []
    monkeypatch.delitem(hook._SHARED, "folder", raising=False)
    once = hook.share_outputs(lambda self, nb, resources=None, km=None: (runs.append(1), (nb, resources))[1])
    once(ExecutePreprocessor(), lab("# a", ["x = 1"]), {})
    once(ExecutePreprocessor(), lab("# b", ["x = 1"]), {})
    assert runs == [1, 1]


# --- mkdocs serve: the first page at once, the labs' outputs when they are ready ----------------------


class StandInKernel:
    """Replaces the kernel run inside ``ExecutePreprocessor.preprocess`` (the hook's wrapper stays):
    each code cell prints ``<source>: True``, a cell that says ``raise`` fails like a real one."""

    def __init__(self):
        self.runs = []

    def __call__(self, preprocessor, nb, resources=None, km=None):
        self.runs.append(code_of(nb))
        for k, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            if "raise" in cell.source:
                raise CellExecutionError(f"{cell.source}\nValueError: boom", "ValueError", "boom")
            cell.execution_count = k + 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{cell.source}: True\n")]
        return nb, resources


def code_of(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


class Book:
    """A book of hand-made notebooks under a real MkDocs config and mkdocs-jupyter configured as in
    mkdocs.yml; ``page()`` renders one the way a build does (plugin, then this hook)."""

    def __init__(self, root):
        self.docs = root / "docs"
        (self.docs / "labs").mkdir(parents=True)
        (root / "mkdocs.yml").write_text("site_name: t\n", encoding="utf-8")
        self.config = MkDocsConfig(config_file_path=str(root / "mkdocs.yml"))
        self.config.load_dict({"site_name": "t", "docs_dir": str(self.docs), "site_dir": str(root / "site")})
        errors, warnings = self.config.validate()
        assert not errors and not warnings
        self.jupyter = Jupyter()
        self.jupyter.load_config(
            {"execute": True, "allow_errors": False, "include_source": True, "include": ["*.ipynb"]}
        )
        self.config.plugins["mkdocs-jupyter"] = self.jupyter
        hook.on_config(self.config)
        self.jupyter.on_pre_build(self.config)
        self.outputs = hook._SHARED["folder"]
        self.html_cache = root / self.jupyter.config["cache_dir"]

    def page(self, name, nb=None, locale="zh"):
        """The page's HTML; ``nb`` is written first (without it, the file is left as it is)."""
        if nb is not None:
            nbformat.write(nb, self.docs / name)
        file = File(name, str(self.docs), self.config.site_dir, use_directory_urls=True)
        file.locale = locale
        page, files = Page(None, file, self.config), Files([file])
        self.jupyter.on_pre_page(page, self.config, files)
        hook.on_pre_page(page, self.config, files)
        page.render(self.config, files)
        content = hook.on_page_content(page.content, page, self.config, files)  # in mkdocs.yml's order
        return pages.on_page_content(content, page, self.config, files)


@pytest.fixture
def book(tmp_path, monkeypatch):
    monkeypatch.setitem(hook._SHARED, "folder", None)  # restored after the test
    monkeypatch.setattr(hook, "_LABS", None)
    return Book(tmp_path)


@pytest.fixture
def kernel(monkeypatch):
    stand_in = StandInKernel()
    monkeypatch.setattr(ExecutePreprocessor, "preprocess", hook.share_outputs(stand_in))
    return stand_in


def wait_for(path, seconds=60):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} did not appear"
        time.sleep(0.05)


class Server:
    """Stands in for mkdocs' LiveReloadServer: records what it is asked to watch."""

    def __init__(self):
        self.watched = []

    def watch(self, path):
        self.watched.append(path)


CODE = ["a = 1", "print(a)"]


def test_build_executes_every_lab_before_writing_its_page(book, kernel):
    hook.on_startup(command="build", dirty=False)
    out = book.page("labs/x.zh.ipynb", lab("# 实验", CODE))
    assert kernel.runs == [CODE]  # during the render, not later
    assert "print(a): True" in out and "mlnotes-pending" not in out
    assert (book.outputs / f"{hook.code_key(lab('', CODE))}.json").is_file()
    assert list(book.html_cache.glob("*.json"))  # mkdocs-jupyter cached the executed page


def test_a_failing_cell_still_fails_the_build(book, kernel):
    hook.on_startup(command="build", dirty=False)
    with pytest.raises(CellExecutionError, match="boom"):
        book.page("labs/x.zh.ipynb", lab("# 实验", ["raise ValueError('boom')"]))


def test_serve_shows_the_page_first_and_the_outputs_when_they_are_ready(book, kernel):
    hook.on_startup(command="serve", dirty=False)
    first = book.page("labs/x.zh.ipynb", lab("# 实验", CODE))
    assert kernel.runs == []  # nothing executed before the page was written
    assert "mlnotes-pending" in first and "后台计算" in first  # the note, in the page's language
    assert "print(a)" in first and "print(a): True" not in first  # the code, no outputs
    assert not list(book.html_cache.glob("*.json"))  # the outputless page is not cached as final

    server = Server()
    hook.on_serve(server, config=book.config, builder=None)
    assert server.watched == [str(book.outputs)] and book.outputs.is_dir()

    hook.on_post_build(book.config)  # the first build is written: execution starts
    stored = book.outputs / f"{hook.code_key(lab('', CODE))}.json"
    wait_for(stored)
    assert kernel.runs == [CODE]
    again = book.page("labs/x.zh.ipynb", lab("# 实验", CODE))  # the rebuild the watched folder starts
    english = book.page("labs/x.en.ipynb", lab("# Lab", CODE), locale="en")
    for out in (again, english):
        assert "print(a): True" in out and "mlnotes-pending" not in out
    assert kernel.runs == [CODE]  # both languages took the stored outputs
    assert len(list(book.html_cache.glob("*.json"))) == 2  # and now the final pages are cached


def test_serve_executes_a_lab_once_however_often_it_is_rendered_before(book, kernel, monkeypatch):
    conversions = []
    convert = hook.render_without_outputs
    monkeypatch.setattr(hook, "render_without_outputs", lambda *a: conversions.append(a) or convert(*a))
    hook.on_startup(command="serve", dirty=False)
    zh = book.page("labs/x.zh.ipynb", lab("# 实验", CODE))
    en = book.page("labs/x.en.ipynb", lab("# Lab", CODE), locale="en")
    assert "mlnotes-pending" in zh and "mlnotes-pending" in en and "being computed" in en
    assert book.page("labs/x.zh.ipynb") == zh  # a rebuild before the outputs land, file unchanged:
    assert len(conversions) == 2  # the same page, not converted again
    hook.on_post_build(book.config)
    wait_for(book.outputs / f"{hook.code_key(lab('', CODE))}.json")
    book.page("labs/x.zh.ipynb", lab("# 实验", CODE))
    assert kernel.runs == [CODE]


def test_a_lab_failing_in_the_background_fails_the_next_rebuild(book, kernel):
    hook.on_startup(command="serve", dirty=False)
    failing = lab("# 实验", ["raise ValueError('boom')"])
    assert "mlnotes-pending" in book.page("labs/x.zh.ipynb", failing)
    hook.on_post_build(book.config)
    wait_for(book.outputs / f"{hook.code_key(failing)}.error.txt")  # in the watched folder: a rebuild
    for _ in range(2):  # and every rebuild after it, without executing the lab again
        with pytest.raises(PluginError, match=r"labs/x\.zh\.ipynb: executing the lab failed(.|\n)*boom"):
            book.page("labs/x.zh.ipynb", failing)
    assert kernel.runs == [code_of(failing)]


def test_serve_renders_a_pending_lab_again_when_it_is_saved(book, kernel):
    hook.on_startup(command="serve", dirty=False)
    assert "旧标题" in book.page("labs/x.zh.ipynb", lab("# 旧标题", CODE))
    edited = book.page("labs/x.zh.ipynb", lab("# 改过的标题", [*CODE, "b = 2"]))
    assert "改过的标题" in edited and "b = 2" in edited and "旧标题" not in edited
    assert "mlnotes-pending" in edited
    hook.on_post_build(book.config)
    wait_for(book.outputs / f"{hook.code_key(lab('', [*CODE, 'b = 2']))}.json")
    assert "b = 2: True" in book.page("labs/x.zh.ipynb", lab("# 改过的标题", [*CODE, "b = 2"]))


def test_serve_with_dirty_rebuilds_executes_before_writing(book, kernel):
    hook.on_startup(command="serve", dirty=True)  # a dirty rebuild would skip the unchanged lab
    assert "print(a): True" in book.page("labs/x.zh.ipynb", lab("# 实验", CODE))


def test_jieba_logs_no_progress_lines():
    jieba = logging.getLogger("jieba")
    jieba.setLevel(logging.DEBUG)  # what importing jieba does
    site_hook("jieba_log").on_startup(command="build", dirty=False)
    assert jieba.level == logging.WARNING


def test_a_real_kernel_in_the_background_without_the_tcp_warning(book, capfd):
    hook.on_startup(command="serve", dirty=False)
    nb = lab("# 实验", ["import sys", "print(6 * 7)"])
    assert "mlnotes-pending" in book.page("labs/x.zh.ipynb", nb)
    hook.on_post_build(book.config)
    wait_for(book.outputs / f"{hook.code_key(nb)}.json")
    assert "<pre>42\n</pre>" in book.page("labs/x.zh.ipynb", nb)
    err = capfd.readouterr().err  # the kernel process writes to this process's stderr
    assert "without encryption" not in err and "WARNING" not in err, err
