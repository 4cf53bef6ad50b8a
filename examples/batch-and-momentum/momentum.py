"""Momentum carries gradient descent past a local minimum.

Book: batch-and-momentum#momentum-experiment.

The 1-D loss L(w) = w^4 - 4 w^2 + w has a local minimum near w = 1.35 (L = -2.62) and the global
minimum near w = -1.47 (L = -5.44), with a local maximum between them near w = 0.13. From w = 2.5,
with the same learning rate, plain gradient descent stops in the local minimum; momentum
(beta = 0.9) keeps enough of its earlier steps to climb over the hump into the global minimum.
The script also prints where every beta of a small grid ends, from two starting points: momentum
is no guarantee, and from w = 3 with beta = 0.9 it overshoots and comes back.

- momentum_trajectories.zh.svg, momentum_trajectories.en.svg: the loss with the iterates of both
  methods (beta = 0 is plain gradient descent), the start, the two minima and the hump between them
  marked, and w against the update, in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.optim import GradientDescent, Momentum
from mlnotes.plotting import new_figure, save_figures

START, LR = 2.5, 0.01
SHOWN = (0.0, 0.9)  # the two momentum coefficients drawn: plain gradient descent and momentum
# the critical points of L, from L'(w) = 4 w^3 - 8 w + 1 = 0
LOCAL_MIN, LOCAL_MAX, GLOBAL_MIN = 1.3470, 0.1260, -1.4730

TEXT = {
    "zh": {
        "runs": {0.0: r"梯度下降（$\beta=0$）", 0.9: r"动量（$\beta=0.9$）"},
        "w": "参数 $w$",
        "loss": "损失 $L(w)$",
        "step": "更新次数 $t$",
        "iterate": "参数 $w^t$",
        "start": "起点 $w=2.5$",
        "local": r"局部极小值 $w\approx 1.35$",
        "global": r"全局最小值 $w\approx -1.47$",
        "hump": "局部极大值（小山）",
    },
    "en": {
        "runs": {0.0: r"gradient descent ($\beta=0$)", 0.9: r"momentum ($\beta=0.9$)"},
        "w": "parameter $w$",
        "loss": "loss $L(w)$",
        "step": "update $t$",
        "iterate": "parameter $w^t$",
        "start": "start $w=2.5$",
        "local": r"local minimum $w\approx 1.35$",
        "global": r"global minimum $w\approx -1.47$",
        "hump": "local maximum (the hump)",
    },
}


def loss(w: torch.Tensor) -> torch.Tensor:
    return w**4 - 4 * w**2 + w


def curve(w: np.ndarray) -> np.ndarray:
    return w**4 - 4 * w**2 + w


def run(start: float, lr: float, momentum: float, steps: int, device: torch.device) -> np.ndarray:
    """The iterates w^0, ..., w^steps of gradient descent (momentum 0) or momentum."""
    w = torch.tensor([start], dtype=torch.float64, device=device, requires_grad=True)
    opt = Momentum([w], lr=lr, momentum=momentum) if momentum else GradientDescent([w], lr=lr)
    path = [start]
    for _ in range(steps):
        opt.zero_grad()
        loss(w).sum().backward()
        opt.step()
        path.append(w.item())
    return np.array(path)


def figure(paths: dict[float, np.ndarray], language: str):
    """Both panels in ``language``; ``paths`` maps the momentum coefficient beta to its iterates."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.6, height=3.6)
    w = np.linspace(-2.2, 2.7, 400)
    left.plot(w, curve(w), color="0.3", lw=1.5)
    colors = {0.0: "tab:blue", 0.9: "tab:red"}
    for beta, path in paths.items():
        shown = path[:60]
        left.plot(shown, curve(shown), "o", ms=3.5, alpha=0.7, color=colors[beta], label=text["runs"][beta])
        right.plot(path, color=colors[beta], label=text["runs"][beta])
    marks = (
        (START, text["start"], (1.85, 14.5), "right"),
        (LOCAL_MIN, text["local"], (1.25, 5.0), "center"),
        (GLOBAL_MIN, text["global"], (-0.75, -5.9), "left"),
        (LOCAL_MAX, text["hump"], (0.15, 9.5), "center"),
    )
    for x, label, at, ha in marks:
        left.plot(x, curve(x), "D" if x != START else "s", color="k", ms=4, zorder=3)
        left.annotate(
            label,
            (x, curve(x)),
            xytext=at,
            ha=ha,
            va="center",
            fontsize=7.5,
            arrowprops={"arrowstyle": "-", "color": "0.45", "lw": 0.7},
        )
    left.set(xlabel=text["w"], ylabel=text["loss"], ylim=(-6.5, 20), xlim=(-2.2, 2.7))
    left.legend(loc="upper center", fontsize=8)
    steps = len(next(iter(paths.values()))) - 1
    for level, label, va in ((LOCAL_MIN, text["local"], "bottom"), (GLOBAL_MIN, text["global"], "top")):
        right.axhline(level, color="0.6", lw=0.8, ls="--")
        right.annotate(
            label,
            (steps, level),
            xytext=(0, 2 if va == "bottom" else -2),
            textcoords="offset points",
            ha="right",
            va=va,
            fontsize=7.5,
        )
    right.set(xlabel=text["step"], ylabel=text["iterate"], ylim=(-2.3, 2.9))
    right.legend(loc="upper right", fontsize=8)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    steps = 80 if args.quick else 300
    print(f"device: {args.device}; L(w) = w^4 - 4 w^2 + w, lr = {LR}, {steps} steps")
    ends = {}
    for start in (START, 3.0):
        for beta in (0.0, 0.5, 0.8, 0.9):
            end = run(start, LR, beta, steps, args.device)[-1]
            ends[(start, beta)] = float(end)
            where = "global minimum" if end < 0 else "local minimum"
            value = float(loss(torch.tensor(end)))
            print(f"start {start:.1f}, beta {beta:.1f}: w = {end:+.4f}, L = {value:+.4f} ({where})")
    paths = {beta: run(START, LR, beta, steps, args.device) for beta in SHOWN}  # beta 0: plain descent
    written = save_figures(lambda language: figure(paths, language), args.out, "momentum_trajectories")
    for path in written:
        print(f"wrote {path}")
    return {"ends": ends, "figures": written}


if __name__ == "__main__":
    main()
