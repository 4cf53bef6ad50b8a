"""The lab notebooks run from top to bottom in a fresh kernel, and their own checks come out true.

The notebooks are committed without outputs: the site build executes them (mkdocs-jupyter) and these
tests execute them again on their own, so a failure names the notebook and the cell. The code cells
of the two languages are identical (tests/test_docs_parity.py), so only the English notebook of each
pair is run again here; the build has run both. A lab prints its
checks as ``<what was checked>: True`` (several values separated by spaces allowed); every such line
must be all ``True``.
"""

import json
import re

import nbformat
import pytest
from markdown_parts import page_pairs
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted(path for pair in page_pairs("*.ipynb").values() for path in pair.values())
RUN = [path for path in NOTEBOOKS if path.name.endswith(".en.ipynb")]
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the kernel colours its tracebacks
CHECK = re.compile(r"^(?P<what>[^:\n]+): (?P<values>(?:True|False)(?: (?:True|False))*)$", re.M)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2 and len(RUN) * 2 == len(NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    dirty = [i for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, f"{path}: cells {dirty} carry outputs; clear them (the build executes the notebook)"


@pytest.mark.parametrize("path", RUN, ids=lambda p: p.name)
def test_notebook_runs_and_its_checks_hold(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    failure = None
    try:
        client.execute()
    except CellExecutionError as error:
        failure = ANSI.sub("", str(error))[-2000:]
    if failure:
        pytest.fail(f"{path}: a cell failed:\n{failure}", pytrace=False)
    printed = "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )
    checks = list(CHECK.finditer(printed))
    assert checks, f"{path}: prints no '<check>: True' line"
    failed = [m.group(0) for m in checks if "False" in m["values"]]
    assert not failed, f"{path}: checks failed: {failed}"
