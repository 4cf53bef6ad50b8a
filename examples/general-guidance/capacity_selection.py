"""Capacity against error, and choosing it by k-fold cross-validation or by a public test set.

Book: general-guidance#overfitting.

The data: x uniform on [-1, 1], y = sin(3x) + noise (standard deviation 0.3). The model: a
polynomial of degree d fitted by least squares (what scikit-learn's ``PolynomialFeatures`` and
``LinearRegression`` compute), so the
capacity grows with d. Each repeat draws 40 training points, a "public" test set of 40 points and a
"private" test set of 10,000 points, all from the same distribution, and then picks d in two ways:

- by 5-fold cross-validation on the training set only (scikit-learn's ``KFold`` and
  ``cross_val_score``), refitting the chosen degree on the whole training set;
- by the lowest mean squared error on the public test set, as a leaderboard invites.

The private set plays the part of the data the model meets later. The script prints, over all
repeats, how often each method picked each degree, the mean and median private error of each choice
(and of the best degree in hindsight), and how far the public score of the public choice
underestimates its private error.

- capacity_selection.zh.svg, capacity_selection.en.svg: left, the median over repeats of the
  training, cross-validation and private test error against the degree, with the noise floor 0.3^2
  and the degree of the lowest private error marked; right, how often each degree was chosen by
  cross-validation, by the public test set, and in hindsight by the private set, with how often
  cross-validation chose a degree of 8 or more; in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.ticker import PercentFormatter
from sklearn.model_selection import KFold
from tqdm import tqdm

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.plotting import new_figure, save_figures

N_TRAIN, N_PUBLIC, N_PRIVATE, NOISE, FOLDS = 40, 40, 10_000, 0.3, 5
DEGREES = tuple(range(13))


def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1.0, 1.0, size=(n, 1))
    return x, np.sin(3.0 * x[:, 0]) + NOISE * rng.normal(size=n)


def powers(x: np.ndarray, degree: int) -> np.ndarray:
    """The columns 1, x, ..., x^degree of ``x`` (shape (n, 1)): ``PolynomialFeatures(degree)``'s output."""
    return x ** np.arange(degree + 1)


def fit(features: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients on the columns of ``features``: what ``LinearRegression`` computes."""
    return np.linalg.lstsq(features, y, rcond=None)[0]


def mse(coefficients: np.ndarray, features: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((features[:, : len(coefficients)] @ coefficients - y) ** 2))


def one_repeat(seed: int, degrees: Sequence[int]) -> dict[str, np.ndarray]:
    """Training, cross-validation, public and private error of every degree, for one draw of the data.

    Each fit is that of ``make_pipeline(PolynomialFeatures(d), LinearRegression(fit_intercept=False))``,
    computed as the least-squares problem it is (NumPy's ``lstsq``, the LAPACK routine behind
    ``LinearRegression``): scikit-learn's checks on every call would take most of the run's time.
    ``KFold`` makes the folds, as in ``cross_val_score``.
    """
    rng = np.random.default_rng(seed)
    (x, y), (xp, yp), (xq, yq) = draw(rng, N_TRAIN), draw(rng, N_PUBLIC), draw(rng, N_PRIVATE)
    # scikit-learn takes seeds below 2**32; --seed 2**32 - 1 plus the repeat number goes past that
    folds = list(KFold(n_splits=FOLDS, shuffle=True, random_state=seed % 2**32).split(x))
    rows = {"train": [], "cv": [], "public": [], "private": []}
    top = max(degrees)
    f, fp, fq = powers(x, top), powers(xp, top), powers(xq, top)
    for d in degrees:
        cv = np.mean([mse(fit(f[tr, : d + 1], y[tr]), f[te], y[te]) for tr, te in folds])
        coefficients = fit(f[:, : d + 1], y)
        rows["train"].append(mse(coefficients, f, y))
        rows["cv"].append(float(cv))
        rows["public"].append(mse(coefficients, fp, yp))
        rows["private"].append(mse(coefficients, fq, yq))
    return {k: np.array(v) for k, v in rows.items()}


HIGH_DEGREE = 8  # the right panel counts the repeats in which cross-validation chose at least this degree

TEXT = {
    "zh": {
        "train": "训练集",
        "cv": f"{FOLDS} 折交叉验证",
        "private": "私有测试集",
        "public": "公开测试集",
        "best": "私有测试集（事后挑选）",
        "degree": "多项式的次数",
        "error": "平方误差（各轮的中位数）",
        "noise": f"噪声下限 $0.3^2 = {NOISE**2:.2f}$",
        "lowest": "私有误差最低：次数为 {d}",
        "chosen": "选出的次数",
        "share": "选中该次数的轮次所占比例",
        "title_left": "误差随容量的变化",
        "title_right": "每种选法选出的次数（{repeats} 轮）",
        "high": "交叉验证选出次数 ≥ {d}：\n{repeats} 轮中有 {count} 轮",
    },
    "en": {
        "train": "training set",
        "cv": f"{FOLDS}-fold cross-validation",
        "private": "private test set",
        "public": "public test set",
        "best": "private test set (in hindsight)",
        "degree": "polynomial degree",
        "error": "squared error (median over repeats)",
        "noise": f"noise floor $0.3^2 = {NOISE**2:.2f}$",
        "lowest": "lowest private error: degree {d}",
        "chosen": "chosen degree",
        "share": "share of repeats",
        "title_left": "error against capacity",
        "title_right": "degree chosen by each method ({repeats} repeats)",
        "high": "cross-validation chose degree ≥ {d}:\n{count} of {repeats} repeats",
    },
}


def figure(degrees, median: dict[str, np.ndarray], picks: dict[str, np.ndarray], language: str):
    """Left: median errors against the degree; right: how often each degree was chosen; in ``language``."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.5, height=3.7)
    left.semilogy(degrees, median["train"], "o-", color="tab:blue", ms=3, label=text["train"])
    left.semilogy(degrees, median["cv"], "s-", color="tab:green", ms=3, label=text["cv"])
    left.semilogy(degrees, median["private"], "^-", color="tab:red", ms=3, label=text["private"])
    left.axhline(NOISE**2, color="0.5", lw=0.8, ls=":")
    left.annotate(
        text["noise"],
        (degrees[-1], NOISE**2),
        xytext=(0, -3),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=7.5,
        color="0.35",
    )
    k = int(np.argmin(median["private"]))
    left.annotate(
        text["lowest"].format(d=degrees[k]),
        (degrees[k], median["private"][k]),
        xytext=(8, 40),
        textcoords="offset points",
        fontsize=7.5,
        color="tab:red",
        arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 0.8},
    )
    left.set(xlabel=text["degree"], ylabel=text["error"], ylim=(0.03, 3))
    left.set_title(text["title_left"], fontsize=9)
    left.legend(fontsize=7.5, loc="upper left")
    deg = np.array(degrees)
    width = 0.8 * (deg[1] - deg[0]) / 3 if len(deg) > 1 else 0.25
    for k, (how, color) in enumerate((("cv", "tab:green"), ("public", "tab:purple"), ("best", "tab:red"))):
        counts = [(picks[how] == d).mean() for d in deg]
        right.bar(deg + (k - 1) * width, counts, width=width, color=color, label=text[how])
    repeats = len(picks["cv"])
    high = int((picks["cv"] >= HIGH_DEGREE).sum())
    right.text(
        0.97,
        0.60,
        text["high"].format(d=HIGH_DEGREE, count=high, repeats=repeats),
        transform=right.transAxes,
        ha="right",
        va="top",
        fontsize=7.5,
        color="tab:green",
    )
    right.set(xlabel=text["chosen"], ylabel=text["share"])
    right.set_title(text["title_right"].format(repeats=repeats), fontsize=9)
    right.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    right.legend(fontsize=7.5, loc="upper right")
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
    median = {k: np.median([r[k] for r in runs], axis=0) for k in ("train", "cv", "private")}
    for d, tr, cv, pr, mean_pr in zip(
        degrees, median["train"], median["cv"], median["private"], mean_private, strict=True
    ):
        print(
            f"degree {d:>2}: median training error {tr:.4f}, cross-validation {cv:.4f}, private {pr:.4f}"
            f" (mean private error {mean_pr:.4f})"
        )
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
    paths = save_figures(
        lambda language: figure(degrees, median, picks, language), args.out, "capacity_selection"
    )
    for path in paths:
        print(f"wrote {path}")
    return {
        "degrees": list(degrees),
        "mean_train": mean_train.tolist(),
        "mean_private": mean_private.tolist(),
        "median": {k: v.tolist() for k, v in median.items()},
        "picks": {k: v.tolist() for k, v in picks.items()},
        "private": {k: float(v.mean()) for k, v in private.items()},
        "private_median": {k: float(np.median(v)) for k, v in private.items()},
        "public_score": float(public_score.mean()),
        "figures": paths,
    }


if __name__ == "__main__":
    main()
