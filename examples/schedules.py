"""Learning-rate schedules, and what a warm-up does for Adam on a small network (S5.6-S5.9).

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

- schedules.svg: the schedules, and the training loss per epoch with and without warm-up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import Adam
from mlnotes.plotting import new_figure, save_figure
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


def figure(curves: dict[str, np.ndarray]):
    fig, (left, right) = new_figure(2, width=4.6, height=3.4)
    t = np.arange(1000)
    for name, schedule in SHOWN.items():
        rates = np.array([schedule(int(s)) for s in t])
        left.plot(t, rates / rates.max(), lw=1.2, label=name)
    left.set(xlabel="$t$", ylabel=r"$\eta^t / \max_t \eta^t$")
    left.legend(fontsize=7)
    styles = (("tab:red", "-"), ("tab:green", "-"), ("tab:red", "--"), ("tab:green", "--"))
    for (label, losses), (color, style) in zip(curves.items(), styles, strict=True):
        epochs = np.arange(1, losses.shape[1] + 1)
        right.semilogy(epochs, losses.mean(axis=0), color=color, ls=style, label=label)
        right.fill_between(epochs, losses.min(axis=0), losses.max(axis=0), color=color, alpha=0.15)
    right.set(xlabel="epoch", ylabel=r"$L_{\mathrm{train}}$")
    right.legend(fontsize=8)
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
            label = rf"$\eta={peak:g}$, $w={WARMUP if warmup else 0}$"
            runs = [run(data, peak, warmup, epochs, seed, args.device) for seed in seeds]
            curves[label] = np.array([losses for losses, _ in runs])
            accuracy = [acc for _, acc in runs]
            first = curves[label][:, 0]
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
    path = save_figure(figure(curves), args.out / "schedules.svg")
    print(f"wrote {path}")
    return {"summary": summary, "warmup_minus_none": gaps, "figures": [path]}


if __name__ == "__main__":
    main()
