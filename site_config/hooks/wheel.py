"""MkDocs hook: the site serves the package its labs import, and each downloaded lab says how to install it.

A lab downloaded from the site starts with ``import mlnotes``; the package is published nowhere else.
So every build

1. builds a wheel of the package from this checkout (``pyproject.toml``, ``README.md`` and
   ``mlnotes/``, copied to a temporary folder so the checkout gets no ``build/`` folder), with
   ``SOURCE_DATE_EPOCH`` fixed so the same sources give the same bytes, and writes it to
   ``downloads/mlnotes-<version>-py3-none-any.whl`` at the root of the site, once for both languages.
   Its version is the package's (``pyproject.toml``), which the lab pages state. A built wheel is kept
   in ``.cache/wheel/<hash of the sources>/``, so a warm build does not build it again;
2. puts a first Markdown cell into each lab notebook the site offers for download
   (``labs/<lab>/<lab>.<language>.ipynb``, the copy that mkdocs-jupyter's ``include_source`` writes),
   in the lab's language, with the one command that installs that wheel from its address, and shows
   the same line on the lab page. The address is ``site_url`` (the publishing workflow sets it) or,
   for a local build, http://127.0.0.1:8000/, where both ``make serve`` and
   ``python -m http.server -d site`` serve the site. The notebooks in ``docs/labs/`` stay as they are:
   in a checkout, ``make setup`` has installed the package already.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "wheel"
LOCAL_ADDRESS = "http://127.0.0.1:8000/"
SOURCE_DATE_EPOCH = "1767225600"  # 2026-01-01: the wheel's file times, the same in every build

INSTALL_LINE = {
    "zh": "在自己的电脑上运行本实验之前，先用一行命令安装本书的软件包 mlnotes {version}：`pip install {url}`"
    "（在 Jupyter 里写作 `%pip install {url}`）。",
    "en": "Before you run this lab on your own machine, install the book's package, mlnotes {version}, with "
    "one command: `pip install {url}` (in Jupyter: `%pip install {url}`).",
}


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def wheel_name() -> str:
    return f"mlnotes-{version()}-py3-none-any.whl"


def _sources() -> list[Path]:
    files = [ROOT / "pyproject.toml", ROOT / "README.md"]
    return files + sorted(p for p in (ROOT / "mlnotes").rglob("*.py") if "__pycache__" not in p.parts)


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_wheel() -> Path:
    """The wheel of the package's current sources (built once per set of sources)."""
    folder = CACHE / _source_hash()
    wheel = folder / wheel_name()
    if wheel.exists():
        return wheel
    with tempfile.TemporaryDirectory(prefix="mlnotes-wheel-") as tmp:
        source = Path(tmp) / "src"
        for path in _sources():
            target = source / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        out = Path(tmp) / "out"
        command = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(source),
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
        )
        built = out / wheel_name()
        if done.returncode != 0 or not built.exists():
            raise PluginError(
                f"building the mlnotes wheel failed: {(done.stderr or done.stdout).strip()[-2000:]}"
            )
        if CACHE.exists():  # wheels of older sources
            for old in CACHE.iterdir():
                if old != folder:
                    shutil.rmtree(old, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / (wheel.name + ".part")
        shutil.copyfile(built, partial)
        partial.replace(wheel)
    return wheel


def wheel_url(config) -> str:
    base = config.site_url or LOCAL_ADDRESS
    return base.rstrip("/") + "/downloads/" + wheel_name()


def install_line(language: str, config) -> str:
    url = wheel_url(config)
    return INSTALL_LINE.get(language, INSTALL_LINE["en"]).format(version=version(), url=url)


def on_page_content(content, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"):
        return content
    language = getattr(page.file, "locale", None) or "en"
    line = html.escape(install_line(language, config))
    # `code` spans of the line as <code>, like the Markdown cell the download gets
    parts = line.split("`")
    rendered = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    # and the file itself, from this site, for a machine that cannot reach the address
    href = posixpath.relpath(f"downloads/{wheel_name()}", page.url or ".")
    link = f' <a href="{html.escape(href)}" download>{html.escape(wheel_name())}</a>'
    return f'<p class="mlnotes-install">{rendered}{link}</p>' + content


@event_priority(-300)  # after the i18n plugin's builds of the other languages, which share site_dir
def on_post_build(config):
    i18n = config.plugins.get("i18n")
    if getattr(i18n, "building", False):
        return  # a language built inside the i18n plugin's own post-build: the outer call does it all
    site = Path(config.site_dir)
    downloads = site / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    target = downloads / wheel_name()
    partial = target.with_name(target.name + ".part")
    shutil.copyfile(build_wheel(), partial)
    partial.replace(target)
    for notebook in sorted(site.rglob("labs/*/*.ipynb")):
        language = notebook.suffixes[-2].lstrip(".") if len(notebook.suffixes) >= 2 else "en"
        add_install_cell(notebook, install_line(language, config))


def add_install_cell(path: Path, line: str) -> None:
    """Put ``line`` into a first Markdown cell of the notebook at ``path`` (once)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    first = notebook["cells"][0] if notebook["cells"] else {}
    if first.get("metadata", {}).get("mlnotes") == "install":
        return
    cell = {
        "cell_type": "markdown",
        "id": "mlnotes-install",
        "metadata": {"mlnotes": "install"},
        "source": [line],
    }
    if notebook.get("nbformat_minor", 0) < 5 or notebook.get("nbformat", 4) < 4:
        del cell["id"]
    notebook["cells"].insert(0, cell)
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(notebook, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)
