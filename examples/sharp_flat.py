"""Small-batch and large-batch solutions: the loss between them and around each one (S3.5).

The same MLP (64-128-10) is trained on the bundled digits twice from the same initial weights: with
mini-batches of 16 (noisy gradients) and with the whole training set in every update (full-batch
gradient descent). Each run stops at the first epoch with training accuracy >= TARGET, so the two
solutions fit the training data equally well. Then:

- the loss along the straight line theta(a) = (1 - a) theta_small + a theta_large, a in [-0.5, 1.5],
  on the training and the test set;
- the loss along random *filter-normalized* directions around each solution (Li et al., 2018): a
  Gaussian direction whose every row (one neuron's incoming weights) is rescaled to the norm of the
  same row of the solution, biases left at zero, so that the scale of the network does not decide
  how sharp a minimum looks;
- two sharpness numbers: the largest eigenvalue of the Hessian of the training loss (power iteration
  with Hessian-vector products, float64), and the mean rise of the training loss at distance 0.5
  along the filter-normalized directions.

- sharp_flat.svg: the interpolation (left) and the mean filter-normalized profile of each solution.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.derivatives import ModuleLoss, hvp
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figure
from mlnotes.training import evaluate, train

TARGET = 0.995  # training accuracy at which both runs stop
SMALL, SMALL_LR, LARGE_LR = 16, 0.05, 0.5


def model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def fit(data, batch_size, lr, max_epochs, seed, device):
    """Train from the seed's initial weights until training accuracy >= TARGET; returns (net, epochs)."""
    net = model(seed).to(device)
    opt = GradientDescent(net.parameters(), lr=lr)
    for epoch in range(1, max_epochs + 1):
        train(
            net,
            opt,
            data.train,
            epochs=1,
            batch_size=batch_size,
            device=device,
            seed=seed + epoch,
            progress=False,
        )
        if evaluate(net, data.train, device=device)[1] >= TARGET:
            return net, epoch
    return net, max_epochs


def flat(net):
    return torch.nn.utils.parameters_to_vector(net.parameters()).detach()


def load(net, theta):
    torch.nn.utils.vector_to_parameters(theta, net.parameters())
    return net


def filter_normalized(net, generator):
    """A random direction shaped like ``net``'s parameters, each row scaled to the row norm of ``net``."""
    parts = []
    for p in net.parameters():
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
        if p.dim() <= 1:
            d.zero_()  # biases: not perturbed
        else:
            d *= p.detach().norm(dim=1, keepdim=True) / d.norm(dim=1, keepdim=True)
        parts.append(d.flatten())
    return torch.cat(parts)


def losses_along(net, theta0, direction, ts, split, device):
    probe = copy.deepcopy(net)
    return [evaluate(load(probe, theta0 + t * direction), split, device=device)[0] for t in ts]


def top_eigenvalue(net, split, device, iterations):
    """Largest Hessian eigenvalue of the mean training cross-entropy, by power iteration on HVPs."""
    net64 = copy.deepcopy(net).double().to(device)
    f = ModuleLoss(net64, F.cross_entropy, split.x.double().to(device), split.y.to(device))
    theta = f.theta
    v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(0), dtype=theta.dtype).to(device)
    lam = 0.0
    for _ in range(iterations):
        v = v / v.norm()
        hv = hvp(f, theta, v)
        lam = float(v @ hv)
        v = hv
    return lam


def figure(alphas, line_train, line_test, ts, profiles):
    fig, (left, right) = new_figure(2, width=4.4, height=3.3)
    left.plot(alphas, line_train, color="tab:blue", label=r"$\mathcal{D}_{\mathrm{train}}$")
    left.plot(alphas, line_test, color="tab:orange", label=r"$\mathcal{D}_{\mathrm{test}}$")
    for a in (0, 1):
        left.axvline(a, color="0.7", lw=0.8, ls="--")
    left.set(yscale="log", xlabel=r"$\alpha$", ylabel=r"$L((1-\alpha)\theta_{B=16}+\alpha\theta_{B=N})$")
    left.legend()
    for (label, curve), color in zip(profiles.items(), ("tab:green", "tab:red"), strict=True):
        right.plot(ts, curve, color=color, label=label)
    right.set(yscale="log", xlabel="$t$", ylabel=r"$\overline{L}(\theta + t\,d)$")
    right.legend()
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    device = args.device
    data = load_digits(seed=args.seed)
    n = len(data.train)
    max_epochs = (3, 30) if args.quick else (200, 5000)
    directions = 2 if args.quick else 10
    points = 5 if args.quick else 41
    print(f"device: {device}; {n} training / {len(data.test)} test images; target training accuracy {TARGET}")
    nets = {}
    for label, size, lr, cap in (
        (f"B={SMALL}", SMALL, SMALL_LR, max_epochs[0]),
        (f"B={n}", n, LARGE_LR, max_epochs[1]),
    ):
        net, epochs = fit(data, size, lr, cap, args.seed, device)
        nets[label] = net
        train_loss, train_acc = evaluate(net, data.train, device=device)
        test_loss, test_acc = evaluate(net, data.test, device=device)
        print(
            f"{label:>7}: lr {lr}, {epochs} epochs, train acc {train_acc:.4f} loss {train_loss:.4f}, "
            f"test acc {test_acc:.4f} loss {test_loss:.4f}"
        )
    small, large = nets.values()
    a, b = flat(small), flat(large)
    alphas = np.linspace(-0.5, 1.5, points)
    probe = copy.deepcopy(small)
    line_train = [evaluate(load(probe, (1 - s) * a + s * b), data.train, device=device)[0] for s in alphas]
    line_test = [evaluate(load(probe, (1 - s) * a + s * b), data.test, device=device)[0] for s in alphas]
    ts = np.linspace(-1.0, 1.0, points)
    generator = torch.Generator().manual_seed(args.seed)
    profiles, summary = {}, {}
    for label, net in nets.items():
        theta = flat(net)
        curves = np.array(
            [
                losses_along(net, theta, filter_normalized(net, generator), ts, data.train, device)
                for _ in range(directions)
            ]
        )
        profiles[label] = curves.mean(axis=0)
        base = evaluate(net, data.train, device=device)[0]
        half = [np.interp(t, ts, c) for c in curves for t in (-0.5, 0.5)]
        rise = float(np.mean(half) - base)
        lam = top_eigenvalue(net, data.train, device, 5 if args.quick else 100)
        summary[label] = {
            "lambda_max": lam,
            "rise_at_0.5": rise,
            "test_accuracy": evaluate(net, data.test, device=device)[1],
        }
        print(f"{label:>7}: top Hessian eigenvalue {lam:.3f}; mean loss rise at |t| = 0.5: {rise:.4f}")
    path = save_figure(figure(alphas, line_train, line_test, ts, profiles), args.out / "sharp_flat.svg")
    print(f"wrote {path}")
    return {"summary": summary, "figures": [path]}


if __name__ == "__main__":
    main()
