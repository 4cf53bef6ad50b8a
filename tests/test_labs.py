"""Every lab, executed directly in a fresh kernel, with none of the site build's stored outputs.

The site build executes the labs once and reuses the outputs while the package's sources stay the
same (tests/test_notebooks.py reads them), and those stored outputs do not depend on the CPU. This
tier runs each lab's code again in a kernel that inherits this process's environment, so that the
portability check (``make portability``) sees what the labs print under other CPU kernels
(``ATEN_CPU_CAPABILITY``) and thread counts (``OMP_NUM_THREADS``). The Chinese and English versions of
a lab have the same code cells (tests/test_docs_parity.py), so each lab runs once.
"""

import nbformat
import pytest
from lab_checks import checks_and_failures
from markdown_parts import page_pairs
from nbclient import NotebookClient

pytestmark = pytest.mark.labs

LABS = sorted(pair["en"] for pair in page_pairs("*.ipynb").values())


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name.removesuffix(".en.ipynb"))
def test_lab_runs_and_its_checks_hold(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    stderr = [o.text[:200] for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"{path.name}: cells print to stderr: {stderr}"
    printed = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    checks, failed = checks_and_failures(printed)
    assert checks, f"{path.name}: prints no '<check>: True' line"
    assert not failed, f"{path.name}: checks failed: {failed}"
