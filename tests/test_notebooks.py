"""The lab notebooks run from top to bottom, and their own checks come out true.

The notebooks are committed without outputs. The site build executes every one of them in a fresh
kernel (mkdocs-jupyter, ``allow_errors: false``, so a failing cell fails the build) and renders the
outputs into the page. These tests read those outputs from the session's build instead of executing
the notebooks a second time. A lab prints its checks as ``<what was checked>: True`` (several values
separated by spaces allowed); every such line must be all ``True``, and no cell may print to stderr
(a warning shown to every reader).
"""

import json

import pytest
from bs4 import BeautifulSoup
from lab_checks import checks_and_failures
from markdown_parts import DOCS, page_pairs

NOTEBOOKS = sorted(path for pair in page_pairs("*.ipynb").values() for path in pair.values())


def built_page(built_site, path):
    """docs/labs/x.zh.ipynb -> labs/x/index.html; docs/labs/x.en.ipynb -> en/labs/x/index.html."""
    name, language = path.name.removesuffix(".ipynb").rsplit(".", 1)
    relative = path.parent.relative_to(DOCS) / name / "index.html"
    return built_site / relative if language == "zh" else built_site / "en" / relative


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    dirty = [i for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, f"{path}: cells {dirty} carry outputs; clear them (the build executes the notebook)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_ran_in_the_build_and_its_checks_hold(built_site, path):
    page = built_page(built_site, path)
    assert page.is_file(), f"{path} was not built into {page}"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    outputs = soup.select(".jp-OutputArea-output")
    kinds = [(o.get("data-mime-type"), o.get_text()) for o in outputs]
    stderr = [text[:200] for kind, text in kinds if kind == "application/vnd.jupyter.stderr"]
    assert not stderr, f"{path}: cells print to stderr: {stderr}"
    printed = "\n".join(text for kind, text in kinds if kind == "text/plain")
    checks, failed = checks_and_failures(printed)
    assert checks, f"{path}: prints no '<check>: True' line"
    assert not failed, f"{path}: checks failed: {failed}"


def test_check_lines_are_read_as_the_labs_print_them():
    printed = "n = 3 parameters\nboth agree: True True\nthe ratio grows: True False\n"
    printed += "time: 0.2 s\nends lower: False\n"
    checks, failed = checks_and_failures(printed)
    assert checks == ["both agree: True True", "the ratio grows: True False", "ends lower: False"]
    assert failed == ["the ratio grows: True False", "ends lower: False"]
