"""A long, narrow convex valley: one learning rate for all parameters fails; Adagrad and decay (S5.2-S5.5).

L(w1, w2) = (H1 w1^2 + H2 (w2 - C w1)^2) / 2 with H1 = 1e-4 along the valley floor, H2 = 100 across
it, and a floor tilted by C = 0.003 (so moving along the floor keeps asking w2 for small
corrections). The minimum is the origin; every run starts at (8, 1 + 8C), on the valley wall, and
makes the same number of updates. Gradient descent is stable only for eta < 2 / 100:

- eta = 0.0199, about the largest stable rate: w2 bounces between the walls for thousands of
  updates, and along the floor each update shrinks w1 only by the factor 1 - eta H1, so it crawls;
- eta = 1e-4: no bouncing, but nothing moves far;
- Adagrad as the lecture writes it (sigma is the root *mean* square of all past gradients), eta = 0.1:
  every parameter gets its own step size, so it drops to the floor and walks along it. While it
  walks, w2's gradients are tiny, its sigma (an average over more and more tiny gradients) shrinks,
  eta / sigma grows past the stability limit, and w2 bursts up the walls, again and again;
- the same Adagrad with the decay eta^t = 1 / sqrt(t + 1): no burst, and it arrives.

Each Adagrad run uses the best rate of {0.1, 0.3, 1} for its kind (measured over 20,000 updates:
without decay 0.1 ends closest to the minimum; with decay, 1). At eta = 1 without decay the bursts
never stop: w2 keeps climbing the walls for all 100,000 updates.

- convex_valley.zh.svg, convex_valley.en.svg: the four paths over the contours, with the start and
  the minimum marked and each method's final distance to the minimum in the legend, and the loss
  against the update, with Adagrad's largest burst marked; in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.optim import Adagrad, GradientDescent
from mlnotes.plotting import new_figure, save_figures
from mlnotes.schedules import InverseSqrtDecay

H1, H2, C = 1e-4, 100.0, 0.003
START = (8.0, 1.0 + 8 * C)

METHODS = {
    r"$\eta=0.0199$": lambda p: GradientDescent(p, lr=0.0199),
    r"$\eta=10^{-4}$": lambda p: GradientDescent(p, lr=1e-4),
    r"Adagrad, $\eta=0.1$": lambda p: Adagrad(p, lr=0.1),
    r"Adagrad, $\eta^t=1/\sqrt{t+1}$": lambda p: Adagrad(p, lr=InverseSqrtDecay(1.0)),
}
COLORS = ("tab:red", "tab:gray", "tab:blue", "tab:green")
BURSTING = r"Adagrad, $\eta=0.1$"  # the run whose largest burst the loss panel marks

TEXT = {
    "zh": {
        "methods": dict(
            zip(
                METHODS,
                (
                    r"梯度下降，$\eta=0.0199$",
                    r"梯度下降，$\eta=10^{-4}$",
                    r"Adagrad，$\eta=0.1$",
                    r"Adagrad，衰减 $\eta^t=1/\sqrt{t+1}$",
                ),
                strict=True,
            )
        ),
        "end": "{label}：最后离最小值 {distance}",
        "w1": "参数 $w_1$（沿谷底）",
        "w2": "参数 $w_2$（横跨山谷）",
        "start": "起点",
        "minimum": "最小值",
        "t": "更新次数 $t+1$",
        "loss": "损失 $L$",
        "paths": "等高线上的路径",
        "curves": "损失随更新次数的变化",
        "burst": "Adagrad 最大的一次爆发：\n第 {t:,} 次更新，离谷底 {off:.2f}",
    },
    "en": {
        "methods": dict(
            zip(
                METHODS,
                (
                    r"gradient descent, $\eta=0.0199$",
                    r"gradient descent, $\eta=10^{-4}$",
                    r"Adagrad, $\eta=0.1$",
                    r"Adagrad, decay $\eta^t=1/\sqrt{t+1}$",
                ),
                strict=True,
            )
        ),
        "end": "{label}: ends {distance} from the minimum",
        "w1": "parameter $w_1$ (along the floor)",
        "w2": "parameter $w_2$ (across the valley)",
        "start": "start",
        "minimum": "minimum",
        "t": "update $t+1$",
        "loss": "loss $L$",
        "paths": "paths over the contours",
        "curves": "loss against the update",
        "burst": "Adagrad's largest burst:\nupdate {t:,}, {off:.2f} off the floor",
    },
}


def loss(w1, w2):
    return 0.5 * (H1 * w1**2 + H2 * (w2 - C * w1) ** 2)


def run(make_optimizer, steps: int, device: torch.device) -> np.ndarray:
    """The parameters after every update (row 0: the start).

    The gradient of this quadratic is written out, (H1 w1 - C H2 r, H2 r) with r = w2 - C w1, and
    set directly instead of running autograd: the 100,000 updates of the full mode take seconds.
    """
    w = torch.tensor(START, dtype=torch.float64, device=device)
    w.grad = torch.zeros_like(w)
    opt = make_optimizer([w])
    path = np.empty((steps + 1, 2))
    path[0] = START
    for t in range(steps):
        w1, w2 = path[t]
        r = w2 - C * w1
        w.grad.copy_(torch.tensor((H1 * w1 - C * H2 * r, H2 * r), dtype=torch.float64))
        opt.step()
        path[t + 1] = w.tolist()
    return path


def scientific(x: float) -> str:
    """``x`` to two significant figures, as math: 6.6, or 8.3\\times10^{-5} below 0.01."""
    if x >= 0.01:
        return f"${x:.3g}$"
    mantissa, exponent = f"{x:.1e}".split("e")
    return rf"${mantissa}\times10^{{{int(exponent)}}}$"


def figure(paths: dict[str, np.ndarray], summary: dict[str, dict[str, float]], language: str):
    """The paths over the contours and the loss against the update, in ``language``."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.6, height=4.0)
    w1, w2 = np.meshgrid(np.linspace(-1, 9, 300), np.linspace(-1.3, 1.3, 300))
    left.contour(w1, w2, loss(w1, w2), levels=np.geomspace(1e-4, 100, 12), colors="0.75", linewidths=0.6)
    for (key, path), color in zip(paths.items(), COLORS, strict=True):
        # every few-hundredth point, and every point off the floor: a burst lasts a few updates only
        regular = np.arange(0, len(path), max(1, len(path) // 5000))
        off_floor = np.flatnonzero(np.abs(path[:, 1] - C * path[:, 0]) > 0.01)
        shown = path[np.union1d(np.union1d(regular, off_floor), [len(path) - 1])]
        label = text["end"].format(label=text["methods"][key], distance=scientific(summary[key]["distance"]))
        left.plot(shown[:, 0], shown[:, 1], color=color, lw=0.8, label=label)
        losses = loss(path[:, 0], path[:, 1])
        right.loglog(np.arange(1, len(losses) + 1), np.maximum(losses, 1e-16), color=color, lw=0.9)
    left.plot([0], [0], "k*", ms=8)
    left.annotate(
        text["minimum"],
        (0, 0),
        xytext=(0, -0.8),
        ha="center",
        va="top",
        fontsize=8,
        arrowprops={"arrowstyle": "-", "color": "0.3", "lw": 0.7, "shrinkB": 5},
    )
    left.plot([START[0]], [START[1]], "ko", ms=4)
    left.annotate(
        text["start"], START, xytext=(0, 6), textcoords="offset points", ha="center", va="bottom", fontsize=8
    )
    left.set(xlabel=text["w1"], ylabel=text["w2"], xlim=(-1, 9), ylim=(-1.3, 1.3))
    left.set_title(text["paths"], fontsize=9)
    burst = summary[BURSTING]
    t, at = burst["burst_at"], paths[BURSTING][burst["burst_at"]]
    ring = {"marker": "o", "ms": 9, "mfc": "none", "mec": "tab:blue", "mew": 1.2, "ls": "none"}
    left.plot([at[0]], [at[1]], **ring)
    right.plot([t + 1], [loss(*at)], **ring)
    right.annotate(
        text["burst"].format(t=t, off=burst["largest_burst"]),
        (t + 1, loss(*at)),
        xytext=(0.04, 0.45),
        textcoords="axes fraction",
        ha="left",
        va="center",
        fontsize=7.5,
        color="tab:blue",
        arrowprops={"arrowstyle": "->", "color": "tab:blue", "lw": 0.8, "relpos": (0.6, 1.0), "shrinkB": 6},
    )
    right.set(xlabel=text["t"], ylabel=text["loss"], ylim=(1e-16, 1e2))
    right.set_title(text["curves"], fontsize=9)
    fig.legend(loc="outside lower center", ncol=2, fontsize=7.5)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    steps = 2500 if args.quick else 100_000
    print(f"device: {args.device}; H1 = {H1}, H2 = {H2}, C = {C}; start {START}; {steps:,} updates each")
    paths, summary = {}, {}
    for label, make in METHODS.items():
        path = paths[label] = run(make, steps, args.device)
        off_floor = np.abs(path[:, 1] - C * path[:, 0])
        late = off_floor[200:]  # after the first drop to the floor
        summary[label] = {
            "distance": float(np.hypot(*path[-1])),
            "loss": float(loss(*path[-1])),
            "largest_burst": float(late.max()),
            "burst_at": int(late.argmax()) + 200,
        }
        s = summary[label]
        print(
            f"{label:<32} distance to the minimum {s['distance']:.3g}, loss {s['loss']:.3g}; after update 200"
            f" the largest distance from the floor is {s['largest_burst']:.3g} (update {s['burst_at']})"
        )
    written = save_figures(lambda language: figure(paths, summary, language), args.out, "convex_valley")
    for path in written:
        print(f"wrote {path}")
    return {"summary": summary, "figures": written}


if __name__ == "__main__":
    main()
