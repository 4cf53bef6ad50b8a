"""Each page's Python blocks are all collected by Sybil, and their number is the one recorded.

If a block stops being collected (a changed fence, a broken indent inside a tab) the count drops and
this fails, instead of the block silently no longer running.
"""

import json
from pathlib import Path

import pytest
from doc_sybil import EXECUTED_LANGUAGES, SYBIL
from markdown_parts import page_pairs, parse_page

EXPECTED = json.loads((Path(__file__).with_name("doc_blocks.json")).read_text(encoding="utf-8"))
PAGES = page_pairs()
PYTHON_LIKE = {"py", "python3", "py3", "pyi", "ipython", "doctest", "pytb"}


def test_every_page_has_a_recorded_count():
    assert sorted(EXPECTED) == sorted(PAGES), "update tests/doc_blocks.json to list every page"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_python_blocks_are_collected_and_counted(name):
    for path in PAGES[name].values():
        fences = parse_page(path).fences
        odd = [(f.line, f.info) for f in fences if f.info.lower() in PYTHON_LIKE]
        assert not odd, f"{path}: write ```python or ```pycon so Sybil runs the block, found {odd}"
        python = [f for f in fences if f.info in EXECUTED_LANGUAGES]
        examples = list(SYBIL.parse(path))
        collected = {f.line for f in python for e in examples if f.start <= e.start < f.end}
        not_collected = sorted({f.line for f in python} - collected)
        assert not not_collected, f"{path}: python blocks at lines {not_collected} are not run by Sybil"
        assert len(python) == EXPECTED[name], (
            f"{path}: {len(python)} python blocks, tests/doc_blocks.json records {EXPECTED[name]}"
        )
