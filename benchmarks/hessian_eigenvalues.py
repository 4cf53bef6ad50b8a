"""Time to the top Hessian eigenvalues: mlnotes' Lanczos against PyHessian's power iteration.

Both sides take the Hessian of the same network (an MLP 64-512-256-10, 167,690 parameters, trained
for a few epochs on the bundled digits) on the same data (the 1,077 training images, one batch) at
the same parameters, on the same device, in one run:

- mlnotes: ``HessianOperator`` (forward-over-reverse products) and ``lanczos`` with the relative
  residual tolerance ``--tol``;
- PyHessian 0.1 (Yao et al., 2020): ``hessian(...).eigenvalues(tol=--tol)``, power iteration that
  stops when two successive estimates differ by less than ``tol`` relatively, with deflation for
  the top 5.

Each side's eigenvalues are compared with a tight reference (Lanczos at tolerance 1e-10), so the
printout says how accurate each answer was as well as how long it took. Also printed: the time of
one Hessian-vector product divided by the time of one gradient on the same batch.
Goals: mlnotes at least 3x faster than PyHessian; HVP / gradient at most 3.

PyHessian is never a dependency of mlnotes. ``make bench-hessian`` installs it (pure Python, no
dependencies beyond torch and numpy) into ``.bench/pyhessian`` and passes that folder here:

    python benchmarks/hessian_eigenvalues.py --pyhessian .bench/pyhessian [--device cpu|cuda|auto]

Without ``--pyhessian`` only the mlnotes side and the HVP / gradient ratio are measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from mlnotes.curvature import HessianOperator, lanczos
from mlnotes.data import load_digits
from mlnotes.device import DEVICE_CHOICES, resolve_device
from mlnotes.optim import Adam
from mlnotes.training import train


def network(device: torch.device, widths: Sequence[int]) -> nn.Module:
    torch.manual_seed(0)
    layers, width_in = [], 64
    for width in widths:
        layers += [nn.Linear(width_in, width), nn.ReLU()]
        width_in = width
    return nn.Sequential(*layers, nn.Linear(width_in, 10)).to(device)


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--pyhessian", type=Path, help="folder holding the pyhessian package")
    parser.add_argument("--tol", type=float, default=1e-3, help="tolerance for both sides (default 1e-3)")
    parser.add_argument("--widths", type=int, nargs="+", default=[512, 256], help="hidden widths")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the HVP / gradient timing")
    args = parser.parse_args(argv)
    if not 0 < args.tol < 1:
        parser.error(f"--tol must be in (0, 1), got {args.tol}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    try:
        device = resolve_device(args.device)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    pyhessian = None
    if args.pyhessian is not None:
        sys.path.insert(0, str(args.pyhessian))
        try:
            from pyhessian import hessian as pyhessian
        except ImportError:
            parser.error(f"no pyhessian package in {args.pyhessian}: run 'make bench-hessian'")

    data = load_digits()
    net = network(device, args.widths)
    optimizer = Adam(net.parameters(), lr=1e-3)
    train(net, optimizer, data.train, epochs=5, batch_size=64, device=device, progress=False)
    x, y = data.train.x.to(device), data.train.y.to(device)
    loss_fn = nn.CrossEntropyLoss()
    op = HessianOperator(net, loss_fn, (x, y))
    n = op.num_parameters
    print(f"device: {device}; {n:,} parameters; {len(x):,} examples in one batch; tol {args.tol:g}")

    # one HVP against one gradient, same batch, median of repeats
    v = torch.randn(n, generator=torch.Generator().manual_seed(1)).to(device)

    def gradient() -> None:
        net.zero_grad()
        loss_fn(net(x), y).backward()

    timed(gradient, device), timed(lambda: op(v), device)  # warm-up
    grad_time = statistics.median(timed(gradient, device)[0] for _ in range(args.repeats))
    hvp_time = statistics.median(timed(lambda: op(v), device)[0] for _ in range(args.repeats))
    results = {"hvp_over_gradient": hvp_time / grad_time}
    print(
        f"one gradient {grad_time * 1e3:.1f} ms, one HVP {hvp_time * 1e3:.1f} ms: "
        f"HVP / gradient = {hvp_time / grad_time:.2f} (goal <= 3)"
    )

    reference = lanczos(op, n, k=5, tol=1e-10, max_iter=300, dtype=torch.float32, device=device).eigenvalues
    top = reference.flip(0)
    print(f"reference top 5 (Lanczos, tol 1e-10): {[round(float(t), 4) for t in top]}")
    for k in (1, 5):
        seconds, r = timed(
            lambda k=k: lanczos(op, n, k=k, tol=args.tol, dtype=torch.float32, device=device), device
        )
        ours = r.eigenvalues.flip(0)
        error = float(((ours - top[:k]).abs() / top[:k].abs()).max())
        results[f"mlnotes_top{k}_seconds"] = seconds
        print(f"mlnotes top {k}: {seconds:.2f} s, {r.iterations} products, relative error {error:.1e}")
        if pyhessian is not None:
            torch.manual_seed(0)
            comp = pyhessian(net, loss_fn, data=(x, y), cuda=device.type == "cuda")
            seconds_ph, (values, _) = timed(
                lambda k=k, comp=comp: comp.eigenvalues(tol=args.tol, top_n=k), device
            )
            theirs = torch.tensor(sorted(values, reverse=True))
            error_ph = float(((theirs - top[:k].cpu()).abs() / top[:k].cpu().abs()).max())
            results[f"pyhessian_top{k}_seconds"] = seconds_ph
            results[f"speedup_top{k}"] = seconds_ph / seconds
            print(
                f"PyHessian top {k}: {seconds_ph:.2f} s, largest relative error {error_ph:.1e}; "
                f"mlnotes is {seconds_ph / seconds:.1f}x faster (goal >= 3)"
            )
    return results


if __name__ == "__main__":
    main()
