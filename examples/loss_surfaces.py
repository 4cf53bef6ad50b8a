"""Squared error against cross-entropy on the same softmax outputs: the error surfaces (S6.6).

Three classes, the correct one is class 1. The logits y1 and y2 are the parameters and y3 = 0 is
fixed. Both losses are drawn over (y1, y2) in [-10, 10]^2:

- squared error e = sum_i (yhat_i - y'_i)^2 on the softmax probabilities y';
- cross-entropy e = -ln y'_1.

Where the wrong class dominates (y1 very negative, y2 very positive) the softmax saturates: the
squared error sits on a plateau near its maximum 2 and its gradient almost vanishes, while the
cross-entropy keeps a slope of about 1 there. Gradient descent with the same learning rate and the
same number of steps starts at the bad point (-8, 8) with each loss; the script reports where each
ends, its loss, its probability of the correct class and the gradient norm at the start.

- loss_surfaces.svg: both surfaces with the two gradient-descent paths.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.losses import cross_entropy, softmax, softmax_mse
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figure

START, LR, TARGET = (-8.0, 8.0), 1.0, 0
LOSSES = {"mse": softmax_mse, "cross_entropy": cross_entropy}


def logits_of(y12: torch.Tensor) -> torch.Tensor:
    """The three logits (y1, y2, 0) for a batch of (y1, y2) pairs."""
    return torch.cat([y12, torch.zeros(*y12.shape[:-1], 1, dtype=y12.dtype, device=y12.device)], dim=-1)


def surface(name: str, grid: np.ndarray) -> np.ndarray:
    y1, y2 = np.meshgrid(grid, grid)
    pairs = torch.tensor(np.stack([y1, y2], axis=-1).reshape(-1, 2), dtype=torch.float64)
    target = torch.full((len(pairs),), TARGET)
    values = LOSSES[name](logits_of(pairs), target, reduction="none")
    return values.numpy().reshape(y1.shape)


def descend(name: str, steps: int, device: torch.device) -> dict[str, object]:
    y = torch.tensor(START, dtype=torch.float64, device=device, requires_grad=True)
    opt = GradientDescent([y], lr=LR)
    target = torch.tensor(TARGET, device=device)
    path, first_grad = [y.detach().cpu().numpy().copy()], None
    for _ in range(steps):
        opt.zero_grad()
        LOSSES[name](logits_of(y), target).backward()
        first_grad = y.grad.norm().item() if first_grad is None else first_grad
        opt.step()
        path.append(y.detach().cpu().numpy().copy())
    with torch.no_grad():
        end_loss = LOSSES[name](logits_of(y), target).item()
        p_correct = softmax(logits_of(y))[TARGET].item()
    return {
        "path": np.array(path),
        "end": tuple(float(v) for v in path[-1]),
        "loss": end_loss,
        "p_correct": p_correct,
        "start_grad_norm": first_grad,
    }


def figure(runs: dict[str, dict[str, object]]):
    fig, axes = new_figure(2, width=4.2, height=3.8)
    grid = np.linspace(-10, 10, 201)
    titles = {"mse": r"$\sum_i(\hat y_i - y'_i)^2$", "cross_entropy": r"$-\ln y'_1$"}
    for ax, (name, run) in zip(axes, runs.items(), strict=True):
        z = surface(name, grid)
        filled = ax.contourf(grid, grid, z, levels=30, cmap="viridis", rasterized=True)  # 700 kB as vectors
        fig.colorbar(filled, ax=ax, shrink=0.85)
        path = run["path"]
        ax.plot(path[:, 0], path[:, 1], color="white", lw=1.2)
        ax.plot(*path[0], "o", color="tab:red", ms=5)
        ax.plot(*path[-1], "*", color="tab:orange", ms=9)
        ax.set(xlabel="$y_1$", ylabel="$y_2$", title=titles[name], xlim=(-10, 10), ylim=(-10, 10))
        ax.grid(False)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    steps = 100 if args.quick else 1000
    print(f"device: {args.device}; start (y1, y2) = {START}, y3 = 0, correct class 1")
    print(f"gradient descent on (y1, y2), eta = {LR}, {steps} steps with each loss")
    runs = {name: descend(name, steps, args.device) for name in LOSSES}
    summary = {}
    for name, run in runs.items():
        summary[name] = {k: v for k, v in run.items() if k != "path"}
        print(
            f"{name:<13}: gradient norm at the start {run['start_grad_norm']:.3g}; ends at"
            f" ({run['end'][0]:.2f}, {run['end'][1]:.2f}), loss {run['loss']:.4g},"
            f" probability of the correct class {run['p_correct']:.3g}"
        )
    path = save_figure(figure(runs), args.out / "loss_surfaces.svg")
    print(f"wrote {path}")
    return {"summary": summary, "figures": [path]}


if __name__ == "__main__":
    main()
