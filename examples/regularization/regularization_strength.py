"""Regularization repairs overfitting: weight decay and dropout on a network that overfits.

Book: regularization#repairing-overfitting.

A network far larger than its data: 200 training images of the bundled digits (the first 200 of the
training split), two hidden ReLU layers of 256 units (about 85,000 parameters), mini-batch gradient
descent with momentum (torch.optim.SGD, lr 0.1, momentum 0.9, batch 40) for 150 epochs, five seeds.
Without regularization it fits the 200 images perfectly, and its validation loss (the 360 images of
the validation split) climbs back up after its early minimum. The script trains it

- with the L2 penalty alpha ||w||^2 for alpha in ALPHAS (SGD's weight_decay = 2 alpha, see the
  chapter's "L2 and weight decay"), on every weight and bias;
- with dropout (mlnotes.Dropout) at the rates of DROPOUT: on the hidden layers, and on the input
  pixels as well.

It prints, for every set-up and seed, the final training loss, validation loss and validation
accuracy, and the mean over the seeds.

- regularization_strength.zh.svg, regularization_strength.en.svg: left, the final training and
  validation loss against alpha (mean, range over the seeds shaded); right, the validation loss per
  epoch without regularization, at the alpha with the lowest mean final validation loss, and with
  dropout 0.5 on the hidden layers, in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.ticker import FuncFormatter
from torch import nn
from tqdm import tqdm

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import Split, load_digits
from mlnotes.plotting import new_figure, save_figures
from mlnotes.regularization import Dropout
from mlnotes.training import evaluate, train

TRAIN_SIZE, WIDTH, LR, BATCH = 200, 256, 0.1, 40
ALPHAS = (0.0, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
DROPOUT = {  # name: (rate on the input pixels, rate after each hidden layer)
    "hidden 0.5": (0.0, 0.5),
    "input 0.2, hidden 0.5": (0.2, 0.5),
}


def network(seed: int, input_rate: float = 0.0, hidden_rate: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [Dropout(input_rate)] if input_rate else []
    width_in = 64
    for _ in range(2):
        layers += [nn.Linear(width_in, WIDTH), nn.ReLU()]
        if hidden_rate:
            layers.append(Dropout(hidden_rate))
        width_in = WIDTH
    return nn.Sequential(*layers, nn.Linear(width_in, 10))


def run(data, val: Split, seed: int, epochs: int, alpha: float = 0.0, rates=(0.0, 0.0), device="cpu"):
    """Train one network; its validation loss per epoch and its final losses and accuracy."""
    net = network(seed, *rates).to(device)
    # momentum 0.9 reaches the overfitted state within the budget; weight_decay = 2 alpha is the
    # gradient of the penalty alpha ||w||^2 exactly. torch's SGD rather than mlnotes.Momentum with
    # l2_penalty in the loss: train() scores the validation set with the same loss_fn, and the
    # validation loss must not include the penalty.
    optimizer = torch.optim.SGD(net.parameters(), lr=LR, momentum=0.9, weight_decay=2 * alpha)
    history = train(
        net,
        optimizer,
        data,
        epochs=epochs,
        batch_size=BATCH,
        val=val,
        device=device,
        seed=seed,
        progress=False,
    )
    train_loss, train_accuracy = evaluate(net, data, device=device)
    val_loss, val_accuracy = evaluate(net, val, device=device)
    return {
        "val_curve": [e.val_loss for e in history.epochs],
        "train_loss": train_loss,
        "train_accuracy": train_accuracy,
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
    }


TEXT = {
    "zh": {
        "alpha": r"惩罚强度 $\alpha$",
        "loss": "最终损失（交叉熵）",
        "train": "训练损失",
        "val": "验证损失",
        "strength": "L2 惩罚的强度",
        "epoch": "回合",
        "val_loss": "验证损失",
        "curves": "验证损失随回合的变化",
        "none": "不加正则化",
        "best": r"L2，$\alpha={alpha:g}$",
        "dropout": "丢弃法，隐藏层 0.5",
    },
    "en": {
        "alpha": r"penalty strength $\alpha$",
        "loss": "final loss (cross-entropy)",
        "train": "training loss",
        "val": "validation loss",
        "strength": "the strength of the L2 penalty",
        "epoch": "epoch",
        "val_loss": "validation loss",
        "curves": "validation loss per epoch",
        "none": "no regularization",
        "best": r"L2, $\alpha={alpha:g}$",
        "dropout": "dropout 0.5 on the hidden layers",
    },
}


def figure(alphas, by_alpha, curves: dict[str, np.ndarray], best: float, language: str):
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.4, height=3.6)
    # alpha = 0 drawn at the left edge of a log axis: at a tenth of the smallest positive alpha
    xs = np.array([a if a > 0 else min(b for b in alphas if b > 0) / 10 for a in alphas])
    for key, color, marker in (("train_loss", "tab:blue", "o"), ("val_loss", "tab:red", "s")):
        values = np.array([[r[key] for r in by_alpha[a]] for a in alphas])
        left.loglog(xs, values.mean(axis=1), marker + "-", ms=3, color=color, label=text[key.split("_")[0]])
        left.fill_between(xs, values.min(axis=1), values.max(axis=1), color=color, alpha=0.15)
    left.set_xticks(xs, ["0"] + [f"{a:g}" for a in alphas[1:]], fontsize=7)
    left.set(xlabel=text["alpha"], ylabel=text["loss"], title=text["strength"])
    left.legend(fontsize=7.5)
    styles = {"none": "tab:red", "best": "tab:green", "dropout": "tab:purple"}
    for key, losses in curves.items():
        epochs = np.arange(1, losses.shape[1] + 1)
        label = text[key].format(alpha=best) if key == "best" else text[key]
        right.semilogy(epochs, losses.mean(axis=0), color=styles[key], label=label)
        right.fill_between(epochs, losses.min(axis=0), losses.max(axis=0), color=styles[key], alpha=0.15)
    right.set(xlabel=text["epoch"], ylabel=text["val_loss"], title=text["curves"])
    right.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    right.yaxis.set_minor_formatter(
        FuncFormatter(lambda value, _: f"{value:g}" if value in (0.2, 0.3, 0.5) else "")
    )
    right.legend(fontsize=7.5)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    epochs, seeds = (10, [args.seed]) if args.quick else (150, [args.seed + k for k in range(5)])
    digits = load_digits()
    data = Split(digits.train.x[:TRAIN_SIZE], digits.train.y[:TRAIN_SIZE])
    print(
        f"device: {args.device}; {TRAIN_SIZE} training images, {len(digits.val)} validation; two hidden"
        f" layers of {WIDTH}; SGD lr {LR}, batch {BATCH}, {epochs} epochs; seeds {seeds}"
    )
    setups = [("alpha", a) for a in ALPHAS] + [("dropout", name) for name in DROPOUT]
    results: dict[tuple[str, object], list[dict]] = {}
    for kind, value in tqdm(setups, unit="set-up", leave=False):
        options = {"alpha": value} if kind == "alpha" else {"rates": DROPOUT[value]}
        runs = [run(data, digits.val, seed, epochs, device=args.device, **options) for seed in seeds]
        results[kind, value] = runs
        label = f"alpha {value:g}" if kind == "alpha" else f"dropout {value}"
        means = {k: np.mean([r[k] for r in runs]) for k in ("train_loss", "val_loss", "val_accuracy")}
        values = {k: ", ".join(f"{r[k]:.4f}" for r in runs) for k in means}
        print(
            f"{label:<29}: training loss {values['train_loss']}; validation loss {values['val_loss']};"
            f" validation accuracy {values['val_accuracy']} (means {means['train_loss']:.4f},"
            f" {means['val_loss']:.4f}, {means['val_accuracy']:.4f})"
        )
    by_alpha = {a: results["alpha", a] for a in ALPHAS}
    best = min(ALPHAS, key=lambda a: np.mean([r["val_loss"] for r in by_alpha[a]]))
    lowest = [min(r["val_curve"]) for r in by_alpha[0.0]]
    at = [int(np.argmin(r["val_curve"])) + 1 for r in by_alpha[0.0]]
    print(
        f"lowest mean final validation loss at alpha {best:g}; without regularization the validation loss"
        f" is lowest at epochs {at} ({', '.join(f'{v:.4f}' for v in lowest)})"
    )
    curves = {
        "none": np.array([r["val_curve"] for r in by_alpha[0.0]]),
        "best": np.array([r["val_curve"] for r in by_alpha[best]]),
        "dropout": np.array([r["val_curve"] for r in results["dropout", "hidden 0.5"]]),
    }
    paths = save_figures(
        lambda language: figure(ALPHAS, by_alpha, curves, best, language), args.out, "regularization_strength"
    )
    for path in paths:
        print(f"wrote {path}")
    return {
        "by_alpha": {a: runs for a, runs in by_alpha.items()},
        "dropout": {name: results["dropout", name] for name in DROPOUT},
        "best_alpha": best,
        "figures": paths,
    }


if __name__ == "__main__":
    main()
