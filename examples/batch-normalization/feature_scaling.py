"""Feature scale and the error surface: stretched contours, and round ones after normalization.

Book: batch-normalization#feature-scale.

A linear model y = w1 x1 + w2 x2 + b is fitted by full-batch gradient descent on the mean squared
error (halved) to 200 examples whose two inputs differ in scale by a factor of 100: x1 ~ N(0, 1),
x2 ~ N(0, 100^2); the targets are 2 x1 + 0.03 x2 + 1 plus noise of standard deviation 0.1.

The Hessian of this loss is the second-moment matrix of (x1, x2, 1). With raw inputs its eigenvalues
differ by a factor of about 10^4, so the contours over (w1, w2) are long ellipses and no single
learning rate suits both directions. After feature normalization (each input minus its mean,
divided by its standard deviation, both computed on the training examples) the eigenvalues are all
about 1 and the contours round.

For each version the script tries 60 learning rates from 1e-6 to 3 and counts the updates until the
loss is within 1e-6 of its minimum (at most 200,000 updates), then reports the best rate and its
count. It also prints the count that theory guarantees for the best rate of a quadratic,
eta = 2 / (lambda_min + lambda_max): the loss gap then shrinks at least by the factor
((kappa - 1) / (kappa + 1))^2 per update, kappa = lambda_max / lambda_min.

- feature_scaling.zh.svg, feature_scaling.en.svg: the contours over (w1, w2) (b at its optimum,
  equal scales on both axes) with the path of the best rate from the start to the minimum, raw and
  normalized, each panel with its condition number, its best rate and its number of updates, in
  Chinese and in English.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.plotting import new_figure, save_figures

N, SCALE, TOL = 200, 100.0, 1e-6
TRUE_W, TRUE_B, NOISE = (2.0, 0.03), 1.0, 0.1
RATES = np.geomspace(1e-6, 3.0, 60)


def data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(N, 2, generator=gen, dtype=torch.float64) * torch.tensor(
        [1.0, SCALE], dtype=torch.float64
    )
    y = (
        x @ torch.tensor(TRUE_W, dtype=torch.float64)
        + TRUE_B
        + NOISE * torch.randn(N, generator=gen, dtype=torch.float64)
    )
    return x, y


def design(x: torch.Tensor) -> torch.Tensor:
    """The inputs with a column of ones for the bias: the parameters are (w1, w2, b)."""
    return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], dim=1)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(dim=0)) / x.std(dim=0)


def quadratic(a: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """H, g, c of L(w) = w^T H w / 2 - g^T w + c, and the minimizer w*, in NumPy float64."""
    a_np, y_np = a.cpu().numpy(), y.cpu().numpy()
    h, g = a_np.T @ a_np / len(y_np), a_np.T @ y_np / len(y_np)
    return h, g, 0.5 * float(y_np @ y_np) / len(y_np), np.linalg.solve(h, g)


def steps_to_converge(a: torch.Tensor, y: torch.Tensor, rates: np.ndarray, max_steps: int) -> np.ndarray:
    """For every rate at once: updates until loss - min loss <= TOL (max_steps + 1 where it never does).

    The loss is quadratic, L(w) = w^T H w / 2 - g^T w + c with H = A^T A / N and g = A^T y / N, so
    an update is w <- w - eta (H w - g): the same arithmetic as the gradient of the mean squared
    error, done on 3x3 matrices (NumPy, float64) so that 200,000 updates of 60 rates take seconds.
    """
    h, g, c, w_star = quadratic(a, y)
    best = 0.5 * w_star @ h @ w_star - g @ w_star + c
    eta = rates[:, None]
    w = np.zeros((len(rates), len(g)))
    done = np.full(len(rates), max_steps + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(max_steps + 1):
            hw = w @ h
            gap = 0.5 * np.einsum("ij,ij->i", hw, w) - w @ g + c - best
            newly = (gap <= TOL) & (done > max_steps)
            done[newly] = t
            if (done <= max_steps).all():
                break
            alive = np.isfinite(gap) & (gap < 1e12)  # diverged rates stop being updated
            w = np.where(alive[:, None], w - eta * (hw - g), w)
    return done


def path_of(a: torch.Tensor, y: torch.Tensor, rate: float, steps: int) -> np.ndarray:
    """The parameters after every update of gradient descent from zero (NumPy, as above)."""
    h, g, _, _ = quadratic(a, y)
    path = np.zeros((steps + 1, len(g)))
    for t in range(steps):
        path[t + 1] = path[t] - rate * (h @ path[t] - g)
    return path


def predicted_steps(a: torch.Tensor, y: torch.Tensor) -> tuple[float, float, int]:
    """Condition number, the best rate 2/(lmin+lmax), and the updates theory guarantees for it."""
    h, g, _, w_star = quadratic(a, y)
    eig = np.linalg.eigvalsh(h)
    lo, hi = eig[0], eig[-1]
    kappa = hi / lo
    start_gap = 0.5 * g @ w_star  # L(0) - L(w*) = g^T w* / 2, because H w* = g
    factor = ((kappa - 1) / (kappa + 1)) ** 2
    steps = math.ceil(math.log(TOL / start_gap) / math.log(factor)) if factor > 0 else 1
    return float(kappa), float(2 / (lo + hi)), steps


TEXT = {
    "zh": {
        "raw": "原始输入",
        "normalized": "归一化输入",
        "title": "{inputs}：条件数 $\\kappa = {kappa}$",
        "path": "学习率 $\\eta = {rate}$：{steps} 次更新",
        "never": "学习率 $\\eta = {rate}$：{steps:,} 次更新内未收敛",
        "w1": "权重 $w_1$",
        "w2": "权重 $w_2$",
        "start": "起点",
        "minimum": "最小值",
    },
    "en": {
        "raw": "raw inputs",
        "normalized": "normalized inputs",
        "title": "{inputs}: condition number $\\kappa = {kappa}$",
        "path": "learning rate $\\eta = {rate}$: {steps} updates",
        "never": "learning rate $\\eta = {rate}$: not converged in {steps:,} updates",
        "w1": "weight $w_1$",
        "w2": "weight $w_2$",
        "start": "start",
        "minimum": "minimum",
    },
}
SPAN = 3.5  # each panel shows its minimum +- SPAN in both weights


def number(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures, for math: 1.12, or 1.03\\times10^{4} outside [0.01, 1000)."""
    if 0.01 <= abs(x) < 1000:
        return f"{x:.{digits}g}"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return rf"{mantissa}\times10^{{{int(exponent)}}}"


def figure(cases: dict[str, dict[str, object]], summary: dict[str, dict[str, object]], language: str):
    """The contours over (w1, w2) with the path of the best rate, one panel per case, in ``language``."""
    text = TEXT[language]
    fig, axes = new_figure(2, width=4.2, height=3.9)
    for ax, (name, case) in zip(axes, cases.items(), strict=True):
        h, g, c, w_star = quadratic(case["a"], case["y"])
        path, numbers = case["path"], summary[name]
        # the same span in both directions and equal axis scales: round contours look round
        g1 = np.linspace(w_star[0] - SPAN, w_star[0] + SPAN, 241)
        g2 = np.linspace(w_star[1] - SPAN, w_star[1] + SPAN, 241)
        w1, w2 = np.meshgrid(g1, g2)
        w = np.stack([w1.ravel(), w2.ravel(), np.full(w1.size, w_star[2])], axis=1)
        z = (0.5 * np.einsum("ij,jk,ik->i", w, h, w) - w @ g + c).reshape(w1.shape)
        best = 0.5 * w_star @ h @ w_star - w_star @ g + c
        levels = best + np.geomspace(1e-3, z.max() - best, 16)
        ax.contour(w1, w2, z, levels=levels, colors="0.6", linewidths=0.6)
        early, late = path[:50], path[:: max(1, len(path) // 2000)]
        rate = number(numbers["best_rate"], digits=2)
        if numbers["steps"] is None:
            label = text["never"].format(rate=rate, steps=len(path) - 1)
        else:
            label = text["path"].format(rate=rate, steps=f"{numbers['steps']:,}")
        ax.plot(late[:, 0], late[:, 1], color="tab:red", lw=0.9, label=label)
        ax.plot(early[:, 0], early[:, 1], color="tab:red", lw=0.6, marker=".", ms=2)
        ax.plot(path[0, 0], path[0, 1], "ko", ms=4)
        ax.annotate(text["start"], path[0, :2], xytext=(5, 4), textcoords="offset points", fontsize=8)
        ax.plot(w_star[0], w_star[1], "k*", ms=8)
        ax.annotate(text["minimum"], w_star[:2], xytext=(6, 4), textcoords="offset points", fontsize=8)
        ax.set(
            xlabel=text["w1"], ylabel=text["w2"], aspect="equal", xlim=(g1[0], g1[-1]), ylim=(g2[0], g2[-1])
        )
        ax.set_title(
            text["title"].format(inputs=text[name], kappa=number(numbers["condition_number"])), fontsize=9
        )
        ax.legend(fontsize=7.5, loc="upper left")
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    max_steps = 50_000 if args.quick else 200_000
    x, y = data(args.seed)
    x, y = x.to(args.device), y.to(args.device)
    print(f"device: {args.device}; {N} examples, x2 on a scale {SCALE:g} times that of x1")
    print(f"{len(RATES)} learning rates in [{RATES[0]:g}, {RATES[-1]:g}]; converged: loss - min <= {TOL:g}")
    cases, summary = {}, {}
    for name, inputs in (("raw", x), ("normalized", normalize(x))):
        a = design(inputs)
        counts = steps_to_converge(a, y, RATES, max_steps)
        best = int(np.argmin(counts))  # the largest count when none converges: see "converged"
        kappa, best_theory_rate, theory_steps = predicted_steps(a.cpu(), y.cpu())
        converged = counts[best] <= max_steps
        summary[name] = {
            "best_rate": float(RATES[best]),
            "steps": int(counts[best]) if converged else None,
            "condition_number": kappa,
            "theory_rate": best_theory_rate,
            "theory_steps": theory_steps,
        }
        steps_text = f"{counts[best]:,} updates" if converged else f"not within {max_steps:,} updates"
        print(
            f"{name:<10}: condition number {kappa:.3g}; best rate of the grid {RATES[best]:.3g}:"
            f" {steps_text}; theory: rate {best_theory_rate:.3g}, at most {theory_steps:,} updates"
        )
        shown = int(counts[best]) if converged else max_steps
        cases[name] = {
            "a": a.cpu(),
            "y": y.cpu(),
            "path": path_of(a.cpu(), y.cpu(), float(RATES[best]), shown),
        }
    paths = save_figures(lambda language: figure(cases, summary, language), args.out, "feature_scaling")
    for path in paths:
        print(f"wrote {path}")
    return {"summary": summary, "figures": paths}


if __name__ == "__main__":
    main()
