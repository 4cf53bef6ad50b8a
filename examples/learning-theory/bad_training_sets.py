"""How often is a training set bad? The measured share against the bound |H| 2 exp(-2 N eps^2).

Book: learning-theory#measured-vs-bound.

D_all is 10,000 points uniform on [0, 1] whose label is [x >= 0.5], flipped with probability 0.1.
The hypotheses are thresholds evenly spaced on [0, 1]; the loss is the error rate. For |H| = 10 and
|H| = 1,000 thresholds and eps = 0.1, the script draws many training sets of each size N (with
replacement from D_all) and counts the bad ones: those on which some threshold's training error is
more than eps away from its error on D_all. Next to each share it prints how many bad sets it rests
on, the bound, and how many times larger the bound is, where that says something: the bound below 1
and at least MIN_BAD bad sets.

- bad_training_sets.zh.svg, bad_training_sets.en.svg: measured share and bound against N, for both
  sizes of H, with the line of probability 1 (a bound above it says nothing), the factor by which the
  bound exceeds the measured share at one N, and the sizes where no training set was bad, in Chinese
  and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.learning_theory import ThresholdProblem, bad_set_bound
from mlnotes.plotting import new_figure, save_figures

EPS, SIZE, NOISE = 0.1, 10_000, 0.1
HYPOTHESES = (10, 1000)
SIZES = (25, 50, 100, 200, 300, 400, 600, 800)
MIN_BAD = 10  # a share resting on fewer bad training sets is too noisy to divide a bound by


TEXT = {
    "zh": {
        "n": "训练集大小 $N$",
        "p": "坏训练集的概率",
        "measured": r"实测比例，$|\mathcal{{H}}|={h}$",
        "bound": r"上界 $|\mathcal{{H}}|\,2e^{{-2N\varepsilon^2}}$，$|\mathcal{{H}}|={h}$"
        "\n是实测比例的 {ratio} 倍",
        "one": "概率 1：高于此线的上界什么也没说",
        "none": r"$N \in \{{{n}\}}$：{trials:,} 个训练集中没有一个是坏的",
    },
    "en": {
        "n": "training set size $N$",
        "p": "probability of a bad training set",
        "measured": r"measured share, $|\mathcal{{H}}|={h}$",
        "bound": r"bound $|\mathcal{{H}}|\,2e^{{-2N\varepsilon^2}}$, $|\mathcal{{H}}|={h}$"
        "\n{ratio} times the measured share",
        "one": "probability 1: a bound above\nthis line says nothing",
        "none": r"$N \in \{{{n}\}}$: none of the {trials:,} training sets bad",
    },
}
COLORS = ("tab:blue", "tab:red")


def rounded(x: float) -> str:
    """``x`` to three significant figures, with thousands separators: 1267.2 -> '1,270'."""
    return f"{float(f'{x:.3g}'):,.0f}"


def figure(results: dict[int, dict[int, dict[str, float]]], trials: int, language: str):
    """The measured share and the bound against N for every size of H, in ``language``: the legend says
    how many times the share the bound is (where the bound is below 1, since a bound above 1 says
    nothing, and the share rests on at least MIN_BAD bad sets), and a triangle marks the
    sizes where not one of the ``trials`` training sets was bad (a zero has no place on a log axis)."""
    text = TEXT[language]
    fig, ax = new_figure(1, width=5.6, height=4.0)
    top = 3 * max(row["bound"] for rows in results.values() for row in rows.values())
    bottom = 0.3 / trials
    for (h, rows), color in zip(results.items(), COLORS, strict=True):
        n = np.array(sorted(rows))
        measured = np.array([rows[k]["measured"] for k in n])
        bound = np.array([rows[k]["bound"] for k in n])
        shown = measured > 0
        bad_sets = np.array([rows[k]["bad_sets"] for k in n])
        telling = (bad_sets >= MIN_BAD) & (bound < 1)
        ratios = bound[telling] / measured[telling]
        if len(ratios) and rounded(ratios.min()) != rounded(ratios.max()):
            ratio = f"{rounded(ratios.min())}–{rounded(ratios.max())}"
        else:
            ratio = rounded(ratios.min()) if len(ratios) else "?"
        ax.semilogy(n[shown], measured[shown], "o-", color=color, label=text["measured"].format(h=h))
        ax.semilogy(n, bound, "--", color=color, label=text["bound"].format(h=h, ratio=ratio))
    sizes = sorted(next(iter(results.values())))
    zeros = [k for k in sizes if all(rows[k]["measured"] == 0 for rows in results.values())]
    if zeros:
        label = text["none"].format(n=", ".join(f"{k}" for k in zeros), trials=trials)
        ax.plot(zeros, [bottom * 1.7] * len(zeros), "v", color="0.3", ms=5, ls="none", label=label)
    ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
    ax.annotate(
        text["one"],
        (sizes[-1], 1.0),
        xytext=(0, -2),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=7.5,
        color="0.3",
    )
    ax.set(xlabel=text["n"], ylabel=text["p"], ylim=(bottom, top))
    ax.legend(fontsize=7, loc="upper right")
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    trials = 2000 if args.quick else 100_000
    sizes = SIZES[::2] if args.quick else SIZES
    print(f"D_all: {SIZE:,} points, label noise {NOISE}; eps = {EPS}; {trials:,} training sets per N")
    print("(the computation runs on the CPU with NumPy; --device is not used)")
    results: dict[int, dict[int, dict[str, float]]] = {}
    for h in HYPOTHESES:
        problem = ThresholdProblem.noisy(SIZE, h, noise=NOISE, seed=args.seed)
        results[h] = {}
        for n in sizes:
            measured = problem.bad_fraction(n, EPS, trials=trials, seed=args.seed + n)
            bound = bad_set_bound(h, n, EPS)
            bad_sets = round(measured * trials)
            results[h][n] = {"measured": measured, "bound": bound, "bad_sets": bad_sets}
            if bound >= 1:
                ratio = "a bound of 1 or more says nothing"
            elif bad_sets < MIN_BAD:
                ratio = f"fewer than {MIN_BAD} bad sets: too few for a ratio"
            else:
                ratio = f"{bound / measured:.3g} times the measured share"
            print(
                f"|H| = {h:>4}, N = {n:>3}: bad {measured:.5f} ({bad_sets:,} of {trials:,}),"
                f" bound {bound:.4g} ({ratio})"
            )
    paths = save_figures(lambda language: figure(results, trials, language), args.out, "bad_training_sets")
    for path in paths:
        print(f"wrote {path}")
    return {"summary": results, "figures": paths}


if __name__ == "__main__":
    main()
