"""Initialization: the deep plain networks that learned nothing, trained again.

Book: general-guidance#initialization.

The 8- and 16-layer plain ReLU networks of depth_vs_training_loss.py (width 64, mini-batch gradient
descent, batch 64, 30 epochs) end at the loss ln 10 of a network that has learned nothing. The reason
is the scale of their first weights. PyTorch's default for nn.Linear draws every weight from
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), variance 1/(3 fan_in); a ReLU layer then keeps only about
fan_in * Var(w) / 2 = 1/6 of the second moment of its input, so the part of the signal that differs
from image to image shrinks by about sqrt(6) per layer and the biases' constant takes over. He
initialization (He et al., 2015), variance 2 / fan_in, keeps it. The script trains, for each depth
and five seeds:

- the default initialization at the learning rate 0.1 (the depth experiment's runs);
- He initialization (nn.init.kaiming_normal_, biases zero) at 0.1 and at 0.03;
- the default initialization with batch normalization after every hidden linear layer, at 0.1.

It prints, for each, the final training loss and training accuracy of every seed (NaN for a run
that diverged; its curve stops there), and the spread of
each hidden layer's output over the training images at initialization (mlnotes.activation_spread:
each unit's standard deviation over the images, averaged over the units), mean over the seeds.

- initialization.zh.svg, initialization.en.svg: left, the spread at initialization through the 16
  layers, default against He; right, the training loss per epoch of the 16-layer networks (mean,
  range over the seeds shaded) for the four set-ups, in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.ticker import FuncFormatter
from torch import nn
from tqdm import tqdm

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figures
from mlnotes.training import TrainingDiverged, activation_spread, evaluate, train

DEPTHS, WIDTH, BATCH = (8, 16), 64, 64
SETUPS = {  # name: (initialization, batch normalization, learning rate)
    "default, lr 0.1": ("default", False, 0.1),
    "He, lr 0.1": ("he", False, 0.1),
    "He, lr 0.03": ("he", False, 0.03),
    "default + BN, lr 0.1": ("default", True, 0.1),
}
STYLE = {
    "default, lr 0.1": ("tab:red", "-"),
    "He, lr 0.1": ("tab:blue", "-"),
    "He, lr 0.03": ("tab:cyan", "--"),
    "default + BN, lr 0.1": ("tab:green", "-"),
}


def network(depth: int, seed: int, init: str = "default", batch_norm: bool = False) -> nn.Module:
    """A plain ReLU network of ``depth`` hidden layers; ``init="he"`` redraws every weight He's way."""
    torch.manual_seed(seed)
    layers, width_in = [], 64
    for _ in range(depth):
        layers.append(nn.Linear(width_in, WIDTH))
        if batch_norm:
            layers.append(nn.BatchNorm1d(WIDTH))  # used here, built in its own chapter
        layers.append(nn.ReLU())
        width_in = WIDTH
    net = nn.Sequential(*layers, nn.Linear(width_in, 10))
    if init == "he":
        for layer in net:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")  # variance 2 / fan_in
                nn.init.zeros_(layer.bias)
    elif init != "default":
        raise ValueError(f"init must be 'default' or 'he', got {init!r}")
    return net


TEXT = {
    "zh": {
        "layer": "第几个隐藏层",
        "spread": "输出在图像之间的差异（标准差）",
        "default": "PyTorch 默认初始化",
        "he": "He 初始化",
        "signal": "初始化时的信号（16 层）",
        "epoch": "回合",
        "loss": "训练损失 $L$",
        "curves": "16 层网络的训练",
        "chance": r"$\ln 10$：什么也没学到",
        "diverged": "（{total} 个种子中 {count} 个发散）",
        "setups": {
            "default, lr 0.1": r"默认，$\eta=0.1$",
            "He, lr 0.1": r"He，$\eta=0.1$",
            "He, lr 0.03": r"He，$\eta=0.03$",
            "default + BN, lr 0.1": r"默认 + 批量归一化，$\eta=0.1$",
        },
    },
    "en": {
        "layer": "hidden layer",
        "spread": "spread of its output over the images (std)",
        "default": "PyTorch's default initialization",
        "he": "He initialization",
        "signal": "the signal at initialization (16 layers)",
        "epoch": "epoch",
        "loss": "training loss $L$",
        "curves": "training the 16-layer networks",
        "chance": r"$\ln 10$: nothing learned",
        "diverged": " ({count} of {total} seeds diverged)",
        "setups": {
            "default, lr 0.1": r"default, $\eta=0.1$",
            "He, lr 0.1": r"He, $\eta=0.1$",
            "He, lr 0.03": r"He, $\eta=0.03$",
            "default + BN, lr 0.1": r"default + batch norm, $\eta=0.1$",
        },
    },
}


def figure(spreads: dict[str, np.ndarray], curves: dict[str, np.ndarray], language: str):
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.4, height=3.6)
    for init, color in (("default", "tab:red"), ("he", "tab:blue")):
        values = spreads[init]
        layers = np.arange(1, values.shape[1] + 1)
        left.semilogy(layers, values.mean(axis=0), "o-", ms=3, color=color, label=text[init])
        left.fill_between(layers, values.min(axis=0), values.max(axis=0), color=color, alpha=0.15)
    left.set(xlabel=text["layer"], ylabel=text["spread"], title=text["signal"], xticks=[1, 4, 8, 12, 16])
    left.legend(fontsize=7.5)
    for name, losses in curves.items():
        color, ls = STYLE[name]
        epochs = np.arange(1, losses.shape[1] + 1)
        finite = np.isfinite(losses).any(axis=0)  # epochs that some seed reached without diverging
        epochs, losses = epochs[finite], losses[:, finite]
        label = text["setups"][name]
        diverged = int((~np.isfinite(losses[:, -1])).sum()) if losses.size else len(losses)
        if diverged:
            label += text["diverged"].format(count=diverged, total=len(losses))
        right.semilogy(epochs, np.nanmean(losses, axis=0), color=color, ls=ls, label=label)
        right.fill_between(
            epochs, np.nanmin(losses, axis=0), np.nanmax(losses, axis=0), color=color, alpha=0.12
        )
    right.axhline(np.log(10), color="0.4", lw=0.8, ls=":")
    right.annotate(text["chance"], (1, np.log(10)), xytext=(0, 3), textcoords="offset points", fontsize=7.5)
    right.set(xlabel=text["epoch"], ylabel=text["loss"], title=text["curves"])
    right.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    right.legend(fontsize=7.5, loc="lower left")
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    epochs, seeds = (3, [args.seed]) if args.quick else (30, [args.seed + k for k in range(5)])
    data = load_digits()
    print(
        f"device: {args.device}; plain ReLU nets, width {WIDTH}, batch {BATCH}, {epochs} epochs,"
        f" seeds {seeds}"
    )
    spreads = {}
    for init in ("default", "he"):
        rows = []
        for seed in seeds:
            net = network(max(DEPTHS), seed, init)
            rows.append(list(activation_spread(net, data.train.x, kinds=nn.ReLU).values()))
        spreads[init] = np.array(rows)
        mean = spreads[init].mean(axis=0)
        shown = [k for k in (1, 2, 4, 8, 16) if k <= len(mean)]
        print(
            f"{init:>7} initialization, spread over the training images at layers"
            f" {', '.join(map(str, shown))}: {', '.join(f'{mean[k - 1]:.3g}' for k in shown)}"
            " (mean over the seeds)"
        )
    summary: dict[int, dict[str, dict[str, list[float]]]] = {}
    curves: dict[str, np.ndarray] = {}
    runs = [(depth, name) for depth in DEPTHS for name in SETUPS]
    for depth, name in tqdm(runs, unit="set-up", leave=False):
        init, batch_norm, lr = SETUPS[name]
        losses, final, accuracy, diverged = [], [], [], []
        for seed in seeds:
            net = network(depth, seed, init, batch_norm).to(args.device)
            try:
                history = train(
                    net,
                    GradientDescent(net.parameters(), lr=lr),
                    data.train,
                    epochs=epochs,
                    batch_size=BATCH,
                    device=args.device,
                    seed=seed,
                    progress=False,
                )
            except TrainingDiverged as error:  # the epochs before it are kept; the rest are NaN
                done = [e.train_loss for e in error.history.epochs]
                losses.append(done + [float("nan")] * (epochs - len(done)))
                final.append(float("nan"))
                accuracy.append(float("nan"))
                diverged.append(seed)
                continue
            losses.append([e.train_loss for e in history.epochs])
            loss, acc = evaluate(net, data.train, device=args.device)
            final.append(loss)
            accuracy.append(acc)
        summary.setdefault(depth, {})[name] = {
            "train_loss": final,
            "train_accuracy": accuracy,
            "diverged": diverged,
        }
        if depth == max(DEPTHS):
            curves[name] = np.array(losses)
        print(
            f"{depth:>2} layers, {name:<21}: training loss {', '.join(f'{v:.4f}' for v in final)};"
            f" training accuracy {', '.join(f'{v:.4f}' for v in accuracy)}"
            + (f"; diverged (NaN): seeds {diverged}" if diverged else "")
        )
    paths = save_figures(lambda language: figure(spreads, curves, language), args.out, "initialization")
    for path in paths:
        print(f"wrote {path}")
    return {"spreads": spreads, "summary": summary, "figures": paths}


if __name__ == "__main__":
    main()
