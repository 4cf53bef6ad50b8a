"""Figures and numbers of the chapter on critical points (S2.1-S2.5).

The worked example y = w1 w2 x with one example (x = 1, y_hat = 1), L = (1 - w1 w2)^2:

- critical_points_surface.svg: the error surface with the saddle at the origin and the curve of minima;
- critical_points_taylor.svg: the second-order Taylor model against the true loss, at the saddle and
  at a point that is not critical;
- critical_points_escape.svg: steps from the saddle along the eigenvector of the negative eigenvalue.

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
from mlnotes.plotting import new_figure, save_figure

LIMIT = 2.0  # the plots show w1, w2 in [-LIMIT, LIMIT]
NON_CRITICAL = (0.5, 1.0)  # the second point of the Taylor figure


def loss_grid(n: int, device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L on an n x n grid over [-LIMIT, LIMIT]^2, as numpy arrays for plotting."""
    w = torch.linspace(-LIMIT, LIMIT, n, dtype=torch.float64, device=device)
    w1, w2 = torch.meshgrid(w, w, indexing="xy")
    loss = product_model_loss(torch.stack([w1, w2], dim=-1))
    return w1.cpu().numpy(), w2.cpu().numpy(), loss.cpu().numpy()


def draw_surface(ax, grid):
    """Filled log-loss, its contour lines, the curve of minima and the saddle; returns the fill."""
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
            label=r"$w_1 w_2 = 1$: minima, $L = 0$" if sign == 1 else None,
        )
    ax.plot(
        [0], [0], marker="X", ms=11, color="tab:red", ls="none", label=r"$(0, 0)$: saddle, $\lambda = \pm 2$"
    )
    ax.set(xlim=(-LIMIT, LIMIT), ylim=(-LIMIT, LIMIT), aspect="equal", xlabel="$w_1$", ylabel="$w_2$")
    return filled


def surface_figure(grid):
    fig, ax = new_figure(width=5.6, height=4.6)
    filled = draw_surface(ax, grid)
    fig.colorbar(filled, ax=ax, label=r"$\log_{10} L(w_1, w_2)$")
    ax.legend(loc="upper left", framealpha=0.9, fontsize=8)
    ax.set_title(r"$L = (1 - w_1 w_2)^2$")
    return fig


def taylor_figure(points: int, device: torch.device):
    fig, axes = new_figure(ncols=2, width=4.4, height=3.6)
    t = torch.linspace(-1.5, 1.5, points, dtype=torch.float64, device=device)
    for ax, center in zip(axes, [(0.0, 0.0), NON_CRITICAL], strict=True):
        theta0 = torch.tensor(center, dtype=torch.float64, device=device)
        model = TaylorModel(product_model_loss, theta0)
        for direction, color in (((1.0, 1.0), "tab:blue"), ((1.0, -1.0), "tab:green")):
            d = torch.tensor(direction, dtype=torch.float64, device=device) / math.sqrt(2)
            path = theta0 + t[:, None] * d
            label = rf"$\mathbf{{d}} \propto ({direction[0]:+.0f}, {direction[1]:+.0f})$"
            ax.plot(t.cpu(), product_model_loss(path).cpu(), color=color, lw=2, label=f"$L$, {label}")
            ax.plot(t.cpu(), model(path).cpu(), color=color, lw=1.5, ls="--", label=f"$q$, {label}")
        ax.axvline(0, color="gray", lw=0.8)
        ax.set(xlabel=r"$t$", ylabel=r"$L(\boldsymbol{\theta}' + t\,\mathbf{d})$", ylim=(-2.5, 5))
        ax.set_title(rf"$\boldsymbol{{\theta}}' = ({center[0]:g}, {center[1]:g})$")
        ax.legend(fontsize=7, loc="upper center")
    return fig


def escape_figure(grid, steps: list[tuple[float, torch.Tensor, float]]):
    fig, ax = new_figure(width=5.0, height=4.6)
    draw_surface(ax, grid)
    for eta, point, loss in steps:
        x, y = point.tolist()
        ax.annotate(
            "", xy=(x, y), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "white", "lw": 1.8}
        )
        ax.plot([x], [y], "o", color="white", ms=5)
        ax.annotate(
            rf"$\eta = {eta:.3g}$: $L = {loss:.3g}$",
            (x, y),
            textcoords="offset points",
            xytext=(6, -12),
            color="white",
            fontsize=8,
        )
    ax.legend(loc="upper left", framealpha=0.9, fontsize=8)
    ax.set_title(r"$\boldsymbol{\theta} = \boldsymbol{\theta}' + \eta\,\mathbf{u}$")
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
        point = origin + eta * u
        loss, predicted = float(product_model_loss(point)), float(model(point))
        steps.append((eta, point.cpu(), loss))
        print(f"step eta = {eta:.4f}: L = {loss:.4f} (Taylor model {predicted:.4f})")

    n = 41 if args.quick else 401
    grid = loss_grid(n, device)
    written = [
        save_figure(surface_figure(grid), args.out / "critical_points_surface.svg"),
        save_figure(taylor_figure(n, device), args.out / "critical_points_taylor.svg"),
        save_figure(escape_figure(grid, steps), args.out / "critical_points_escape.svg"),
    ]
    for path in written:
        print(f"wrote {path}")
    return {
        "kind": report.kind,
        "eigenvalues": report.eigenvalues.cpu().tolist(),
        "steps": [(eta, loss) for eta, _, loss in steps],
        "figures": written,
    }


if __name__ == "__main__":
    main()
