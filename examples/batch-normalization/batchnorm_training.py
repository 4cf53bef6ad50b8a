"""The same network with and without batch normalization, same budget, several seeds.

Book: batch-normalization#why-it-helps.

A 64-128-128-128-128-10 ReLU network learns the bundled digits by mini-batch gradient descent (batch
64, 15 epochs), once plain and once with mlnotes.BatchNorm after each hidden linear layer (before the
ReLU). Both are trained at every learning rate of a grid from 0.01 to 10 from three seeds. For each
rate the script reports the mean final validation accuracy, how many runs diverged, and the number of
updates until the validation accuracy first reached 95% (checked after every epoch; the median over
the seeds that got there), and each seed's final accuracy and updates to 95%. A rate "trains" when
every seed ends above 90% validation accuracy. Before training, it reports the scale of the plain
network's hidden values at initialization: the standard deviation of each hidden layer's output
(after the ReLU) and of the logits over the whole training set, for every seed.

- batchnorm_training.zh.svg, batchnorm_training.en.svg: final validation accuracy and updates to
  95% against the learning rate, with the 10% of guessing, the plain
  network's best rate, the budget of updates and the fastest rate with batch normalization marked,
  in Chinese and in English.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.ticker import PercentFormatter
from torch import nn
from tqdm import tqdm

from mlnotes.batchnorm import BatchNorm
from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figures
from mlnotes.training import TrainingDiverged, train

WIDTH, DEPTH, BATCH, TARGET, TRAINS = 128, 4, 64, 0.95, 0.90
RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
QUICK_RATES = (0.03, 0.3, 3.0)


def network(normalized: bool, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    layers, width_in = [], 64
    for _ in range(DEPTH):
        layers.append(nn.Linear(width_in, WIDTH))
        if normalized:
            layers.append(BatchNorm(WIDTH))
        layers.append(nn.ReLU())
        width_in = WIDTH
    layers.append(nn.Linear(width_in, 10))
    return nn.Sequential(*layers)


def hidden_scales(data, seed: int) -> list[float]:
    """Standard deviation of every hidden layer's output (after the ReLU), then of the logits, of the
    plain network as initialized from ``seed``, over all units and all training examples: one pooled
    scale per layer, not ``mlnotes.activation_spread``'s spread of each unit over the examples."""
    net, h, scales = network(False, seed), data.train.x, []
    with torch.no_grad():
        for layer in net:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                scales.append(h.std().item())
    return [*scales, h.std().item()]


def run(data, normalized: bool, lr: float, seed: int, epochs: int, device) -> dict[str, object]:
    net = network(normalized, seed)
    try:
        history = train(
            net,
            GradientDescent(net.parameters(), lr=lr),
            data.train,
            epochs=epochs,
            batch_size=BATCH,
            val=data.val,
            device=device,
            seed=seed,
            progress=False,
        )
    except TrainingDiverged:
        return {"diverged": True, "final": 0.0, "updates_to_target": None}
    per_epoch = history.epochs[0].updates
    reached = next((e.epoch for e in history.epochs if e.val_accuracy >= TARGET), None)
    final = history.epochs[-1].val_accuracy
    return {
        "diverged": False,
        "final": final,
        "updates_to_target": None if reached is None else reached * per_epoch,
    }


TEXT = {
    "zh": {
        "runs": {False: "不加批量归一化", True: "加批量归一化"},
        "eta": "学习率 $\\eta$",
        "final": "最终验证集准确率（种子平均）",
        "updates": "验证集准确率达到 95% 所需的更新次数",
        "guess": "瞎猜：10%",
        "plain_best": "不加批量归一化时最好的\n学习率 $\\eta = {lr:g}$：{acc:.0%}",
        "budget": "预算：{budget} 次更新",
        "never": "不加批量归一化的运行\n一次也没有达到 95%",
        "fastest": "$\\eta = {lr:g}$：{steps:.0f} 次更新\n（{epochs:.0f} 个回合）",
    },
    "en": {
        "runs": {False: "plain", True: "with batch normalization"},
        "eta": "learning rate $\\eta$",
        "final": "final validation accuracy (mean over seeds)",
        "updates": "updates until 95% validation accuracy",
        "guess": "guessing: 10%",
        "plain_best": "best rate of the plain network\n$\\eta = {lr:g}$: {acc:.0%}",
        "budget": "budget: {budget} updates",
        "never": "no plain run\never reaches 95%",
        "fastest": "$\\eta = {lr:g}$: {steps:.0f} updates\n({epochs:.0f} epochs)",
    },
}


def figure(
    summary: dict[tuple[bool, float], dict[str, object]],
    rates: Sequence[float],
    budget: int,
    per_epoch: int,
    language: str,
):
    """Final validation accuracy and median updates to 95% against the learning rate, in ``language``;
    ``budget`` is the number of updates of a whole run, ``per_epoch`` those of one epoch."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.2, height=3.5)
    colors = {False: "tab:gray", True: "tab:blue"}
    for normalized in (False, True):
        color, label = colors[normalized], text["runs"][normalized]
        finals = [summary[(normalized, lr)]["mean_final"] for lr in rates]
        left.semilogx(rates, finals, "o-", color=color, label=label)
        steps = [summary[(normalized, lr)]["median_updates_to_target"] for lr in rates]
        shown = [(lr, s) for lr, s in zip(rates, steps, strict=True) if s is not None]
        if shown:
            right.loglog(*zip(*shown, strict=True), "o-", color=color, label=label)
    for level, key, va in ((0.1, "guess", "top"),):
        left.axhline(level, color="0.5", ls=":", lw=0.8)
        left.annotate(
            text[key],
            (rates[0], level),
            xytext=(0, 1.5 if va == "bottom" else -1.5),
            textcoords="offset points",
            va=va,
            fontsize=7,
            color="0.35",
        )
    plain_best = max(rates, key=lambda lr: summary[(False, lr)]["mean_final"])
    best_acc = summary[(False, plain_best)]["mean_final"]
    left.annotate(
        text["plain_best"].format(lr=plain_best, acc=best_acc),
        (plain_best, best_acc),
        xytext=(-10, -42),
        textcoords="offset points",
        ha="right",
        fontsize=7,
        color="0.25",
        arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.7},
    )
    left.set(xlabel=text["eta"], ylabel=text["final"], ylim=(0, 1.02))
    left.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    right.axhline(budget, color="0.5", ls=":", lw=0.8)
    right.annotate(
        text["budget"].format(budget=budget),
        (rates[0], budget),
        xytext=(0, -2),
        textcoords="offset points",
        va="top",
        fontsize=7,
        color="0.35",
    )
    normalized = {lr: summary[(True, lr)]["median_updates_to_target"] for lr in rates}
    reached = [lr for lr in rates if normalized[lr] is not None]
    if reached:
        fastest = min(reached, key=lambda lr: normalized[lr])  # a tie goes to the smaller rate
        steps = normalized[fastest]
        right.annotate(
            text["fastest"].format(lr=fastest, steps=steps, epochs=steps / per_epoch),
            (fastest, steps),
            xytext=(0, -14),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7,
        )
    if all(summary[(False, lr)]["reached"] == 0 for lr in rates):
        right.text(
            0.97,
            0.97,
            text["never"],
            transform=right.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color="0.35",
        )
    right.set(
        xlabel=text["eta"], ylabel=text["updates"], xlim=left.get_xlim(), ylim=(per_epoch / 2, budget * 1.5)
    )
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    epochs, seeds = (3, [args.seed]) if args.quick else (15, [args.seed + k for k in range(3)])
    rates = QUICK_RATES if args.quick else RATES
    data = load_digits()
    print(
        f"device: {args.device}; 64-{'-'.join([str(WIDTH)] * DEPTH)}-10 ReLU, batch {BATCH}, {epochs} epochs,"
        f" seeds {seeds}; target {TARGET:.0%} validation accuracy"
    )
    print(f"std of the input pixels over the training set: {data.train.x.std().item():.3f}")
    scales = np.array([hidden_scales(data, seed) for seed in seeds])
    for seed, row in zip(seeds, scales, strict=True):
        shown = ", ".join(f"{v:.3f}" for v in row[:-1])
        print(f"plain, initialized from seed {seed}: std of hidden layers {shown}; logits {row[-1]:.3f}")
    if len(seeds) > 1:
        spread = ", ".join(f"{lo:.3f}-{hi:.3f}" for lo, hi in zip(scales.min(0), scales.max(0), strict=True))
        print(f"plain, over the seeds (min-max): hidden layers 1-{DEPTH}, then logits: {spread}")
    summary = {}
    jobs = [(normalized, lr) for normalized in (False, True) for lr in rates]
    for normalized, lr in tqdm(jobs, unit="setting", leave=False):
        runs = [run(data, normalized, lr, seed, epochs, args.device) for seed in seeds]
        steps = [r["updates_to_target"] for r in runs if r["updates_to_target"] is not None]
        summary[(normalized, lr)] = {
            "finals": [r["final"] for r in runs],
            "updates_to_target": [r["updates_to_target"] for r in runs],
            "mean_final": float(np.mean([r["final"] for r in runs])),
            "diverged": sum(r["diverged"] for r in runs),
            "reached": len(steps),
            "median_updates_to_target": float(np.median(steps)) if steps else None,
            "trains": all(r["final"] > TRAINS for r in runs),
        }
    for normalized in (False, True):
        name = "with BN" if normalized else "plain  "
        for lr in rates:
            s = summary[(normalized, lr)]
            steps = "-" if s["median_updates_to_target"] is None else f"{s['median_updates_to_target']:.0f}"
            print(
                f"{name} lr {lr:<5g}: val acc mean {s['mean_final']:.4f} (min {min(s['finals']):.4f}),"
                f" diverged {s['diverged']}/{len(seeds)}, reached {TARGET:.0%} in"
                f" {s['reached']}/{len(seeds)}, median updates {steps};"
                f" per seed: val acc {', '.join(f'{f:.4f}' for f in s['finals'])}, updates"
                f" {', '.join('-' if u is None else str(u) for u in s['updates_to_target'])}"
            )
        training = [lr for lr in rates if summary[(normalized, lr)]["trains"]]
        print(
            f"{name} largest learning rate that trains (every seed > {TRAINS:.0%}):"
            f" {max(training, default=None)}"
        )
    per_epoch = math.ceil(len(data.train) / BATCH)
    paths = save_figures(
        lambda language: figure(summary, rates, epochs * per_epoch, per_epoch, language),
        args.out,
        "batchnorm_training",
    )
    for path in paths:
        print(f"wrote {path}")
    return {"summary": summary, "hidden_scales": scales.tolist(), "figures": paths}


if __name__ == "__main__":
    main()
