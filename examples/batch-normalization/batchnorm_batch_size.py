"""Batch normalization and the batch size: noisy statistics in small batches.

Book: batch-normalization#batch-size.

Batch normalization divides by the mean and variance of the *batch*. With B examples these are
estimates: the batch mean of a unit with standard deviation s varies by s / sqrt(B) from batch to
batch, and the (biased) batch variance that training divides by is on average (B - 1) / B of the
true one. The script measures both on the first hidden layer of a network at initialization (the
bundled digits), against those closed forms, and then trains the same network with and without
batch normalization at batch sizes BATCH_SIZES (mini-batch gradient descent, lr 0.1, 6 epochs,
five seeds). For every run it prints the validation accuracy in evaluation mode (running
statistics) and in training mode on batches of the training batch size (each batch normalized by
its own statistics).

- batchnorm_batch_size.zh.svg, batchnorm_batch_size.en.svg: left, the spread of the batch mean and
  of the batch variance against B, measured and predicted; right, validation accuracy against the
  batch size: without batch normalization, with it in evaluation mode, and with it in training mode on
  batches of B (mean, range over the seeds), in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mlnotes.batchnorm import BatchNorm
from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figures
from mlnotes.training import evaluate, train

BATCH_SIZES, WIDTH, LR = (2, 4, 16, 128), 64, 0.1
DRAWS = 2000  # random batches per batch size for the statistics


def network(seed: int, batch_norm: bool) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    width_in = 64
    for _ in range(2):
        layers.append(nn.Linear(width_in, WIDTH))
        if batch_norm:
            layers.append(BatchNorm(WIDTH))  # the chapter's own layer, equal to nn.BatchNorm1d
        layers.append(nn.ReLU())
        width_in = WIDTH
    return nn.Sequential(*layers, nn.Linear(width_in, 10))


def batch_statistics(values: torch.Tensor, batch_size: int, draws: int, seed: int) -> dict[str, float]:
    """How far batch means and biased batch variances of ``values`` (N, units) stray from the whole
    set's, over ``draws`` batches drawn without replacement; relative to each unit's std and variance,
    averaged over the units."""
    generator = torch.Generator().manual_seed(seed)
    n = len(values)
    mean, var = values.mean(dim=0), values.var(dim=0, correction=0)
    index = torch.stack([torch.randperm(n, generator=generator)[:batch_size] for _ in range(draws)])
    batches = values[index]  # (draws, B, units)
    mean_error = (batches.mean(dim=1) - mean) / var.sqrt()
    var_ratio = batches.var(dim=1, correction=0) / var
    return {
        "mean_spread": float(mean_error.std(dim=0, correction=0).mean()),
        "var_ratio": float(var_ratio.mean()),
        "var_spread": float(var_ratio.std(dim=0, correction=0).mean()),
    }


def train_mode_accuracy(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int
) -> float:
    """Accuracy when every batch of ``batch_size`` is normalized by its own statistics (training mode;
    the running statistics and the model's mode are left as they were). Not ``mlnotes.evaluate``,
    which always evaluates in eval mode, with the running statistics."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=generator)
    saved, mode = {k: v.clone() for k, v in net.state_dict().items()}, net.training
    net.train()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x) - batch_size + 1, batch_size):  # whole batches only
            index = order[start : start + batch_size]
            correct += int((net(x[index]).argmax(dim=1) == y[index]).sum())
    net.load_state_dict(saved)  # the running statistics, as they were
    net.train(mode)
    return correct / (len(x) // batch_size * batch_size)


TEXT = {
    "zh": {
        "b": "批量大小 $B$",
        "spread": "相对于整个数据集的偏差",
        "stats": "批量统计量的噪声（第一个隐藏层）",
        "mean": "批量均值的标准差（以单元标准差为单位）",
        "mean_theory": r"预测 $\sqrt{(1 - B/N)/B}$",
        "var": "批量方差与真实方差之比的标准差",
        "var_low": "批量方差与真实方差之比的均值",
        "var_low_theory": r"预测 $(B-1)/B$",
        "accuracy": "验证准确率",
        "training": "训练结果（6 个回合）",
        "plain": "不用批量归一化",
        "eval": "批量归一化，评估模式",
        "train": "批量归一化，训练模式，批量为 $B$",
    },
    "en": {
        "b": "batch size $B$",
        "spread": "deviation from the whole data set",
        "stats": "noise of the batch statistics (first hidden layer)",
        "mean": "std of the batch mean (in units of each unit's std)",
        "mean_theory": r"predicted $\sqrt{(1 - B/N)/B}$",
        "var": "std of batch variance / true variance",
        "var_low": "mean of batch variance / true variance",
        "var_low_theory": r"predicted $(B-1)/B$",
        "accuracy": "validation accuracy",
        "training": "after training (6 epochs)",
        "plain": "without batch normalization",
        "eval": "batch normalization, evaluation mode",
        "train": "batch normalization, training mode, batches of $B$",
    },
}


def figure(stats: dict[int, dict[str, float]], n: int, accuracy: dict[str, np.ndarray], language: str):
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.4, height=3.6)
    sizes = np.array(sorted(stats))
    left.loglog(
        sizes, [stats[b]["mean_spread"] for b in sizes], "o-", color="tab:blue", ms=3, label=text["mean"]
    )
    left.loglog(sizes, np.sqrt((1 - sizes / n) / sizes), ":", color="tab:blue", label=text["mean_theory"])
    left.loglog(
        sizes, [stats[b]["var_spread"] for b in sizes], "s-", color="tab:red", ms=3, label=text["var"]
    )
    left.loglog(
        sizes, [stats[b]["var_ratio"] for b in sizes], "^-", color="tab:green", ms=3, label=text["var_low"]
    )
    left.loglog(sizes, (sizes - 1) / sizes, ":", color="tab:green", label=text["var_low_theory"])
    left.set(xlabel=text["b"], ylabel=text["spread"], title=text["stats"])
    left.set_xticks(sizes, [str(b) for b in sizes])
    left.legend(fontsize=6.5)
    for key, color in (("plain", "tab:gray"), ("eval", "tab:blue"), ("train", "tab:orange")):
        values = accuracy[key]
        right.semilogx(sizes, values.mean(axis=1), "o-", ms=3, color=color, label=text[key])
        right.fill_between(sizes, values.min(axis=1), values.max(axis=1), color=color, alpha=0.15)
    right.set(xlabel=text["b"], ylabel=text["accuracy"], title=text["training"])
    right.set_xticks(sizes, [str(b) for b in sizes])
    right.legend(fontsize=7)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    epochs, seeds, draws = (
        (2, [args.seed], 200) if args.quick else (6, [args.seed + k for k in range(5)], DRAWS)
    )
    data = load_digits()
    n = len(data.train)
    print(
        f"device: {args.device}; {n} training images; width {WIDTH}, lr {LR}, {epochs} epochs, seeds {seeds}"
    )
    with torch.no_grad():
        first = network(args.seed, False)[0](data.train.x)  # the first hidden layer, before any ReLU
    stats = {b: batch_statistics(first, b, draws, args.seed) for b in BATCH_SIZES}
    for b, s in stats.items():
        print(
            f"B = {b:>3}: batch mean off by {s['mean_spread']:.3f} std"
            f" (predicted {np.sqrt((1 - b / n) / b):.3f});"
            f" batch variance / true {s['var_ratio']:.3f} on average (predicted {(b - 1) / b:.3f}), spread"
            f" {s['var_spread']:.3f}"
        )
    accuracy = {key: np.zeros((len(BATCH_SIZES), len(seeds))) for key in ("plain", "eval", "train")}
    runs = [(i, b, j, seed) for i, b in enumerate(BATCH_SIZES) for j, seed in enumerate(seeds)]
    for i, b, j, seed in tqdm(runs, unit="run", leave=False):
        for batch_norm in (False, True):
            net = network(seed, batch_norm).to(args.device)
            train(
                net,
                GradientDescent(net.parameters(), lr=LR),
                data.train,
                epochs=epochs,
                batch_size=b,
                device=args.device,
                seed=seed,
                progress=False,
            )
            val = evaluate(net, data.val, device=args.device)[1]
            if batch_norm:
                accuracy["eval"][i, j] = val
                x, y = data.val.x.to(args.device), data.val.y.to(args.device)
                accuracy["train"][i, j] = train_mode_accuracy(net, x, y, b, seed)
            else:
                accuracy["plain"][i, j] = val
    for i, b in enumerate(BATCH_SIZES):
        row = {key: ", ".join(f"{v:.4f}" for v in values[i]) for key, values in accuracy.items()}
        print(
            f"B = {b:>3}: validation accuracy without batch norm {row['plain']}; with it, evaluation mode"
            f" {row['eval']}; training mode on batches of {b} {row['train']}"
        )
    paths = save_figures(
        lambda language: figure(stats, n, accuracy, language), args.out, "batchnorm_batch_size"
    )
    for path in paths:
        print(f"wrote {path}")
    return {"stats": stats, "accuracy": {k: v.tolist() for k, v in accuracy.items()}, "figures": paths}


if __name__ == "__main__":
    main()
