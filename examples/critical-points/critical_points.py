"""Figures and numbers of the chapter on critical points.

Book: critical-points#taylor-expansion, critical-points#worked-example-gradient, critical-points#saddle-point.

The worked example y = w1 w2 x with one example (x = 1, y_hat = 1), L = (1 - w1 w2)^2:

- critical_points_surface.zh.svg, critical_points_surface.en.svg: the error surface with the saddle
  at the origin (its loss and eigenvalues) and the curve of minima;
- critical_points_taylor.zh.svg, critical_points_taylor.en.svg: the second-order Taylor model against
  the true loss, at the saddle and at a point that is not critical, with the point a short step away
  where the chapter compares the two;
- critical_points_escape.zh.svg, critical_points_escape.en.svg: steps from the saddle along the
  eigenvector of the negative eigenvalue, with the true loss and the Taylor model's prediction after
  each.

Every figure is drawn in Chinese and in English.

Run ``python examples/critical_points.py`` to rewrite the book's figures (``--quick`` for a coarse,
fast version; ``--out DIR`` elsewhere).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from mlnotes import TaylorModel, analyze_point, escape_direction, hessian, product_model_loss
from mlnotes.cli import example_parser, parse_example_args
from mlnotes.plotting import new_figure, save_figures

LIMIT = 2.0  # the plots show w1, w2 in [-LIMIT, LIMIT]
NON_CRITICAL = (0.5, 1.0)  # the second point of the Taylor figure
NEAR = (0.1, -0.1)  # the short step from NON_CRITICAL where the chapter compares L and q
STEP = r"$\boldsymbol{\theta} = \boldsymbol{\theta}' + \eta\,\mathbf{u}$"  # the escape step

TEXT = {
    "zh": {
        "w1": "权重 $w_1$",
        "w2": "权重 $w_2$",
        "minima": r"极小值 $w_1 w_2 = 1$：$L = 0$",
        "saddle": r"鞍点 $(0, 0)$：$L = 1$，$\lambda = \pm 2$",
        "colorbar": r"损失 $\log_{10} L(w_1, w_2)$",
        "surface": r"误差表面 $L = (1 - w_1 w_2)^2$",
        "true": "真实损失 $L$，",
        "model": "泰勒模型 $q$，",
        "t": r"沿直线走的距离 $r$",
        "along": r"沿这条直线的损失",
        "at_saddle": r"鞍点 $\boldsymbol{{\theta}}' = ({a:g}, {b:g})$",
        "at_other": r"不是临界点：$\boldsymbol{{\theta}}' = ({a:g}, {b:g})$",
        "origin": r"$r = 0$：$\boldsymbol{\theta}'$",
        "near": "走一小步 $({a:g}, {b:g})$：\n$L = {loss:.4f}$，$q = {model:.4f}$",
        "step": r"$\eta = {eta:.3g}$：$L = {loss:.3g}$，$q = {model:.3g}$",
        "u": r"$\mathbf{u}$：$\lambda = -2$ 的特征向量",
        "escape": r"从鞍点沿 $\mathbf{u}$ 走一步：" + STEP,
    },
    "en": {
        "w1": "weight $w_1$",
        "w2": "weight $w_2$",
        "minima": r"minima $w_1 w_2 = 1$: $L = 0$",
        "saddle": r"saddle point $(0, 0)$: $L = 1$, $\lambda = \pm 2$",
        "colorbar": r"loss $\log_{10} L(w_1, w_2)$",
        "surface": r"error surface $L = (1 - w_1 w_2)^2$",
        "true": "true loss $L$, ",
        "model": "Taylor model $q$, ",
        "t": r"distance $r$ along the line",
        "along": r"loss along the line",
        "at_saddle": r"saddle point $\boldsymbol{{\theta}}' = ({a:g}, {b:g})$",
        "at_other": r"not a critical point: $\boldsymbol{{\theta}}' = ({a:g}, {b:g})$",
        "origin": r"$r = 0$: $\boldsymbol{\theta}'$",
        "near": "a short step $({a:g}, {b:g})$:\n$L = {loss:.4f}$, $q = {model:.4f}$",
        "step": r"$\eta = {eta:.3g}$: $L = {loss:.3g}$, $q = {model:.3g}$",
        "u": r"$\mathbf{u}$: eigenvector of $\lambda = -2$",
        "escape": r"a step from the saddle along $\mathbf{u}$: " + STEP,
    },
}


def loss_grid(n: int, device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L on an n x n grid over [-LIMIT, LIMIT]^2, as numpy arrays for plotting."""
    w = torch.linspace(-LIMIT, LIMIT, n, dtype=torch.float64, device=device)
    w1, w2 = torch.meshgrid(w, w, indexing="xy")
    loss = product_model_loss(torch.stack([w1, w2], dim=-1))
    return w1.cpu().numpy(), w2.cpu().numpy(), loss.cpu().numpy()


def clean(x: float) -> float:
    """``x``, with rounding noise below 1e-12 shown as 0."""
    return 0.0 if abs(x) < 1e-12 else x


def draw_surface(ax, grid, language: str):
    """Filled log-loss, its contour lines, the curve of minima and the saddle; returns the fill."""
    text = TEXT[language]
    w1, w2, loss = grid
    levels = [0.01, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16]
    # the filled surface is rasterized inside the SVG (a few hundred kB instead of MBs); lines stay vector
    filled = ax.contourf(w1, w2, np.log10(loss + 1e-3), levels=40, cmap="viridis")
    filled.set_rasterized(True)
    ax.contour(w1, w2, loss, levels=levels, colors="white", linewidths=0.5, alpha=0.7)
    branch = np.linspace(1 / LIMIT, LIMIT, 200)
    for sign in (1, -1):
        ax.plot(
            sign * branch,
            sign / branch,
            color="tab:orange",
            lw=2.0,
            label=text["minima"] if sign == 1 else None,
        )
    ax.plot([0], [0], marker="X", ms=11, color="tab:red", ls="none", label=text["saddle"])
    ax.set(xlim=(-LIMIT, LIMIT), ylim=(-LIMIT, LIMIT), aspect="equal", xlabel=text["w1"], ylabel=text["w2"])
    return filled


def surface_figure(grid, language: str):
    text = TEXT[language]
    fig, ax = new_figure(width=5.6, height=4.6)
    filled = draw_surface(ax, grid, language)
    fig.colorbar(filled, ax=ax, label=text["colorbar"])
    ax.legend(loc="upper left", framealpha=0.9, fontsize=8)
    ax.set_title(text["surface"])
    return fig


def taylor_figure(points: int, device: torch.device, language: str):
    text = TEXT[language]
    fig, axes = new_figure(ncols=2, width=4.4, height=3.8)
    t = torch.linspace(-1.5, 1.5, points, dtype=torch.float64, device=device)
    for ax, center in zip(axes, [(0.0, 0.0), NON_CRITICAL], strict=True):
        theta0 = torch.tensor(center, dtype=torch.float64, device=device)
        model = TaylorModel(product_model_loss, theta0)
        for direction, color in (((1.0, 1.0), "tab:blue"), ((1.0, -1.0), "tab:green")):
            d = torch.tensor(direction, dtype=torch.float64, device=device) / math.sqrt(2)
            path = theta0 + t[:, None] * d
            label = rf"$\mathbf{{d}} \propto ({direction[0]:+.0f}, {direction[1]:+.0f})$"
            ax.plot(t.cpu(), product_model_loss(path).cpu(), color=color, lw=2, label=text["true"] + label)
            ax.plot(t.cpu(), model(path).cpu(), color=color, lw=1.5, ls="--", label=text["model"] + label)
        ax.axvline(0, color="gray", lw=0.8)
        ax.annotate(
            text["origin"], (0, -2.5), xytext=(3, 3), textcoords="offset points", fontsize=7.5, color="0.3"
        )
        ax.set(xlabel=text["t"], ylabel=text["along"], ylim=(-2.5, 5))
        kind = "at_saddle" if center == (0.0, 0.0) else "at_other"
        ax.set_title(text[kind].format(a=center[0], b=center[1]), fontsize=9)
        ax.legend(fontsize=7, loc="upper center")
        if center == NON_CRITICAL:
            # the step of the chapter's example: theta' + (0.1, -0.1), along d = (1, -1)/sqrt 2
            step = torch.tensor(NEAR, dtype=torch.float64, device=device)
            near = theta0 + step
            distance = float(step.norm())
            loss, predicted = float(product_model_loss(near)), float(model(near))
            ax.plot([distance], [loss], "o", color="k", ms=4, zorder=3)
            ax.annotate(
                text["near"].format(a=NEAR[0], b=NEAR[1], loss=loss, model=predicted),
                (distance, loss),
                xytext=(18, -30),
                textcoords="offset points",
                fontsize=7.5,
                arrowprops={"arrowstyle": "-", "color": "0.3", "lw": 0.7, "relpos": (0.0, 1.0)},
            )
    return fig


def escape_figure(grid, steps: list[tuple[float, torch.Tensor, float, float]], language: str):
    """The steps from the saddle along u; each of ``steps`` is (eta, point, loss, Taylor model's loss)."""
    text = TEXT[language]
    fig, ax = new_figure(width=5.0, height=4.8)
    draw_surface(ax, grid, language)
    ends = torch.stack([point for _, point, _, _ in steps])
    u = ends[-1] / ends[-1].norm()
    ax.plot([-LIMIT * u[0], LIMIT * u[0]], [-LIMIT * u[1], LIMIT * u[1]], color="white", lw=0.8, ls="--")
    ax.annotate(
        text["u"],
        (-0.3 * LIMIT * u[0], -0.3 * LIMIT * u[1]),
        xytext=(8, -4),
        textcoords="offset points",
        color="white",
        fontsize=8,
        va="top",
    )
    for eta, point, loss, predicted in steps:
        x, y = point.tolist()
        ax.annotate(
            "", xy=(x, y), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "white", "lw": 1.8}
        )
        ax.plot([x], [y], "o", color="white", ms=5)
        ax.annotate(
            # rounding leaves q(u) at 2e-16 instead of 0: show what the arithmetic means
            text["step"].format(eta=eta, loss=clean(loss), model=clean(predicted)),
            (x, y),
            textcoords="offset points",
            xytext=(-8, 3),
            ha="right",
            va="bottom",
            color="white",
            fontsize=8,
        )
    ax.legend(loc="upper left", framealpha=0.9, fontsize=8)
    ax.set_title(text["escape"], fontsize=9)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    device = args.device
    origin = torch.zeros(2, dtype=torch.float64, device=device)

    report = analyze_point(product_model_loss, origin)
    h = hessian(product_model_loss, origin)
    lam, u = escape_direction(h)
    model = TaylorModel(product_model_loss, origin)
    print(f"device: {device}")
    print(f"origin: L = {report.loss:g}, |g| = {report.grad_norm:g}, H = {h.cpu().tolist()}")
    print(f"eigenvalues {report.eigenvalues.cpu().tolist()} -> {report.kind}")
    print(f"escape direction u = {u.cpu().tolist()} (eigenvalue {lam:g})")
    steps = []
    for eta in (0.5, 1.0, math.sqrt(2)):
        point = origin + eta * u  # the chapter's step, as mlnotes.escape_step takes it
        loss, predicted = float(product_model_loss(point)), float(model(point))
        steps.append((eta, point.cpu(), loss, predicted))
        print(f"step eta = {eta:.4f}: L = {loss:.4f} (Taylor model {predicted:.4f})")

    n = 41 if args.quick else 401
    grid = loss_grid(n, device)
    written = [
        *save_figures(lambda language: surface_figure(grid, language), args.out, "critical_points_surface"),
        *save_figures(
            lambda language: taylor_figure(n, device, language), args.out, "critical_points_taylor"
        ),
        *save_figures(
            lambda language: escape_figure(grid, steps, language), args.out, "critical_points_escape"
        ),
    ]
    for path in written:
        print(f"wrote {path}")
    return {
        "kind": report.kind,
        "eigenvalues": report.eigenvalues.cpu().tolist(),
        "steps": [(eta, loss) for eta, _, loss, _ in steps],
        "figures": written,
    }


if __name__ == "__main__":
    main()
