"""Optimization issue or model bias? Deeper plain networks ending with a higher *training* loss.

Book: general-guidance#optimization-issue.

Plain ReLU networks (no residual connections, no normalization, PyTorch's default initialization)
with 1, 2, 4, 8 and 16 hidden layers of 64 units learn the bundled digits with the same budget:
mini-batch gradient descent, batch 64, learning rate 0.1, 30 epochs, three seeds. A deeper network
can compute everything a shallower one can (extra layers could pass their input on), so a deeper
network that ends with a higher training loss has an optimization problem, not too little capacity.
Beside them, two non-deep baselines from scikit-learn on the same split: logistic regression and a
linear support-vector machine. The script prints the final training loss and the training and
validation accuracy of every model: for the networks the mean over the seeds, and each seed's final
training loss, training accuracy and cross-entropy on the whole training set after training (the
measure logistic regression's training loss is given in).

- depth_vs_training_loss.zh.svg, depth_vs_training_loss.en.svg: training loss per epoch for every
  depth (mean and range over the seeds), the loss ln 10 of a network that has learned nothing, each
  depth's final training accuracy, the baselines' training accuracy and logistic regression's training
  loss, in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.ticker import FuncFormatter
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.svm import LinearSVC
from torch import nn
from tqdm import tqdm

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figures
from mlnotes.training import evaluate, train

DEPTHS, WIDTH, LR, BATCH = (1, 2, 4, 8, 16), 64, 0.1, 64


def network(depth: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    layers, width_in = [], 64
    for _ in range(depth):
        layers += [nn.Linear(width_in, WIDTH), nn.ReLU()]
        width_in = WIDTH
    return nn.Sequential(*layers, nn.Linear(width_in, 10))


def baselines(data) -> dict[str, dict[str, float]]:
    """Training and validation accuracy of two linear models, and logistic regression's training loss.

    The loss is the networks' measure, the mean cross-entropy on the training set (natural log); the
    support-vector machine gives no probabilities, so it has none.
    """
    x, y = data.train.x.numpy(), data.train.y.numpy()
    xv, yv = data.val.x.numpy(), data.val.y.numpy()
    models = {
        "logistic regression": LogisticRegression(max_iter=5000),
        "linear SVM": LinearSVC(C=1.0, max_iter=20_000),
    }
    result = {
        name: {"train_accuracy": float(m.fit(x, y).score(x, y)), "val_accuracy": float(m.score(xv, yv))}
        for name, m in models.items()
    }
    logistic = models["logistic regression"]
    result["logistic regression"]["train_loss"] = float(
        log_loss(y, logistic.predict_proba(x), labels=logistic.classes_)
    )
    return result


TEXT = {
    "zh": {
        "epoch": "回合",
        "loss": "训练损失 $L$",
        "legend": "隐藏层数：最终训练准确率",
        "depth": "${depth}$ 层：{accuracy:.1%}",
        "chance": r"$\ln 10 = 2.303$：什么也没学到",
        "stuck": r"{depths} 层停在 $\ln 10 = 2.303$：什么也没学到",
        "and": "、",
        "baselines": "非深度基线的训练准确率：",
        "names": {"logistic regression": "逻辑回归", "linear SVM": "线性支持向量机"},
        "baseline": "{name}：{accuracy:.1%}",
        "logistic": "逻辑回归的训练损失 {loss:.3f}",
    },
    "en": {
        "epoch": "epoch",
        "loss": "training loss $L$",
        "legend": "hidden layers: final training accuracy",
        "depth": "${depth}$: {accuracy:.1%}",
        "chance": r"$\ln 10 = 2.303$: nothing learned",
        "stuck": r"{depths} layers stay at $\ln 10 = 2.303$: nothing learned",
        "and": " and ",
        "baselines": "training accuracy of non-deep baselines:",
        "names": {"logistic regression": "logistic regression", "linear SVM": "linear SVM"},
        "baseline": "{name}: {accuracy:.1%}",
        "logistic": "logistic regression's training loss {loss:.3f}",
    },
}


def figure(
    curves: dict[int, np.ndarray], summary: dict[int, dict], base: dict[str, dict[str, float]], language: str
):
    """Training loss per epoch for every depth (mean, and the range over the seeds), in ``language``."""
    text = TEXT[language]
    fig, ax = new_figure(1, width=6.4, height=3.9)
    colors = ("tab:blue", "tab:green", "tab:orange", "tab:red", "tab:purple")
    for (depth, losses), color in zip(curves.items(), colors, strict=True):
        epochs = np.arange(1, losses.shape[1] + 1)
        label = text["depth"].format(depth=depth, accuracy=summary[depth]["train_accuracy"])
        ax.semilogy(epochs, losses.mean(axis=0), color=color, label=label)
        ax.fill_between(epochs, losses.min(axis=0), losses.max(axis=0), color=color, alpha=0.15)
    ax.axhline(np.log(10), color="0.4", lw=0.8, ls=":")
    stuck = [depth for depth, losses in curves.items() if losses[:, -1].min() > 0.99 * np.log(10)]
    label = text["stuck"].format(depths=text["and"].join(f"{d}" for d in stuck)) if stuck else text["chance"]
    ax.annotate(
        label,
        (1, np.log(10)),
        xytext=(0, 3),
        textcoords="offset points",
        va="bottom",
        fontsize=7.5,
        color="0.3",
    )
    logistic = base["logistic regression"]["train_loss"]
    ax.axhline(logistic, color="0.3", lw=0.8, ls="--")
    last = max(losses.shape[1] for losses in curves.values())
    ax.annotate(
        text["logistic"].format(loss=logistic),
        (last, logistic),
        xytext=(0, -3),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=7.5,
        color="0.3",
    )
    lines = [text["baselines"]] + [
        text["baseline"].format(name=text["names"][name], accuracy=b["train_accuracy"])
        for name, b in base.items()
    ]
    ax.text(  # outside the axes, under the legend: inside, it would hide the logistic-regression line
        1.02,
        0.02,
        "\n".join(lines),
        transform=ax.transAxes,
        fontsize=7.5,
        va="bottom",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.8"},
    )
    ax.set(xlabel=text["epoch"], ylabel=text["loss"], ylim=(0.08, 4))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(
        FuncFormatter(lambda value, _: f"{value:g}" if value in (0.2, 0.5, 2) else "")
    )
    ax.legend(
        title=text["legend"], title_fontsize=7.5, fontsize=7.5, loc="center left", bbox_to_anchor=(1.01, 0.5)
    )
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    epochs, seeds = (5, [args.seed]) if args.quick else (30, [args.seed + k for k in range(3)])
    data = load_digits()
    print(f"device: {args.device}; plain ReLU nets, width {WIDTH}, lr {LR}, batch {BATCH}, {epochs} epochs")
    curves, summary = {}, {}
    for depth in tqdm(DEPTHS, unit="depth", leave=False):
        losses, train_ce, train_acc, val_acc = [], [], [], []
        for seed in seeds:
            net = network(depth, seed)
            history = train(
                net,
                GradientDescent(net.parameters(), lr=LR),
                data.train,
                epochs=epochs,
                batch_size=BATCH,
                val=data.val,
                device=args.device,
                seed=seed,
                progress=False,
            )
            losses.append([e.train_loss for e in history.epochs])
            loss, accuracy = evaluate(net, data.train, device=args.device)
            train_ce.append(loss)
            train_acc.append(accuracy)
            val_acc.append(history.epochs[-1].val_accuracy)
        curves[depth] = np.array(losses)
        summary[depth] = {
            "final_train_losses": curves[depth][:, -1].tolist(),
            "train_accuracies": [float(a) for a in train_acc],
            "train_cross_entropies": [float(v) for v in train_ce],
            "final_train_loss": float(curves[depth][:, -1].mean()),
            "train_accuracy": float(np.mean(train_acc)),
            "val_accuracy": float(np.mean(val_acc)),
        }
        s = summary[depth]
        print(
            f"{depth:>2} hidden layers: training loss {s['final_train_loss']:.4f}, training accuracy"
            f" {s['train_accuracy']:.4f}, validation accuracy {s['val_accuracy']:.4f} (means); per seed"
            f" training loss {', '.join(f'{v:.4f}' for v in s['final_train_losses'])}, training accuracy"
            f" {', '.join(f'{v:.4f}' for v in s['train_accuracies'])}; cross-entropy on the training set"
            f" after training {', '.join(f'{v:.4f}' for v in s['train_cross_entropies'])}"
        )
    base = baselines(data)
    for name, b in base.items():
        loss = f", training loss (cross-entropy) {b['train_loss']:.4f}" if "train_loss" in b else ""
        print(
            f"{name}: training accuracy {b['train_accuracy']:.4f}, validation {b['val_accuracy']:.4f}{loss}"
        )
    paths = save_figures(
        lambda language: figure(curves, summary, base, language), args.out, "depth_vs_training_loss"
    )
    for path in paths:
        print(f"wrote {path}")
    return {"summary": summary, "baselines": base, "figures": paths}


if __name__ == "__main__":
    main()
