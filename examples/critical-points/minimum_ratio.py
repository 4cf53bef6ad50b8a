"""The minimum-ratio experiment: where training stops, how many Hessian eigenvalues are positive.

Book: critical-points#minimum-ratio.

Many small networks (1-6-6-1, tanh, 61 parameters, float64) are trained on the same 100 points of
y = sin 2x + noise (standard deviation 0.1), each from its own random initialization, in three phases
that drive the gradient norm down as far as they can:

1. Adam (learning rate 0.01), full batch;
2. L-BFGS on the loss (the last 100 curvature pairs, a backtracking line search);
3. Levenberg-Marquardt on ||grad L||^2 / 2 with the exact Hessian: the step
   d = -(H^2 + mu I)^-1 H g is Newton's method for grad L = 0 when mu is small. It is attracted by
   any critical point, saddle points included.

The networks are trained side by side: row k of one (networks, 61) tensor holds network k's
parameters, and torch.func.vmap computes every row's loss, gradient and Hessian in one call. Each
phase treats every row as its own problem (its own Adam moments, its own L-BFGS pairs and line
search, its own damping mu), so a network's path is the one it would take alone, and the run takes
well under a minute instead of minutes. Adam is ``mlnotes.Adam``, whose update is elementwise and
so each row's own; L-BFGS and Levenberg-Marquardt are written here, on the rows, because
``torch.optim.LBFGS`` would treat all rows as one problem with one line search.

Adam alone stalls around ||g|| ~ 1e-3 here. Points that end with ||g|| below 1e-4 count as critical.
At each, mlnotes.analyze_point diagonalizes the exact Hessian, and its eigenvalues are sorted with an
absolute tolerance tol = 1e-4 into positive (> tol), zero (|lambda| <= tol) and negative (< -tol).
The **minimum ratio** is the share of positive eigenvalues; a point with no negative eigenvalue
passes the second-order test for a minimum, up to its zero eigenvalues, about which the test says
nothing.

- minimum_ratio.zh.svg, minimum_ratio.en.svg: left, training loss against minimum ratio, one point
  per network, with the range of the ratios marked; right, how many of the 61 eigenvalues were
  positive, zero and negative at each point, with the range of the zero and negative counts; in
  Chinese and in English.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.critical_points import NotCriticalPointWarning, analyze_point
from mlnotes.derivatives import ModuleLoss
from mlnotes.optim import Adam
from mlnotes.plotting import new_figure, save_figures

WIDTH, POINTS, ZERO_TOL, CRITICAL = 6, 100, 1e-4, 1e-4
LECTURE_RATIOS = (0.5, 0.6)  # the largest minimum ratios of the lecture's figure, about

TEXT = {
    "zh": {
        "minimum": "无负特征值",
        "saddle": "有负特征值",
        "ratio": "最小值比例（正特征值所占比例）",
        "loss": "训练损失 $L$",
        "lecture": "课程中的实验：\n最高约 0.5–0.6",
        "range": "灰色带：最小值比例\n在 {low:.2f} 到 {high:.2f} 之间",
        "networks": "网络（按最小值比例排序）",
        "count": "特征值个数（共 {n} 个）",
        "positive": "正特征值",
        "zero": r"零特征值（$|\lambda| \leq 10^{-4}$）",
        "negative": "负特征值",
        "counts": "每个点：零特征值 {z0}–{z1} 个，负特征值 {n0}–{n1} 个",
        "title": "{points} 个网络到达 $\\|\\mathbf{{g}}\\| < 10^{{-4}}$",
    },
    "en": {
        "minimum": "no negative eigenvalue",
        "saddle": "negative eigenvalues",
        "ratio": "minimum ratio (share of positive eigenvalues)",
        "loss": "training loss $L$",
        "lecture": "the lecture's experiment:\nup to about 0.5–0.6",
        "range": "grey band: minimum ratio\nfrom {low:.2f} to {high:.2f}",
        "networks": "networks, sorted by minimum ratio",
        "count": "number of eigenvalues (of {n})",
        "positive": "positive",
        "zero": r"zero ($|\lambda| \leq 10^{-4}$)",
        "negative": "negative",
        "counts": "per point: {z0}–{z1} zero eigenvalues, {n0}–{n1} negative",
        "title": "{points} networks reached $\\|\\mathbf{{g}}\\| < 10^{{-4}}$",
    },
}


def task(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(POINTS, 1, generator=gen, dtype=torch.float64) * 4 - 2
    return x, torch.sin(2 * x) + 0.1 * torch.randn(POINTS, 1, generator=gen, dtype=torch.float64)


def network(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(1, WIDTH), nn.Tanh(), nn.Linear(WIDTH, WIDTH), nn.Tanh(), nn.Linear(WIDTH, 1)
    ).double()


def loss_of(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean squared error of ``network(...)`` with its 61 parameters set to ``theta``, for every
    row of ``theta`` (shape (..., 61), in the order of ``network(...).parameters()``: each layer's
    weight, then its bias)."""
    w, lead = WIDTH, theta.shape[:-1]
    w1, b1 = theta[..., :w].reshape(*lead, w, 1), theta[..., None, w : 2 * w]
    w2 = theta[..., 2 * w : 2 * w + w * w].reshape(*lead, w, w)
    b2 = theta[..., None, 2 * w + w * w : 3 * w + w * w]
    w3, b3 = theta[..., 3 * w + w * w : 4 * w + w * w].reshape(*lead, 1, w), theta[..., None, 4 * w + w * w :]
    hidden = torch.tanh(torch.tanh(x @ w1.transpose(-1, -2) + b1) @ w2.transpose(-1, -2) + b2)
    return torch.mean((hidden @ w3.transpose(-1, -2) + b3 - y) ** 2, dim=(-2, -1))


class Networks:
    """All the networks at once: row ``k`` of a (networks, 61) tensor is network ``k``'s parameters.

    One batched forward pass gives every row's loss, and autograd every row's gradient (a row's
    loss depends on that row only); ``torch.func.vmap`` gives every row's Hessian. A row's numbers
    are those of its own network alone (``mlnotes.derivatives`` gives the same ones per network).
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y
        self.hessian = torch.func.vmap(torch.func.hessian(functools.partial(loss_of, x=x, y=y)))

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        return loss_of(theta, self.x, self.y)

    def loss_and_gradient(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            theta = theta.detach().requires_grad_()
            value = self.loss(theta)
            (grad,) = torch.autograd.grad(value.sum(), theta)
        return grad, value.detach()

    def gradient(self, theta: torch.Tensor) -> torch.Tensor:
        return self.loss_and_gradient(theta)[0]


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(1)


def lbfgs(nets: Networks, theta: torch.Tensor, iterations: int, history: int = 100) -> torch.Tensor:
    """L-BFGS on every row's loss at once, each row with its own curvature pairs and its own
    backtracking line search (Armijo's condition, halving the step); returns the final rows.

    The direction is the two-loop recursion of Nocedal & Wright (2006, Algorithm 7.4) over the last
    ``history`` pairs, scaled by s.y / y.y of the newest pair. A pair with s.y <= 0 is not kept (the
    row's slot holds zeros, which the recursion passes over), and a row whose line search fails, or
    whose gradient is below 1e-13, stays where it is.
    """
    grad, value = nets.loss_and_gradient(theta)
    pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    scale = torch.ones_like(value)
    for _ in range(iterations):
        q, alphas = grad.clone(), []
        for s, y, rho in reversed(pairs):
            alpha = rho * dot(s, q)
            q -= alpha[:, None] * y
            alphas.append(alpha)
        z = scale[:, None] * q
        for (s, y, rho), alpha in zip(pairs, reversed(alphas), strict=True):
            z += s * (alpha - rho * dot(y, z))[:, None]
        direction = -z
        slope = dot(grad, direction)
        downhill = slope < 0
        direction = torch.where(downhill[:, None], direction, -grad)  # else steepest descent
        slope = torch.where(downhill, slope, -dot(grad, grad))
        moving = torch.linalg.vector_norm(grad, dim=1) >= 1e-13
        if not bool(moving.any()):
            break
        step = torch.ones_like(value)
        if not pairs:  # the first step, as torch.optim.LBFGS takes it: at most 1 / ||g||_1
            step = torch.clamp(1.0 / grad.abs().sum(1), max=1.0)
        new_theta, new_grad, new_value = theta.clone(), grad.clone(), value.clone()
        searching = moving.clone()
        for _ in range(40):
            trial = theta + step[:, None] * direction
            trial_grad, trial_value = nets.loss_and_gradient(trial)
            ok = searching & (trial_value <= value + 1e-4 * step * slope) & torch.isfinite(trial_value)
            new_theta[ok], new_grad[ok], new_value[ok] = trial[ok], trial_grad[ok], trial_value[ok]
            searching &= ~ok
            if not bool(searching.any()):
                break
            step = torch.where(searching, step / 2, step)
        s, y = new_theta - theta, new_grad - grad
        sy = dot(s, y)
        keep = sy > 1e-300
        pairs.append(
            (
                torch.where(keep[:, None], s, 0.0),
                torch.where(keep[:, None], y, 0.0),
                torch.where(keep, 1.0 / torch.where(keep, sy, 1.0), 0.0),
            )
        )
        pairs = pairs[-history:]
        scale = torch.where(keep, sy / torch.where(keep, dot(y, y), 1.0), scale)
        theta, grad, value = new_theta, new_grad, new_value
    return theta


def levenberg_marquardt(nets: Networks, theta: torch.Tensor, steps: int) -> torch.Tensor:
    """Levenberg-Marquardt on ||grad L||^2 / 2 for every row: d = -(H^2 + mu I)^-1 H g with the exact
    Hessian, mu divided by 3 after a step that lowers ||g|| and multiplied by 4 (up to 60 times)
    until one does; a row that finds no such step, or whose ||g|| is below 1e-13, stops."""
    grad = nets.gradient(theta)
    mu = torch.full_like(theta[:, 0], 1e-6)
    active = torch.ones_like(mu, dtype=torch.bool)
    for _ in range(steps):
        norm = torch.linalg.vector_norm(grad, dim=1)
        active &= norm >= 1e-13
        if not bool(active.any()):
            break
        lam, q = torch.linalg.eigh(nets.hessian(theta))
        waiting = active.clone()
        for _ in range(60):
            coefficients = (lam / (lam**2 + mu[:, None])) * (q.transpose(1, 2) @ grad[:, :, None])[..., 0]
            trial = theta - (q @ coefficients[:, :, None])[..., 0]
            trial_grad = nets.gradient(trial)
            ok = waiting & (torch.linalg.vector_norm(trial_grad, dim=1) < norm)
            theta, grad = torch.where(ok[:, None], trial, theta), torch.where(ok[:, None], trial_grad, grad)
            mu = torch.where(ok, torch.clamp(mu / 3, min=1e-15), mu)
            waiting &= ~ok
            if not bool(waiting.any()):
                break
            mu = torch.where(waiting, mu * 4, mu)
        active &= ~waiting
    return theta


def train_to_critical_points(
    seeds: Sequence[int], x, y, adam_steps: int, lbfgs_steps: int, lm_steps: int
) -> list[nn.Module]:
    """Every seed's network after the three phases, all networks trained side by side."""
    nets = Networks(x, y)
    theta = torch.stack([parameters_to_vector(network(seed).parameters()).detach() for seed in seeds])
    adam = Adam([theta], lr=0.01)  # elementwise: each row's Adam is its network's own
    for _ in range(adam_steps):
        theta.grad = nets.gradient(theta)
        adam.step()
    theta = lbfgs(nets, theta.detach(), lbfgs_steps)
    theta = levenberg_marquardt(nets, theta, lm_steps)
    trained = []
    for seed, row in zip(seeds, theta, strict=True):
        net = network(seed)
        vector_to_parameters(row, net.parameters())
        trained.append(net)
    return trained


def analyze(net: nn.Module, x, y) -> dict[str, float]:
    """What ``mlnotes.analyze_point`` reports at the trained weights, with this experiment's tolerances.

    The points that stalled above the gradient threshold are analysed too (and left out of the
    figure by the caller), so the warning that the eigenvalue test does not apply there is expected.
    """
    loss = ModuleLoss(net, nn.MSELoss(), x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotCriticalPointWarning)
        report = analyze_point(loss, loss.theta, tol=ZERO_TOL, grad_tol=CRITICAL, require_critical=False)
    eigenvalues = report.eigenvalues
    return {
        "loss": report.loss,
        "gradient_norm": report.grad_norm,
        "minimum_ratio": report.min_ratio,
        "positive": int((eigenvalues > ZERO_TOL).sum()),
        "negative": int((eigenvalues < -ZERO_TOL).sum()),
        "zero": int((eigenvalues.abs() <= ZERO_TOL).sum()),
        "smallest": float(eigenvalues[0]),
        "largest": float(eigenvalues[-1]),
    }


def figure(points: list[dict[str, float]], n: int, language: str):
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.5, height=3.8)
    ratio = np.array([p["minimum_ratio"] for p in points])
    loss = np.array([p["loss"] for p in points])
    minimum = np.array([p["negative"] == 0 for p in points], dtype=bool)
    left.plot(ratio[minimum], loss[minimum], "o", color="tab:blue", ms=4, alpha=0.7, label=text["minimum"])
    left.plot(ratio[~minimum], loss[~minimum], "x", color="tab:red", ms=5, label=text["saddle"])
    if len(points):
        left.axvspan(ratio.min(), ratio.max(), color="0.85", alpha=0.6, lw=0, zorder=0)
        left.text(
            ratio.max() + 0.03,
            0.5,
            text["range"].format(low=ratio.min(), high=ratio.max()),
            transform=left.get_xaxis_transform(),
            ha="left",
            va="center",
            fontsize=7.5,
        )
    left.axvspan(*LECTURE_RATIOS, ymax=0.035, color="tab:orange", lw=0)
    left.text(
        sum(LECTURE_RATIOS) / 2,
        0.05,
        text["lecture"],
        transform=left.get_xaxis_transform(),
        ha="center",
        va="bottom",
        fontsize=7.5,
        color="tab:orange",
    )
    left.set(xlabel=text["ratio"], ylabel=text["loss"], xlim=(0, 1))
    left.legend(fontsize=8, loc="upper right")
    left.set_title(text["title"].format(points=len(points)), fontsize=9)
    order = np.argsort(ratio, kind="stable")
    index = np.arange(len(points))
    counts = {
        key: np.array([points[i][key] for i in order], dtype=int) for key in ("positive", "zero", "negative")
    }
    right.bar(index, counts["positive"], color="tab:blue", width=1.0, label=text["positive"])
    right.bar(index, counts["zero"], bottom=counts["positive"], color="0.75", width=1.0, label=text["zero"])
    right.bar(
        index,
        counts["negative"],
        bottom=counts["positive"] + counts["zero"],
        color="tab:red",
        width=1.0,
        label=text["negative"],
    )
    right.set(xlabel=text["networks"], ylabel=text["count"].format(n=n), ylim=(0, n), xticks=[])
    right.legend(fontsize=8, loc="lower right", framealpha=0.9)
    if len(points):
        right.set_title(
            text["counts"].format(
                z0=counts["zero"].min(),
                z1=counts["zero"].max(),
                n0=counts["negative"].min(),
                n1=counts["negative"].max(),
            ),
            fontsize=9,
        )
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    nets, adam, lbfgs, lm = (3, 200, 200, 10) if args.quick else (60, 500, 1000, 50)
    x, y = task(args.seed)
    n = sum(p.numel() for p in network(0).parameters())
    print(f"{nets} networks 1-{WIDTH}-{WIDTH}-1 ({n} parameters), {POINTS} points; Adam {adam} steps,")
    print(f"L-BFGS on the loss ({lbfgs} iterations), Levenberg-Marquardt on ||g||^2 / 2 ({lm} steps)")
    print(f"critical: ||g|| < {CRITICAL:g}; eigenvalues with |lambda| <= {ZERO_TOL:g} count as zero")
    print("(small float64 networks: the CPU is used; --device is not)")
    points, stalled = [], []
    seeds = [args.seed + 1000 * k for k in range(nets)]
    for net in train_to_critical_points(seeds, x, y, adam, lbfgs, lm):
        result = analyze(net, x, y)
        (points if result["gradient_norm"] < CRITICAL else stalled).append(result)
    minima = sum(p["negative"] == 0 for p in points)
    print(f"reached ||g|| < {CRITICAL:g}: {len(points)} of {nets} (the others are left out)")
    if points:
        ratios = [p["minimum_ratio"] for p in points]
        norms = [p["gradient_norm"] for p in points]
        print(f"gradient norm at the points: median {np.median(norms):.1e}, largest {max(norms):.1e}")
        print(
            f"minimum ratio: smallest {min(ratios):.3f}, median {np.median(ratios):.3f},"
            f" largest {max(ratios):.3f}"
        )
        for key in ("positive", "zero", "negative"):
            values = [p[key] for p in points]
            print(
                f"{key} eigenvalues per point: median {np.median(values):.0f},"
                f" range {min(values)}-{max(values)}"
            )
        print(f"points with no negative eigenvalue: {minima} of {len(points)}")
    paths = save_figures(lambda language: figure(points, n, language), args.out, "minimum_ratio")
    for path in paths:
        print(f"wrote {path}")
    return {"points": points, "stalled": stalled, "minima": minima, "parameters": n, "figures": paths}


if __name__ == "__main__":
    main()
