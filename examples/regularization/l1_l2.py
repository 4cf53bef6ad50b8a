"""L1 against L2: the constraint regions, and the solutions as alpha grows.

Book: regularization#constraint-regions.

Both panels use the loss L(w) = ||y - X w||^2 / (2 N) of a linear model, penalized as in the lecture
with a penalty strength alpha: L + alpha sum |w_i| (L1) or L + alpha sum w_i^2 (L2). scikit-learn
solves both: L1 is ``Lasso(alpha=alpha)`` (scikit-learn's alpha is this alpha), and L2 is
``Ridge(alpha=2 N alpha)`` (Ridge minimizes ||y - X w||^2 + alpha' ||w||^2, without the 1/(2N)).

- Left: two features. The contours of L, the L1 diamond and the L2 disc that pass through each
  penalized solution for one alpha: the diamond touches the contours at a corner, on an axis, so
  one weight is exactly 0; the disc touches them where both weights are non-zero.
- Right: scikit-learn's bundled diabetes data (442 patients, 10 standardized features). Every
  weight against alpha for both penalties. L1 sets weights to exactly 0 one after another; L2
  shrinks all of them and zeroes none. The script prints the number of exact zeros at several
  alphas, and the figure marks them.

- l1_l2.zh.svg, l1_l2.en.svg: both panels, in Chinese and in English.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from matplotlib.patches import Circle
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso, Ridge

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.plotting import new_figure, save_figures

ALPHAS = np.geomspace(1e-3, 30, 40)  # penalty strengths alpha of the paths
SHOWN = (0.01, 0.1, 1.0, 10.0)
TWO_D_ALPHA = 1.0

TEXT = {
    "zh": {
        "left_title": r"两个相关的特征，$\alpha = 1$",
        "right_title": "糖尿病数据集（10 个标准化后的特征）",
        "w1": "权重 $w_1$",
        "w2": "权重 $w_2$",
        "l1": "L1 的解",
        "l2": "L2 的解",
        "diamond": "L1 菱形",
        "disc": "L2 圆盘",
        "contours": "训练损失 $L$ 的等高线",
        "alpha": r"惩罚强度 $\alpha$（Lasso(alpha=$\alpha$)）",
        "weights": "权重 $w_i$",
        "l1_paths": "L1（实线）",
        "l2_paths": "L2（虚线）",
        "zeros": "恰为 0 的权重个数，L1/L2：",
    },
    "en": {
        "left_title": r"two correlated features, $\alpha = 1$",
        "right_title": "diabetes data (10 standardized features)",
        "w1": "weight $w_1$",
        "w2": "weight $w_2$",
        "l1": "L1 solution",
        "l2": "L2 solution",
        "diamond": "L1 diamond",
        "disc": "L2 disc",
        "contours": "contours of the training loss $L$",
        "alpha": r"penalty strength $\alpha$ (Lasso(alpha=$\alpha$))",
        "weights": "weight $w_i$",
        "l1_paths": "L1 (solid)",
        "l2_paths": "L2 (dashed)",
        "zeros": "weights exactly 0 (L1/L2):",
    },
}


def fit(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The L1 and the L2 solution for one penalty strength alpha (no intercept: the data are centered)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lasso's convergence warnings at tiny alpha
        l1 = Lasso(alpha=alpha, fit_intercept=False, max_iter=100_000, tol=1e-10).fit(x, y).coef_
    l2 = Ridge(alpha=2 * len(y) * alpha, fit_intercept=False).fit(x, y).coef_
    return l1, l2


def two_features(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 2)) @ np.array([[1.0, 0.4], [0.0, 0.8]])
    y = x @ np.array([2.0, 0.6]) + 0.3 * rng.normal(size=200)
    return x - x.mean(axis=0), y - y.mean()


def diabetes() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x, (y - y.mean()) / y.std()


def figure(x2, y2, l1_2d, l2_2d, alphas, paths, zeros, language):
    """Both panels in ``language``; ``zeros`` maps each alpha of SHOWN to its (L1, L2) count of zeros."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.5, height=4.0)
    g = np.linspace(-0.5, 2.5, 301)
    w1, w2 = np.meshgrid(g, g)
    w = np.stack([w1.ravel(), w2.ravel()], axis=1)
    z = (((x2 @ w.T) - y2[:, None]) ** 2).mean(axis=0).reshape(w1.shape) / 2
    left.contour(w1, w2, z, levels=np.geomspace(z.min() + 1e-3, z.max(), 14), colors="0.65", linewidths=0.6)
    left.plot([], [], color="0.65", lw=0.6, label=text["contours"])
    r1 = np.abs(l1_2d).sum()
    left.fill([r1, 0, -r1, 0], [0, r1, 0, -r1], color="tab:blue", alpha=0.2, label=text["diamond"])
    left.add_patch(Circle((0, 0), np.hypot(*l2_2d), color="tab:red", alpha=0.2, label=text["disc"]))
    left.plot(*l1_2d, "o", color="tab:blue", label=text["l1"])
    left.plot(*l2_2d, "s", color="tab:red", label=text["l2"])
    for point, color, offset in ((l1_2d, "tab:blue", (4, 5)), (l2_2d, "tab:red", (5, 4))):
        left.annotate(
            f"$({point[0]:.3g}, {point[1] + 0.0:.3g})$",
            point,
            xytext=offset,
            textcoords="offset points",
            fontsize=8,
            color=color,
        )
    left.set(
        xlabel=text["w1"],
        ylabel=text["w2"],
        aspect="equal",
        xlim=(-0.5, 2.5),
        ylim=(-0.5, 2.5),
        title=text["left_title"],
    )
    left.title.set_fontsize(9)
    left.legend(fontsize=7, loc="upper right")
    l1_path, l2_path = paths
    right.semilogx(alphas, l1_path, color="tab:blue", lw=0.9)
    right.semilogx(alphas, l2_path, color="tab:red", lw=0.9, ls="--")
    right.plot([], [], color="tab:blue", lw=0.9, label=text["l1_paths"])
    right.plot([], [], color="tab:red", lw=0.9, ls="--", label=text["l2_paths"])
    top = 1.05 * max(np.abs(l1_path).max(), np.abs(l2_path).max())
    right.text(alphas[0], 1.85 * top, text["zeros"], ha="left", va="center", fontsize=7.5)
    for alpha, (z1, z2) in zeros.items():
        right.axvline(alpha, color="0.55", lw=0.7, ls=":")
        right.text(
            alpha,
            1.5 * top,
            f"{z1}/{z2}",
            ha="center",
            va="center",
            fontsize=7.5,
            bbox={"fc": "white", "ec": "none", "pad": 1.0},
        )
    right.set(xlabel=text["alpha"], ylabel=text["weights"], ylim=(-top, 2.05 * top))
    right.set_title(text["right_title"], fontsize=9)
    right.legend(fontsize=7.5, loc="lower right")
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    alphas = ALPHAS[::4] if args.quick else ALPHAS
    print("(scikit-learn solves these on the CPU; --device is not used)")
    x2, y2 = two_features(args.seed)
    l1_2d, l2_2d = fit(x2, y2, TWO_D_ALPHA)
    print(f"two features, alpha = {TWO_D_ALPHA}: L1 solution {np.round(l1_2d, 4)}, L2 {np.round(l2_2d, 4)}")
    x, y = diabetes()
    fits = [fit(x, y, alpha) for alpha in alphas]
    l1_path = np.array([f[0] for f in fits])
    l2_path = np.array([f[1] for f in fits])
    zeros = {}
    for alpha in SHOWN:
        l1, l2 = fit(x, y, alpha)
        zeros[alpha] = (int((l1 == 0).sum()), int((l2 == 0).sum()))
        print(
            f"diabetes, alpha = {alpha:<5g}: zeros of 10 weights: L1 {zeros[alpha][0]}, L2 {zeros[alpha][1]}"
        )
    paths = save_figures(
        lambda language: figure(x2, y2, l1_2d, l2_2d, alphas, (l1_path, l2_path), zeros, language),
        args.out,
        "l1_l2",
    )
    for path in paths:
        print(f"wrote {path}")
    return {"two_d": {"l1": l1_2d.tolist(), "l2": l2_2d.tolist()}, "zeros": zeros, "figures": paths}


if __name__ == "__main__":
    main()
