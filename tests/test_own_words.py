"""The book is written in its own words: no long run of text shared with the reference lecture notes.

The checker ships with the project's shared material (../shared beside the checkout), which the
project's CI always has. A reader's clone without it skips this one test; under CI its absence is a
failure, unless MLNOTES_NO_SHARED=1 says the run cannot have it (the public GitHub Actions workflow:
the lecture notes are not ours to publish).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT.parent / "shared" / "tools" / "seed_overlap.py"


def test_docs_share_no_runs_with_the_lecture_notes():
    if not CHECKER.is_file():
        if os.environ.get("CI") and os.environ.get("MLNOTES_NO_SHARED") != "1":
            pytest.fail(f"{CHECKER} is missing; CI must have ../shared beside the checkout")
        pytest.skip(f"{CHECKER} not present (it lives beside the project's checkout, not in it)")
    proc = subprocess.run([sys.executable, str(CHECKER), "docs"], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.strip().endswith("0 shared runs"), proc.stdout[-3000:]
    assert proc.returncode == 0
