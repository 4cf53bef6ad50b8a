"""Hessian eigenvalues, trace and spectral density at equal accuracy: mlnotes against the maintained peers.

Peers: curvlinops-for-pytorch 3.0.1 (Dangel et al.), hessian-eigenthings 1.0.0a5 (Golmant et al.) and,
where it has the task, PyHessian 0.1 (Yao et al., 2020). They are never dependencies of mlnotes:
``make bench-peers`` installs them into ``.bench/`` and passes the folders here.

Every method takes the Hessian of the same network, on the same data and device, at the same
parameters, in one run. Two networks: ``mlp``, the 64-512-256-10 perceptron of
``hessian_eigenvalues.py`` (167,178 parameters) after 5 epochs of Adam, on the 1,077 training digits;
``conv``, four 3x3 convolutions with batch normalization (64-128-256-256 channels, two max-pools) and
two linear layers (1,226,122 parameters) after 2 epochs of Adam, in eval mode, on 256 digits as 1x8x8
images. All in float32, the networks' own precision.

**The race.** For each task, each method's knob (the number of products, or for SciPy's ``eigsh`` its
``tol``) is set to the cheapest value that reaches the accuracy, found with a tight reference in
hand; then a run with exactly that setting is timed (median of ``--repeats``). The reference is
mlnotes' Lanczos run to 300 products (float32 rounding is far below the accuracy raced to).

1. **top 1, top 5, most negative**: largest relative error of the wanted eigenvalues at most
   ``--accuracy``. mlnotes: ``lanczos(op, k, which, max_iter=m)``; hessian-eigenthings:
   ``lanczos(op, k, max_iter=m, which="LA"/"SA")`` with its default re-orthogonalization (on up to 50
   steps, off above); curvlinops: ``scipy.sparse.linalg.eigsh(H.to_scipy(), k, which="LA"/"SA",
   tol=t)``, as its documentation's eigenvalue example does, with ``tol`` the knob over 1e-1, 3e-2,
   ..., 1e-6 and ARPACK's default number of Lanczos vectors; PyHessian: ``eigenvalues(top_n=k,
   maxIter=t, tol=0)``, power iteration with deflation, ``t`` per eigenvalue (it has no smallest).
   How many products reach the accuracy depends on the random start vector, by as much as the
   libraries differ, so each method races from ``--eig-seeds`` start vectors (5; seeds 0, 1, ...,
   its own seeding for each library) and the row gives the medians over them: of the setting and
   products (the lower middle one) and of the time (each seed's run timed once), the range of the
   products, and the largest error.
2. **trace**: a standard error at most ``--trace-se`` times the trace (0.05). Methods that report a
   standard error are raced by their own, at seed 0: mlnotes' ``hutchinson_trace`` plain and with
   ``deflate`` (half of the products), hessian-eigenthings' ``hutchinson`` and
   ``hutch_plus_plus`` (its ``trace`` default), PyHessian's ``trace`` samples. curvlinops'
   ``hutchinson_trace``, ``hutchpp_trace`` and ``xtrace`` return none: they run at the budget of the
   same algorithm in hessian-eigenthings (XTrace at Hutch++'s). Every method then runs at its budget
   with ``--trace-repeats`` seeds (5): the median time, the root-mean-square reported standard error,
   and the spread (standard deviation) of the estimates, the check that a reported error is right.
3. **density**: every library computes the same estimator (stochastic Lanczos quadrature; Ubaru,
   Chen and Saad, 2017; Papyan, 2020), so all run at the same ``--density`` steps and runs (80 and 10
   by default, mlnotes' and hessian-eigenthings' defaults); curvlinops'
   ``lanczos_approximate_spectrum(ncv=steps, num_repeats=runs)`` also spends products on its
   estimate of the spectrum's ends. The error printed is the Wasserstein-1 distance between the
   quadrature measure (nodes and weights) and that of a reference of mlnotes with twice the runs at
   other seeds, over the spectrum's width.

Also printed: one product's time over one gradient's on the same batch, for each library (goal for
mlnotes: at most 2.2), and, unless ``--no-memory``, each method's peak memory for the top-5 task at
its raced setting, measured in a fresh process per method: peak resident memory above that after
building the network and data (``ru_maxrss``), and on CUDA ``torch.cuda.max_memory_allocated``.

    python benchmarks/hessian_peers.py --peers .bench/peers [--pyhessian .bench/pyhessian]
        [--network mlp conv] [--device cpu|cuda|auto] [--tasks eigenvalues trace density]

``--trace-by-spread`` races the trace instead by the spread of ``--trace-repeats`` seeds, for every
method alike (curvlinops' included), and ``--no-plain-trace`` leaves out plain Hutchinson: the
tighter comparison of the variance-reduced estimators, e.g. ``--network mlp --tasks trace
--trace-se 0.02 --trace-repeats 12 --trace-by-spread --no-plain-trace``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from scipy.sparse.linalg import eigsh
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hessian_eigenvalues import build as pyhessian_operator
from hessian_eigenvalues import first_within, pyhessian_module, timed
from hessian_eigenvalues import network as mlp_network

from mlnotes.curvature import HessianOperator, hutchinson_trace, lanczos, spectral_density
from mlnotes.data import load_digits
from mlnotes.device import DEVICE_CHOICES, resolve_device

REFERENCE_STEPS = 300
MAX_STEPS = 300
EIGSH_TOLS = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6)
PRODUCTS = [0]  # the peers' products so far, counted in their operators (see Methods)
EIG_TASKS = (("top 1", 1, "largest"), ("top 5", 5, "largest"), ("most negative", 1, "smallest"))


# ---------------------------------------------------------------------------------------------------
# networks


def conv_network(device: torch.device) -> nn.Module:
    def block(width_in: int, width: int) -> list[nn.Module]:
        return [nn.Conv2d(width_in, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]

    torch.manual_seed(0)
    return nn.Sequential(
        *block(1, 64),
        *block(64, 128),
        nn.MaxPool2d(2),
        *block(128, 256),
        *block(256, 256),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1024, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    ).to(device)


def build(name: str, device: torch.device, quick: bool) -> nn.Module:
    """The untrained network: ``mlp`` or ``conv``, or with ``quick`` a narrow version of it (for tests)."""
    if name == "mlp":
        return mlp_network(device, [16] if quick else [512, 256])
    if not quick:
        return conv_network(device)
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 10),
    ).to(device)


def problem(name: str, device: torch.device, quick: bool) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The network (trained briefly with Adam, then in eval mode) and the one batch of its Hessian."""
    data = load_digits()
    x, y = data.train.x, data.train.y
    net, epochs, size = build(name, device, quick), 5, len(x)
    if name == "conv":
        x, epochs, size = x.reshape(-1, 1, 8, 8), 2, 64 if quick else 256
    x, y = x.to(device), y.to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(1 if quick else epochs):
        order = torch.randperm(len(x), generator=gen).to(device)
        for i in range(0, len(x), 64):
            batch = order[i : i + 64]
            optimizer.zero_grad()
            loss_fn(net(x[batch]), y[batch]).backward()
            optimizer.step()
    net.eval()
    return net, x[:size], y[:size]


# ---------------------------------------------------------------------------------------------------
# measuring


def relative_error(values: Sequence[float], reference: Sequence[float]) -> float:
    return max(abs(float(v) - float(r)) / abs(float(r)) for v, r in zip(values, reference, strict=True))


def wasserstein(measure: tuple[np.ndarray, np.ndarray], reference: tuple[np.ndarray, np.ndarray]) -> float:
    """The Wasserstein-1 distance between two discrete measures (atoms, weights), each of total mass 1:
    the integral of the difference of their distribution functions."""
    (a, wa), (b, wb) = measure, reference
    atoms = np.concatenate([a, b])
    mass = np.concatenate([wa / wa.sum(), -wb / wb.sum()])
    order = np.argsort(atoms, kind="stable")
    cdf_gap = np.cumsum(mass[order])[:-1]
    return float(np.sum(np.abs(cdf_gap) * np.diff(atoms[order])))


def pooled(nodes: Sequence[torch.Tensor], weights: Sequence[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """The quadrature measure of several runs: all nodes, each run's weights over the number of runs."""
    a = np.concatenate([np.asarray(t.detach().cpu().double()) for t in nodes])
    w = np.concatenate([np.asarray(t.detach().cpu().double()) for t in weights]) / len(weights)
    keep = np.isfinite(a)
    return a[keep], w[keep]


# ---------------------------------------------------------------------------------------------------
# the methods: each a name and functions of its knob that return (answer, products)


class Methods:
    """The libraries' calls on one network, and counters of the products they make."""

    def __init__(self, net, x, y, device, peers: bool, pyhessian_module) -> None:
        self.net, self.x, self.y, self.device = net, x, y, device
        self.loss_fn = nn.CrossEntropyLoss()
        self.op = HessianOperator(net, self.loss_fn, (x, y))
        self.n = self.op.shape[0]
        self.hx = self.cl = self.hop = self.cop = None
        if peers:
            self.hx = importlib.import_module("hessian_eigenthings")
            self.cl = importlib.import_module("curvlinops")
            self.hop = self.hx.HessianOperator(net, [(x, y)], lambda m, b: self.loss_fn(m(b[0]), b[1]))
            self.cop = self.cl.HessianLinearOperator(
                net, self.loss_fn, [p for p in net.parameters()], [(x, y)], check_deterministic=False
            )
            original = self.hop.matvec

            def counted(v):
                PRODUCTS[0] += 1
                return original(v)

            self.hop.matvec = counted
            cls = type(self.cop)
            if not hasattr(cls, "_mlnotes_counted"):  # once per process: the counter is global
                batch = cls._matmat_batch

                def counted_batch(op, X, y, M):
                    PRODUCTS[0] += int(M[0].shape[-1])
                    return batch(op, X, y, M)

                cls._matmat_batch, cls._mlnotes_counted = counted_batch, True
        self.ph = pyhessian_module

    def fresh(self) -> HessianOperator:
        """A new operator, so that each timed run pays for building its gradient graph, as the peers'
        runs do (PyHessian builds its graph in each run; hessian-eigenthings in each product)."""
        return HessianOperator(self.net, self.loss_fn, (self.x, self.y))

    def count(self, fn: Callable[[], object]) -> tuple[object, int]:
        """``fn()`` and the products the peers' operators made during it."""
        before = PRODUCTS[0]
        result = fn()
        return result, PRODUCTS[0] - before

    # --- eigenvalues: answer is the wanted eigenvalues, largest first (most negative first) --------

    def mlnotes_eig(self, k, which, m, seed=0):
        r = lanczos(self.fresh(), k=k, which=which, tol=1e-12, max_iter=m, seed=seed)
        values = r.eigenvalues.flip(0) if which == "largest" else r.eigenvalues
        return [float(v) for v in values], r.iterations

    def eigenthings_eig(self, k, which, m, seed=0):
        def run():
            which_ = "LA" if which == "largest" else "SA"
            r = self.hx.lanczos(self.hop, k=k, max_iter=m, which=which_, seed=seed)
            return [float(v) for v in r.eigenvalues]

        return self.count(run)

    def curvlinops_eig(self, k, which, tol, seed=0):
        v0 = np.random.default_rng(seed).standard_normal(self.n)

        def run():
            values = eigsh(
                self.cop.to_scipy(),
                k=k,
                which="LA" if which == "largest" else "SA",
                tol=tol,
                v0=v0,
                return_eigenvectors=False,
            )
            return sorted((float(v) for v in values), reverse=which == "largest")

        return self.count(run)

    def pyhessian(self):
        return pyhessian_operator(self.ph.hessian, self.net, self.loss_fn, self.x, self.y)

    def pyhessian_eig(self, k, t, seed=0):
        comp = self.pyhessian()
        torch.manual_seed(seed)
        values, _ = comp.eigenvalues(maxIter=t, tol=0.0, top_n=k)
        return sorted((float(v) for v in values), reverse=True), k * t

    # --- trace: answer is (estimate, standard error) ---------------------------------------------

    def mlnotes_trace(self, budget, deflate=False, seed=0):
        d = budget // 2 if deflate else 0
        return hutchinson_trace(self.fresh(), samples=budget - d, deflate=d, seed=seed), budget

    def eigenthings_trace(self, budget, plus=False, seed=0):
        def run():
            if plus:
                r = self.hx.hutch_plus_plus(self.hop, num_matvecs=budget, seed=seed)
            else:
                r = self.hx.hutchinson(self.hop, num_samples=budget, seed=seed)
            return r.estimate, r.stderr

        return self.count(run)

    def curvlinops_trace(self, budget, kind, seed=0):
        fn = {
            "hutchinson": self.cl.hutchinson_trace,
            "hutch++": self.cl.hutchpp_trace,
            "xtrace": self.cl.xtrace,
        }
        torch.manual_seed(seed)
        return self.count(lambda: float(fn[kind](self.cop, budget)))

    def pyhessian_trace(self, budget, seed=0):
        comp = self.pyhessian()
        torch.manual_seed(seed)
        samples = comp.trace(maxIter=budget, tol=0.0)
        s = np.asarray(samples, dtype=np.float64)
        return (float(s.mean()), float(s.std(ddof=1) / math.sqrt(len(s)))), len(s)

    # --- density: answer is the quadrature measure ------------------------------------------------

    def mlnotes_density(self, steps, runs, seed=0):
        d = spectral_density(self.fresh(), steps=steps, runs=runs, seed=seed)
        return pooled(d.nodes, d.weights), steps * runs

    def eigenthings_density(self, steps, runs):
        def run():
            r = self.hx.spectral_density(self.hop, num_runs=runs, lanczos_steps=steps, seed=0)
            return pooled(list(r.raw_eigenvalues), list(r.raw_weights))

        return self.count(run)

    def curvlinops_density(self, steps, runs):
        spectrum = importlib.import_module("curvlinops.papyan2020traces.spectrum")
        original, seen = spectrum.fast_lanczos, []

        def recording(A, ncv, use_eigh_tridiagonal=False):  # curvlinops' own Lanczos, its output noted
            evals, evecs = original(A, ncv, use_eigh_tridiagonal)
            seen.append((evals, evecs[0] ** 2))
            return evals, evecs

        spectrum.fast_lanczos = recording
        try:
            torch.manual_seed(0)
            _, products = self.count(
                lambda: self.cl.lanczos_approximate_spectrum(self.cop, steps, num_repeats=runs)
            )
        finally:
            spectrum.fast_lanczos = original
        return pooled([s[0] for s in seen], [s[1] for s in seen]), products

    def pyhessian_density(self, steps, runs):
        comp = self.pyhessian()
        torch.manual_seed(0)
        nodes, weights = comp.density(iter=steps, n_v=runs)
        return pooled([torch.tensor(t) for t in nodes], [torch.tensor(w) for w in weights]), steps * runs


# ---------------------------------------------------------------------------------------------------
# the race


def near_within(ok: Callable[[int], bool], guess: int | None, start: int, limit: int) -> int | None:
    """``first_within(ok, start, limit)``, searched from ``guess``, the answer at a neighbouring seed:
    down one at a time while ``ok`` holds, else up by doubling. Seeds move the answer by a few steps,
    so this costs a few calls of ``ok`` where the search from ``start`` costs O(log m)."""
    if guess is None or not start <= guess <= limit:
        return first_within(ok, start, limit)
    if not ok(guess):
        return None if guess == limit else first_within(ok, guess + 1, limit)
    while guess > start and ok(guess - 1):
        guess -= 1
    return guess


def eig_rows(methods: Methods, k, which, reference, accuracy, device, repeats, seeds=1):
    """One row per method: (name, setting, products, seconds, error, products' range) at its cheapest
    accurate setting for each of ``seeds`` start vectors; the setting and products are the medians
    (the lower middle one) over the seeds, the seconds their median, the error the largest. With one
    seed the run is timed ``repeats`` times; with more, each seed's run once."""
    rows = []
    times = repeats if seeds == 1 else 1

    def row(name, settings, found):
        products = [f[1] for f in found]
        return (
            name,
            settings(statistics.median_low([f[0] for f in found])),
            statistics.median_low(products),
            statistics.median(f[2] for f in found),
            max(f[3] for f in found),
            f"{min(products)}-{max(products)}",
        )

    def raced(name, run, start, limit, setting):
        found, m = [], None  # per seed: (setting, products, seconds, error)
        for seed in range(seeds):
            answers: dict[int, tuple[list[float], int]] = {}

            def ok(m: int, seed=seed, answers=answers) -> bool:
                if m not in answers:
                    answers[m] = run(k, which, m, seed)
                return relative_error(answers[m][0], reference) <= accuracy

            m = near_within(ok, m, start, limit)
            if m is None:
                error = relative_error(answers[limit][0], reference)
                at = f" (seed {seed})" if seeds > 1 else ""
                rows.append((name, f"not within {setting(limit)}{at}", None, None, error, None))
                return
            seconds, (values, products) = timed(lambda m=m, seed=seed: run(k, which, m, seed), device, times)
            found.append((m, products, seconds, relative_error(values, reference)))
        rows.append(row(name, setting, found))

    raced("mlnotes lanczos", methods.mlnotes_eig, k, MAX_STEPS, lambda m: f"max_iter={m}")
    if methods.hx is not None:
        raced("hessian-eigenthings lanczos", methods.eigenthings_eig, k, MAX_STEPS, lambda m: f"max_iter={m}")
    if methods.cl is not None:
        # the knob is the place in EIGSH_TOLS, from 1, the loosest: the tolerance tightens as it grows
        raced(
            "curvlinops + eigsh",
            lambda k, which, i, seed: methods.curvlinops_eig(k, which, EIGSH_TOLS[i - 1], seed),
            1,
            len(EIGSH_TOLS),
            lambda i: f"tol={EIGSH_TOLS[i - 1]:g}",
        )
    if methods.ph is not None and which == "largest":
        raced(
            "PyHessian power iteration",
            lambda k, which, t, seed: methods.pyhessian_eig(k, t, seed),
            1,
            100,
            lambda t: f"maxIter={t}",
        )
    return rows


def budget_for_se(
    run: Callable[[int], tuple[tuple[float, float], int]], target: float, start: int, step: int, limit: int
) -> tuple[int, tuple[float, float], list[tuple[int, float]]] | None:
    """About the smallest budget (a multiple of ``step``, at least two samples' worth) whose standard
    error is at most ``target``: the budget, its (estimate, standard error), and every (budget, SE) tried.

    From ``start``, halves the budget while the target is met, or raises it (to where SE ~ budget^-1/2
    says, a little beyond) until it is; then bisects between the largest budget that missed and the
    smallest that met it, until they are within 5% or one ``step``.
    """
    tried: dict[int, float] = {}
    answers: dict[int, tuple[float, float]] = {}
    low_budget = 2 * step

    def se_at(budget: int) -> float:
        if budget not in tried:
            answers[budget], _ = run(budget)
            tried[budget] = answers[budget][1]
            if not math.isfinite(tried[budget]):
                raise ValueError(f"no standard error at a budget of {budget}")
        return tried[budget]

    def on_grid(budget: float) -> int:
        return max(low_budget, min(limit, step * round(budget / step)))

    hi = lo = None
    budget = on_grid(start)
    while hi is None:  # raise the budget until the target is met
        if se_at(budget) <= target:
            hi = budget
            break
        lo = budget
        if budget >= limit:
            return None
        budget = on_grid(max(budget * 1.1 * (tried[budget] / target) ** 2, budget + step))
    while lo is None:  # lower it until the target is missed
        budget = on_grid(hi / 2)
        if budget >= hi:
            lo = 0
            break
        if se_at(budget) <= target:
            hi = budget
        else:
            lo = budget
    while hi - lo > step and hi > 1.05 * lo:  # bisect, in the ratio of the budgets
        middle = on_grid(math.sqrt(max(lo, 1) * hi))
        if middle in (lo, hi):
            break
        if se_at(middle) <= target:
            hi = middle
        else:
            lo = middle
    return hi, answers[hi], sorted(tried.items())


def trace_rows(
    methods: Methods,
    reference: float,
    relative_se: float,
    device,
    seeds: int,
    plain: bool = True,
    by_spread: bool = False,
):
    """One row per method: (name, setting, products, seconds, SE / trace, spread / trace).

    The budget is the cheapest whose own standard error (seed 0) is at most ``relative_se`` of the
    trace; curvlinops' estimators, which give none, take the budget of the same algorithm in
    hessian-eigenthings. With ``by_spread`` it is instead the cheapest whose spread over ``seeds``
    runs is within the target, for every method alike. Then ``seeds`` runs at that budget give the
    median time, the root mean square of the reported standard errors and the spread (standard
    deviation) of the estimates themselves.
    """
    target = relative_se * abs(reference)
    rows, budgets = [], {}

    def over_seeds(run, budget, reports_se):
        times, estimates, errors, products = [], [], [], None
        for seed in range(seeds):
            seconds, (answer, products) = timed(functools.partial(run, budget, seed), device)
            times.append(seconds)
            estimates.append(answer[0] if reports_se else answer)
            if reports_se:
                errors.append(answer[1])
        se = math.sqrt(statistics.fmean(e * e for e in errors)) / abs(reference) if errors else None
        return products, statistics.median(times), se, statistics.stdev(estimates), estimates

    def raced(name, run, start, step, reports_se=True):
        seen = {}
        if by_spread:

            def search(b):
                seen[b] = over_seeds(run, b, reports_se)
                return (statistics.fmean(seen[b][4]), seen[b][3]), b

        else:

            def search(b):
                return run(b, 0)

        found = budget_for_se(search, target, start, step, 20000)
        if found is None:
            rows.append((name, "not within 20000 products", None, None, None, None))
            return
        budget = budgets[name] = found[0]
        products, seconds, se, spread, _ = seen.get(budget) or over_seeds(run, budget, reports_se)
        rows.append((name, f"{budget} products", products, seconds, se, spread / abs(reference)))

    if plain:
        raced("mlnotes hutchinson_trace", lambda b, seed: methods.mlnotes_trace(b, seed=seed), 40, 1)
    raced(
        "mlnotes hutchinson_trace, deflate",
        lambda b, s: methods.mlnotes_trace(b, deflate=True, seed=s),
        40,
        2,
    )
    if methods.hx is not None:
        if plain:
            raced("hessian-eigenthings hutchinson", lambda b, s: methods.eigenthings_trace(b, seed=s), 40, 1)
        raced(
            "hessian-eigenthings hutch_plus_plus", lambda b, s: methods.eigenthings_trace(b, True, s), 42, 3
        )
    if methods.cl is not None:
        for kind, like in (
            ("hutchinson", "hessian-eigenthings hutchinson"),
            ("hutch++", "hessian-eigenthings hutch_plus_plus"),
            ("xtrace", "hessian-eigenthings hutch_plus_plus"),
        ):
            budget = budgets.get(like)
            if budget is None:
                continue
            step = 1 if kind == "hutchinson" else 6  # Hutch++ wants thirds, XTrace halves
            budget = step * math.ceil(budget / step)
            run = functools.partial(methods.curvlinops_trace, kind=kind)
            name = f"curvlinops {kind}_trace"
            if by_spread:
                raced(name, lambda b, s, run=run: run(b, seed=s), budget, step, reports_se=False)
            else:
                products, seconds, _, spread, _ = over_seeds(
                    lambda b, s, run=run: run(b, seed=s), budget, False
                )
                rows.append((name, f"{budget} products", products, seconds, None, spread / abs(reference)))
    if methods.ph is not None and plain:
        raced("PyHessian trace", methods.pyhessian_trace, 40, 1)
    return rows


def density_rows(methods: Methods, steps, runs, reference, width, device, repeats):
    rows = []
    calls = [("mlnotes spectral_density", methods.mlnotes_density)]
    if methods.hx is not None:
        calls.append(("hessian-eigenthings spectral_density", methods.eigenthings_density))
    if methods.cl is not None:
        calls.append(("curvlinops lanczos_approximate_spectrum", methods.curvlinops_density))
    if methods.ph is not None:
        calls.append(("PyHessian density", methods.pyhessian_density))
    for name, call in calls:
        try:
            seconds, (measure, products) = timed(lambda call=call: call(steps, runs), device, repeats)
        except RuntimeError as error:  # PyHessian 0.1 calls torch.eig, deprecated in 1.9, since removed
            if name.startswith("mlnotes"):
                raise
            rows.append((name, "fails: " + str(error).split(".")[0][:60], None, None, None))
            continue
        rows.append(
            (name, f"{steps} steps x {runs} runs", products, seconds, wasserstein(measure, reference) / width)
        )
    return rows


# ---------------------------------------------------------------------------------------------------
# memory, in a fresh process per method


def resident_mib() -> float:
    """This process's resident memory now, in MiB (Linux; elsewhere its peak so far)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(spec: dict) -> dict:
    """Peak memory of one method's top-5 task, in this fresh process: the network is rebuilt from the
    parent's saved state (no training here, whose peak would hide the task's)."""
    device = torch.device(spec["device"])
    saved = torch.load(spec["state"], map_location=device)
    net = build(spec["network"], device, spec["quick"])
    net.load_state_dict(saved["state"])
    net.eval()
    x, y = saved["x"].to(device), saved["y"].to(device)
    methods = Methods(net, x, y, device, peers=spec["method"] != "mlnotes", pyhessian_module=None)
    if spec["method"] == "pyhessian":
        sys.path.insert(0, spec["pyhessian"])
        methods.ph = importlib.import_module("pyhessian.hessian")
    knob = spec["knob"]
    run = {
        "mlnotes": lambda: methods.mlnotes_eig(5, "largest", knob),
        "hessian-eigenthings": lambda: methods.eigenthings_eig(5, "largest", knob),
        "curvlinops": lambda: methods.curvlinops_eig(5, "largest", knob),
        "pyhessian": lambda: methods.pyhessian_eig(5, knob),
    }[spec["method"]]
    net.zero_grad()  # one gradient first, so that autograd's and the allocator's start-up is not counted
    methods.loss_fn(net(x), y).backward()
    net.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before_gpu = torch.cuda.memory_allocated()
    before, peak, done = resident_mib(), [0.0], threading.Event()

    def watch() -> None:  # the peak of the resident memory, sampled every millisecond during the task
        while not done.is_set():
            peak[0] = max(peak[0], resident_mib())
            time.sleep(0.001)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run()
    done.set()
    watcher.join()
    result = {"rss_mib": max(peak[0], resident_mib()) - before}
    if device.type == "cuda":
        result["cuda_mib"] = (torch.cuda.max_memory_allocated() - before_gpu) / 2**20
    return result


def peak_memory(spec: dict, paths: list[str]) -> dict | None:
    command = [sys.executable, __file__, "--memory-child", json.dumps(spec)]
    env_path = os.pathsep.join([*paths, str(Path(__file__).resolve().parents[1])])
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": env_path})
    if done.returncode != 0:
        print(f"  memory of {spec['method']} failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------


def print_rows(title: str, rows: list, error_name: str, extra: str | None = None) -> None:
    """Print a task's rows with each time over mlnotes' best."""
    ours = [r[3] for r in rows if r[0].startswith("mlnotes") and r[3] is not None]
    best = min(ours) if ours else None
    print(f"\n{title}")
    head = f"{'products':>8} {'seconds':>9} {error_name:>10}" + (f" {extra:>10}" if extra else "")
    print(f"  {'method':<42} {'setting':<22} {head} {'time / mlnotes':>14}")
    for name, setting, products, seconds, *errors in rows:
        cells = [
            "" if products is None else f"{products}",
            "" if seconds is None else f"{seconds:.3f}",
            *("" if e is None else e if isinstance(e, str) else f"{e:.1e}" for e in errors),
            "" if seconds is None or best is None else f"{seconds / best:.2f}",
        ]
        line = f"{cells[0]:>8} {cells[1]:>9} " + " ".join(f"{c:>10}" for c in cells[2:-1])
        print(f"  {name:<42} {setting:<22} {line} {cells[-1]:>14}")


def product_over_gradient(methods: Methods, device: torch.device, repeats: int) -> dict[str, float]:
    v = torch.randn(methods.n, generator=torch.Generator().manual_seed(1)).to(device)
    net, x, y, loss_fn = methods.net, methods.x, methods.y, methods.loss_fn

    def gradient() -> None:
        net.zero_grad()
        loss_fn(net(x), y).backward()

    products = {"mlnotes": lambda: methods.op.matvec(v)}
    if methods.hx is not None:
        products["hessian-eigenthings"] = lambda: methods.hop.matvec(v)
        products["curvlinops"] = lambda: methods.cop @ v
    for fn in (gradient, *products.values()):
        timed(fn, device, 2)
    # Blocks of back-to-back calls, as Lanczos makes products and training makes gradients, taken in
    # turn over several rounds: a ratio per round, and the median of the rounds, so that the machine's
    # drift between blocks does not bias the ratio.
    rounds = {name: [] for name in products}
    grad_times = []
    for _ in range(5):
        grad_time = timed(gradient, device, max(repeats, 5))[0]
        grad_times.append(grad_time)
        for name, fn in products.items():
            rounds[name].append(timed(fn, device, max(repeats, 5))[0] / grad_time)
    ratios = {name: statistics.median(values) for name, values in rounds.items()}
    print(
        f"one gradient {statistics.median(grad_times) * 1e3:.1f} ms; one product / one gradient: "
        + ", ".join(f"{k} {r:.2f}" for k, r in ratios.items())
        + " (goal for mlnotes <= 2.2)"
    )
    return ratios


def race(name, device, args, module) -> dict:
    net, x, y = problem(name, device, args.quick)
    methods = Methods(net, x, y, device, peers=args.peers is not None, pyhessian_module=module)
    n = methods.n
    print(
        f"\n==== {name}: {n:,} parameters, {len(x)} examples in one batch, {device}, float32; "
        f"accuracy {args.accuracy:g}, trace SE {args.trace_se:g}, median of {args.repeats}"
    )
    results: dict = {
        "parameters": n,
        "hvp_over_gradient": product_over_gradient(methods, device, args.repeats),
    }
    results["reference"] = {}
    knobs = {}
    if "eigenvalues" in args.tasks:
        limit = min(REFERENCE_STEPS, n)
        top = lanczos(methods.op, k=5, tol=1e-10, max_iter=limit).eigenvalues.flip(0).tolist()
        bottom = lanczos(methods.op, k=1, which="smallest", tol=1e-10, max_iter=limit).eigenvalues.tolist()
        print(f"reference: top 5 {[round(t, 5) for t in top]}, most negative {bottom[0]:.5f}")
        results["reference"] = {"top": top, "bottom": bottom}
    for label, k, which in EIG_TASKS if "eigenvalues" in args.tasks else ():
        reference = top[:k] if which == "largest" else bottom
        rows = eig_rows(methods, k, which, reference, args.accuracy, device, args.repeats, args.eig_seeds)
        results[label] = rows
        title = f"{label} (relative error <= {args.accuracy:g}"
        if args.eig_seeds > 1:
            title += f"; medians over {args.eig_seeds} start vectors, each timed once"
        print_rows(title + ")", rows, "error", f"products ({args.eig_seeds})")
        if label == "top 5":
            knobs = {r[0]: r[1] for r in rows if r[2] is not None}
    if "trace" in args.tasks:
        reference_trace, _ = hutchinson_trace(methods.op, samples=240, deflate=80, seed=99)
        results["reference"]["trace"] = reference_trace
        rows = trace_rows(
            methods,
            reference_trace,
            args.trace_se,
            device,
            args.trace_repeats,
            args.plain_trace,
            args.by_spread,
        )
        results["trace"] = rows
        title = f"trace, about {reference_trace:.4g} (standard error <= {args.trace_se:g} of it)"
        print_rows(title, rows, "SE / trace", f"spread ({args.trace_repeats})")
    if "density" in args.tasks:
        results["density"] = density_race(methods, args, device)
    if not args.no_memory and knobs:
        results["memory"] = memory_race(name, net, x, y, knobs, args, device)
    return results


def density_race(methods: Methods, args: argparse.Namespace, device: torch.device) -> list:
    """Every library at the same steps and runs, against mlnotes with twice the runs at other seeds."""
    steps, runs = args.density
    steps = min(steps, methods.n)
    measure, _ = methods.mlnotes_density(steps, 2 * runs, seed=1000)
    width = float(measure[0].max() - measure[0].min())
    rows = density_rows(methods, steps, runs, measure, width, device, args.repeats)
    print_rows(
        f"spectral density (Wasserstein-1 distance to {2 * runs} runs at other seeds, over the width "
        f"{width:.4g})",
        rows,
        "W1 / width",
    )
    return rows


def memory_race(name, net, x, y, knobs, args, device) -> dict:
    """Peak memory of each method's top-5 task at its raced setting, each in a fresh process."""
    print("\npeak memory of the top-5 task at its raced setting, a fresh process each:")
    memory = {}
    state = Path(tempfile.mkdtemp()) / "state.pt"
    torch.save({"state": net.state_dict(), "x": x.cpu(), "y": y.cpu()}, state)
    specs = {
        "mlnotes": "mlnotes lanczos",
        "hessian-eigenthings": "hessian-eigenthings lanczos",
        "curvlinops": "curvlinops + eigsh",
        "pyhessian": "PyHessian power iteration",
    }
    for method, row in specs.items():
        if row not in knobs:
            continue
        knob = float(knobs[row].split("=")[1]) if method == "curvlinops" else int(knobs[row].split("=")[1])
        spec = {
            "device": str(device),
            "network": name,
            "quick": args.quick,
            "state": str(state),
            "method": method,
            "knob": knob,
            "pyhessian": str(args.pyhessian),
        }
        paths = [str(p) for p in (args.peers, args.pyhessian) if p is not None]
        got = peak_memory(spec, paths)
        if got is not None:
            memory[method] = got
            cuda = f", CUDA {got['cuda_mib']:.0f} MiB" if "cuda_mib" in got else ""
            print(f"  {method:<22} {got['rss_mib']:8.0f} MiB resident{cuda}")
    shutil.rmtree(state.parent, ignore_errors=True)
    return memory


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--network", choices=("mlp", "conv"), nargs="+", default=["mlp", "conv"])
    parser.add_argument("--peers", type=Path, help="folder holding curvlinops and hessian_eigenthings")
    parser.add_argument("--pyhessian", type=Path, help="folder holding the pyhessian package")
    parser.add_argument("--accuracy", type=float, default=1e-3, help="eigenvalues' relative error (1e-3)")
    parser.add_argument("--trace-se", type=float, default=0.05, help="trace's relative standard error (0.05)")
    parser.add_argument("--trace-repeats", type=int, default=5, help="seeds of each trace estimate (5)")
    parser.add_argument("--density", type=int, nargs=2, default=[80, 10], metavar=("STEPS", "RUNS"))
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats, median kept (default 3)")
    parser.add_argument(
        "--eig-seeds",
        type=int,
        default=5,
        help="start vectors of each eigenvalue race; the medians over them are printed (default 5)",
    )
    parser.add_argument(
        "--tasks",
        nargs="+",
        choices=("eigenvalues", "trace", "density"),
        default=["eigenvalues", "trace", "density"],
    )
    parser.add_argument(
        "--no-plain-trace",
        dest="plain_trace",
        action="store_false",
        help="race only the variance-reduced trace estimators",
    )
    parser.add_argument(
        "--trace-by-spread",
        dest="by_spread",
        action="store_true",
        help="race the trace by the spread of --trace-repeats seeds, for every method",
    )
    parser.add_argument("--quick", action="store_true", help="small networks and settings (for tests)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child is not None:
        result = memory_child(json.loads(args.memory_child))
        print(json.dumps(result))
        return result
    for name in ("accuracy", "trace_se"):
        if not 0 < getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be in (0, 1), got {getattr(args, name)}")
    for name, low in (("repeats", 1), ("trace_repeats", 2), ("eig_seeds", 1)):
        if getattr(args, name) < low:
            parser.error(f"--{name.replace('_', '-')} must be at least {low}, got {getattr(args, name)}")
    if min(args.density) < 2:
        parser.error(f"--density needs at least 2 steps and 2 runs, got {args.density}")
    try:
        device = resolve_device(args.device)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    module = None
    if args.peers is not None:
        sys.path.insert(0, str(args.peers))
        for package in ("curvlinops", "hessian_eigenthings"):
            try:
                importlib.import_module(package)
            except ImportError as error:
                parser.error(f"no usable {package} in {args.peers} ({error}): run 'make bench-peers'")
    if args.pyhessian is not None:
        module = pyhessian_module(args.pyhessian, parser)
    return {name: race(name, device, args, module) for name in args.network}


if __name__ == "__main__":
    main()
