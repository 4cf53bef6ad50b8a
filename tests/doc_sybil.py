"""The Sybil instance that turns the book's Python blocks into tests (used by the root conftest.py).

Blocks that start with ``>>>`` are doctests, so the output the reader sees is checked too. A page's
blocks share one namespace and run in order. ``<!-- skip: next -->`` is allowed only with a reason
beside it; tests/test_doc_blocks.py counts what is collected on every page.
"""

from pathlib import Path

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"

SYBIL = Sybil(parsers=[PythonCodeBlockParser(), SkipParser()], patterns=["*.md"], path=str(DOCS_DIR))
