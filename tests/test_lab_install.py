"""A lab downloaded from the site runs on a reader's machine: the site serves the package as a wheel
(site_config/hooks/wheel.py), each downloaded lab's first cell says in one line how to install it,
and that line works: the served wheel, installed into a fresh virtual environment, runs a lab
downloaded from the served site, in a Jupyter kernel of that environment."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
import urllib.request
import venv
import zipfile

import pytest
from lab_checks import checks_and_failures
from site_build import ROOT, site_hook

import mlnotes

hook = site_hook("wheel")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
WHEEL = f"mlnotes-{VERSION}-py3-none-any.whl"
LAB = "classification-loss"  # the lab run in the fresh environment
LOCK = ROOT / "requirements" / "lock.txt"


def test_the_version_is_one_number():
    assert mlnotes.__version__ == VERSION, "mlnotes.__version__ and pyproject.toml's version differ"
    assert hook.wheel_name() == WHEEL


def test_the_wheel_is_the_same_bytes_every_time(tmp_path, monkeypatch):
    monkeypatch.setattr(hook, "CACHE", tmp_path / "first")
    first = hook.build_wheel().read_bytes()
    monkeypatch.setattr(hook, "CACHE", tmp_path / "second")
    second = hook.build_wheel().read_bytes()
    assert first == second, "two builds of the same sources gave different wheels"
    with zipfile.ZipFile(hook.CACHE / hook._source_hash() / WHEEL) as wheel:
        names = set(wheel.namelist())
        packaged = {n for n in names if n.startswith("mlnotes/")}
        metadata = wheel.read(f"mlnotes-{VERSION}.dist-info/METADATA").decode()
    expected = {f"mlnotes/{p.name}" for p in (ROOT / "mlnotes").glob("*.py")}
    assert packaged == expected, f"the wheel's package files differ: {sorted(packaged ^ expected)}"
    assert f"Version: {VERSION}" in metadata and "Requires-Dist: torch" in metadata


def test_a_change_to_any_source_makes_a_new_wheel(tmp_path, monkeypatch):
    for name in ("pyproject.toml", "README.md", "mlnotes/__init__.py", "mlnotes/optim.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    monkeypatch.setattr(hook, "ROOT", tmp_path)
    before = hook._source_hash()
    assert hook._source_hash() == before
    for name in ("README.md", "mlnotes/optim.py"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes() + b"\n")
        assert hook._source_hash() != before, f"a change to {name} keeps the cached wheel"
        before = hook._source_hash()


def test_the_install_cell_is_added_once(tmp_path):
    notebook = {
        "cells": [{"cell_type": "code", "source": ["import mlnotes"], "metadata": {}}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "lab.zh.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    hook.add_install_cell(path, "pip install x")
    hook.add_install_cell(path, "pip install x")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown", "code"]
    assert cells[0]["source"] == ["pip install x"]


def test_the_site_serves_the_wheel_and_every_downloaded_lab_says_how_to_install_it(built_site):
    served = built_site / "downloads" / WHEEL
    assert served.exists(), f"the site has no downloads/{WHEEL}"
    url = f"http://127.0.0.1:8000/downloads/{WHEEL}"  # a local build: no site_url
    labs = sorted(built_site.rglob("labs/*/*.ipynb"))
    assert len(labs) == 16, [str(p.relative_to(built_site)) for p in labs]
    for path in labs:
        language = path.suffixes[-2].lstrip(".")
        first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
        line = "".join(first["source"])
        assert first["cell_type"] == "markdown" and "\n" not in line, f"{path.name}: one Markdown line first"
        assert f"`pip install {url}`" in line and VERSION in line, f"{path.name}: {line}"
        assert bool(re.search(r"[\u4e00-\u9fff]", line)) == (language == "zh"), f"{path.name}: {line}"
        page = (path.parent / "index.html").read_text(encoding="utf-8")
        assert f"<code>pip install {url}</code>" in page, f"{path.parent}: the lab page shows the line too"


@pytest.fixture(scope="module")
def fresh_environment(tmp_path_factory, served_site):
    """A new virtual environment with the served wheel installed by URL, as a reader installs it, its
    dependencies pinned to the lock's versions (PyTorch's CPU build), and Jupyter's kernel."""
    folder = tmp_path_factory.mktemp("reader")
    venv.create(folder / "venv", with_pip=True)
    python = folder / "venv" / "bin" / "python"
    constraints = folder / "constraints.txt"
    pins = re.findall(r"^([A-Za-z0-9_.\-\[\]]+==\S+)", LOCK.read_text(encoding="utf-8"), re.M)
    constraints.write_text("\n".join(p for p in pins if not p.startswith("mlnotes")) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = [str(python), "-m", "pip", "install", "--quiet", "-c", str(constraints)]
    for what in ([f"{served_site}downloads/{WHEEL}"], ["ipykernel", "nbclient", "nbformat"]):
        done = subprocess.run([*install, *what], capture_output=True, text=True, cwd=folder, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    return python, folder, env


@pytest.mark.browser  # slow: a fresh environment (about a minute); runs with the browser tier
def test_a_downloaded_lab_runs_against_the_served_wheel(fresh_environment, served_site):
    python, folder, env = fresh_environment
    where = subprocess.run(
        [str(python), "-c", "import mlnotes; print(mlnotes.__version__, mlnotes.__file__)"],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        check=True,
    ).stdout.split()
    assert where[0] == VERSION and str(folder) in where[1], f"mlnotes imported from {where[1]}"
    lab = folder / f"{LAB}.en.ipynb"
    with urllib.request.urlopen(f"{served_site}en/labs/{LAB}/{LAB}.en.ipynb") as response:
        lab.write_bytes(response.read())
    assert "pip install" in "".join(json.loads(lab.read_text(encoding="utf-8"))["cells"][0]["source"])
    script = (
        "import sys, nbformat, nbclient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3').execute()\n"
        "print(json.dumps([o.get('text', '') for c in nb.cells if c.cell_type == 'code' for o in c.outputs"
        " if o.get('name') == 'stdout']))\n"
    )
    done = subprocess.run(
        [str(python), "-c", "import json\n" + script, str(lab)],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**env, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = "".join(json.loads(done.stdout.strip().splitlines()[-1]))
    checks, failures = checks_and_failures(printed)
    assert checks and not failures, f"the lab's checks in the fresh environment: {failures or 'none printed'}"
