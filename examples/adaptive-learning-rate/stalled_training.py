"""Training stalls, yet the gradient is not small: bouncing between the walls of a valley.

Book: adaptive-learning-rate#stalled-is-not-small.

A 1-16-1 tanh network learns a two-class labelling of 64 points on [-2, 2] (label 1 where
sin 2x > 0) with the logistic loss, by full-batch gradient descent at eta = 4. For the first
couple of thousand updates the loss creeps down while the gradient norm stays near 0.17. The
gradient is not small there, and still the loss barely moves: each update points almost exactly
opposite to the one before (cosine -1). The parameters jump from one wall of a narrow valley to the
other: the point halfway between two successive iterates, on the valley floor, has a loss several
times lower than either of them. When the network finally leaves the valley, the gradient norm
falls by two orders of magnitude within a few hundred updates and the loss drops with it.

Five seeds are run; seed ``--seed`` is drawn. For every seed the script reports the bouncing phase
(updates whose gradient points more than 0.9 against the previous one), the loss at its ends, the
median gradient norm inside it and how many times the gradient norm at the end of the run it is,
the median ratio of the loss at an iterate to the loss halfway to the next one while bouncing, and
the exit: loss and gradient norm 10 updates before and 10 after the last bouncing update. Then the
range of each over the seeds. The first seed's loss and gradient norm at a few updates illustrate
one run.

- stalled_training.zh.svg, stalled_training.en.svg: loss and gradient norm, the cosine between
  successive gradients, and the loss at the iterates against the loss halfway between successive
  iterates, for one seed, with the bouncing phase shaded and its last update t_last marked; in
  Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.derivatives import ModuleLoss
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figures

LR, HIDDEN, POINTS, SEEDS = 4.0, 16, 64, 5
BOUNCE_COSINE, EXIT_WINDOW, MIDPOINT_EVERY = -0.9, 10, 10
FLAT = (1000, 2000)  # the book compares the loss and the gradient norm at these updates

TEXT = {
    "zh": {
        "t": "更新次数 $t$",
        "loss": "训练损失 $L$",
        "norm": r"梯度范数 $\|\mathbf{g}\|$",
        "both": r"训练损失 $L$，梯度范数 $\|\mathbf{g}\|$",
        "cosine": r"$\mathbf{g}^t$ 与 $\mathbf{g}^{t-1}$ 夹角的余弦",
        "at": r"迭代点处 $L(\boldsymbol{\theta}^t)$",
        "halfway": r"中点处 $L\left((\boldsymbol{\theta}^t+\boldsymbol{\theta}^{t+1})/2\right)$",
        "phase": "弹跳阶段",
        "last": r"最后一次弹跳 $t_{{\mathrm{{last}}}}$ = {t:,}",
        "flat": "第 1,000–2,000 次更新：\n$\\|\\mathbf{{g}}\\|$ 一直约为 {norm:.2f}",
        "minus_one": "余弦 $\\approx -1$：\n每次梯度都与上一次反向",
        "ratio": "弹跳时中点处的损失\n只有迭代点处的 1/{ratio:.1f}（中位数）",
    },
    "en": {
        "t": "update $t$",
        "loss": "training loss $L$",
        "norm": r"gradient norm $\|\mathbf{g}\|$",
        "both": r"training loss $L$, gradient norm $\|\mathbf{g}\|$",
        "cosine": r"cosine between $\mathbf{g}^t$ and $\mathbf{g}^{t-1}$",
        "at": r"at the iterate $L(\boldsymbol{\theta}^t)$",
        "halfway": r"halfway $L\left((\boldsymbol{\theta}^t+\boldsymbol{\theta}^{t+1})/2\right)$",
        "phase": "bouncing",
        "last": r"last bounce $t_{{\mathrm{{last}}}}$ = {t:,}",
        "flat": "updates 1,000–2,000:\n$\\|\\mathbf{{g}}\\|$ stays near {norm:.2f}",
        "minus_one": "cosine $\\approx -1$:\neach gradient points\nagainst the previous one",
        "ratio": "while bouncing, the loss halfway is\n1/{ratio:.1f} of that at the iterates (median)",
    },
}


def problem(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.linspace(-2, 2, POINTS, dtype=torch.float64, device=device).unsqueeze(1)
    return x, (torch.sin(2 * x) > 0).to(torch.float64)


def network(seed: int, device: torch.device) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1)).to(device, torch.float64)


def run(seed: int, steps: int, device: torch.device, midpoint_every: int = 0) -> dict[str, np.ndarray]:
    """Full-batch gradient descent; per update: loss, gradient norm, cosine with the previous gradient.

    With ``midpoint_every > 0``, also the loss at every ``midpoint_every``-th iterate and halfway
    between it and the next one: rows ``(t, L(theta^t), L((theta^t + theta^(t+1)) / 2))``.
    """
    x, y = problem(device)
    net = network(seed, device)
    opt = GradientDescent(net.parameters(), lr=LR)
    whole = ModuleLoss(net, F.binary_cross_entropy_with_logits, x, y)
    losses, norms, cosines, midpoints = np.empty(steps), np.empty(steps), np.full(steps, np.nan), []
    previous = None
    for t in range(steps):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(net(x), y)
        loss.backward()
        g = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
        losses[t], norms[t] = loss.item(), g.norm().item()
        if previous is not None:
            cosines[t] = (g @ previous / (g.norm() * previous.norm())).item()
        previous = g.clone()
        before = whole.theta if midpoint_every and t % midpoint_every == 0 else None
        opt.step()
        if before is not None:
            with torch.no_grad():
                midpoints.append((t, losses[t], whole((before + whole.theta) / 2).item()))
    return {"loss": losses, "grad_norm": norms, "cosine": cosines, "midpoint": np.array(midpoints)}


def bouncing(record: dict[str, np.ndarray]) -> dict[str, float]:
    """Where successive gradients point against each other, and how the loss and gradient behave there.

    ``halfway_ratio`` (with midpoints recorded) is the median, over the recorded iterates inside the
    phase, of the loss at the iterate divided by the loss halfway to the next one. ``exit_*`` are the
    loss and gradient norm ``EXIT_WINDOW`` updates before and after the last bouncing update, where
    the run is long enough.
    """
    inside = np.flatnonzero(record["cosine"] < BOUNCE_COSINE)
    loss, norm = record["loss"], record["grad_norm"]
    if inside.size == 0:
        return {"updates": 0, "final_loss": float(loss[-1]), "final_grad_norm": float(norm[-1])}
    first, last = int(inside[0]), int(inside[-1])
    s = {
        "updates": int(inside.size),
        "first": first,
        "last": last,
        "loss_at_first": float(loss[first]),
        "loss_at_last": float(loss[last]),
        "median_grad_norm": float(np.median(norm[inside])),
        "final_loss": float(loss[-1]),
        "final_grad_norm": float(norm[-1]),
    }
    s["grad_norm_ratio"] = s["median_grad_norm"] / s["final_grad_norm"]
    if len(record["midpoint"]):
        steps_at, at, halfway = record["midpoint"][record["midpoint"][:, 0] + 1 < len(loss)].T
        # the step from iterate t to t + 1 bounces when the gradient at t + 1 points back
        bounce = record["cosine"][steps_at.astype(int) + 1] < BOUNCE_COSINE
        if bounce.any():
            s["halfway_ratio"] = float(np.median(at[bounce] / halfway[bounce]))
    if first <= last - EXIT_WINDOW and last + EXIT_WINDOW < len(loss):
        before, after = last - EXIT_WINDOW, last + EXIT_WINDOW
        s |= {
            "exit_loss": (float(loss[before]), float(loss[after])),
            "exit_grad_norm": (float(norm[before]), float(norm[after])),
        }
    return s


def figure(record: dict[str, np.ndarray], language: str):
    text = TEXT[language]
    phase = bouncing(record)
    fig, (left, middle, right) = new_figure(3, width=3.6, height=3.4)
    t = np.arange(len(record["loss"]))
    left.semilogy(t, record["loss"], color="tab:blue", lw=0.8, label=text["loss"])
    left.semilogy(t, record["grad_norm"], color="tab:red", lw=0.8, label=text["norm"])
    left.set(xlabel=text["t"], ylabel=text["both"])
    if len(t) > FLAT[1]:
        left.plot(FLAT, record["grad_norm"][list(FLAT)], "o", color="tab:red", ms=3.5)
        left.text(
            1400,
            0.45,
            text["flat"].format(norm=np.median(record["grad_norm"][FLAT[0] : FLAT[1] + 1])),
            ha="center",
            va="bottom",
            fontsize=7.5,
        )
    middle.plot(t, record["cosine"], color="tab:purple", lw=0.8)
    middle.set(xlabel=text["t"], ylabel=text["cosine"], ylim=(-1.1, 1.1))
    steps, at, halfway = record["midpoint"].T
    right.semilogy(steps, at, color="tab:blue", lw=0.8, label=text["at"])
    right.semilogy(steps, halfway, color="tab:green", lw=0.8, label=text["halfway"])
    right.set(xlabel=text["t"], ylabel=text["loss"])
    if phase["updates"]:
        for ax in (left, middle, right):
            ax.axvspan(phase["first"], phase["last"], color="0.88", lw=0, zorder=0, label=text["phase"])
            ax.axvline(phase["last"], color="0.35", lw=0.8, ls="--")
        middle.text(
            phase["last"],
            1.02,
            text["last"].format(t=phase["last"]),
            transform=middle.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7.5,
        )
        middle.text(
            (phase["first"] + phase["last"]) / 2 + 100,
            -0.6,
            text["minus_one"],
            ha="center",
            va="center",
            fontsize=7.5,
        )
        if "halfway_ratio" in phase:
            right.set_title(text["ratio"].format(ratio=phase["halfway_ratio"]), fontsize=7.5)
    left.legend(fontsize=7.5, loc="lower left")
    right.legend(fontsize=7.5, loc="lower left")
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    steps = 600 if args.quick else 4000
    seeds = [args.seed] if args.quick else [args.seed + k for k in range(SEEDS)]
    print(f"device: {args.device}; 1-{HIDDEN}-1 tanh network, {POINTS} points, full-batch GD at eta = {LR}")
    print(f"{steps:,} updates per seed; bouncing = cosine with the previous gradient below {BOUNCE_COSINE}")
    summary, drawn = {}, None
    for seed in seeds:
        record = run(seed, steps, args.device, midpoint_every=MIDPOINT_EVERY)
        drawn = record if seed == args.seed else drawn
        s = summary[seed] = bouncing(record)
        if not s["updates"]:
            print(f"seed {seed}: no bouncing; at the end loss {s['final_loss']:.3g}")
            continue
        print(
            f"seed {seed}: bouncing for {s['updates']:,} updates ({s['first']}-{s['last']}), loss"
            f" {s['loss_at_first']:.3g} -> {s['loss_at_last']:.3g}, median gradient norm"
            f" {s['median_grad_norm']:.3g}; at the end loss {s['final_loss']:.3g}, gradient norm"
            f" {s['final_grad_norm']:.2g} ({s['grad_norm_ratio']:.0f} times smaller)"
        )
        if "halfway_ratio" in s:
            print(
                f"seed {seed}: while bouncing, the loss at an iterate is {s['halfway_ratio']:.2g} times"
                " (median) the loss halfway to the next iterate"
            )
        if "exit_loss" in s:
            (l0, l1), (g0, g1) = s["exit_loss"], s["exit_grad_norm"]
            print(
                f"seed {seed}: from update {s['last'] - EXIT_WINDOW} to {s['last'] + EXIT_WINDOW} the"
                f" gradient norm falls from {g0:.2g} to {g1:.2g} ({g0 / g1:.0f} times), the loss from"
                f" {l0:.2g} to {l1:.2g} ({l0 / l1:.1f} times)"
            )
    bounced = [s for s in summary.values() if s["updates"]]
    if len(seeds) > 1 and bounced:
        ranges = {
            "bouncing updates": [s["updates"] for s in bounced],
            "last bouncing update": [s["last"] for s in bounced],
            "median gradient norm while bouncing": [s["median_grad_norm"] for s in bounced],
            "gradient norm at the end": [s["final_grad_norm"] for s in bounced],
            "median gradient norm / the one at the end": [s["grad_norm_ratio"] for s in bounced],
            "loss at an iterate / halfway to the next (median)": [
                s["halfway_ratio"] for s in bounced if "halfway_ratio" in s
            ],
            "gradient norm falls at the exit (times)": [
                s["exit_grad_norm"][0] / s["exit_grad_norm"][1] for s in bounced if "exit_grad_norm" in s
            ],
            "loss falls at the exit (times)": [
                s["exit_loss"][0] / s["exit_loss"][1] for s in bounced if "exit_loss" in s
            ],
        }
        print(f"over the {len(bounced)} seeds that bounced (min - max):")
        for what, values in ranges.items():
            if values:
                shown = [f"{v:,}" if isinstance(v, int) else f"{v:.3g}" for v in (min(values), max(values))]
                print(f"  {what}: {shown[0]} - {shown[1]}")
    checkpoints = [t for t in (100, 500, 1000, 1500, 2000, 2500, 3000) if t < steps - 1] + [steps - 2]
    for t in checkpoints:
        loss = drawn["loss"]
        print(
            f"seed {args.seed}, updates {t}, {t + 1}: loss {loss[t]:.3g}, {loss[t + 1]:.3g};"
            f" gradient norm {drawn['grad_norm'][t]:.2g}"
        )
    paths = save_figures(lambda language: figure(drawn, language), args.out, "stalled_training")
    for path in paths:
        print(f"wrote {path}")
    return {"summary": summary, "midpoint": drawn["midpoint"], "figures": paths}


if __name__ == "__main__":
    main()
