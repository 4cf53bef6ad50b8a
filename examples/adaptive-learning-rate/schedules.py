"""Learning-rate schedules, and what a warm-up does for Adam on a small network.

Book: adaptive-learning-rate#warm-up.

Left: every schedule of mlnotes.schedules over 1,000 updates, each divided by its own largest value
so that the shapes can be compared. Right: a 64-256-256-10 MLP trained on the bundled digits with
Adam at two peak learning rates (3e-3 and the large 1e-2; batch 32, 30 epochs), with and without a
linear warm-up over the first 200 updates, from the same five seeds. Early in training Adam's
estimate v of the squared gradient rests on very few gradients, so its steps can be large and
erratic; a warm-up keeps the rate small until v is better informed. The script reports the
training loss after the first epoch and the final validation accuracy for each seed, whether the
difference turns out large or not, and for each peak the difference warm-up minus none per seed
(the same seed gives both runs the same initial weights and the same batches), so that a
difference smaller than the spread between seeds is seen to be one.

- schedules.zh.svg, schedules.en.svg: the schedules, and the training loss per epoch with and without
  warm-up, the end of the warm-up (update 200) marked in both panels; in Chinese and in English.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import Adam
from mlnotes.plotting import new_figure, save_figures
from mlnotes.schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseSqrtDecay,
    LinearWarmup,
    StepDecay,
    TransformerWarmup,
)
from mlnotes.training import train

PEAKS, WARMUP, BATCH = (3e-3, 1e-2), 200, 32
SHOWN = {
    "StepDecay": StepDecay(1.0, step_size=250, gamma=0.5),
    "ExponentialDecay": ExponentialDecay(1.0, gamma=0.997),
    "InverseSqrtDecay": InverseSqrtDecay(1.0),
    "LinearWarmup": LinearWarmup(1.0, warmup_steps=200),
    "TransformerWarmup": TransformerWarmup(d_model=512, warmup_steps=200),
    "CosineDecay": CosineDecay(1.0, total_steps=1000),
}

TEXT = {
    "zh": {
        "schedules": {
            "StepDecay": r"阶梯衰减（$s=250$，$\gamma=0.5$）",
            "ExponentialDecay": r"指数衰减（$\gamma=0.997$）",
            "InverseSqrtDecay": r"平方根倒数衰减 $1/\sqrt{t+1}$",
            "LinearWarmup": r"线性预热（$w=200$）",
            "TransformerWarmup": r"Transformer 预热（$w=200$）",
            "CosineDecay": r"余弦衰减（$T=1000$）",
        },
        "t": "更新次数 $t$",
        "relative": r"相对学习率 $\eta^t / \eta_{\max}$",
        "epoch": "回合",
        "loss": "训练损失 $L$（每个回合的平均）",
        "run": r"峰值 $\eta={peak:g}$，{warmup}",
        "none": "不预热",
        "warmup": "预热 $w={w}$",
        "end": "预热结束\n$t = {w}$",
        "end_epoch": "预热结束（第 {w} 次更新，\n每个回合 {per_epoch} 次更新）",
    },
    "en": {
        "schedules": {
            "StepDecay": r"step decay ($s=250$, $\gamma=0.5$)",
            "ExponentialDecay": r"exponential decay ($\gamma=0.997$)",
            "InverseSqrtDecay": r"inverse square root $1/\sqrt{t+1}$",
            "LinearWarmup": r"linear warm-up ($w=200$)",
            "TransformerWarmup": r"Transformer warm-up ($w=200$)",
            "CosineDecay": r"cosine decay ($T=1000$)",
        },
        "t": "update $t$",
        "relative": r"relative learning rate $\eta^t / \eta_{\max}$",
        "epoch": "epoch",
        "loss": "training loss $L$ (mean over each epoch)",
        "run": r"peak $\eta={peak:g}$, {warmup}",
        "none": "no warm-up",
        "warmup": "warm-up $w={w}$",
        "end": "warm-up ends\n$t = {w}$",
        "end_epoch": "warm-up ends (update {w};\n{per_epoch} updates per epoch)",
    },
}


def model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def run(data, peak: float, warmup: bool, epochs: int, seed: int, device) -> tuple[list[float], float]:
    net = model(seed)
    lr = LinearWarmup(peak, warmup_steps=WARMUP) if warmup else peak
    history = train(
        net,
        Adam(net.parameters(), lr=lr),
        data.train,
        epochs=epochs,
        batch_size=BATCH,
        val=data.val,
        device=device,
        seed=seed,
        progress=False,
    )
    return [e.train_loss for e in history.epochs], history.epochs[-1].val_accuracy


def figure(curves: dict[tuple[float, bool], np.ndarray], updates_per_epoch: int, language: str):
    """Both panels in ``language``; ``curves`` maps (peak, warm-up) to the losses per seed and epoch."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.6, height=3.6)
    t = np.arange(1000)
    for name, schedule in SHOWN.items():
        rates = np.array([schedule(int(s)) for s in t])
        left.plot(t, rates / rates.max(), lw=1.2, label=text["schedules"][name])
    left.axvline(WARMUP, color="0.3", lw=0.8, ls=":")
    left.text(WARMUP + 12, 0.19, text["end"].format(w=WARMUP), fontsize=7.5, ha="left", va="bottom")
    left.set(xlabel=text["t"], ylabel=text["relative"])
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    styles = {
        (PEAKS[0], False): ("tab:red", "-"),
        (PEAKS[1], False): ("tab:green", "-"),
        (PEAKS[0], True): ("tab:red", "--"),
        (PEAKS[1], True): ("tab:green", "--"),
    }
    for (peak, warmup), losses in curves.items():
        color, style = styles[(peak, warmup)]
        label = text["run"].format(
            peak=peak, warmup=text["warmup"].format(w=WARMUP) if warmup else text["none"]
        )
        epochs = np.arange(1, losses.shape[1] + 1)
        right.semilogy(epochs, losses.mean(axis=0), color=color, ls=style, label=label)
        right.fill_between(epochs, losses.min(axis=0), losses.max(axis=0), color=color, alpha=0.15)
    end = WARMUP / updates_per_epoch
    right.axvline(end, color="0.3", lw=0.8, ls=":")
    right.text(
        end + 0.4,
        0.97,
        text["end_epoch"].format(w=WARMUP, per_epoch=updates_per_epoch),
        transform=right.get_xaxis_transform(),
        fontsize=7.5,
        ha="left",
        va="top",
    )
    right.set(xlabel=text["epoch"], ylabel=text["loss"])
    right.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    data = load_digits(seed=args.seed)
    epochs = 3 if args.quick else 30
    seeds = [args.seed] if args.quick else [args.seed + k for k in range(5)]
    print(f"device: {args.device}; Adam, peak lr {PEAKS}, batch {BATCH}, {epochs} epochs, seeds {seeds}")
    curves, summary, gaps = {}, {}, {}
    for peak in PEAKS:
        for warmup in (False, True):
            runs = [run(data, peak, warmup, epochs, seed, args.device) for seed in seeds]
            curves[(peak, warmup)] = np.array([losses for losses, _ in runs])
            accuracy = [acc for _, acc in runs]
            first = curves[(peak, warmup)][:, 0]
            summary[(peak, warmup)] = {"first_epoch_loss": first.tolist(), "val_accuracy": accuracy}
            acc = np.array(accuracy)
            name = f"peak {peak:g}, warm-up {WARMUP if warmup else 0:>3}"
            for seed, loss, a in zip(seeds, first, acc, strict=True):
                print(f"{name}, seed {seed}: loss in epoch 1 {loss:.4f}, final val acc {a:.4f}")
            print(
                f"{name}: loss in epoch 1 mean {first.mean():.4f} (min {first.min():.4f}, max"
                f" {first.max():.4f}); final val acc mean {acc.mean():.4f} (min {acc.min():.4f},"
                f" max {acc.max():.4f})"
            )
        with_warmup, without = (np.array(summary[(peak, w)]["val_accuracy"]) for w in (True, False))
        gap = with_warmup - without
        gaps[peak] = gap.tolist()
        print(
            f"peak {peak:g}: final val acc, warm-up minus none, per seed (points):"
            f" {', '.join(f'{100 * d:+.2f}' for d in gap)}; mean {100 * gap.mean():+.2f}"
        )
    per_epoch = math.ceil(len(data.train) / BATCH)  # the last batch of an epoch may be smaller
    paths = save_figures(lambda language: figure(curves, per_epoch, language), args.out, "schedules")
    for path in paths:
        print(f"wrote {path}")
    return {"summary": summary, "warmup_minus_none": gaps, "figures": paths}


if __name__ == "__main__":
    main()
