"""A long, narrow convex valley: one rate fails; momentum, Adagrad, RMSProp, Adam, decay.

Book: batch-and-momentum#momentum-valley, adaptive-learning-rate#convex-valley,
adaptive-learning-rate#valley-rmsprop-adam.

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

The same valley for momentum (the batch-and-momentum chapter) and for RMSProp and Adam (the
adaptive-learning-rate chapter):

- heavy-ball momentum (the lecture's form, mlnotes.optim.Momentum) at the same eta = 0.0199 with
  beta = 0.9 and 0.99. On a quadratic each eigen-direction of the Hessian, with eigenvalue lambda,
  obeys u^{t+1} = (1 + beta - eta lambda) u^t - beta u^{t-1}; the larger root |z| of
  z^2 - (1 + beta - eta lambda) z + beta predicts how fast the distance shrinks, and the script prints
  that prediction beside the measurement. Along the floor z is about 1 - eta lambda / (1 - beta):
  the rate is multiplied by the window 1 / (1 - beta) of the moving average, while across the valley
  the oscillation decays;
- the lecture's RMSProp and Adam at a constant eta = 0.1: RMSProp divides each step by the size of
  the recent gradients, so near the minimum every coordinate still moves by eta per update and ends
  in a two-cycle between +eta/2 and -eta/2, a distance eta / sqrt(2) from the minimum; Adam gets
  far closer but, at a constant rate, keeps jumping out again (the script reports the largest
  distance in the last 10% of the updates);
- the same two with a cosine decay of eta from 0.1 to 0 over the run: both converge.

- convex_valley.zh.svg, convex_valley.en.svg: the four paths over the contours, with the start and
  the minimum marked and each method's final distance to the minimum in the legend, and the loss
  against the update, with Adagrad's largest burst marked;
- convex_valley_momentum.zh.svg, convex_valley_momentum.en.svg: gradient descent and momentum over
  the contours, and the distance to the minimum against the update with the predicted rates dotted;
- convex_valley_adaptive.zh.svg, convex_valley_adaptive.en.svg: RMSProp and Adam with and without
  the decay over the contours, with the neighbourhood of the minimum enlarged, and the distance to
  the minimum against the update with eta / sqrt(2) marked; each in Chinese and in English.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.optim import Adagrad, Adam, GradientDescent, Momentum, RMSProp
from mlnotes.plotting import new_figure, save_figures
from mlnotes.schedules import CosineDecay, InverseSqrtDecay

H1, H2, C = 1e-4, 100.0, 0.003
START = (8.0, 1.0 + 8 * C)

# Each run: the optimizer class and its settings (a parameter group of that class).
METHODS = {
    r"$\eta=0.0199$": (GradientDescent, {"lr": 0.0199}),
    r"$\eta=10^{-4}$": (GradientDescent, {"lr": 1e-4}),
    r"Adagrad, $\eta=0.1$": (Adagrad, {"lr": 0.1}),
    r"Adagrad, $\eta^t=1/\sqrt{t+1}$": (Adagrad, {"lr": InverseSqrtDecay(1.0)}),
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


# The same valley for momentum: gradient descent at the largest stable rate beside heavy-ball momentum.
ETA = 0.0199
MOMENTUM = {  # beta = 0 is gradient descent, the first run of METHODS
    r"$\beta=0.9$": (Momentum, {"lr": ETA, "momentum": 0.9}),
    r"$\beta=0.99$": (Momentum, {"lr": ETA, "momentum": 0.99}),
}
MOMENTUM_COLORS = ("tab:red", "tab:orange", "tab:purple")

# RMSProp and Adam at a constant rate, and with a cosine decay to 0 over the run.
ADAPTIVE_ETA = 0.1


def adaptive_methods(steps: int) -> dict[str, tuple[type, dict[str, object]]]:
    """RMSProp and Adam at eta = 0.1, constant and with a cosine decay to 0 over ``steps`` updates."""
    return {
        "RMSProp": (RMSProp, {"lr": ADAPTIVE_ETA}),
        "Adam": (Adam, {"lr": ADAPTIVE_ETA}),
        "RMSProp, cosine": (RMSProp, {"lr": CosineDecay(ADAPTIVE_ETA, steps)}),
        "Adam, cosine": (Adam, {"lr": CosineDecay(ADAPTIVE_ETA, steps)}),
    }


ADAPTIVE_STYLE = (("tab:blue", "-"), ("tab:brown", "-"), ("tab:cyan", "--"), ("tab:olive", "--"))

_MOMENTUM_AND_ADAPTIVE_TEXT = {
    "zh": {
        "gd": r"梯度下降，$\eta=0.0199$",
        "momentum": r"动量 {beta}，$\eta=0.0199$",
        "predicted": r"由特征根预测：$8\,|z|^t$",
        "distance": "离最小值的距离",
        "distances": "离最小值的距离随更新次数的变化",
        "adaptive": {
            "RMSProp": r"RMSProp，$\eta=0.1$",
            "Adam": r"Adam，$\eta=0.1$",
            "RMSProp, cosine": r"RMSProp，余弦衰减",
            "Adam, cosine": r"Adam，余弦衰减",
        },
        "jitter": r"$\eta/\sqrt{2}$",
        "zoom": "最小值附近（放大）",
    },
    "en": {
        "gd": r"gradient descent, $\eta=0.0199$",
        "momentum": r"momentum {beta}, $\eta=0.0199$",
        "predicted": r"predicted from the roots: $8\,|z|^t$",
        "distance": "distance to the minimum",
        "distances": "distance to the minimum against the update",
        "adaptive": {
            "RMSProp": r"RMSProp, $\eta=0.1$",
            "Adam": r"Adam, $\eta=0.1$",
            "RMSProp, cosine": "RMSProp, cosine decay",
            "Adam, cosine": "Adam, cosine decay",
        },
        "jitter": r"$\eta/\sqrt{2}$",
        "zoom": "near the minimum (enlarged)",
    },
}
for _language, _words in _MOMENTUM_AND_ADAPTIVE_TEXT.items():
    TEXT[_language].update(_words)  # one table of words per language for all three figures


def hessian() -> np.ndarray:
    """The Hessian of the valley's loss, the same at every point."""
    return np.array([[H1 + C**2 * H2, -C * H2], [-C * H2, H2]])


def momentum_rate(eta: float, beta: float, lam: float) -> float:
    """The factor by which heavy-ball momentum shrinks a direction of curvature ``lam`` per update.

    In that direction u^{t+1} = (1 + beta - eta lam) u^t - beta u^{t-1}; the factor is the larger
    modulus of the roots of z^2 - (1 + beta - eta lam) z + beta (beta = 0: gradient descent, 1 - eta lam).
    """
    return float(np.abs(np.roots([1.0, -(1.0 + beta - eta * lam), beta])).max())


def loss(w1, w2):
    return 0.5 * (H1 * w1**2 + H2 * (w2 - C * w1) ** 2)


def _lecture_rule(kind: type, settings: dict[str, object]):
    """One update of ``kind`` (an mlnotes.optim class) on one coordinate, written out on Python floats.

    Returns ``(new_state, update)``: ``new_state()`` is the optimizer state of one coordinate, and
    ``update(w, g, state, lr, t)`` returns the coordinate after update ``t`` at the learning rate ``lr``.
    Each line is the arithmetic of the class's ``_update``, in the same order (tested against the class).
    """
    known = {"lr", *getattr(kind, "hyperparameters", {})} - {"bias_correction"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"methods: {kind.__name__} settings {unknown} have no written-out update here")
    if kind is GradientDescent:
        return list, lambda w, g, state, lr, t: w + -lr * g
    if kind is Momentum:
        beta = float(settings["momentum"])

        def momentum(w, g, state, lr, t):
            state[0] = state[0] * beta + -lr * g
            return w + state[0]

        return lambda: [0.0], momentum
    if kind is Adagrad:
        eps = float(settings.get("eps", 1e-10))

        def adagrad(w, g, state, lr, t):
            state[0] += g * g
            return w + -lr * g / (math.sqrt(state[0] / (t + 1)) + eps)  # addcdiv: (value t1) / t2

        return lambda: [0.0], adagrad
    if kind is RMSProp:
        alpha, eps = float(settings.get("alpha", 0.99)), float(settings.get("eps", 1e-8))

        def rmsprop(w, g, state, lr, t):
            state[0] = g * g if t == 0 else state[0] * alpha + (1 - alpha) * g * g
            return w + -lr * g / (math.sqrt(state[0]) + eps)

        return lambda: [0.0], rmsprop
    if kind is Adam:
        beta1, beta2 = settings.get("betas", (0.9, 0.999))
        eps = float(settings.get("eps", 1e-8))
        weight = 1 - beta1

        def adam(w, g, state, lr, t):
            m, v = state
            # torch.lerp's two forms, chosen by the weight as torch chooses them
            m = m + weight * (g - m) if weight < 0.5 else g - (g - m) * (1 - weight)
            v = v * beta2 + (1 - beta2) * g * g
            state[0], state[1] = m, v
            denom = math.sqrt(v) / math.sqrt(1 - beta2 ** (t + 1)) + eps
            return w + -(lr / (1 - beta1 ** (t + 1))) * m / denom

        return lambda: [0.0, 0.0], adam
    raise ValueError(f"methods: no written-out update for {kind.__name__}; use one of mlnotes.optim's five")


def run(
    methods: dict[str, tuple[type, dict[str, object]]],
    steps: int,
    start: tuple[float, float] = START,
) -> dict[str, np.ndarray]:
    """The parameters after every update (row 0: ``start``) of every run in ``methods``.

    Each run is one of mlnotes.optim's optimizers on the two parameters of the valley. With only two
    numbers to move, an optimizer's fixed cost per step would be nearly all of the work (about 100
    microseconds, against 1 for the arithmetic), so the updates are written out on Python floats (see
    ``_lecture_rule``; the tests check them against the classes themselves). The gradient of this
    quadratic is written out too: (H1 w1 - C H2 r, H2 r) with r = w2 - C w1.
    """
    record = np.empty((steps + 1, len(methods), 2))
    for i, (kind, settings) in enumerate(methods.values()):
        new_state, update = _lecture_rule(kind, settings)
        lr = settings["lr"]
        rates = [lr(t) for t in range(steps)] if callable(lr) else [float(lr)] * steps
        w1, w2 = (float(x) for x in start)
        s1, s2 = new_state(), new_state()
        path = [(w1, w2)]
        for t, rate in enumerate(rates):
            r = w2 - C * w1
            g1, g2 = H1 * w1 - C * H2 * r, H2 * r
            w1, w2 = update(w1, g1, s1, rate, t), update(w2, g2, s2, rate, t)
            path.append((w1, w2))
        record[:, i] = path
    return {key: record[:, i] for i, key in enumerate(methods)}


def scientific(x: float) -> str:
    """``x`` to two significant figures, as math: 6.6, or 8.3\\times10^{-5} below 0.01."""
    if x >= 0.01:
        return f"${x:.3g}$"
    mantissa, exponent = f"{x:.1e}".split("e")
    return rf"${mantissa}\times10^{{{int(exponent)}}}$"


def contours(ax, right: float = 9.0) -> None:
    """The valley's contours over the region the paths stay in, up to ``w1 = right``."""
    w1, w2 = np.meshgrid(np.linspace(-1, right, 300), np.linspace(-1.3, 1.3, 300))
    ax.contour(w1, w2, loss(w1, w2), levels=np.geomspace(1e-4, 100, 12), colors="0.75", linewidths=0.6)


def thinned(path: np.ndarray) -> np.ndarray:
    """Every few-hundredth point of ``path``, every point off the floor (a burst or a bounce lasts a
    few updates only) and the last one: what a plot of the path needs."""
    regular = np.arange(0, len(path), max(1, len(path) // 5000))
    off_floor = np.flatnonzero(np.abs(path[:, 1] - C * path[:, 0]) > 0.01)
    return path[np.union1d(np.union1d(regular, off_floor), [len(path) - 1])]


def marks(ax, text: dict[str, str]) -> None:
    """The start and the minimum marked, the axes labelled, on a panel of paths."""
    ax.plot([0], [0], "k*", ms=8)
    ax.annotate(
        text["minimum"],
        (0, 0),
        xytext=(0, -0.8),
        ha="center",
        va="top",
        fontsize=8,
        arrowprops={"arrowstyle": "-", "color": "0.3", "lw": 0.7, "shrinkB": 5},
    )
    ax.plot([START[0]], [START[1]], "ko", ms=4)
    ax.annotate(
        text["start"], START, xytext=(0, 6), textcoords="offset points", ha="center", va="bottom", fontsize=8
    )
    ax.set(xlabel=text["w1"], ylabel=text["w2"], xlim=(-1, 9), ylim=(-1.3, 1.3))
    ax.set_title(text["paths"], fontsize=9)


def distances(path: np.ndarray) -> np.ndarray:
    """The distance to the minimum (the origin) after every update, kept above 1e-32 for log axes."""
    return np.maximum(np.hypot(path[:, 0], path[:, 1]), 1e-32)


def figure(paths: dict[str, np.ndarray], summary: dict[str, dict[str, float]], language: str):
    """The paths over the contours and the loss against the update, in ``language``."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.6, height=4.0)
    contours(left)
    for (key, path), color in zip(paths.items(), COLORS, strict=True):
        label = text["end"].format(label=text["methods"][key], distance=scientific(summary[key]["distance"]))
        left.plot(*thinned(path).T, color=color, lw=0.8, label=label)
        losses = loss(path[:, 0], path[:, 1])
        right.loglog(np.arange(1, len(losses) + 1), np.maximum(losses, 1e-16), color=color, lw=0.9)
    marks(left, text)
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


def momentum_figure(paths: dict[str, np.ndarray], summary: dict[str, dict[str, float]], language: str):
    """Gradient descent and momentum over the contours; their distances with the predicted rates."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.6, height=4.0)
    contours(left)
    for k, ((key, path), color) in enumerate(zip(paths.items(), MOMENTUM_COLORS, strict=True)):
        s = summary[key]
        name = text["gd"] if s["beta"] == 0 else text["momentum"].format(beta=key)
        label = text["end"].format(label=name, distance=scientific(s["distance"]))
        # gradient descent on top of momentum's wider bounce
        left.plot(*thinned(path).T, color=color, lw=0.8, label=label, zorder=3 - k)
        t = np.arange(len(path))
        shown = np.unique(np.geomspace(1, len(path), 4000).astype(int) - 1)
        right.loglog(t[shown] + 1, distances(path)[shown], color=color, lw=0.9)
        predicted = s["start_distance"] * s["rate"] ** t[shown]
        right.loglog(t[shown] + 1, predicted, color="k", lw=1.0, ls=(0, (1, 2)), zorder=3)
    right.plot([], [], color="k", lw=1.0, ls=(0, (1, 2)), label=text["predicted"])
    marks(left, text)
    right.set(xlabel=text["t"], ylabel=text["distance"], ylim=(1e-9, 30))
    right.set_title(text["distances"], fontsize=9)
    fig.legend(loc="outside lower center", ncol=2, fontsize=7.5)
    return fig


def adaptive_figure(paths: dict[str, np.ndarray], summary: dict[str, dict[str, float]], language: str):
    """RMSProp and Adam, constant and decayed, over the contours (the minimum enlarged in an inset),
    and their distances to the minimum with eta / sqrt(2) marked."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.6, height=4.0)
    contours(left, right=10.0)  # the first steps, eta long in each coordinate, carry w1 past 9
    zoom = left.inset_axes((0.07, 0.57, 0.34, 0.35))
    half = 1.6 * ADAPTIVE_ETA / 2
    for (key, path), (color, ls) in zip(paths.items(), ADAPTIVE_STYLE, strict=True):
        label = text["end"].format(label=text["adaptive"][key], distance=scientific(summary[key]["distance"]))
        decayed = ls != "-"  # the decayed runs thinner and below the constant-rate ones
        left.plot(
            *thinned(path).T, color=color, lw=0.6 if decayed else 0.8, ls=ls, label=label, zorder=2 - decayed
        )
        near = path[np.flatnonzero(np.max(np.abs(path), axis=1) < 1.2 * half)]
        zoom.plot(*near[-400:].T, color=color, lw=0.7, ls=ls, marker=".", ms=2.5)
        t = np.arange(1, len(path) + 1)
        shown = np.unique(np.geomspace(1, len(path), 6000).astype(int) - 1)
        right.loglog(
            t[shown],
            distances(path)[shown],
            color=color,
            lw=0.6 if decayed else 0.8,
            ls=ls,
            zorder=2 - decayed,
        )
    zoom.plot([0], [0], "k*", ms=6)
    zoom.set(xlim=(-half, half), ylim=(-half, half), aspect="equal")
    zoom.set_title(text["zoom"], fontsize=7, pad=2)
    zoom.set(xticks=(-0.05, 0, 0.05), yticks=(-0.05, 0, 0.05))
    zoom.tick_params(labelsize=6)
    marks(left, text)
    left.set_xlim(-1, 10)
    jitter = ADAPTIVE_ETA / np.sqrt(2)
    right.axhline(jitter, color="0.3", lw=0.7, ls=":")
    right.annotate(
        text["jitter"], (1.5, jitter), xytext=(0, 3), textcoords="offset points", fontsize=8, va="bottom"
    )
    right.set(xlabel=text["t"], ylabel=text["distance"], ylim=(1e-32, 30))
    right.set_title(text["distances"], fontsize=9)
    fig.legend(loc="outside lower center", ncol=2, fontsize=7.5)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    steps = 2500 if args.quick else 100_000
    print(
        f"two parameters on Python floats (--device {args.device} is not needed); H1 = {H1}, H2 = {H2},"
        f" C = {C}; start {START}; {steps:,} updates each"
    )
    paths, summary = {}, {}
    every = {**METHODS, **MOMENTUM, **adaptive_methods(steps)}
    every_path = run(every, steps)
    for label in METHODS:
        path = paths[label] = every_path[label]
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

    # momentum at the same rate; gradient descent (beta = 0) is the first run above
    (h_min, h_max), vectors = np.linalg.eigh(hessian())
    start = float(abs(vectors[:, 0] @ START))  # how far the start is along the floor's eigenvector
    momentum_paths, momentum_summary = {}, {}
    for label, (_, settings) in {r"$\beta=0$": (GradientDescent, {}), **MOMENTUM}.items():
        beta = settings.get("momentum", 0.0)
        path = momentum_paths[label] = every_path[r"$\eta=0.0199$" if beta == 0 else label]
        rate = momentum_rate(ETA, beta, h_min)
        momentum_summary[label] = s = {
            "beta": beta,
            "distance": float(np.hypot(*path[-1])),
            "rate": rate,
            "start_distance": start,
            "predicted": start * rate**steps,
            "across_rate": momentum_rate(ETA, beta, h_max),
        }
        print(
            f"momentum beta = {beta:<4}: distance to the minimum {s['distance']:.3g}, predicted from the"
            f" roots {s['predicted']:.3g} (factor per update {rate:.7f} along the floor,"
            f" {s['across_rate']:.4f} across)"
        )
    written += save_figures(
        lambda language: momentum_figure(momentum_paths, momentum_summary, language),
        args.out,
        "convex_valley_momentum",
    )

    adaptive_paths, adaptive_summary = {}, {}
    late = steps - steps // 10
    for label in adaptive_methods(steps):
        path = adaptive_paths[label] = every_path[label]
        d = np.hypot(path[:, 0], path[:, 1])
        off_floor = np.abs(path[200:, 1] - C * path[200:, 0])
        adaptive_summary[label] = s = {
            "largest_burst": float(off_floor.max()),
            "distance": float(d[-1]),
            "late_max": float(d[late:].max()),
            "late_median": float(np.median(d[late:])),
            "end": path[-1].tolist(),
        }
        print(
            f"{label:<16} eta {ADAPTIVE_ETA}: distance to the minimum {s['distance']:.3g} at"
            f" ({s['end'][0]:.3g}, {s['end'][1]:.3g}); in the last {steps - late:,} updates the median"
            f" distance {s['late_median']:.3g}, the largest {s['late_max']:.3g}; after update 200 the largest"
            f" distance from the floor {s['largest_burst']:.3g}"
        )
    print(f"eta / sqrt(2) = {ADAPTIVE_ETA / np.sqrt(2):.4g}")
    written += save_figures(
        lambda language: adaptive_figure(adaptive_paths, adaptive_summary, language),
        args.out,
        "convex_valley_adaptive",
    )
    for path in written:
        print(f"wrote {path}")
    return {
        "summary": summary,
        "momentum": momentum_summary,
        "adaptive": adaptive_summary,
        "figures": written,
    }


if __name__ == "__main__":
    main()
