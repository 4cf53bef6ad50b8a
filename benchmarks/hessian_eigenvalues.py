"""Time to the top Hessian eigenvalues: mlnotes' Lanczos against PyHessian's power iteration.

Both sides take the Hessian of the same network (an MLP 64-512-256-10, 167,178 parameters, trained
with Adam on the bundled digits) on the same data (the 1,077 training images, one batch) at the same
parameters, on the same device, in one run. The network is measured at several points of its
training (``--epochs``, default 0 1 5 20), because how fast power iteration converges depends on the
spectrum: its error shrinks like (lambda2 / lambda1)^(2t) after t products.

Two comparisons at each point:

1. **The same nominal tolerance** ``--tol``: mlnotes' ``lanczos`` stops when every requested Ritz
   pair's residual is below ``tol`` times the eigenvalue; PyHessian 0.1 (Yao et al., 2020)
   ``hessian(...).eigenvalues(tol=tol)`` stops when two successive estimates differ by less than
   ``tol`` relatively, with deflation for the top 5. The two rules are not the same test, so the
   printout gives each answer's error against a tight reference (Lanczos at tolerance 1e-10).
2. **The same accuracy** ``--accuracy`` (top eigenvalue only): the fewest products after which each
   method's estimate is within ``accuracy`` of the reference (found with the reference in hand, so
   no stopping rule is involved), and the time of a run of exactly that many products. This is the
   comparison of the two algorithms themselves.

Also printed: the time of one Hessian-vector product divided by the time of one gradient on the same
batch. Goals: mlnotes at least 3x faster than PyHessian; HVP / gradient at most 3. Times are medians
of ``--repeats`` runs.

PyHessian is never a dependency of mlnotes. ``make bench-hessian`` installs it (pure Python, no
dependencies beyond torch and numpy) into ``.bench/pyhessian`` and passes that folder here:

    python benchmarks/hessian_eigenvalues.py --pyhessian .bench/pyhessian [--device cpu|cuda|auto]

Without ``--pyhessian`` only the mlnotes side and the HVP / gradient ratio are measured.
"""

from __future__ import annotations

import argparse
import bisect
import importlib
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from mlnotes.curvature import HessianOperator, lanczos
from mlnotes.data import load_digits
from mlnotes.device import DEVICE_CHOICES, resolve_device
from mlnotes.optim import Adam
from mlnotes.training import train

POWER_MAX_ITER = 100  # PyHessian's default maxIter
LANCZOS_MAX_ITER = 300


def network(device: torch.device, widths: Sequence[int]) -> nn.Module:
    torch.manual_seed(0)
    layers, width_in = [], 64
    for width in widths:
        layers += [nn.Linear(width_in, width), nn.ReLU()]
        width_in = width
    return nn.Sequential(*layers, nn.Linear(width_in, 10)).to(device)


def timed(fn: Callable[[], object], device: torch.device, repeats: int = 1) -> tuple[float, object]:
    """Median seconds of ``repeats`` calls of ``fn``, and the last call's result."""
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def relative_error(values: Sequence[float] | torch.Tensor, reference: torch.Tensor) -> float:
    ours = torch.as_tensor(values, dtype=torch.float64).cpu()
    ref = reference[: len(ours)].to(dtype=torch.float64, device="cpu")
    return float(((ours - ref).abs() / ref.abs()).max())


def pyhessian_module(folder: Path, parser: argparse.ArgumentParser) -> object:
    """PyHessian's ``hessian`` module from ``folder``, or a usage error naming the make target."""
    sys.path.insert(0, str(folder))
    try:
        # the package's __init__ rebinds the name pyhessian.hessian to the class: ask for the module
        return importlib.import_module("pyhessian.hessian")
    except ImportError:
        parser.error(f"no pyhessian package in {folder}: run 'make bench-hessian'")


def build(pyhessian: type, net: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor) -> object:
    """PyHessian's object for one batch; it takes the gradient with its graph here, outside the timing."""
    with warnings.catch_warnings():
        # PyHessian calls backward(create_graph=True), which PyTorch warns about; the warning is theirs
        warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
        return pyhessian(net, loss_fn, data=(x, y), cuda=x.device.type == "cuda")


def power_estimates(pyhessian_module: object, comp: object, iterations: int) -> list[float]:
    """PyHessian's estimate v.Hv after each of ``iterations`` power steps (top eigenvalue, no early stop).

    Reads the estimates by wrapping the module's ``hessian_vector_product`` with a recorder that
    calls the original and notes v.Hv (the value PyHessian itself computes next); nothing else of
    PyHessian changes. Used only to find how many steps reach an accuracy; those steps are timed
    on the unwrapped code.
    """
    original, seen = pyhessian_module.hessian_vector_product, []

    def recording(gradients, params, v):
        hv = original(gradients, params, v)
        seen.append(float(pyhessian_module.group_product(hv, v)))  # PyHessian's own v.Hv
        return hv

    pyhessian_module.hessian_vector_product = recording
    try:
        torch.manual_seed(0)
        comp.eigenvalues(maxIter=iterations, tol=0.0, top_n=1)
    finally:
        pyhessian_module.hessian_vector_product = original
    return seen


def same_tolerance(k, tol, lanczos_run, pyhessian, top, device, repeats, results, tag):
    """Top ``k`` by each side's own stopping rule at ``tol``: a line and (speed-up, False: not a bound)."""
    seconds, r = timed(lambda: lanczos_run(k, tol), device, repeats)
    results[f"mlnotes_top{k}_seconds_{tag}"] = seconds
    line = f"tol {tol:g}, top {k}: mlnotes {seconds:.3f} s ({r.iterations} products, "
    line += f"error {relative_error(r.eigenvalues.flip(0), top):.1e})"
    if pyhessian is None:
        return line, None
    comp = pyhessian()

    def theirs():
        torch.manual_seed(0)
        return comp.eigenvalues(tol=tol, top_n=k)

    seconds_ph, (values, _) = timed(theirs, device, repeats)
    speedup = seconds_ph / seconds
    results[f"speedup_top{k}_{tag}"] = speedup
    error = relative_error(sorted(values, reverse=True), top)
    return line + f"; PyHessian {seconds_ph:.3f} s (error {error:.1e}): {speedup:.1f}x", (speedup, False)


def first_within(ok: Callable[[int], bool], start: int, limit: int) -> int | None:
    """The smallest m in [start, limit] with ok(m), for an ok that stays true once true; None if ok(limit)
    is false. Doubles from ``start``, then bisects, so it costs O(log m) calls of ``ok``."""
    lo, hi = start - 1, start
    while not ok(hi):
        if hi >= limit:
            return None
        lo, hi = hi, min(2 * hi, limit)
    return bisect.bisect_left(range(lo + 1, hi), True, key=ok) + lo + 1  # ok(lo) is false, ok(hi) true


def same_accuracy(k, accuracy, lanczos_run, pyhessian, module, top, device, repeats, results, tag):
    """Top ``k`` by each side after the fewest products that reach ``accuracy``: a line and (speed-up,
    whether it is only a lower bound because PyHessian did not get there).

    mlnotes: the fewest Lanczos steps m whose k top Ritz values are all within ``accuracy`` (they
    rise with m towards the eigenvalues, so the search may bisect). PyHessian, top 1: the first
    power step within ``accuracy``, read from its own estimates; top k > 1: the smallest ``maxIter``
    (the steps it spends on each eigenvalue) at which all k are within, by the same search.
    """

    def ours_ok(m: int) -> bool:
        return relative_error(lanczos_run(k, 1e-12, m).eigenvalues.flip(0), top[:k]) <= accuracy

    m = first_within(ours_ok, k, LANCZOS_MAX_ITER)
    head = f"accuracy {accuracy:g}, top {k}:"
    if m is None:
        return f"{head} Lanczos did not get there in {LANCZOS_MAX_ITER} products", None
    seconds, _ = timed(lambda: lanczos_run(k, 1e-12, m), device, repeats)
    results[f"mlnotes_top{k}_to_accuracy_seconds_{tag}"] = seconds
    line = f"{head} mlnotes {seconds:.3f} s ({m} products)"
    if pyhessian is None:
        return line, None
    comp = pyhessian()

    def theirs(iterations: int) -> list[float]:
        torch.manual_seed(0)
        return comp.eigenvalues(maxIter=iterations, tol=0.0, top_n=k)[0]

    if k == 1:
        estimates = power_estimates(module, comp, POWER_MAX_ITER)
        t = next((i + 1 for i, e in enumerate(estimates) if relative_error([e], top) <= accuracy), None)
    else:
        t = first_within(
            lambda t: relative_error(sorted(theirs(t), reverse=True), top) <= accuracy, 1, POWER_MAX_ITER
        )
    seconds_ph, _ = timed(lambda: theirs(t or POWER_MAX_ITER), device, repeats)
    speedup, at_least = seconds_ph / seconds, t is None
    results[f"speedup_top{k}_to_accuracy_{tag}"] = speedup
    steps = f"not within {POWER_MAX_ITER} per eigenvalue" if at_least else f"{k * t} products"
    mark = ">= " if at_least else ""
    return line + f"; PyHessian {mark}{seconds_ph:.3f} s ({steps}): {mark}{speedup:.1f}x", (speedup, at_least)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--pyhessian", type=Path, help="folder holding the pyhessian package")
    parser.add_argument("--tol", type=float, default=1e-3, help="tolerance for both sides (default 1e-3)")
    parser.add_argument("--accuracy", type=float, default=1e-3, help="error to race to (default 1e-3)")
    parser.add_argument("--widths", type=int, nargs="+", default=[512, 256], help="hidden widths")
    parser.add_argument("--epochs", type=int, nargs="+", default=[0, 1, 5, 20], help="epochs of the points")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats, median kept (default 3)")
    args = parser.parse_args(argv)
    for name in ("tol", "accuracy"):
        if not 0 < getattr(args, name) < 1:
            parser.error(f"--{name} must be in (0, 1), got {getattr(args, name)}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if min(args.epochs) < 0:
        parser.error(f"--epochs must be at least 0, got {min(args.epochs)}")
    if min(args.widths) < 1:
        parser.error(f"--widths must be at least 1, got {min(args.widths)}")
    try:
        device = resolve_device(args.device)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    module = None if args.pyhessian is None else pyhessian_module(args.pyhessian, parser)

    data = load_digits()
    net = network(device, args.widths)
    optimizer = Adam(net.parameters(), lr=1e-3)
    x, y = data.train.x.to(device), data.train.y.to(device)
    loss_fn = nn.CrossEntropyLoss()
    pyhessian = None if module is None else (lambda: build(module.hessian, net, loss_fn, x, y))
    n = sum(p.numel() for p in net.parameters())
    print(
        f"device: {device}; {n:,} parameters; {len(x):,} examples in one batch; tol {args.tol:g}; "
        f"accuracy {args.accuracy:g}; median of {args.repeats}"
    )
    results: dict[str, float] = {}
    trained, summary = 0, []
    for epochs in sorted(set(args.epochs)):
        if epochs > trained:  # one run of Adam, paused at each point (a new shuffling seed per leg)
            train(
                net, optimizer, data.train, epochs=epochs - trained, batch_size=64, device=device,
                seed=trained, progress=False,
            )  # fmt: skip
            trained = epochs
        op = HessianOperator(net, loss_fn, (x, y))

        def lanczos_run(k, tol, max_iter=None, op=op):
            return lanczos(op, n, k=k, tol=tol, max_iter=max_iter, dtype=torch.float32, device=device)

        top = lanczos_run(5, 1e-10, LANCZOS_MAX_ITER).eigenvalues.flip(0)
        gap = float(top[1] / top[0])
        print(f"\n== after {epochs} epochs: top 5 {[round(float(t), 4) for t in top]}, l2/l1 {gap:.3f}")
        row = [epochs, gap]
        common = (top, device, args.repeats, results, epochs)
        for k in (1, 5):
            line, speedup = same_tolerance(k, args.tol, lanczos_run, pyhessian, *common)
            print(line)
            row.append(speedup)
        for k in (1, 5):
            line, speedup = same_accuracy(k, args.accuracy, lanczos_run, pyhessian, module, *common)
            print(line)
            row.append(speedup)
        summary.append(row)

    # one HVP against one gradient, same batch, at the last point
    v = torch.randn(n, generator=torch.Generator().manual_seed(1)).to(device)

    def gradient() -> None:
        net.zero_grad()
        loss_fn(net(x), y).backward()

    timed(gradient, device), timed(lambda: op(v), device)  # warm-up
    grad_time = timed(gradient, device, max(args.repeats, 5))[0]
    hvp_time = timed(lambda: op(v), device, max(args.repeats, 5))[0]
    results["hvp_over_gradient"] = hvp_time / grad_time
    print(
        f"\none gradient {grad_time * 1e3:.1f} ms, one HVP {hvp_time * 1e3:.1f} ms: "
        f"HVP / gradient = {hvp_time / grad_time:.2f} (goal <= 3)"
    )
    if pyhessian is not None:
        print("mlnotes' speed-up over PyHessian (goal >= 3):")
        tol, accuracy = f"at tol {args.tol:g}", f"to accuracy {args.accuracy:g}"
        print(f"{'':>6}  {'':>5}  {tol:^14}  {accuracy:^14}")
        print(f"{'epochs':>6}  {'l2/l1':>5}  {'top 1':>6}  {'top 5':>6}  {'top 1':>6}  {'top 5':>6}")
        for epochs, gap, *speedups in summary:
            cells = "  ".join(
                "   n/a" if s is None else f"{'>=' if s[1] else ''}{s[0]:.1f}x".rjust(6) for s in speedups
            )
            print(f"{epochs:>6}  {gap:5.3f}  {cells}")
    return results


if __name__ == "__main__":
    main()
