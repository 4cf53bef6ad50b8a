"""The Sybil instance that turns the book's Python blocks into tests (used by the root conftest.py).

Two kinds of block run:

- ```` ```python ````: plain code, executed;
- ```` ```pycon ````: an interactive session (``>>>`` prompts and printed output), run as a doctest so
  the output the reader sees is checked. Pygments highlights it as a console session, which lets the
  copy button leave prompts and output out (docs/assets/stylesheets/extra.css).

A page's blocks share one namespace and run in order. ``<!-- skip: next -->`` is allowed only with a
reason beside it; tests/test_doc_blocks.py counts what is collected on every page.
"""

from pathlib import Path

from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
EXECUTED_LANGUAGES = ("python", "pycon")


class PyconCodeBlockParser(PythonCodeBlockParser):
    """Sybil's Python block parser, looking for ```pycon fences instead of ```python."""

    @staticmethod
    def codeblock_parser_class(language, evaluator):
        return CodeBlockParser("pycon", evaluator)


SYBIL = Sybil(
    parsers=[PythonCodeBlockParser(), PyconCodeBlockParser(), SkipParser()],
    patterns=["*.md"],
    path=str(DOCS_DIR),
)
