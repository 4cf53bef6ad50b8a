"""Training and test accuracy against batch size, same model and same epoch budget (S3.4).

An MLP (64-128-10) is trained on the bundled digits for the same number of epochs with each batch
size. Every batch size gets its own learning rate (a large batch with the small batch's learning rate
would be an unfair comparison): the rate of the grid with the best validation accuracy, averaged over
SELECTION_SEEDS seeds of its own (--seed + EVAL_SEEDS, ...). Then EVAL_SEEDS other seeds (--seed,
--seed + 1, ...) train with that rate, and their training and test accuracy are reported: neither the
seeds nor the data that chose the rate are the ones that measure it. A seed sets the initial weights
and the batch order; the split of the data is the one of --seed. The question of the lecture: with
the same number of passes over the data, does the small batch, with its noisier gradients, optimize
better?

- batch_size_accuracy.svg: final training and test accuracy (mean and range over the evaluation
  seeds) against batch size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figure
from mlnotes.training import TrainingDiverged, evaluate, train

LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
EVAL_SEEDS, SELECTION_SEEDS = 5, 2


def model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def run(data, batch_size, lr, epochs, seed, device):
    """Train one network; returns its (training, validation, test) accuracy, zeros if it diverged."""
    net = model(seed)
    try:
        train(
            net,
            GradientDescent(net.parameters(), lr=lr),
            data.train,
            epochs=epochs,
            batch_size=batch_size,
            device=device,
            seed=seed,
            progress=False,
        )
    except TrainingDiverged:
        return 0.0, 0.0, 0.0
    return tuple(evaluate(net, split, device=device)[1] for split in (data.train, data.val, data.test))


def figure(sizes, train_acc, test_acc):
    fig, ax = new_figure(width=5.0, height=3.4)
    for acc, color, marker, label in (
        (train_acc, "tab:blue", "o", r"$\mathcal{D}_{\mathrm{train}}$"),
        (test_acc, "tab:orange", "s", r"$\mathcal{D}_{\mathrm{test}}$"),
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
    ax.set(xscale="log", xlabel="$B$", ylabel=r"$\mathrm{acc}$")
    ax.legend()
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
        scores[size] = {
            lr: float(np.mean([run(data, size, lr, epochs, s, args.device)[1] for s in selection_seeds]))
            for lr in rates
        }
        lr = chosen[size] = max(rates, key=lambda r: scores[size][r])  # a tie goes to the smaller rate
        for j, seed in enumerate(seeds):
            train_acc[i, j], _, test_acc[i, j] = run(data, size, lr, epochs, seed, args.device)
        grid = ", ".join(f"{r}: {v:.4f}" for r, v in scores[size].items())
        each = " ".join(f"{a:.4f}/{t:.4f}" for a, t in zip(train_acc[i], test_acc[i], strict=True))
        print(f"B={size:>5} validation accuracy by rate (selection seeds) {grid}")
        print(
            f"B={size:>5} lr={lr:<4} train acc {train_acc[i].mean():.4f} "
            f"({train_acc[i].min():.4f}-{train_acc[i].max():.4f}) test acc {test_acc[i].mean():.4f} "
            f"({test_acc[i].min():.4f}-{test_acc[i].max():.4f}) over {len(seeds)} seeds; "
            f"per seed train/test {each}"
        )
    path = save_figure(figure(sizes, train_acc, test_acc), args.out / "batch_size_accuracy.svg")
    print(f"wrote {path}")
    return {
        "sizes": sizes,
        "seeds": seeds,
        "selection_seeds": selection_seeds,
        "lr": chosen,
        "selection": scores,
        "train": train_acc.tolist(),
        "test": test_acc.tolist(),
        "figures": [path],
    }


if __name__ == "__main__":
    main()
