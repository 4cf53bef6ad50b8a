"""The repository root, and the one way the tests build the book (``mkdocs build --strict``)."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The thread pools a run's thread count must set: PyTorch's OpenMP pool and NumPy's BLAS.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def site_hook(name: str):
    """The mkdocs hook site_config/hooks/<name>.py, imported as a module."""
    path = ROOT / "site_config" / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_hook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_mkdocs_build(site_dir: Path, log: Path) -> subprocess.Popen:
    """Start building both languages of the working tree into ``site_dir``, mkdocs' log into ``log``.

    The lab kernels inherit the environment: on one thread unless OMP_NUM_THREADS says otherwise, so
    that the build and the tests that run beside it do not slow each other down (OpenMP threads of
    two busy processes on two cores wait for each other)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.setdefault("OMP_NUM_THREADS", "1")
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )


def mkdocs_build(site_dir: Path) -> subprocess.CompletedProcess:
    """Build both languages of the working tree into ``site_dir``; the caller checks the result."""
    log = site_dir.parent / f"{site_dir.name}.log"
    process = start_mkdocs_build(site_dir, log)
    process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, "", log.read_text(encoding="utf-8"))


def mkdocs_config() -> dict:
    """mkdocs.yml as plain data: its ``!!python/...`` and ``!ENV`` tags, which yaml cannot build, dropped."""
    import yaml

    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return yaml.safe_load(re.sub(r"!!python/\S+", "", re.sub(r"!ENV \S+", "''", text)))
