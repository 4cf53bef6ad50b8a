"""Training and test accuracy against batch size, same model and same epoch budget.

Book: batch-and-momentum#noisy-gradients.

An MLP (64-128-10) is trained on the bundled digits for the same number of epochs with each batch
size. Every batch size gets its own learning rate (a large batch with the small batch's learning rate
would be an unfair comparison): the rate of the grid with the best validation accuracy, averaged over
SELECTION_SEEDS seeds of its own (--seed + EVAL_SEEDS, ...). Then EVAL_SEEDS other seeds (--seed,
--seed + 1, ...) train with that rate, and their training and test accuracy are reported: neither the
seeds nor the data that chose the rate are the ones that measure it. A seed sets the initial weights
and the batch order; the split of the data is the one of --seed. The question of the lecture: with
the same number of passes over the data, does the small batch, with its noisier gradients, optimize
better?

- batch_size_accuracy.zh.svg, batch_size_accuracy.en.svg: final training and test accuracy (mean and
  range over the evaluation seeds) against batch size, each batch size's chosen learning rate, and
  the number of updates of the smallest batch and of the full batch, in Chinese and in English.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.ticker import PercentFormatter
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.plotting import new_figure, save_figures
from mlnotes.training import evaluate

LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
EVAL_SEEDS, SELECTION_SEEDS = 5, 2


def model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def outer_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a[r].T @ b[r]`` for every run ``r`` (shapes (R, B, m) and (R, B, k) to (R, m, k)); for a few
    examples per batch as a sum of outer products, which is faster there than a batched product."""
    if a.shape[1] <= 8:
        return (a.unsqueeze(3) * b.unsqueeze(2)).sum(1)
    return torch.bmm(a.transpose(1, 2), b)


def side_by_side(
    data, batch_size: int, runs: Sequence[tuple[float, int]], epochs: int, device: torch.device
) -> list[nn.Module | None]:
    """Train one network per ``(learning rate, seed)`` in ``runs``, all at once; the trained networks,
    ``None`` for a run that diverged.

    Run ``k`` is the run ``train(model(seed), GradientDescent(net.parameters(), lr=lr), data.train,
    epochs=epochs, batch_size=batch_size, seed=seed)`` makes: the same initial weights, the same
    batches (one permutation per epoch from a generator seeded by ``seed``, the last batch of an
    epoch possibly smaller) and the same update w <- w - lr g. The runs' weights are stacked along a
    first dimension, so one batched matrix product per layer (``torch.baddbmm``) serves every run,
    and the gradient is written out instead of recorded by autograd: the cross-entropy's gradient
    with respect to the logits is softmax - one-hot (see the classification-loss chapter), and the
    chain rule carries it back through the two layers. With many small updates this is several
    times faster than training the runs one after another.
    A run whose logits become NaN or inf, or whose weights do, has diverged (``train`` raises
    ``TrainingDiverged``); its NaNs stay in its own slice of the stack and do not reach the others.
    """
    nets = [model(seed) for _, seed in runs]
    first, second = [[net[i] for net in nets] for i in (0, 2)]
    weights = [
        torch.stack([layer.weight.detach() for layer in first]),  # (R, 128, 64)
        torch.stack([layer.bias.detach() for layer in first]).unsqueeze(1),  # (R, 1, 128)
        torch.stack([layer.weight.detach() for layer in second]),  # (R, 10, 128)
        torch.stack([layer.bias.detach() for layer in second]).unsqueeze(1),  # (R, 1, 10)
    ]
    weights = [w.to(device) for w in weights]
    w1, b1, w2, b2 = weights
    rates = torch.tensor([lr for lr, _ in runs], dtype=torch.float32, device=device).view(-1, 1, 1)
    finite = torch.ones(len(runs), dtype=torch.bool, device=device)
    generators = [torch.Generator().manual_seed(seed) for _, seed in runs]
    x, y = data.train.x.to(device), data.train.y.to(device)
    n = len(x)
    bounds = [*range(0, n, batch_size), n]
    for _ in range(epochs):
        orders = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(device)
        for start, stop in itertools.pairwise(bounds):
            index = orders[:, start:stop]  # (R, B): each run's own batch
            inputs, targets = x[index], y[index]
            pre = torch.baddbmm(b1, inputs, w1.transpose(1, 2))
            hidden = pre.clamp_min(0)
            logits = torch.baddbmm(b2, hidden, w2.transpose(1, 2))
            finite &= torch.isfinite(logits).flatten(1).all(1)
            # the mean cross-entropy's gradient with respect to the logits: (softmax - one-hot) / B
            delta = torch.softmax(logits, dim=2)
            delta.scatter_add_(2, targets.unsqueeze(2), torch.full_like(delta[..., :1], -1.0))
            delta /= stop - start
            back = torch.bmm(delta, w2) * (pre > 0)  # through the second layer and the ReLU
            grads = (
                outer_sum(back, inputs),
                back.sum(1, keepdim=True),
                outer_sum(delta, hidden),
                delta.sum(1, keepdim=True),
            )
            for w, g in zip(weights, grads, strict=True):
                w.addcmul_(g, rates, value=-1)
    for w in weights:  # a run stays finite only if its weights do
        finite &= torch.isfinite(w).flatten(1).all(1)
    trained = []
    for k, net in enumerate(nets):
        if not bool(finite[k]):
            trained.append(None)
            continue
        with torch.no_grad():
            net[0].weight.copy_(w1[k])
            net[0].bias.copy_(b1[k, 0])
            net[2].weight.copy_(w2[k])
            net[2].bias.copy_(b2[k, 0])
        trained.append(net.to(device))
    return trained


def accuracies(data, batch_size, runs, epochs, device) -> list[tuple[float, float, float]]:
    """The (training, validation, test) accuracy of every run of ``side_by_side``, zeros if it diverged."""
    return [
        (0.0, 0.0, 0.0)
        if net is None
        else tuple(evaluate(net, split, device=device)[1] for split in (data.train, data.val, data.test))
        for net in side_by_side(data, batch_size, runs, epochs, device)
    ]


TEXT = {
    "zh": {
        "title": "训练 {epochs} 个回合后",
        "b": "批量大小 $B$",
        "acc": "准确率",
        "train": "训练集",
        "test": "测试集",
        "seeds": "{seeds} 个种子的均值与范围",
        "below": "点下：选出的学习率 $\\eta$，以及这些回合里的更新次数",
        "point": "$\\eta={rate:g}$\n{updates:,} 次更新",
        "full": "全批量\n$B={b}$",
    },
    "en": {
        "title": "after {epochs} epochs",
        "b": "batch size $B$",
        "acc": "accuracy",
        "train": "training set",
        "test": "test set",
        "seeds": "mean and range over {seeds} seeds",
        "below": "below the points: the chosen learning rate $\\eta$ and the number of updates",
        "point": "$\\eta={rate:g}$\n{updates:,} updates",
        "full": "full batch\n$B={b}$",
    },
}


def figure(sizes, train_acc, test_acc, rates, updates, epochs, language):
    """Training and test accuracy (mean and range over the seeds, one column each) against the batch
    size, in ``language``; under each point the rate chosen for that batch size and the updates it
    makes in ``epochs`` epochs; the last size is the full batch."""
    text = TEXT[language]
    fig, ax = new_figure(width=5.6, height=3.9)
    for acc, color, marker, label in (
        (train_acc, "tab:blue", "o", text["train"]),
        (test_acc, "tab:orange", "s", text["test"]),
    ):
        mean = acc.mean(axis=1)
        ax.errorbar(
            sizes,
            mean,
            yerr=[mean - acc.min(axis=1), acc.max(axis=1) - mean],
            color=color,
            marker=marker,
            capsize=3,
            label=label,
        )
    lowest = np.minimum(train_acc.min(axis=1), test_acc.min(axis=1))
    for size, low, rate, count in zip(sizes, lowest, rates, updates, strict=True):
        ax.annotate(
            text["point"].format(rate=rate, updates=count),
            (size, low),
            xytext=(0, -7),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7,
            color="0.3",
            linespacing=1.1,
        )
    ax.annotate(
        text["full"].format(b=sizes[-1]),
        (sizes[-1], test_acc[-1].mean()),
        xytext=(-14, 0),
        textcoords="offset points",
        ha="right",
        va="center",
        fontsize=7.5,
    )
    ax.set(
        xscale="log",
        xlabel=text["b"],
        ylabel=text["acc"],
        xlim=(sizes[0] / 2, sizes[-1] * 2.2),
        ylim=(lowest.min() - 0.075, 1.015),
    )
    ax.set_title(
        text["title"].format(epochs=epochs) + "\n" + text["below"].format(epochs=epochs), fontsize=8.5
    )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.legend(
        title=text["seeds"].format(seeds=train_acc.shape[1]),
        title_fontsize=7.5,
        fontsize=7.5,
        loc="lower left",
    )
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    data = load_digits(seed=args.seed)
    n = len(data.train)
    sizes = [1, 32, n] if args.quick else [1, 4, 16, 64, 256, n]
    epochs = 2 if args.quick else 20
    evaluation, selection = (2, 1) if args.quick else (EVAL_SEEDS, SELECTION_SEEDS)
    seeds = [args.seed + k for k in range(evaluation)]
    selection_seeds = [args.seed + evaluation + k for k in range(selection)]
    rates = (0.1, 1.0) if args.quick else LEARNING_RATES
    print(
        f"device: {args.device}; {n} training / {len(data.val)} validation / {len(data.test)} test "
        f"images; {epochs} epochs per run; rate chosen on seeds {selection_seeds}, measured on {seeds}"
    )
    train_acc = np.zeros((len(sizes), len(seeds)))
    test_acc = np.zeros_like(train_acc)
    chosen, scores = {}, {}
    for i, size in enumerate(sizes):
        grid = [(lr, s) for lr in rates for s in selection_seeds]
        validation = dict(zip(grid, accuracies(data, size, grid, epochs, args.device), strict=True))
        scores[size] = {lr: float(np.mean([validation[lr, s][1] for s in selection_seeds])) for lr in rates}
        lr = chosen[size] = max(rates, key=lambda r: scores[size][r])  # a tie goes to the smaller rate
        measured = accuracies(data, size, [(lr, seed) for seed in seeds], epochs, args.device)
        for j, (train_accuracy, _, test_accuracy) in enumerate(measured):
            train_acc[i, j], test_acc[i, j] = train_accuracy, test_accuracy
        grid = ", ".join(f"{r}: {v:.4f}" for r, v in scores[size].items())
        each = " ".join(f"{a:.4f}/{t:.4f}" for a, t in zip(train_acc[i], test_acc[i], strict=True))
        print(f"B={size:>5} validation accuracy by rate (selection seeds) {grid}")
        print(
            f"B={size:>5} lr={lr:<4} train acc {train_acc[i].mean():.4f} "
            f"({train_acc[i].min():.4f}-{train_acc[i].max():.4f}) test acc {test_acc[i].mean():.4f} "
            f"({test_acc[i].min():.4f}-{test_acc[i].max():.4f}) over {len(seeds)} seeds; "
            f"per seed train/test {each}"
        )
    updates = [epochs * math.ceil(n / size) for size in sizes]
    paths = save_figures(
        lambda language: figure(
            sizes, train_acc, test_acc, [chosen[s] for s in sizes], updates, epochs, language
        ),
        args.out,
        "batch_size_accuracy",
    )
    for path in paths:
        print(f"wrote {path}")
    return {
        "sizes": sizes,
        "seeds": seeds,
        "selection_seeds": selection_seeds,
        "lr": chosen,
        "selection": scores,
        "train": train_acc.tolist(),
        "test": test_acc.tolist(),
        "figures": paths,
    }


if __name__ == "__main__":
    main()
