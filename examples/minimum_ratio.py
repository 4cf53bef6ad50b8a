"""The minimum-ratio experiment: where training stops, how many Hessian eigenvalues are positive (S2.6).

Many small networks (1-6-6-1, tanh, 61 parameters, float64) are trained on the same 100 points of
y = sin 2x + noise (standard deviation 0.1), each from its own random initialization, in three phases
that drive the gradient norm down as far as they can:

1. Adam (learning rate 0.01), full batch;
2. L-BFGS with a strong Wolfe line search on the loss (torch.optim.LBFGS);
3. Levenberg-Marquardt on ||grad L||^2 / 2 with the exact Hessian: the step
   d = -(H^2 + mu I)^-1 H g is Newton's method for grad L = 0 when mu is small. It is attracted by
   any critical point, saddle points included.

Adam alone stalls around ||g|| ~ 1e-3 here. Points that end with ||g|| below 1e-4 count as critical.
At each, the exact Hessian (mlnotes.hessian) is diagonalized, and its eigenvalues are sorted with an
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

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils import vector_to_parameters
from tqdm import tqdm

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.derivatives import ModuleLoss, gradient, hessian
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


def train_to_critical_point(seed: int, x, y, adam_steps: int, lbfgs_steps: int, lm_steps: int) -> nn.Module:
    net = network(seed)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(adam_steps):
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    params = list(net.parameters())
    lbfgs = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=lbfgs_steps,
        max_eval=2 * lbfgs_steps,
        history_size=100,
        tolerance_grad=1e-12,
        tolerance_change=0.0,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        lbfgs.zero_grad()
        value = nn.functional.mse_loss(net(x), y)
        value.backward()
        return value

    lbfgs.step(closure)
    loss = ModuleLoss(net, nn.MSELoss(), x, y)
    theta = loss.theta
    g, mu = gradient(loss, theta), 1e-6
    for _ in range(lm_steps):
        norm = float(torch.linalg.vector_norm(g))
        if norm < 1e-13:
            break
        lam, q = torch.linalg.eigh(hessian(loss, theta))
        for _ in range(60):
            d = -q @ ((lam / (lam**2 + mu)) * (q.T @ g))
            g_new = gradient(loss, theta + d)
            if float(torch.linalg.vector_norm(g_new)) < norm:
                theta, g, mu = theta + d, g_new, max(mu / 3, 1e-15)
                break
            mu *= 4
        else:
            break
    vector_to_parameters(theta, net.parameters())
    return net


def analyze(net: nn.Module, x, y) -> dict[str, float]:
    loss = ModuleLoss(net, nn.MSELoss(), x, y)
    theta = loss.theta
    g = gradient(loss, theta)
    eigenvalues = torch.linalg.eigvalsh(hessian(loss, theta))
    return {
        "loss": float(loss(theta)),
        "gradient_norm": float(torch.linalg.vector_norm(g)),
        "minimum_ratio": float((eigenvalues > ZERO_TOL).double().mean()),
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
    for k in tqdm(range(nets), unit="network", leave=False):
        result = analyze(train_to_critical_point(args.seed + 1000 * k, x, y, adam, lbfgs, lm), x, y)
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
