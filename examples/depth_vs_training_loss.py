"""Optimization issue or model bias? Deeper plain networks ending with a higher *training* loss (S1.3).

Plain ReLU networks (no residual connections, no normalization, PyTorch's default initialization)
with 1, 2, 4, 8 and 16 hidden layers of 64 units learn the bundled digits with the same budget:
mini-batch gradient descent, batch 64, learning rate 0.1, 30 epochs, three seeds. A deeper network
can compute everything a shallower one can (extra layers could pass their input on), so a deeper
network that ends with a higher training loss has an optimization problem, not too little capacity.
Beside them, two non-deep baselines from scikit-learn on the same split: logistic regression and a
linear support-vector machine. The script prints the final training loss and the training and
validation accuracy of every model: for the networks the mean over the seeds, and each seed's final
training loss and training accuracy.

- depth_vs_training_loss.svg: training loss per epoch for every depth, and the baselines' training
  accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from torch import nn
from tqdm import tqdm

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figure
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
    x, y = data.train.x.numpy(), data.train.y.numpy()
    xv, yv = data.val.x.numpy(), data.val.y.numpy()
    models = {
        "logistic regression": LogisticRegression(max_iter=5000),
        "linear SVM": LinearSVC(C=1.0, max_iter=20_000),
    }
    return {
        name: {"train_accuracy": float(m.fit(x, y).score(x, y)), "val_accuracy": float(m.score(xv, yv))}
        for name, m in models.items()
    }


def figure(curves: dict[int, np.ndarray]):
    fig, ax = new_figure(1, width=5.0, height=3.6)
    colors = ("tab:blue", "tab:green", "tab:orange", "tab:red", "tab:purple")
    for (depth, losses), color in zip(curves.items(), colors, strict=True):
        epochs = np.arange(1, losses.shape[1] + 1)
        ax.semilogy(epochs, losses.mean(axis=0), color=color, label=f"${depth}$")
        ax.fill_between(epochs, losses.min(axis=0), losses.max(axis=0), color=color, alpha=0.15)
    ax.set(xlabel="epoch", ylabel=r"$L_{\mathrm{train}}$")
    ax.legend(title="hidden layers", fontsize=8)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    epochs, seeds = (5, [args.seed]) if args.quick else (30, [args.seed + k for k in range(3)])
    data = load_digits()
    print(f"device: {args.device}; plain ReLU nets, width {WIDTH}, lr {LR}, batch {BATCH}, {epochs} epochs")
    curves, summary = {}, {}
    for depth in tqdm(DEPTHS, unit="depth", leave=False):
        losses, train_acc, val_acc = [], [], []
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
            train_acc.append(evaluate(net, data.train, device=args.device)[1])
            val_acc.append(history.epochs[-1].val_accuracy)
        curves[depth] = np.array(losses)
        summary[depth] = {
            "final_train_losses": curves[depth][:, -1].tolist(),
            "train_accuracies": [float(a) for a in train_acc],
            "final_train_loss": float(curves[depth][:, -1].mean()),
            "train_accuracy": float(np.mean(train_acc)),
            "val_accuracy": float(np.mean(val_acc)),
        }
        s = summary[depth]
        print(
            f"{depth:>2} hidden layers: training loss {s['final_train_loss']:.4f}, training accuracy"
            f" {s['train_accuracy']:.4f}, validation accuracy {s['val_accuracy']:.4f} (means); per seed"
            f" training loss {', '.join(f'{v:.4f}' for v in s['final_train_losses'])}, training accuracy"
            f" {', '.join(f'{v:.4f}' for v in s['train_accuracies'])}"
        )
    base = baselines(data)
    for name, b in base.items():
        print(f"{name}: training accuracy {b['train_accuracy']:.4f}, validation {b['val_accuracy']:.4f}")
    path = save_figure(figure(curves), args.out / "depth_vs_training_loss.svg")
    print(f"wrote {path}")
    return {"summary": summary, "baselines": base, "figures": [path]}


if __name__ == "__main__":
    main()
