"""MkDocs hook: the lab notebooks (mkdocs-jupyter) under mkdocs-static-i18n's suffix layout.

Four things go wrong when the two plugins meet, and this hook fixes each:

1. The i18n plugin rebuilds every ``File`` object, dropping mkdocs-jupyter's wrapper that marks an
   ``.ipynb`` file as a page, so the notebook is copied as raw JSON. Registering ``.ipynb`` as a page
   extension makes mkdocs itself treat notebooks as pages, whichever object holds them.
2. The i18n plugin runs one mkdocs build per language inside one command. mkdocs-jupyter evicts every
   cache entry the current build did not use, so each language deleted the other's executed notebooks
   and every build executed them all again. Each language now gets its own cache folder.
3. The cache key is the notebook's bytes, so a change to ``mlnotes`` would leave stale outputs on the
   site. The cache folder is named after a hash of the package's sources and of the Python and torch
   versions; a change to any of them executes the notebooks again, and older folders are removed.
4. nbconvert derives heading ids from ASCII letters only (a Chinese heading gets ``id=""``) and adds
   MathJax and Mermaid scripts from a CDN. Headings here carry the same explicit ``{ #anchor }`` as
   the Markdown pages, which this hook turns into the id. The CDN scripts are removed: the site
   typesets notebook math with its own KaTeX (``katex-render.js``) and the notebooks draw no Mermaid
   diagrams. A build that still has an off-site script in a notebook page fails.
5. Not a notebook matter, but the same cause: mkdocs-autorefs (behind mkdocstrings' cross-references)
   keeps its map of identifiers to URLs across the per-language builds, so every API object had two
   URLs (``reference/...`` and ``en/reference/...``) and each cross-reference warned. The map is
   emptied at the start of each language's build, so links resolve within their own language.

6. The Chinese and English version of a lab have the same code cells (a test enforces it), so
   executing both is twice the work for the same outputs. ``ExecutePreprocessor.preprocess`` is
   wrapped: the first execution of a given sequence of code cells (in this cache folder, i.e. for
   these package sources) stores the code cells' outputs under a hash of their sources, and a
   notebook whose code hashes the same gets those outputs instead of a second kernel run. Markdown
   cells are untouched, so each language keeps its own text.

The page also gets a link that downloads the notebook (mkdocs-jupyter's ``include_source`` copies it
beside the page).
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import json
import platform
import re
import shutil
from pathlib import Path

import mkdocs.utils
import nbformat
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from nbconvert.preprocessors import ExecutePreprocessor

if ".ipynb" not in mkdocs.utils.markdown_extensions:
    mkdocs.utils.markdown_extensions = (*mkdocs.utils.markdown_extensions, ".ipynb")

PACKAGE = "mlnotes"
_HEADING = re.compile(
    r'<h(?P<level>[1-6]) id="[^"]*">(?P<text>(?:(?!</h[1-6]>).)*?)\s*\{\s*#(?P<id>[\w-]+)\s*\}\s*'
    r'<a class="anchor-link" href="#[^"]*">¶</a></h(?P=level)>',
    re.S,
)
_ANCHOR = re.compile(r"\s*\{\s*#(?P<id>[\w-]+)\s*\}\s*$")
_MATHJAX = re.compile(
    r"<!-- Load mathjax -->\s*<script src=\"[^\"]*\">\s*</script>\s*"
    r"<!-- MathJax configuration -->\s*<script type=\"text/x-mathjax-config\">.*?</script>",
    re.S,
)
# nbconvert's Mermaid loader imports its library from a CDN when a notebook has a diagram; ours have none.
_MERMAID = re.compile(r'<script type="module">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>', re.S)
_OFFSITE_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"(?:https?:)?//|import\(\"(?:https?:)?//", re.I)
DOWNLOAD_LABEL = {"zh": "下载这个 notebook", "en": "Download this notebook"}


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
        raise PluginError("hooks/notebooks.py expects the mkdocs-jupyter plugin to be configured")
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


def share_outputs(preprocess):
    """Wrap ``ExecutePreprocessor.preprocess`` so that identical code runs once per cache folder."""

    def preprocess_once(self, nb, resources=None, km=None):
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
        nb, resources = preprocess(self, nb, resources, km)
        runs = [{"execution_count": c.execution_count, "outputs": c.outputs} for c in code]
        folder.mkdir(parents=True, exist_ok=True)
        partial = stored.with_suffix(".tmp")
        partial.write_text(json.dumps(runs), encoding="utf-8")
        partial.replace(stored)  # atomic: a build killed mid-write leaves no half-written outputs
        return nb, resources

    preprocess_once.wrapped = preprocess
    return preprocess_once


if not hasattr(ExecutePreprocessor.preprocess, "wrapped"):
    ExecutePreprocessor.preprocess = share_outputs(ExecutePreprocessor.preprocess)


_AUTOREFS_STATE = (
    "_primary_url_map",
    "_secondary_url_map",
    "_title_map",
    "_breadcrumbs_map",
    "_abs_url_map",
    "_backlinks",
    "_url_to_page",
)


def on_pre_build(config):
    autorefs = config.plugins.get("autorefs")
    if autorefs is None:
        return
    fresh = type(autorefs)()
    for name in _AUTOREFS_STATE:
        if hasattr(fresh, name):
            setattr(autorefs, name, getattr(fresh, name))


def _strip_anchor(title: str) -> tuple[str, str | None]:
    match = _ANCHOR.search(title)
    return (title[: match.start()], match["id"]) if match else (title, None)


def _fix_toc(items) -> None:
    for item in items:
        item.title, anchor = _strip_anchor(item.title)
        if anchor:
            item.id = anchor
        _fix_toc(item.children)


def on_page_content(content, page, config, files):
    if not is_notebook(page):
        return content
    content = _HEADING.sub(
        lambda m: (
            f'<h{m["level"]} id="{m["id"]}">{m["text"]}'
            f'<a class="anchor-link" href="#{m["id"]}">¶</a></h{m["level"]}>'
        ),
        content,
    )
    content = _MERMAID.sub("", _MATHJAX.sub("", content))
    if _OFFSITE_SCRIPT.search(content):
        raise PluginError(f"{page.file.src_uri}: the rendered notebook still loads an off-site script")
    _fix_toc(page.toc.items)
    if page.title:
        page.title = _strip_anchor(page.title)[0]
    name = Path(page.file.src_uri).name
    label = DOWNLOAD_LABEL.get(getattr(page.file, "locale", "en"), DOWNLOAD_LABEL["en"])
    button = (
        f'<p class="mlnotes-download"><a class="md-button" href="{html.escape(name)}" download>'
        f"{label} ({html.escape(name)})</a></p>"
    )
    return button + content
