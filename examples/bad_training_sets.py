"""How often is a training set bad? The measured share against the bound |H| 2 exp(-2 N eps^2) (S9.6).

D_all is 10,000 points uniform on [0, 1] whose label is [x >= 0.5], flipped with probability 0.1.
The hypotheses are thresholds evenly spaced on [0, 1]; the loss is the error rate. For |H| = 10 and
|H| = 1,000 thresholds and eps = 0.1, the script draws many training sets of each size N (with
replacement from D_all) and counts the bad ones: those on which some threshold's training error is
more than eps away from its error on D_all. Next to each share it prints the bound and how many
times larger the bound is.

- bad_training_sets.svg: measured share and bound against N, for both sizes of H.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.learning_theory import ThresholdProblem, bad_set_bound
from mlnotes.plotting import new_figure, save_figure

EPS, SIZE, NOISE = 0.1, 10_000, 0.1
HYPOTHESES = (10, 1000)
SIZES = (25, 50, 100, 200, 300, 400, 600, 800)


def figure(results: dict[int, dict[int, dict[str, float]]]):
    fig, ax = new_figure(1, width=5.0, height=3.6)
    for (h, rows), color in zip(results.items(), ("tab:blue", "tab:red"), strict=True):
        n = np.array(sorted(rows))
        measured = np.array([rows[k]["measured"] for k in n])
        bound = np.array([rows[k]["bound"] for k in n])
        shown = measured > 0
        ax.semilogy(n[shown], measured[shown], "o-", color=color, label=rf"measured, $|\mathcal{{H}}|={h}$")
        ax.semilogy(n, np.minimum(bound, 10.0), "--", color=color, label=rf"bound, $|\mathcal{{H}}|={h}$")
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set(xlabel="$N$", ylabel=r"$P(\mathcal{D}_{\mathrm{train}}\ \mathrm{bad})$", ylim=(1e-4, 12))
    ax.legend(fontsize=8)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    trials = 300 if args.quick else 5000
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
            results[h][n] = {"measured": measured, "bound": bound}
            ratio = f"{bound / measured:.3g} times the measured share" if measured else "measured share 0"
            print(f"|H| = {h:>4}, N = {n:>3}: bad {measured:.4f}, bound {bound:.4g} ({ratio})")
    path = save_figure(figure(results), args.out / "bad_training_sets.svg")
    print(f"wrote {path}")
    return {"summary": results, "figures": [path]}


if __name__ == "__main__":
    main()
