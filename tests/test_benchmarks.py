"""The benchmark scripts run (tiny settings) and cover every optimizer; their timings are not tested."""

import functools
import importlib.util
import re
import types
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from optim_cases import optimizer_classes

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def load_once(name):
    return load(name)


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
    results = load("hessian_eigenvalues").main(
        ["--device", "cpu", "--widths", "16", "--repeats", "1", "--epochs", "2", "0"]
    )
    assert results["hvp_over_gradient"] > 0
    for epochs in (0, 2):
        for k in (1, 5):
            assert results[f"mlnotes_top{k}_seconds_{epochs}"] > 0
            assert results[f"mlnotes_top{k}_to_accuracy_seconds_{epochs}"] > 0
    out = capsys.readouterr().out
    assert out.index("after 0 epochs") < out.index("after 2 epochs")  # measured in training order
    assert "HVP / gradient" in out and "top 5: mlnotes" in out and "accuracy 0.001, top 5: mlnotes" in out
    # the tight reference and the tol-1e-3 answers are printed with their errors: all within 1e-3
    errors = [float(e) for e in re.findall(r"error ([0-9.e+-]+)\)", out)]
    assert len(errors) == 4 and max(errors) <= 1e-3


@settings(max_examples=200, deadline=None)
@given(start=st.integers(1, 20), limit=st.integers(1, 300), threshold=st.integers(1, 400))
def test_first_within_finds_the_first_true_of_a_monotone_predicate(start, limit, threshold):
    bench = load_once("hessian_eigenvalues")
    calls = []

    def ok(m):
        calls.append(m)
        return m >= threshold

    limit = max(limit, start)
    expected = next((m for m in range(start, limit + 1) if ok(m)), None)  # the linear scan
    calls.clear()
    assert bench.first_within(ok, start, limit) == expected
    assert all(start <= m <= limit for m in calls) and len(calls) <= 2 * limit.bit_length() + 2


def test_hessian_benchmark_reads_power_iteration_estimates_without_changing_them():
    """The recorder wrapped around PyHessian's product function returns v.Hv of every step; checked on a
    stand-in with PyHessian's interface (a module-level product function, list-of-tensor vectors)."""
    bench = load("hessian_eigenvalues")
    diagonal = torch.tensor([4.0, 3.0, 1.0, 0.5])
    module = types.SimpleNamespace(
        hessian_vector_product=lambda grads, params, v: [diagonal * v[0]],
        group_product=lambda xs, ys: sum((x * y).sum() for x, y in zip(xs, ys, strict=True)),
    )

    class Comp:
        def eigenvalues(self, maxIter, tol, top_n):
            v = [torch.ones(4) / 2]
            for _ in range(maxIter):
                hv = module.hessian_vector_product(None, None, v)
                v = [hv[0] / hv[0].norm()]
            return [float(v[0] @ (diagonal * v[0]))], [v]

    estimates = bench.power_estimates(module, Comp(), 3)
    # by hand: v0 = (1,1,1,1)/2 gives v0.Hv0 = (4+3+1+0.5)/4; v1 = Hv0/|Hv0| gives sum d^3 / sum d^2, ...
    d = diagonal.double()
    expected = [float((d ** (2 * t + 1)).sum() / (d ** (2 * t)).sum()) for t in range(3)]
    assert estimates == pytest.approx(expected, rel=1e-6)
    assert estimates[0] == pytest.approx(2.125)
    assert module.hessian_vector_product.__name__ == "<lambda>"  # the original is put back


def test_hessian_benchmark_rejects_bad_settings():
    bench = load("hessian_eigenvalues")
    bad = (
        ["--tol", "0"], ["--accuracy", "1"], ["--repeats", "0"], ["--epochs", "-1"], ["--widths", "0"],
        ["--pyhessian", "/nonexistent"],
    )  # fmt: skip
    for argv in bad:
        with pytest.raises(SystemExit) as exit_info:
            bench.main(argv)
        assert exit_info.value.code == 2
