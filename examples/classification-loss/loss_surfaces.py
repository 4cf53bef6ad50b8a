"""Squared error against cross-entropy on the same softmax outputs: the error surfaces.

Book: classification-loss#error-surfaces.

Three classes, the correct one is class 1. The logits y1 and y2 are the parameters and y3 = 0 is
fixed. Both losses are drawn over (y1, y2) in [-10, 10]^2:

- squared error e = sum_i (yhat_i - y'_i)^2 on the softmax probabilities y';
- cross-entropy e = -ln y'_1.

Where the wrong class dominates (y1 very negative, y2 very positive) the softmax saturates: the
squared error sits on a plateau near its maximum 2 and its gradient almost vanishes, while the
cross-entropy keeps a slope of about 1 there. Gradient descent with the same learning rate and the
same number of steps starts at the bad point (-8, 8) with each loss; the script reports where each
ends, its loss, its probability of the correct class and the gradient norm at the start.

- loss_surfaces.zh.svg, loss_surfaces.en.svg: both surfaces with the two gradient-descent paths, the
  start and the end of each marked with its coordinates, and the plateau of the squared error
  labelled, in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.losses import cross_entropy, softmax, softmax_mse
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figures

START, LR, TARGET = (-8.0, 8.0), 1.0, 0
LOSSES = {"mse": softmax_mse, "cross_entropy": cross_entropy}

TEXT = {
    "zh": {
        "titles": {
            "mse": r"平方误差 $e=\sum_i(\hat y_i - y'_i)^2$",
            "cross_entropy": r"交叉熵 $e=-\ln y'_1$",
        },
        "y1": "正确类别（第 1 类）的输出 $y_1$",
        "y2": "错误类别（第 2 类）的输出 $y_2$",
        "loss": "损失 $e$",
        "start": "起点",
        "end": "{steps:,} 步后",
        "path": r"梯度下降，$\eta = 1$",
        "plateau": "饱和的高原：\n梯度几乎为零",
    },
    "en": {
        "titles": {
            "mse": r"squared error $e=\sum_i(\hat y_i - y'_i)^2$",
            "cross_entropy": r"cross-entropy $e=-\ln y'_1$",
        },
        "y1": "output $y_1$ of the correct class 1",
        "y2": "output $y_2$ of the wrong class 2",
        "loss": "loss $e$",
        "start": "start",
        "end": "after {steps:,} steps",
        "path": r"gradient descent, $\eta = 1$",
        "plateau": "saturated plateau:\nalmost no gradient",
    },
}


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


def figure(runs: dict[str, dict[str, object]], language: str):
    text = TEXT[language]
    fig, axes = new_figure(2, width=4.4, height=4.0)
    grid = np.linspace(-10, 10, 201)
    for ax, (name, run) in zip(axes, runs.items(), strict=True):
        z = surface(name, grid)
        filled = ax.contourf(grid, grid, z, levels=30, cmap="viridis", rasterized=True)  # 700 kB as vectors
        fig.colorbar(filled, ax=ax, shrink=0.85, label=text["loss"])
        path = run["path"]
        steps = len(path) - 1
        ax.plot(path[:, 0], path[:, 1], color="white", lw=1.2, label=text["path"])
        ax.plot(
            *path[0],
            "o",
            color="tab:red",
            ms=5,
            label=f"{text['start']} $({path[0][0]:.0f}, {path[0][1]:.0f})$",
        )
        end_label = text["end"].format(steps=steps) + f" $({path[-1][0]:.2f}, {path[-1][1]:.2f})$"
        ax.plot(*path[-1], "*", color="tab:orange", ms=9, label=end_label)
        if name == "mse":
            ax.text(-3.5, 4.8, text["plateau"], ha="center", va="center", fontsize=7.5, color="k")
        ax.set(xlabel=text["y1"], ylabel=text["y2"], xlim=(-10, 10), ylim=(-10, 10))
        ax.set_title(text["titles"][name], fontsize=9.5, pad=16)
        ax.legend(fontsize=7, loc="lower left", facecolor="0.8", framealpha=0.9)
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
    paths = save_figures(lambda language: figure(runs, language), args.out, "loss_surfaces")
    for path in paths:
        print(f"wrote {path}")
    return {"summary": summary, "figures": paths}


if __name__ == "__main__":
    main()
