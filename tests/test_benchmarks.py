"""The benchmark scripts run (tiny settings) and cover every optimizer; their timings are not tested."""

import importlib.util
from pathlib import Path

import pytest
import torch
from optim_cases import optimizer_classes

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_optimizer_benchmark_covers_every_optimizer_and_runs(capsys):
    bench = load("optimizer_step")
    classes = set(optimizer_classes().values())
    params = [torch.zeros(2, requires_grad=True)]
    benchmarked = {type(ours(params)) for ours, _ in bench.PAIRS.values()}
    assert benchmarked == classes
    ratios = bench.main(["--device", "cpu", "--steps", "1", "--repeats", "1"])
    assert set(ratios) == set(bench.PAIRS) and all(r > 0 for r in ratios.values())
    assert "worst ratio" in capsys.readouterr().out


def test_optimizer_benchmark_rejects_bad_settings():
    with pytest.raises(SystemExit) as exit_info:
        load("optimizer_step").main(["--steps", "0"])
    assert exit_info.value.code == 2


def test_hessian_benchmark_runs_and_its_lanczos_answers_are_accurate(capsys):
    results = load("hessian_eigenvalues").main(["--device", "cpu", "--widths", "16", "--repeats", "1"])
    assert results["hvp_over_gradient"] > 0
    assert results["mlnotes_top1_seconds"] > 0 and results["mlnotes_top5_seconds"] > 0
    out = capsys.readouterr().out
    assert "HVP / gradient" in out and "mlnotes top 5" in out


def test_hessian_benchmark_rejects_bad_settings():
    bench = load("hessian_eigenvalues")
    for argv in (["--tol", "0"], ["--repeats", "0"], ["--pyhessian", "/nonexistent"]):
        with pytest.raises(SystemExit) as exit_info:
            bench.main(argv)
        assert exit_info.value.code == 2
