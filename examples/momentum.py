"""Momentum carries gradient descent past a local minimum (S4).

The 1-D loss L(w) = w^4 - 4 w^2 + w has a local minimum near w = 1.35 (L = -2.62) and the global
minimum near w = -1.47 (L = -5.44), with a local maximum between them near w = 0.13. From w = 2.5,
with the same learning rate, plain gradient descent stops in the local minimum; momentum
(lambda = 0.9) keeps enough of its earlier steps to climb over the hump into the global minimum.
The script also prints where every lambda of a small grid ends, from two starting points: momentum
is no guarantee, and from w = 3 with lambda = 0.9 it overshoots and comes back.

- momentum_trajectories.svg: the loss with the iterates of both methods (lambda = 0 is plain gradient
  descent), and w against the step. Labels are math only, so one figure serves both languages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.optim import GradientDescent, Momentum
from mlnotes.plotting import new_figure, save_figure

START, LR = 2.5, 0.01


def loss(w: torch.Tensor) -> torch.Tensor:
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


def figure(paths: dict[str, np.ndarray]):
    fig, (left, right) = new_figure(2, width=4.6, height=3.4)
    w = np.linspace(-2.2, 2.7, 400)
    left.plot(w, w**4 - 4 * w**2 + w, color="0.3", lw=1.5)
    colors = {r"$\lambda=0$": "tab:blue", r"$\lambda=0.9$": "tab:red"}
    for name, path in paths.items():
        shown = path[:60]
        left.plot(
            shown, shown**4 - 4 * shown**2 + shown, "o", ms=3.5, alpha=0.7, color=colors[name], label=name
        )
        right.plot(path, color=colors[name], label=name)
    left.set(xlabel="$w$", ylabel="$L(w)$", ylim=(-6.5, 20))
    left.legend(loc="upper center")
    for level, text in ((1.347, r"$w\approx 1.35$"), (-1.473, r"$w\approx -1.47$")):
        right.axhline(level, color="0.6", lw=0.8, ls="--")
        right.annotate(
            text, (len(next(iter(paths.values()))) - 1, level), ha="right", va="bottom", fontsize=8
        )
    right.set(xlabel="step $t$", ylabel="$w^t$")
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    steps = 80 if args.quick else 300
    print(f"device: {args.device}; L(w) = w^4 - 4 w^2 + w, lr = {LR}, {steps} steps")
    ends = {}
    for start in (START, 3.0):
        for lam in (0.0, 0.5, 0.8, 0.9):
            end = run(start, LR, lam, steps, args.device)[-1]
            ends[(start, lam)] = float(end)
            where = "global minimum" if end < 0 else "local minimum"
            value = float(loss(torch.tensor(end)))
            print(f"start {start:.1f}, lambda {lam:.1f}: w = {end:+.4f}, L = {value:+.4f} ({where})")
    paths = {
        r"$\lambda=0$": run(START, LR, 0.0, steps, args.device),  # plain gradient descent
        r"$\lambda=0.9$": run(START, LR, 0.9, steps, args.device),
    }
    written = [save_figure(figure(paths), args.out / "momentum_trajectories.svg")]
    for path in written:
        print(f"wrote {path}")
    return {"ends": ends, "figures": written}


if __name__ == "__main__":
    main()
