"""The portability runner (tests/portability.py): its environments really switch PyTorch's kernels and
thread counts, and it reads pytest's verdict."""

import importlib.util

import pytest
from site_build import ROOT

_spec = importlib.util.spec_from_file_location("portability", ROOT / "tests" / "portability.py")
portability = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(portability)


def test_each_kernel_setting_reaches_pytorch():
    assert portability.capability(portability.environment("default", 1)) == "DEFAULT"
    assert portability.capability(portability.environment("avx2", 1)) in {"AVX2", "DEFAULT"}


def test_native_leaves_the_choice_to_pytorch_and_threads_are_set_for_every_pool(monkeypatch):
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    env = portability.environment("native", 2)
    assert "ATEN_CPU_CAPABILITY" not in env
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2"
    assert portability.environment("avx2", 1)["ATEN_CPU_CAPABILITY"] == "avx2"


def test_arguments_and_extra_pytest_arguments():
    args, extra = portability.parse(["--kernels", "default", "--threads", "1", "--", "-x", "docs"])
    assert args.kernels == ["default"] and args.threads == [1] and extra == ["-x", "docs"]
    with pytest.raises(SystemExit):
        portability.parse(["--threads", "0"])
    with pytest.raises(SystemExit):
        portability.parse(["--kernels", "avx9"])


@pytest.mark.parametrize(
    ("line", "summary"),
    [
        ("===== 1003 passed, 67 deselected in 95.21s (0:01:35) =====", "1003 passed, 67 deselected"),
        ("2 failed, 1001 passed, 67 deselected in 90.02s", "2 failed, 1001 passed, 67 deselected"),
        ("1 error in 3.10s", "1 error"),
    ],
)
def test_the_pytest_summary_is_read(line, summary):
    assert portability.SUMMARY.search("...\n" + line + "\n")["summary"] == summary
