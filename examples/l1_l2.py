"""L1 against L2: the constraint regions, and the solutions as lambda grows (S8.1).

Both panels use the loss L(w) = ||y - X w||^2 / (2 N) of a linear model, penalized as in the lecture:
L + lambda sum |w_i| (L1) or L + lambda sum w_i^2 (L2). scikit-learn solves both: L1 is
``Lasso(alpha=lambda)``, and L2 is ``Ridge(alpha=2 N lambda)`` (Ridge minimizes ||y - X w||^2 +
alpha ||w||^2, without the 1/(2N)).

- Left: two features. The contours of L, the L1 diamond and the L2 disc that pass through each
  penalized solution for one lambda: the diamond touches the contours at a corner, on an axis, so
  one weight is exactly 0; the disc touches them where both weights are non-zero.
- Right: scikit-learn's bundled diabetes data (442 patients, 10 standardized features). Every
  weight against lambda for both penalties. L1 sets weights to exactly 0 one after another; L2
  shrinks all of them and zeroes none. The script prints the number of exact zeros at several
  lambdas.

- l1_l2.svg: both panels.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from matplotlib.patches import Circle
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso, Ridge

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.plotting import new_figure, save_figure

LAMBDAS = np.geomspace(1e-3, 30, 40)
SHOWN = (0.01, 0.1, 1.0, 10.0)
TWO_D_LAMBDA = 1.0


def fit(x: np.ndarray, y: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """The L1 and the L2 solution for one lambda (no intercept: the data are centered)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lasso's convergence warnings at tiny lambda
        l1 = Lasso(alpha=lam, fit_intercept=False, max_iter=100_000, tol=1e-10).fit(x, y).coef_
    l2 = Ridge(alpha=2 * len(y) * lam, fit_intercept=False).fit(x, y).coef_
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


def figure(x2, y2, l1_2d, l2_2d, lambdas, paths):
    fig, (left, right) = new_figure(2, width=4.3, height=3.8)
    g = np.linspace(-0.5, 2.5, 301)
    w1, w2 = np.meshgrid(g, g)
    w = np.stack([w1.ravel(), w2.ravel()], axis=1)
    z = (((x2 @ w.T) - y2[:, None]) ** 2).mean(axis=0).reshape(w1.shape) / 2
    left.contour(w1, w2, z, levels=np.geomspace(z.min() + 1e-3, z.max(), 14), colors="0.65", linewidths=0.6)
    r1 = np.abs(l1_2d).sum()
    left.fill([r1, 0, -r1, 0], [0, r1, 0, -r1], color="tab:blue", alpha=0.2)
    left.add_patch(Circle((0, 0), np.hypot(*l2_2d), color="tab:red", alpha=0.2))
    left.plot(*l1_2d, "o", color="tab:blue", label="L1")
    left.plot(*l2_2d, "s", color="tab:red", label="L2")
    left.set(xlabel="$w_1$", ylabel="$w_2$", aspect="equal", xlim=(-0.5, 2.5), ylim=(-0.5, 2.5))
    left.legend(fontsize=8)
    l1_path, l2_path = paths
    right.semilogx(lambdas, l1_path, color="tab:blue", lw=0.9)
    right.semilogx(lambdas, l2_path, color="tab:red", lw=0.9, ls="--")
    right.set(xlabel=r"$\lambda$", ylabel="$w_i$")
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    lambdas = LAMBDAS[::4] if args.quick else LAMBDAS
    print("(scikit-learn solves these on the CPU; --device is not used)")
    x2, y2 = two_features(args.seed)
    l1_2d, l2_2d = fit(x2, y2, TWO_D_LAMBDA)
    print(f"two features, lambda = {TWO_D_LAMBDA}: L1 solution {np.round(l1_2d, 4)}, L2 {np.round(l2_2d, 4)}")
    x, y = diabetes()
    fits = [fit(x, y, lam) for lam in lambdas]
    l1_path = np.array([f[0] for f in fits])
    l2_path = np.array([f[1] for f in fits])
    zeros = {}
    for lam in SHOWN:
        l1, l2 = fit(x, y, lam)
        zeros[lam] = (int((l1 == 0).sum()), int((l2 == 0).sum()))
        print(f"diabetes, lambda = {lam:<5g}: zeros of 10 weights: L1 {zeros[lam][0]}, L2 {zeros[lam][1]}")
    fig = figure(x2, y2, l1_2d, l2_2d, lambdas, (l1_path, l2_path))
    path = save_figure(fig, args.out / "l1_l2.svg")
    print(f"wrote {path}")
    return {"two_d": {"l1": l1_2d.tolist(), "l2": l2_2d.tolist()}, "zeros": zeros, "figures": [path]}


if __name__ == "__main__":
    main()
