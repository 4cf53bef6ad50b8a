"""Capacity against error, and choosing it by k-fold cross-validation or by a public test set (S1.4, S1.5).

The data: x uniform on [-1, 1], y = sin(3x) + noise (standard deviation 0.3). The model: a
polynomial of degree d (scikit-learn's ``PolynomialFeatures`` and ``LinearRegression``), so the
capacity grows with d. Each repeat draws 40 training points, a "public" test set of 40 points and a
"private" test set of 10,000 points, all from the same distribution, and then picks d in two ways:

- by 5-fold cross-validation on the training set only (scikit-learn's ``KFold`` and
  ``cross_val_score``), refitting the chosen degree on the whole training set;
- by the lowest mean squared error on the public test set, as a leaderboard invites.

The private set plays the part of the data the model meets later. The script prints, over all
repeats, how often each method picked each degree, the mean and median private error of each choice
(and of the best degree in hindsight), and how far the public score of the public choice
underestimates its private error.

- capacity_selection.svg: left, the median over repeats of the training, cross-validation and
  private test error against the degree; right, how often each degree was chosen by
  cross-validation, by the public test set, and in hindsight by the private set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures
from tqdm import tqdm

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.plotting import new_figure, save_figure

N_TRAIN, N_PUBLIC, N_PRIVATE, NOISE, FOLDS = 40, 40, 10_000, 0.3, 5
DEGREES = tuple(range(13))


def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1.0, 1.0, size=(n, 1))
    return x, np.sin(3.0 * x[:, 0]) + NOISE * rng.normal(size=n)


def model(degree: int):
    return make_pipeline(PolynomialFeatures(degree), LinearRegression(fit_intercept=False))


def one_repeat(seed: int, degrees: Sequence[int]) -> dict[str, np.ndarray]:
    """Training, cross-validation, public and private error of every degree, for one draw of the data."""
    rng = np.random.default_rng(seed)
    (x, y), (xp, yp), (xq, yq) = draw(rng, N_TRAIN), draw(rng, N_PUBLIC), draw(rng, N_PRIVATE)
    # scikit-learn takes seeds below 2**32; --seed 2**32 - 1 plus the repeat number goes past that
    folds = KFold(n_splits=FOLDS, shuffle=True, random_state=seed % 2**32)
    rows = {"train": [], "cv": [], "public": [], "private": []}
    for d in degrees:
        cv = -cross_val_score(model(d), x, y, cv=folds, scoring="neg_mean_squared_error").mean()
        fitted = model(d).fit(x, y)
        rows["train"].append(float(mean_squared_error(y, fitted.predict(x))))
        rows["cv"].append(cv)
        rows["public"].append(float(mean_squared_error(yp, fitted.predict(xp))))
        rows["private"].append(float(mean_squared_error(yq, fitted.predict(xq))))
    return {k: np.array(v) for k, v in rows.items()}


def figure(degrees, median: dict[str, np.ndarray], picks: dict[str, np.ndarray]):
    fig, (left, right) = new_figure(2, width=4.3, height=3.6)
    left.semilogy(degrees, median["train"], "o-", color="tab:blue", ms=3, label="training")
    left.semilogy(degrees, median["cv"], "s-", color="tab:green", ms=3, label=f"{FOLDS}-fold CV")
    left.semilogy(degrees, median["private"], "^-", color="tab:red", ms=3, label="private test")
    left.axhline(NOISE**2, color="0.5", lw=0.8, ls=":")
    left.set(xlabel="degree $d$", ylabel="median squared error", ylim=(0.03, 3))
    left.legend(fontsize=8)
    deg = np.array(degrees)
    width = 0.8 * (deg[1] - deg[0]) / 3 if len(deg) > 1 else 0.25
    for k, (how, color) in enumerate((("cv", "tab:green"), ("public", "tab:purple"), ("best", "tab:red"))):
        counts = [(picks[how] == d).mean() for d in deg]
        label = {"cv": f"{FOLDS}-fold CV", "public": "public test", "best": "private (hindsight)"}[how]
        right.bar(deg + (k - 1) * width, counts, width=width, color=color, label=label)
    right.set(xlabel="chosen degree $d$", ylabel="share of repeats")
    right.legend(fontsize=8)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    repeats, degrees = (20, DEGREES[::2]) if args.quick else (400, DEGREES)
    print(f"{N_TRAIN} training points, public test {N_PUBLIC}, private test {N_PRIVATE:,}; {repeats} repeats")
    print("(scikit-learn fits these on the CPU; --device is not used)")
    runs = [one_repeat(args.seed + r, degrees) for r in tqdm(range(repeats), unit="repeat", leave=False)]
    deg = np.array(degrees)
    picks = {
        "cv": np.array([deg[np.argmin(r["cv"])] for r in runs]),
        "public": np.array([deg[np.argmin(r["public"])] for r in runs]),
        "best": np.array([deg[np.argmin(r["private"])] for r in runs]),
    }
    private = {
        how: np.array([r["private"][np.argmin(r[key])] for r in runs])
        for how, key in (("cv", "cv"), ("public", "public"), ("best", "private"))
    }
    public_score = np.array([r["public"].min() for r in runs])
    mean_train = np.mean([r["train"] for r in runs], axis=0)
    mean_private = np.mean([r["private"] for r in runs], axis=0)
    for d, tr, pr in zip(degrees, mean_train, mean_private, strict=True):
        print(f"degree {d:>2}: mean training error {tr:.4f}, mean private error {pr:.4f}")
    for how in ("cv", "public", "best"):
        counts = {int(d): int((picks[how] == d).sum()) for d in degrees if (picks[how] == d).any()}
        regret = private[how] / private["best"]
        print(
            f"chosen by {how:<6}: degrees {counts}; private error mean {private[how].mean():.4f},"
            f" median {np.median(private[how]):.4f}; within 10% of the best in {(regret <= 1.1).mean():.0%}"
            f" of repeats, more than twice the best in {(regret > 2).mean():.0%}"
        )
    gap = private["public"] - public_score
    print(
        f"public choice: public score {public_score.mean():.4f} against private error"
        f" {private['public'].mean():.4f} (optimistic in {(gap > 0).mean():.0%} of repeats)"
    )
    median = {k: np.median([r[k] for r in runs], axis=0) for k in ("train", "cv", "private")}
    fig = figure(degrees, median, picks)
    path = save_figure(fig, args.out / "capacity_selection.svg")
    print(f"wrote {path}")
    return {
        "degrees": list(degrees),
        "mean_train": mean_train.tolist(),
        "mean_private": mean_private.tolist(),
        "picks": {k: v.tolist() for k, v in picks.items()},
        "private": {k: float(v.mean()) for k, v in private.items()},
        "private_median": {k: float(np.median(v)) for k, v in private.items()},
        "public_score": float(public_score.mean()),
        "figures": [path],
    }


if __name__ == "__main__":
    main()
