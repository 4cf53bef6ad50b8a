"""Small-batch and large-batch solutions: the loss between them and around each one.

Book: batch-and-momentum#sharp-flat.

The same MLP (64-128-10) is trained on the bundled digits twice from the same initial weights: with
mini-batches of 16 (noisy gradients) and with the whole training set in every update (full-batch
gradient descent). Each run stops at the first epoch with training accuracy >= TARGET, so the two
solutions fit the training data equally well. Then:

- the loss along the straight line theta(s) = (1 - s) theta_small + s theta_large, s in [-0.5, 1.5],
  on the training and the test set, and the barrier on it: the highest training loss between the two
  solutions minus the higher of the two ends (zero or less: no barrier);
- the loss along random *filter-normalized* directions around each solution (Li et al., 2018): a
  Gaussian direction whose every row (one neuron's incoming weights) is rescaled to the norm of the
  same row of the solution, biases left at zero, so that the scale of the network does not decide
  how sharp a minimum looks;
- two sharpness numbers: the largest eigenvalue of the Hessian of the training loss (the Lanczos method,
  with Hessian-vector products, float64), and the mean rise of the training loss at distance 0.5
  along the filter-normalized directions.

The whole comparison is repeated for SEEDS seeds (--seed, --seed + 1, ...; 2 with --quick): each
seed draws new initial weights (shared by the two runs), new batch orders and new directions, while
the split of the data stays the one of --seed. The script prints every seed's numbers, and mean, min
and max over the seeds of each number and of its difference between the two batch sizes.

- sharp_flat.zh.svg, sharp_flat.en.svg: the interpolation (left, the two solutions at s = 0 and 1
  marked, and whether any seed shows a barrier) and the mean filter-normalized profile of each solution
  (right, |r| = 0.5 marked), mean over the seeds, the band from the lowest to the highest seed; in
  Chinese and in English.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.curvature import HessianOperator, lanczos
from mlnotes.data import load_digits
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figures
from mlnotes.training import evaluate, train

TARGET = 0.995  # training accuracy at which both runs stop
SMALL, SMALL_LR, LARGE_LR = 16, 0.05, 0.5
SEEDS = 10
EPOCH_STRIDE = 10_000  # seed s shuffles epoch e with seed s * EPOCH_STRIDE + e: no two seeds share one
QUANTITIES = ("epochs", "train_accuracy", "test_accuracy", "lambda_max", "rise_at_0.5")

TEXT = {
    "zh": {
        "line": r"两个解之间的直线 $(1-s)\,\boldsymbol{\theta}_{B=16}+s\,\boldsymbol{\theta}_{B=N}$",
        "s": "直线上的位置 $s$",
        "loss": "损失 $L$",
        "train": "训练集",
        "test": "测试集",
        "solution": "{B} 的解",
        "no_barrier": "{seeds} 个种子都没有势垒",
        "barrier": "最高的势垒 {barrier:.3g}",
        "profile": "每个解周围的平均剖面",
        "t": "沿随机方向（按滤波器归一化）的距离 $r$",
        "mean_loss": r"平均训练损失 $\overline{L}$",
        "around": "{B} 的解周围",
    },
    "en": {
        "line": r"the line $(1-s)\,\boldsymbol{\theta}_{B=16}+s\,\boldsymbol{\theta}_{B=N}$"
        " between the solutions",
        "s": "position $s$ on the line",
        "loss": "loss $L$",
        "train": "training set",
        "test": "test set",
        "solution": "{B} solution",
        "no_barrier": "no barrier in any of the {seeds} seeds",
        "barrier": "highest barrier {barrier:.3g}",
        "profile": "the mean profile around each solution",
        "t": "distance $r$ along a random filter-normalized direction",
        "mean_loss": r"mean training loss $\overline{L}$",
        "around": "around the {B} solution",
    },
}


def model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def fit(data, batch_size, lr, max_epochs, seed, device):
    """Train from the seed's initial weights until training accuracy >= TARGET; returns (net, epochs)."""
    net = model(seed).to(device)
    opt = GradientDescent(net.parameters(), lr=lr)
    for epoch in range(1, max_epochs + 1):
        train(
            net,
            opt,
            data.train,
            epochs=1,
            batch_size=batch_size,
            device=device,
            seed=seed * EPOCH_STRIDE + epoch,
            progress=False,
        )
        if evaluate(net, data.train, device=device)[1] >= TARGET:
            return net, epoch
    return net, max_epochs


def flat(net):
    return torch.nn.utils.parameters_to_vector(net.parameters()).detach()


def load(net, theta):
    torch.nn.utils.vector_to_parameters(theta, net.parameters())
    return net


def filter_normalized(net, generator):
    """A random direction shaped like ``net``'s parameters, each row scaled to the row norm of ``net``."""
    parts = []
    for p in net.parameters():
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
        if p.dim() <= 1:
            d.zero_()  # biases: not perturbed
        else:
            d *= p.detach().norm(dim=1, keepdim=True) / d.norm(dim=1, keepdim=True)
        parts.append(d.flatten())
    return torch.cat(parts)


def losses_along(net, theta0, direction, ts, split, device):
    probe = copy.deepcopy(net)
    return [evaluate(load(probe, theta0 + t * direction), split, device=device)[0] for t in ts]


def top_eigenvalue(net, split, device, iterations):
    """Largest Hessian eigenvalue of the mean training cross-entropy (float64), by the Lanczos method
    on the Hessian-vector products of ``mlnotes.HessianOperator`` (at most ``iterations`` products)."""
    net64 = copy.deepcopy(net).double().to(device)
    op = HessianOperator(net64, F.cross_entropy, [(split.x.double().to(device), split.y.to(device))])
    return float(lanczos(op, max_iter=iterations, tol=1e-8, seed=0).eigenvalues[-1])


def compare(data, seed, caps, positions, ts, directions, iterations, device):
    """One seed: both solutions, their numbers, the interpolation and the mean profile of each."""
    n = len(data.train)
    nets, numbers, profiles = {}, {}, {}
    for label, size, lr, cap in ((f"B={SMALL}", SMALL, SMALL_LR, caps[0]), (f"B={n}", n, LARGE_LR, caps[1])):
        nets[label], epochs = fit(data, size, lr, cap, seed, device)
        numbers[label] = {"epochs": epochs}
    generator = torch.Generator().manual_seed(seed)
    for label, net in nets.items():
        train_loss, train_acc = evaluate(net, data.train, device=device)
        theta = flat(net)
        curves = np.array(
            [
                losses_along(net, theta, filter_normalized(net, generator), ts, data.train, device)
                for _ in range(directions)
            ]
        )
        profiles[label] = curves.mean(axis=0)
        half = [np.interp(t, ts, c) for c in curves for t in (-0.5, 0.5)]
        numbers[label] |= {
            "train_accuracy": train_acc,
            "test_accuracy": evaluate(net, data.test, device=device)[1],
            "lambda_max": top_eigenvalue(net, data.train, device, iterations),
            "rise_at_0.5": float(np.mean(half) - train_loss),
        }
    small, large = nets.values()
    a, b = flat(small), flat(large)
    probe = copy.deepcopy(small)
    line = {
        split: np.array(
            [evaluate(load(probe, (1 - s) * a + s * b), part, device=device)[0] for s in positions]
        )
        for split, part in (("train", data.train), ("test", data.test))
    }
    between = (positions >= 0) & (positions <= 1)
    ends = max(np.interp(0.0, positions, line["train"]), np.interp(1.0, positions, line["train"]))
    barrier = float(line["train"][between].max() - ends)
    return numbers, barrier, line, profiles


def spread(values):
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max())}


def band(ax, x, curves, color, label):
    curves = np.asarray(curves)
    ax.plot(x, curves.mean(axis=0), color=color, label=label)
    ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.15, lw=0)


def figure(positions, lines, ts, profiles, barriers, language):
    """Both panels in ``language``: the loss on the line between the two solutions, at positions ``s``
    (0: the small batch, 1: the full batch), and the mean profile around each solution along ``ts``."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.6, height=3.7)
    band(left, positions, [line["train"] for line in lines], "tab:blue", text["train"])
    band(left, positions, [line["test"] for line in lines], "tab:orange", text["test"])
    names = [f"$B={label[2:]}$" for label in profiles]
    names[-1] = f"$B=N={list(profiles)[-1][2:]}$"
    for s, name in zip((0, 1), names, strict=True):
        left.axvline(s, color="0.6", lw=0.8, ls="--")
        left.text(
            s,
            1.01,
            text["solution"].format(B=name),
            transform=left.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7.5,
        )
    highest = max(barriers)
    note = (
        text["no_barrier"].format(seeds=len(barriers))
        if highest <= 0
        else text["barrier"].format(barrier=highest)
    )
    left.text(
        0.04,
        0.5,
        note,
        transform=left.transAxes,
        ha="left",
        va="center",
        fontsize=7.5,
        bbox={"fc": "white", "ec": "0.7", "pad": 2.0},
    )
    left.set(yscale="log", xlabel=text["s"], ylabel=text["loss"])
    left.set_title(text["line"], fontsize=8.5, pad=16)
    left.legend(fontsize=8, loc="center right")
    for (_, curves), color, name in zip(profiles.items(), ("tab:green", "tab:red"), names, strict=True):
        band(right, ts, curves, color, text["around"].format(B=name))
    for t in (-0.5, 0.5):
        right.axvline(t, color="0.6", lw=0.8, ls=":")
        axis = right.get_xaxis_transform()
        right.text(t, 1.01, "$|r| = 0.5$", transform=axis, ha="center", va="bottom", fontsize=7.5)
    right.set(yscale="log", xlabel=text["t"], ylabel=text["mean_loss"])
    right.set_title(text["profile"], fontsize=8.5, pad=16)
    right.legend(fontsize=8, loc="upper center")
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    device = args.device
    data = load_digits(seed=args.seed)
    n = len(data.train)
    caps = (3, 30) if args.quick else (200, 5000)
    seeds = [args.seed + k for k in range(2 if args.quick else SEEDS)]
    directions = 2 if args.quick else 10
    points = 5 if args.quick else 41
    iterations = 5 if args.quick else 100
    positions, ts = np.linspace(-0.5, 1.5, points), np.linspace(-1.0, 1.0, points)
    print(
        f"device: {device}; {n} training / {len(data.test)} test images; target training accuracy "
        f"{TARGET}; seeds {seeds[0]}..{seeds[-1]}"
    )
    labels = (f"B={SMALL}", f"B={n}")
    per_seed = {label: {q: [] for q in QUANTITIES} for label in labels}
    barriers, lines, profiles = [], [], {label: [] for label in labels}
    for seed in seeds:
        numbers, barrier, line, profile = compare(
            data, seed, caps, positions, ts, directions, iterations, device
        )
        for label in labels:
            for q in QUANTITIES:
                per_seed[label][q].append(numbers[label][q])
            profiles[label].append(profile[label])
            m = numbers[label]
            print(
                f"seed {seed} {label:>7}: {m['epochs']:>4} epochs, train acc {m['train_accuracy']:.4f}, "
                f"test acc {m['test_accuracy']:.4f}, lambda_max {m['lambda_max']:.3f}, "
                f"rise at |r| = 0.5 {m['rise_at_0.5']:.4f}"
            )
        barriers.append(barrier)
        lines.append(line)
        print(f"seed {seed}: barrier on the line between the two solutions {barrier:+.4f}")
    small, large = (per_seed[label] for label in labels)
    summary = {label: {q: spread(per_seed[label][q]) for q in QUANTITIES} for label in labels}
    difference = {q: spread(np.subtract(large[q], small[q])) for q in QUANTITIES}
    difference["lambda_max_ratio"] = spread(np.divide(large["lambda_max"], small["lambda_max"]))
    for label in labels:
        for q in QUANTITIES:
            s = summary[label][q]
            print(f"{label:>7} {q:>14}: mean {s['mean']:.4f}, min {s['min']:.4f}, max {s['max']:.4f}")
    for q, s in difference.items():
        print(f"B={n} - B={SMALL} {q:>16}: mean {s['mean']:+.4f}, min {s['min']:+.4f}, max {s['max']:+.4f}")
    paths = save_figures(
        lambda language: figure(positions, lines, ts, profiles, barriers, language), args.out, "sharp_flat"
    )
    for path in paths:
        print(f"wrote {path}")
    return {
        "seeds": seeds,
        "per_seed": per_seed,
        "summary": summary,
        "difference": difference,
        "barrier": barriers,
        "figures": paths,
    }


if __name__ == "__main__":
    main()
