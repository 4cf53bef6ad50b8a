"""Training and validation accuracy against batch size, same model and same epoch budget (S3.4).

An MLP (64-128-10) is trained on the bundled digits for the same number of epochs with each batch
size. Every batch size gets its own learning rate, the best of a small grid by final validation
accuracy (a large batch with the small batch's learning rate would be an unfair comparison), and
the whole comparison is repeated over several seeds. The question of the lecture: with the same
number of passes over the data, does the small batch, with its noisier gradients, optimize better?

- batch_size_accuracy.svg: final training and validation accuracy (mean and range over seeds)
  against batch size.
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
from mlnotes.training import evaluate, train

LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0)


def model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def run(data, batch_size, lr, epochs, seed, device):
    net = model(seed)
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
    return evaluate(net, data.train, device=device)[1], evaluate(net, data.val, device=device)[1]


def figure(sizes, train_acc, val_acc):
    fig, ax = new_figure(width=5.0, height=3.4)
    for acc, color, marker, label in (
        (train_acc, "tab:blue", "o", r"$\mathcal{D}_{\mathrm{train}}$"),
        (val_acc, "tab:orange", "s", r"$\mathcal{D}_{\mathrm{val}}$"),
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
    seeds = [args.seed] if args.quick else [args.seed + k for k in range(3)]
    rates = (0.1,) if args.quick else LEARNING_RATES
    print(f"device: {args.device}; {n} training / {len(data.val)} validation images; {epochs} epochs per run")
    train_acc = np.zeros((len(sizes), len(seeds)))
    val_acc = np.zeros_like(train_acc)
    chosen = {}
    for i, size in enumerate(sizes):
        # the learning rate is chosen on the first seed, then every seed runs with it
        scores = {lr: run(data, size, lr, epochs, seeds[0], args.device) for lr in rates}
        lr = max(rates, key=lambda r: scores[r][1])
        chosen[size] = lr
        for j, seed in enumerate(seeds):
            train_acc[i, j], val_acc[i, j] = (
                scores[lr] if j == 0 else run(data, size, lr, epochs, seed, args.device)
            )
        print(
            f"B={size:>5} lr={lr:<5} train acc {train_acc[i].mean():.4f} (min {train_acc[i].min():.4f}) "
            f"val acc {val_acc[i].mean():.4f} (min {val_acc[i].min():.4f}) over {len(seeds)} seeds"
        )
    path = save_figure(figure(sizes, train_acc, val_acc), args.out / "batch_size_accuracy.svg")
    print(f"wrote {path}")
    return {
        "sizes": sizes,
        "lr": chosen,
        "train": train_acc.tolist(),
        "val": val_acc.tolist(),
        "figures": [path],
    }


if __name__ == "__main__":
    main()
