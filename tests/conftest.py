"""Fixtures shared by the site tests: one strict build of the book per test session."""

import functools
import http.server
import re
import threading
from pathlib import Path

import pytest
from site_build import mkdocs_build


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """``mkdocs build --strict`` of the working tree into a temporary folder; fails on any warning."""
    out = tmp_path_factory.mktemp("site")
    proc = mkdocs_build(out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # mkdocs log lines only: the notebook kernel prints its own "[IPKernelApp] WARNING" about TCP
    assert not re.search(r"^WARNING", proc.stderr, re.M), proc.stderr[-3000:]
    return out


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
