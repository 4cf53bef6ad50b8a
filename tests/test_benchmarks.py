"""The benchmark scripts run (tiny settings) and cover every optimizer; their timings are not tested."""

import functools
import importlib.util
import math
import re
import types
from pathlib import Path

import numpy as np
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


def exits_with_usage_error(bench, bad):
    """Each argument list in ``bad`` makes ``bench.main`` exit with argparse's usage code, 2."""
    for argv in bad:
        with pytest.raises(SystemExit) as exit_info:
            bench.main(argv)
        assert exit_info.value.code == 2


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
    exits_with_usage_error(bench, bad)


def test_peer_benchmark_runs_without_peers_and_its_answers_are_accurate(capsys):
    bench = load("hessian_peers")
    argv = ["--quick", "--device", "cpu", "--repeats", "1", "--trace-se", "0.3", "--density", "20", "3"]
    argv += ["--eig-seeds", "3"]
    results = bench.main(argv)
    out = capsys.readouterr().out
    for name in ("mlp", "conv"):
        r = results[name]
        # the reference against the exact Hessian of the same network and batch, from torch.func
        net, x, y = bench.problem(name, torch.device("cpu"), quick=True)
        params = {k: p.detach() for k, p in net.named_parameters()}

        def loss(flat, net=net, x=x, y=y, params=params):
            chunks = dict(zip(params, flat.split([p.numel() for p in params.values()]), strict=True))
            shaped = {k: c.view_as(params[k]) for k, c in chunks.items()}
            return torch.nn.functional.cross_entropy(torch.func.functional_call(net, shaped, (x,)), y)

        flat = torch.cat([p.reshape(-1) for p in params.values()])
        exact = torch.linalg.eigvalsh(torch.func.hessian(loss)(flat).double())
        assert r["parameters"] == flat.numel()
        assert r["reference"]["top"] == pytest.approx(exact.flip(0)[:5].tolist(), rel=1e-4, abs=1e-6)
        assert r["reference"]["bottom"] == pytest.approx([float(exact[0])], rel=1e-4, abs=1e-6)
        # mlnotes' rows: each within the accuracy of that reference, with as many products as it says
        methods = bench.Methods(net, x, y, torch.device("cpu"), peers=False, pyhessian_module=None)
        for label in ("top 1", "top 5", "most negative"):
            (row,) = [row for row in r[label] if row[0] == "mlnotes lanczos"]
            assert row[2] == int(row[1].split("=")[1]) and row[3] > 0 and row[4] <= 1e-3
            # the median of three seeds' products, within their range; seed 1's own run agrees
            fewest, most = map(int, row[5].split("-"))
            assert fewest <= row[2] <= most
            k, which = {"top 1": (1, "largest"), "top 5": (5, "largest")}.get(label, (1, "smallest"))
            reference = r["reference"]["top"][:k] if which == "largest" else r["reference"]["bottom"]
            values, products = methods.mlnotes_eig(k, which, most, seed=1)
            assert products == most and bench.relative_error(values, torch.tensor(reference)) <= 1e-3
        trace = float(exact.sum())
        assert r["reference"]["trace"] == pytest.approx(trace, rel=0.2)
        # each trace row's budget meets the target by its own standard error at seed 0, as raced
        for row, deflate in zip(r["trace"], (False, True), strict=True):
            budget = int(row[1].split()[0])
            (_, se), products = methods.mlnotes_trace(budget, deflate=deflate, seed=0)
            assert products == row[2] == budget and se <= 0.3 * abs(r["reference"]["trace"])
            assert row[3] > 0 and row[4] > 0 and row[5] > 0
        (row,) = r["density"]
        assert row[2] == 60 and 0 < row[4] < 0.05
        assert r["hvp_over_gradient"]["mlnotes"] > 0 and r["memory"]["mlnotes"]["rss_mib"] >= 0
    assert out.count("time / mlnotes") == 10 and "peak memory" in out


def test_peer_benchmark_wasserstein_distance_matches_scipy():
    from scipy.stats import wasserstein_distance

    bench = load_once("hessian_peers")
    gen = np.random.default_rng(0)
    for size_a, size_b in ((1, 1), (3, 7), (40, 25)):
        a, b = gen.normal(size=size_a), gen.normal(1.0, 2.0, size=size_b)
        wa, wb = gen.random(size_a), gen.random(size_b)
        ours = bench.wasserstein((a, wa), (b, wb))
        assert ours == pytest.approx(wasserstein_distance(a, b, wa, wb), rel=1e-12, abs=1e-15)
    two, one = (np.array([0.0, 1.0]), np.array([1.0, 1.0])), (np.array([0.5]), np.array([2.0]))
    assert bench.wasserstein(two, one) == 0.5  # half the mass moves 0.5 each way


def test_peer_benchmark_finds_the_budget_of_a_standard_error():
    bench = load_once("hessian_peers")
    for c, target in ((10.0, 0.5), (3.0, 0.07), (1.0, 0.4)):
        calls = []

        def run(budget, c=c, calls=calls):
            calls.append(budget)
            return (0.0, c / math.sqrt(budget)), budget

        budget, (_, se), _ = bench.budget_for_se(run, target, 40, 1, 20000)
        fewest = math.ceil((c / target) ** 2)  # the exact answer of SE = c / sqrt(budget) <= target
        assert se <= target and fewest <= budget <= 1.05 * fewest + 1 and len(calls) <= 10
    # a standard error that falls faster than budget^-1/2, as with deflation: found from above
    budget, (_, se), _ = bench.budget_for_se(lambda b: ((0.0, 50.0 / b**1.5), b), 1.0, 40, 2, 20000)
    assert se <= 1.0 and 14 <= budget <= 16  # 50 / b^1.5 <= 1 from b = 13.6 on, on the even budgets


def test_peer_benchmark_searches_from_a_neighbouring_seed():
    bench = load_once("hessian_peers")
    start, limit = 3, 40
    for target in (1, 3, 4, 17, 40, 41):  # ok(m) is m >= target; the answer is max(target, start) or None
        fewest = max(target, start) if target <= limit else None
        for guess in (None, 1, start, 4, 16, 17, 18, 39, limit, 80):
            calls = []

            def ok(m, target=target, calls=calls):
                assert start <= m <= limit, m  # never asked outside the range
                calls.append(m)
                return m >= target

            assert bench.near_within(ok, guess, start, limit) == fewest, (target, guess)
            if fewest is not None and guess is not None and start <= guess <= limit and guess >= fewest:
                assert len(calls) == guess - fewest + 1 + (fewest > start)  # down one at a time, then a no
    # a guess near the answer costs fewer calls than the search from the start
    for guess, most in ((17, 2), (18, 3), (16, 4)):
        calls = []
        bench.near_within(lambda m, calls=calls: calls.append(m) or m >= 17, guess, start, limit)
        assert len(calls) <= most


def test_peer_benchmark_rejects_bad_settings():
    bench = load_once("hessian_peers")
    bad = (
        ["--accuracy", "0"], ["--trace-se", "1"], ["--repeats", "0"], ["--trace-repeats", "1"],
        ["--density", "1", "5"], ["--eig-seeds", "0"], ["--peers", "/nonexistent"],
        ["--pyhessian", "/nonexistent"], ["--network", "resnet"],
    )  # fmt: skip
    exits_with_usage_error(bench, bad)
