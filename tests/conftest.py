"""Fixtures shared by the site tests: one strict build of the book per test session, started in the
background as soon as the tests are collected, so that it runs while the package's tests do."""

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from site_build import ROOT, start_mkdocs_build

LINKCHECKER_CONFIG = ROOT / "site_config" / "linkcheckerrc"

# Most tests here are small tensors, for which one thread is as fast as two; and two busy processes
# of two OpenMP threads each on two cores slow each other down severalfold. The site build runs
# beside the tests, so both take one thread unless OMP_NUM_THREADS says otherwise (the portability
# check sets it to 1 and to 2).
if "OMP_NUM_THREADS" not in os.environ:
    import torch

    torch.set_num_threads(1)

# The site tier runs after everything else, so that the background build has the package's tests to
# overlap with; the link test runs last, because the browser walk starts its crawl (see link_crawl).
LATE_MODULES = {"test_site.py": 1, "test_notebooks.py": 1, "test_browser.py": 2, "test_links.py": 3}
_BUILD: dict[str, object] = {}


def _needs_site(item) -> bool:
    return "built_site" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items):
    """Every test that needs the built site belongs to the "site" tier (make test-fast leaves it out),
    unless it is already a browser test; the site and browser tiers run last."""
    for item in items:
        if _needs_site(item) and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.site)
    items.sort(key=lambda item: LATE_MODULES.get(item.path.name, 0) if _needs_site(item) else 0)


def pytest_collection_finish(session):
    if os.environ.get("MLNOTES_BUILT_SITE"):  # a site built before, for a quick rerun while writing
        _BUILD["out"] = Path(os.environ["MLNOTES_BUILT_SITE"])
        return
    if any(_needs_site(item) for item in session.items):
        base = Path(tempfile.mkdtemp(prefix="mlnotes-site-"))
        _BUILD.update(base=base, out=base / "site", log=base / "build.log")
        _BUILD["process"] = start_mkdocs_build(_BUILD["out"], _BUILD["log"])


def pytest_sessionfinish():
    process = _BUILD.get("process")
    if process is not None:
        if process.poll() is None:
            process.kill()
        process.wait()
        shutil.rmtree(_BUILD["base"], ignore_errors=True)


@pytest.fixture(scope="session")
def built_site() -> Path:
    """``mkdocs build --strict`` of the working tree into a temporary folder; fails on any warning.

    With MLNOTES_BUILT_SITE set to a folder, that folder is taken as built instead (not checked)."""
    if "process" not in _BUILD:
        return _BUILD["out"]
    process = _BUILD["process"]
    process.wait()
    log = _BUILD["log"].read_text(encoding="utf-8")
    assert process.returncode == 0, log[-3000:]
    # mkdocs log lines only: a notebook kernel may print its own lines, which start otherwise
    assert not re.search(r"^WARNING", log, re.M), log[-3000:]
    return _BUILD["out"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        # lets LinkChecker send more than 10 requests a second (site_config/linkcheckerrc)
        self.send_header("LinkChecker", "allowed")
        super().end_headers()

    def log_message(self, *args):  # the tests report failures themselves
        pass


@pytest.fixture(scope="session")
def served_site(built_site):
    """The built site served on 127.0.0.1 at a free port, for the length of the session."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def link_crawl(served_site):
    """LinkChecker crawling the served site, in the background: the browser walk asks for it first,
    so that the crawl runs beside the walk, and tests/test_links.py reads what it found."""
    linkchecker = shutil.which("linkchecker", path=str(Path(sys.executable).parent))
    assert linkchecker, "LinkChecker is not installed: pip install -e '.[test]'"
    folder = Path(tempfile.mkdtemp(prefix="mlnotes-links-"))
    stdout, stderr = (folder / "crawl.csv").open("w"), (folder / "crawl.log").open("w")
    command = [linkchecker, "--config", str(LINKCHECKER_CONFIG), "--no-status", "--verbose"]
    process = subprocess.Popen([*command, "--output", "csv/utf-8", served_site], stdout=stdout, stderr=stderr)
    yield process, folder
    if process.poll() is None:
        process.kill()
    process.wait()
    stdout.close()
    stderr.close()
    shutil.rmtree(folder, ignore_errors=True)
