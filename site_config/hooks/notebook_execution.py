"""MkDocs hook: each lab notebook is executed once, not once per language and build.

mkdocs-jupyter executes a notebook whenever its bytes are not in its cache, and its cache has no
notion of the package the labs import or of a second language (danielfrg/mkdocs-jupyter#161, open,
asks for a cache by content). The hook fills those gaps:

1. **A cache per language.** mkdocs-static-i18n runs one mkdocs build per language inside one
   command, and mkdocs-jupyter evicts every cache entry the current build did not use, so each
   language deleted the other's executed notebooks. Each language gets its own cache folder
   (mkdocs-jupyter's ``cache_dir`` setting).
2. **A cache for these package sources.** The cache key is the notebook's bytes, so a change to
   ``mlnotes`` would leave stale outputs on the site. The cache folder is named after a hash of the
   package's sources and of the Python and torch versions; a change to any of them executes the
   labs again, and older folders are removed.
3. **One execution for both languages.** The Chinese and English version of a lab have the same
   code cells (a test enforces it), so executing both is twice the work for the same outputs. The
   first execution of a sequence of code cells stores their outputs under a hash of their sources,
   and a notebook whose code hashes the same gets those outputs instead of a second kernel run;
   Markdown cells are untouched, so each language keeps its own text. mkdocs-jupyter offers no
   setting to add an nbconvert preprocessor, so ``ExecutePreprocessor.preprocess`` is wrapped when
   this hook is loaded (once: a second load sees the wrapper).
4. **``mkdocs serve`` shows the site first** and executes the labs afterwards (``mkdocs build``,
   and a serve with ``--dirty``, still execute every lab before writing its page, and a failing
   cell fails them). A lab whose outputs (3) are not stored yet is rendered without outputs and with
   a note, in the page's language, that they are being computed; that page never enters
   mkdocs-jupyter's cache, which would keep it as final, and later rebuilds reuse it while the
   notebook file is unchanged. Once the first build is written, one background thread executes
   those labs, one at a time, and stores their outputs; the serve watches the outputs folder, so
   the arrival of each lab's outputs rebuilds the site and reloads the browser. A lab that fails
   there fails the rebuild its error file starts, and every rebuild after it, with the cell's
   error, as ``mkdocs build`` would.
5. **Kernels without the TCP warning.** ipykernel warns on every kernel start that it runs over TCP
   without encryption. Its kernelspec declares CurveZMQ support, so the kernel manager is told to
   provision CurveZMQ keys (``KernelManager.transport_encryption = "auto"``, unless the user's own
   nbconvert configuration sets it): the channels are encrypted, which is what the warning asks for.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import queue
import shutil
import tempfile
import threading
from pathlib import Path
from types import MethodType
from typing import NamedTuple

import nbformat
import zmq
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs_jupyter import convert
from mkdocs_jupyter.plugin import get_nb_toc
from nbclient.exceptions import CellExecutionError
from nbconvert.preprocessors import ExecutePreprocessor

PACKAGE = "mlnotes"
PENDING_NOTE = {
    "zh": "这个实验的输出正在后台计算，算好后页面会自动刷新。",
    "en": "This lab's outputs are being computed; the page reloads when they are ready.",
}
log = logging.getLogger("mkdocs.hooks.notebook_execution")


def is_notebook(page) -> bool:
    return page.file.src_uri.endswith(".ipynb")


def _sources_digest(root: Path) -> str:
    torch = importlib.metadata.version("torch")  # not 'import torch': that alone takes seconds
    digest = hashlib.sha256(f"{platform.python_version()} torch {torch}".encode())
    for path in sorted((root / PACKAGE).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _jupyter(config):
    plugin = config.plugins.get("mkdocs-jupyter")
    if plugin is None:
        raise PluginError("hooks/notebook_execution.py expects the mkdocs-jupyter plugin to be configured")
    return plugin


def _language(config) -> str:
    i18n = config.plugins.get("i18n")
    return i18n.current_language if i18n is not None else "default"


@event_priority(-200)  # after the i18n plugin has chosen the language of this build
def on_config(config):
    jupyter = _jupyter(config)
    root = Path(config.config_file_path).resolve().parent
    base = root / ".cache" / "mkdocs-jupyter"
    current = base / _sources_digest(root)
    if base.is_dir():
        for stale in base.iterdir():
            if stale.is_dir() and stale != current:
                shutil.rmtree(stale)
    jupyter.config["cache_dir"] = str(current / _language(config))
    _SHARED["folder"] = current / "code-outputs"
    if _LABS is not None:
        _LABS.watch(_SHARED["folder"])  # a new folder when the sources changed during the serve
    return config


_SHARED: dict[str, Path] = {}


def code_key(nb) -> str:
    """A hash of a notebook's code cells (their sources, in order), not of its Markdown."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode())
            digest.update(b"\0")
    return digest.hexdigest()[:32]


def _write_atomically(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all, from a partial file outside its folder.

    Outside, because ``mkdocs serve`` watches the outputs folder (4): a partial file there would
    start a rebuild before the outputs are in. The name is unique, so two builds at once do not
    write into each other's partial file.
    """
    partials = path.parent.with_name(path.parent.name + ".partial")
    partials.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=partials, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(partial, path)  # atomic: a build killed mid-write leaves no half-written outputs
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _error_path(stored: Path) -> Path:
    return stored.with_name(stored.stem + ".error.txt")


def encrypt_kernel_channels(preprocessor) -> None:
    """Have the kernel manager provision CurveZMQ keys for the kernels of this preprocessor (5).

    ``auto`` encrypts where the kernelspec declares support (ipykernel's does) and otherwise starts
    the kernel as before; a value from the user's own nbconvert configuration is kept.
    """
    if not zmq.has("curve"):  # a libzmq without CurveZMQ: 'auto' would be refused
        return
    manager = preprocessor.config.KernelManager
    if "transport_encryption" not in manager:
        manager.transport_encryption = "auto"


class Deferred(Exception):
    """Raised instead of executing a notebook while ``mkdocs serve`` renders a page (4)."""

    def __init__(self, nb, resources, config, stored: Path):
        super().__init__(f"outputs not stored yet: {stored.name}")
        self.nb, self.resources, self.config, self.stored = nb, resources, config, stored


_LOCAL = threading.local()  # .defer: this thread renders a page under `mkdocs serve`


def share_outputs(preprocess):
    """Wrap ``ExecutePreprocessor.preprocess`` so that identical code runs once per cache folder."""

    def preprocess_once(self, nb, resources=None, km=None):
        encrypt_kernel_channels(self)
        folder = _SHARED.get("folder")
        if folder is None:
            return preprocess(self, nb, resources, km)
        stored = folder / f"{code_key(nb)}.json"
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        if stored.is_file():
            runs = json.loads(stored.read_text(encoding="utf-8"))
            for cell, run in zip(code, runs, strict=True):
                cell.execution_count = run["execution_count"]
                cell.outputs = [nbformat.from_dict(output) for output in run["outputs"]]
            return nb, resources
        if getattr(_LOCAL, "defer", False):
            raise Deferred(nb, resources, self.config, stored)  # a config of this conversion alone
        nb, resources = preprocess(self, nb, resources, km)
        runs = [{"execution_count": c.execution_count, "outputs": c.outputs} for c in code]
        _write_atomically(stored, json.dumps(runs))
        _error_path(stored).unlink(missing_ok=True)
        return nb, resources

    preprocess_once.wrapped = preprocess
    return preprocess_once


if not hasattr(ExecutePreprocessor.preprocess, "wrapped"):
    ExecutePreprocessor.preprocess = share_outputs(ExecutePreprocessor.preprocess)


class BackgroundLabs:
    """``mkdocs serve`` only (4): executes deferred labs one at a time in a daemon thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: queue.Queue[Deferred] = queue.Queue()
        self._pending: set[Path] = set()  # queued or executing
        self.failed: dict[Path, str] = {}  # the error of each lab whose execution failed
        self._thread: threading.Thread | None = None
        self._server = None
        self._watched: set[Path] = set()
        self.outputless: dict[str, Outputless] = {}  # by notebook path

    def submit(self, deferred: Deferred) -> None:
        with self._lock:
            if deferred.stored in self._pending or deferred.stored in self.failed:
                return
            self._pending.add(deferred.stored)
        self._jobs.put(deferred)

    def start(self) -> None:
        """Start executing; called once the first build is written, so it does not slow it down."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="mlnotes-labs", daemon=True)
                self._thread.start()
                if self._pending:
                    log.info(
                        "Executing %d lab(s) in the background; each page reloads when done",
                        len(self._pending),
                    )

    def watch(self, folder: Path) -> None:
        """Rebuild (and reload the browser) when outputs land in ``folder``, once serving."""
        if folder not in self._watched:
            self._watched.add(folder)
            if self._server is not None:
                self._watch(folder)

    def serving(self, server) -> None:
        self._server = server
        for folder in self._watched:
            self._watch(folder)

    def _watch(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)  # the server watches only a folder that exists
        self._server.watch(str(folder))

    def _work(self) -> None:
        while True:
            deferred = self._jobs.get()
            try:
                self._execute(deferred)
            finally:
                with self._lock:
                    self._pending.discard(deferred.stored)

    def _execute(self, deferred: Deferred) -> None:
        try:  # the wrapper of preprocess stores the outputs, whose arrival starts a rebuild
            ExecutePreprocessor(config=deferred.config).preprocess(deferred.nb, deferred.resources)
        except Exception as error:  # any failure of the lab fails the next build, with this message
            message = str(error) if isinstance(error, CellExecutionError) else repr(error)
            self.failed[deferred.stored] = message
            with contextlib.suppress(OSError):  # a file in the watched folder: that rebuild
                _write_atomically(_error_path(deferred.stored), message)


_LABS: BackgroundLabs | None = None  # set by `mkdocs serve`


def on_startup(command, dirty):
    # Not under --dirty: a dirty rebuild skips the unchanged notebook, so its outputs would never show.
    global _LABS
    _LABS = BackgroundLabs() if command == "serve" and not dirty else None


def on_serve(server, config, builder):
    if _LABS is not None:
        _LABS.serving(server)
        _LABS.watch(_SHARED["folder"])
    return server


@event_priority(-100)  # after mkdocs-jupyter has given the page its own render method
def on_pre_page(page, config, files):
    if _LABS is None or not is_notebook(page):
        return page
    jupyter = _jupyter(config)
    if not jupyter.should_include(page.file):
        return page
    render = page.render
    labs = _LABS

    def render_or_defer(self, config, files):
        path = self.file.abs_src_path
        signature = _signature(path)  # before rendering: a save meanwhile is seen by the next build
        seen = labs.outputless.get(path)
        if (
            seen is None
            or seen.signature != signature
            or seen.stored.parent != _SHARED.get("folder")
            or seen.stored.is_file()
        ):
            _LOCAL.defer = True
            try:
                return render(config, files)  # a cache hit or stored outputs: the final page
            except Deferred as deferred:
                labs.submit(deferred)
                toc, title = get_nb_toc(path, jupyter.config["toc_depth"])
                seen = Outputless(
                    signature, deferred.stored, render_without_outputs(path, jupyter.config), toc, title
                )
                labs.outputless[path] = seen  # each rebuild until the outputs land reuses it
            finally:
                _LOCAL.defer = False
        if seen.stored in labs.failed:
            raise PluginError(
                f"{self.file.src_uri}: executing the lab failed (it runs again when its code or mlnotes"
                f" changes, or in a new serve):\n{labs.failed[seen.stored]}"
            )
        self.content = seen.content
        self.toc = copy.deepcopy(seen.toc)  # on_page_content rewrites its items
        if seen.title is not None and not jupyter.config["ignore_h1_titles"]:
            self.title = seen.title
        self.mlnotes_pending = True

    page.render = MethodType(render_or_defer, page)
    return page


class Outputless(NamedTuple):
    """A lab page rendered without outputs, for the notebook file as it was (``signature``)."""

    signature: tuple[int, int]
    stored: Path  # where its outputs will be
    content: str
    toc: object
    title: str | None


def _signature(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size


def render_without_outputs(path: str, options) -> str:
    """The HTML mkdocs-jupyter renders for the notebook with ``execute`` off (4); never cached."""
    return convert.nb2html(
        path,
        execute=False,
        kernel_name=options["kernel_name"],
        theme=options["theme"],
        allow_errors=options["allow_errors"],
        show_input=options["show_input"],
        no_input=options["no_input"],
        no_prompt=options["no_prompt"],
        remove_tag_config=options["remove_tag_config"],
        highlight_extra_classes=options["highlight_extra_classes"],
        include_requirejs=options["include_requirejs"],
        custom_mathjax_url=options["custom_mathjax_url"],
    )


@event_priority(-200)  # after the i18n plugin's builds of the other languages
def on_post_build(config):
    i18n = config.plugins.get("i18n")
    if _LABS is not None and not getattr(i18n, "building", False):
        _LABS.start()


def on_page_content(content, page, config, files):
    """The note on a lab page whose outputs are still being computed (4)."""
    if not getattr(page, "mlnotes_pending", False):
        return content
    locale = getattr(page.file, "locale", "en")
    note = PENDING_NOTE.get(locale, PENDING_NOTE["en"])
    return (
        f'<div class="admonition info mlnotes-pending"><p class="admonition-title">{note}</p></div>' + content
    )
