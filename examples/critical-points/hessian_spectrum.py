"""The Hessian spectrum of a real network, from Hessian-vector products only.

Book: critical-points#hessian-at-scale.

An MLP 64-128-128-10 (ReLU, 26,122 parameters) learns the bundled digits with Adam (learning rate
1e-3, batch 64, 20 epochs). At initialization and after training, on the 1,077 training images,
``mlnotes.curvature`` computes:

- the 5 largest and the 5 smallest (most negative) eigenvalues of the Hessian of the mean
  cross-entropy, by Lanczos with full re-orthogonalization;
- the trace, by Hutchinson's estimator (100 samples), with its standard error;
- the eigenvalue density, by stochastic Lanczos quadrature (80 steps, 10 start vectors).

The Hessian itself (26,122 x 26,122, 5.5 GB in float64) is never formed. The eigenvalues and the
trace are measured for three seeds (initialization, batch order and random start vectors), the
density, which the figure draws, for the first; the script prints the range over the seeds of each
quantity the book compares: the largest eigenvalue, its ratio to the size of the most negative one,
and the trace.

- hessian_spectrum.zh.svg, hessian_spectrum.en.svg: the first seed's two densities (smoothed by a
  Gaussian of 1% of the range of the nodes; log scale for the density), the 5 largest and 5 smallest
  eigenvalues marked at the bottom, the largest eigenvalue after training, the outliers and the bulk
  labelled and the most negative eigenvalue of each network written out; in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.curvature import HessianOperator, hutchinson_trace, lanczos, spectral_density
from mlnotes.data import load_digits
from mlnotes.optim import Adam
from mlnotes.plotting import new_figure, save_figures
from mlnotes.training import train

TEXT = {
    "zh": {
        "runs": {"initialization": "初始化时", "trained": "训练后"},
        "x": r"海森矩阵 $\mathbf{H}$ 的特征值 $\lambda$",
        "y": "特征值密度（对数刻度）",
        "ticks": "点线：最大、最小各 5 个特征值（Lanczos）",
        "largest": r"$\lambda_{{\max}} = {value:.3g}$",
        "negative": "最负的特征值：{values}",
        "and": "，",
        "bulk": "主体：几乎所有特征值都挤在零附近",
        "outliers": "训练后的离群值",
    },
    "en": {
        "runs": {"initialization": "at initialization", "trained": "after training"},
        "x": r"eigenvalue $\lambda$ of the Hessian $\mathbf{H}$",
        "y": "eigenvalue density (log scale)",
        "ticks": "dotted: the 5 largest and 5 smallest eigenvalues (Lanczos)",
        "largest": r"$\lambda_{{\max}} = {value:.3g}$",
        "negative": "most negative: {values}",
        "and": ", ",
        "bulk": "the bulk: almost every eigenvalue is near zero",
        "outliers": "outliers after training",
    },
}


def network(width: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(64, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10)
    )


def spectrum(
    net: nn.Module, data, device, steps: int, runs: int, samples: int, seed: int, density: bool = True
) -> dict[str, object]:
    """The extreme eigenvalues, the trace and (if ``density``) the eigenvalue density of ``net``'s Hessian."""
    x, y = data.x.to(device), data.y.to(device)
    op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y))
    top = lanczos(op, k=5, which="both", tol=1e-4, max_iter=300, seed=seed)
    trace, error = hutchinson_trace(op, samples=samples, seed=seed)
    values = top.eigenvalues.cpu().double().numpy()
    result = {
        "loss": op.loss(),
        "smallest": values[:5].tolist(),
        "largest": values[-5:].tolist(),
        "converged": top.converged,
        "trace": trace,
        "trace_error": error,
    }
    if density:
        estimate = spectral_density(op, steps=steps, runs=runs, seed=seed)
        result |= {"grid": estimate.grid.numpy(), "density": estimate.density.numpy()}
    return result


def figure(results: dict[str, dict[str, object]], language: str):
    text = TEXT[language]
    fig, ax = new_figure(1, width=6.4, height=4.0)
    colors = dict(zip(results, ("tab:gray", "tab:blue"), strict=True))
    for name, r in results.items():
        ax.semilogy(
            r["grid"], np.maximum(r["density"], 1e-12), color=colors[name], lw=1.0, label=text["runs"][name]
        )
        for value in (*r["smallest"], *r["largest"]):
            ax.axvline(value, color=colors[name], lw=0.6, ls=":", ymax=0.08)
    ax.plot([], [], color="0.3", lw=0.6, ls=":", label=text["ticks"])
    ax.set(xlabel=text["x"], ylabel=text["y"], ylim=(1e-8, None))
    trained = results.get("trained")
    if trained is not None:
        top = trained["largest"][-1]
        ax.annotate(
            text["largest"].format(value=top),
            (top, 3e-4),
            xytext=(top, 3e-3),
            ha="center",
            va="bottom",
            fontsize=8,
            color=colors["trained"],
            arrowprops={"arrowstyle": "->", "color": colors["trained"], "lw": 0.7},
        )
        ax.text(
            (1 + top) / 2,
            2e-3,
            text["outliers"],
            ha="center",
            va="bottom",
            fontsize=8,
            color=colors["trained"],
        )
    lows = [text["runs"][name] + f" ${r['smallest'][0]:.3f}$" for name, r in results.items()]
    ax.text(
        0.6,
        2e-1,
        text["bulk"] + "\n" + text["negative"].format(values=text["and"].join(lows)),
        ha="left",
        va="center",
        fontsize=8,
    )
    ax.legend(fontsize=8, loc="upper right")
    return fig


def span(values: Sequence[float], digits: int) -> str:
    return f"{min(values):.{digits}g}-{max(values):.{digits}g}"


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    width, epochs, steps, runs, samples = (32, 3, 30, 3, 20) if args.quick else (128, 20, 80, 10, 100)
    seeds = [args.seed + k for k in range(3)]
    data = load_digits()
    n = sum(p.numel() for p in network(width, args.seed).parameters())
    print(f"device: {args.device}; MLP 64-{width}-{width}-10, {n:,} parameters; {len(data.train.x):,} images")
    per_seed = {}
    for seed in seeds:
        net = network(width, seed).to(args.device)
        results = {}
        print(f"seed {seed}")
        for name in ("initialization", "trained"):
            if name == "trained":
                optimizer = Adam(net.parameters(), lr=1e-3)
                train(net, optimizer, data.train, epochs=epochs, batch_size=64, device=args.device, seed=seed)
            # the figure draws the first seed's densities; the others give the numbers compared
            r = spectrum(net, data.train, args.device, steps, runs, samples, seed, density=seed == seeds[0])
            results[name] = r
            print(f"  {name}: training loss {r['loss']:.4f}")
            print(f"    5 largest eigenvalues  {np.round(r['largest'], 4).tolist()}")
            smallest = np.round(r["smallest"], 4).tolist()
            print(f"    5 smallest eigenvalues {smallest} (converged: {r['converged']})")
            print(f"    trace {r['trace']:.3f} +- {r['trace_error']:.3f} (Hutchinson, {samples} samples)")
        per_seed[seed] = results
    print(f"over seeds {', '.join(map(str, seeds))} (smallest-largest):")
    for name in ("initialization", "trained"):
        top = [per_seed[s][name]["largest"][-1] for s in seeds]
        ratio = [per_seed[s][name]["largest"][-1] / abs(per_seed[s][name]["smallest"][0]) for s in seeds]
        trace = [per_seed[s][name]["trace"] for s in seeds]
        print(
            f"  {name}: largest eigenvalue {span(top, 3)}, largest / |most negative| {span(ratio, 3)},"
            f" trace {span(trace, 3)}, 2 / largest eigenvalue {span([2 / t for t in top], 2)}"
        )
    paths = save_figures(lambda language: figure(per_seed[seeds[0]], language), args.out, "hessian_spectrum")
    for path in paths:
        print(f"wrote {path}")
    summary = {
        seed: {
            name: {key: v for key, v in r.items() if key not in ("grid", "density")} for name, r in rs.items()
        }
        for seed, rs in per_seed.items()
    }
    return {"summary": summary, "parameters": n, "figures": paths}


if __name__ == "__main__":
    main()
