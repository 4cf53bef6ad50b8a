"""Time of one optimizer step: each mlnotes optimizer against its torch.optim counterpart.

Both sides update the same model of about 0.92 million parameters (an MLP 1024-512-512-256-10)
with the same fixed gradients; torch.optim runs its single-tensor implementation
(``foreach=False``), the same loop over parameters that mlnotes runs. Each measurement is the median
of several repeats of many steps, and the two sides alternate, so drift in the machine's speed
affects both. The ratio mlnotes / torch is printed; the goal is at most 1.2.

    python benchmarks/optimizer_step.py [--device cpu|cuda|auto] [--steps 100] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

import mlnotes.optim as mo
from mlnotes.device import DEVICE_CHOICES, resolve_device

PAIRS: dict[str, tuple[Callable, Callable]] = {
    "GradientDescent / SGD": (
        lambda p: mo.GradientDescent(p, lr=0.01),
        lambda p: torch.optim.SGD(p, lr=0.01, foreach=False),
    ),
    "Momentum / SGD(momentum)": (
        lambda p: mo.Momentum(p, lr=0.01, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, foreach=False),
    ),
    "Adagrad / Adagrad": (
        lambda p: mo.Adagrad(p, lr=0.01),
        lambda p: torch.optim.Adagrad(p, lr=0.01, foreach=False),
    ),
    "RMSProp / RMSprop": (
        lambda p: mo.RMSProp(p, lr=0.01),
        lambda p: torch.optim.RMSprop(p, lr=0.01, foreach=False),
    ),
    "Adam / Adam": (
        lambda p: mo.Adam(p, lr=1e-3),
        lambda p: torch.optim.Adam(p, lr=1e-3, foreach=False),
    ),
}


def model(device: torch.device) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(1024, 512),
        nn.ReLU(),
        nn.Linear(512, 512),
        nn.ReLU(),
        nn.Linear(512, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    ).to(device)
    for p in net.parameters():
        p.grad = torch.randn_like(p) * 1e-2
    return net


def seconds_per_step(make, device: torch.device, steps: int) -> float:
    net = model(device)
    opt = make(list(net.parameters()))
    opt.step()  # create the state outside the timed region
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--steps", type=int, default=100, help="steps per measurement (default 100)")
    parser.add_argument("--repeats", type=int, default=7, help="measurements per side (default 7)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats must be at least 1")
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        parser.error(f"--device: {err}")
    n = sum(p.numel() for p in model(device).parameters())
    print(f"device: {device}; {n:,} parameters; {args.steps} steps x {args.repeats} repeats; median per step")
    print(f"{'pair':<26} {'mlnotes ms':>11} {'torch ms':>9} {'ratio':>6}")
    ratios = {}
    for name, (ours, theirs) in PAIRS.items():
        times = {"ours": [], "theirs": []}
        for _ in range(args.repeats):
            times["ours"].append(seconds_per_step(ours, device, args.steps))
            times["theirs"].append(seconds_per_step(theirs, device, args.steps))
        a, b = statistics.median(times["ours"]), statistics.median(times["theirs"])
        ratios[name] = a / b
        print(f"{name:<26} {a * 1e3:>11.3f} {b * 1e3:>9.3f} {a / b:>6.2f}")
    worst = max(ratios, key=ratios.get)
    verdict = "met" if ratios[worst] <= 1.2 else "NOT met"
    print(f"worst ratio {ratios[worst]:.2f} ({worst}); goal <= 1.2: {verdict}")
    return ratios


if __name__ == "__main__":
    main()
