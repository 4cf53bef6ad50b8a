"""Time per update and time per epoch against batch size, on the device it runs on.

Book: batch-and-momentum#timing.

A fixed MLP (64-512-512-10) is trained on the 1,077 training images of the bundled digits set with
batch sizes from 1 to the whole set. Each batch size first runs a few warm-up updates; then enough
whole epochs are timed to cover at least ``MIN_UPDATES`` updates. The clock is read only after the
device has finished (mlnotes.training synchronizes CUDA), so the GPU numbers are the work, not the
queueing. Expected shape: the time of one update stays nearly flat while the hardware has idle
parallel units, then grows; the time of an epoch falls with the batch size, because an epoch needs
fewer updates.

- batch_size_timing_<device>.zh.svg, batch_size_timing_<device>.en.svg: milliseconds per update and
  seconds per epoch against batch size (log-log), with how much longer an update of 16 examples takes
  than one of a single example, a guide line proportional to B, and how much faster the full batch
  finishes an epoch than B = 1, in Chinese and in English.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.ticker import FuncFormatter, NullFormatter
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figures
from mlnotes.training import train

MIN_UPDATES = 60
MEASURES_TIME = True  # the figure plots wall-clock time, so it differs from run to run


def model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def time_batch_size(data, batch_size: int, device: torch.device, seed: int, min_updates: int) -> dict:
    net = model(seed)
    opt = GradientDescent(net.parameters(), lr=0.01)
    per_epoch = math.ceil(len(data) / batch_size)
    warm = type(data)(data.x[: min(len(data), 3 * batch_size)], data.y[: min(len(data), 3 * batch_size)])
    train(net, opt, warm, epochs=1, batch_size=batch_size, device=device, progress=False)
    epochs = max(1, math.ceil(min_updates / per_epoch))
    history = train(
        net, opt, data, epochs=epochs, batch_size=batch_size, device=device, seed=seed, progress=False
    )
    return {
        "batch_size": batch_size,
        "updates_per_epoch": per_epoch,
        "seconds_per_update": history.seconds_per_update,
        "seconds_per_epoch": history.seconds_per_epoch,
    }


TEXT = {
    "zh": {
        "device": {"cpu": "在 CPU 上测得", "cuda": "在 GPU 上测得"},
        "b": "批量大小 $B$",
        "update": "每次更新的时间 $t_{\\mathrm{update}}$（毫秒）",
        "epoch": "每个回合的时间 $t_{\\mathrm{epoch}}$（秒）",
        "one_update": "一次更新",
        "one_epoch": "一个回合",
        "flat": "$B = 1 \\to {b}$：计算量 $\\times {b}$，\n时间只 $\\times {ratio:.1f}$",
        "guide": "参考线：与 $B$ 成正比",
        "faster": "全批量跑完一个回合的时间\n只有 $B = 1$ 的 1/{ratio:.0f}",
    },
    "en": {
        "device": {"cpu": "measured on a CPU", "cuda": "measured on a GPU"},
        "b": "batch size $B$",
        "update": "time per update $t_{\\mathrm{update}}$ (ms)",
        "epoch": "time per epoch $t_{\\mathrm{epoch}}$ (s)",
        "one_update": "one update",
        "one_epoch": "one epoch",
        "flat": "$B = 1 \\to {b}$: $\\times {b}$ the work,\nonly $\\times {ratio:.1f}$ the time",
        "guide": "guide: proportional to $B$",
        "faster": "the full batch finishes an epoch\nin 1/{ratio:.0f} of the time of $B = 1$",
    },
}
FLAT_UNTIL = 16  # the batch size the left panel compares with B = 1


def figure(rows: list[dict], device: torch.device, language: str):
    """Milliseconds per update and seconds per epoch against the batch size, in ``language``."""
    text = TEXT[language]
    fig, (left, right) = new_figure(2, width=4.4, height=3.5)
    sizes = [r["batch_size"] for r in rows]
    update = [r["seconds_per_update"] * 1e3 for r in rows]
    epoch = [r["seconds_per_epoch"] for r in rows]
    left.loglog(sizes, update, "o-", color="tab:blue")
    right.loglog(sizes, epoch, "o-", color="tab:orange")
    # a line of slope 1 through the last point, down to the fastest update: where the measurement
    # follows it, the time of an update grows in proportion to B
    bottom = min(update) / 4
    low = max(sizes[0], sizes[-1] * 2 * bottom / update[-1])
    guide = np.geomspace(low, sizes[-1], 20)
    left.loglog(guide, update[-1] * guide / sizes[-1], ":", color="0.4", lw=1)
    left.annotate(
        text["guide"],
        (guide[0], update[-1] * guide[0] / sizes[-1]),
        xytext=(-2, -2),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=7.5,
        color="0.35",
    )
    if FLAT_UNTIL in sizes:
        k = sizes.index(FLAT_UNTIL)
        middle = math.sqrt(sizes[0] * sizes[k])
        left.annotate(
            text["flat"].format(b=FLAT_UNTIL, ratio=update[k] / update[0]),
            (middle, max(update[: k + 1])),
            xytext=(0, 10),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7.5,
            color="tab:blue",
        )
    right.annotate(
        text["faster"].format(ratio=epoch[0] / epoch[-1]),
        (sizes[-1], epoch[-1]),
        xytext=(0.97, 0.62),
        textcoords="axes fraction",
        ha="right",
        va="bottom",
        fontsize=7.5,
        arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.7, "relpos": (0.85, 0.0)},
    )
    left.set(xlabel=text["b"], ylabel=text["update"], ylim=(bottom, max(update) * 2))
    right.set(xlabel=text["b"], ylabel=text["epoch"], ylim=(min(epoch) / 2, max(epoch) * 2))
    for ax in (left, right):
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    left.set_title(text["one_update"], fontsize=9)
    right.set_title(text["one_epoch"], fontsize=9)
    fig.suptitle(text["device"][device.type], fontsize=10)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    data = load_digits(seed=args.seed).train
    n = len(data)
    sizes = [1, 16, 256, n] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, n]
    min_updates = 5 if args.quick else MIN_UPDATES
    name = torch.cuda.get_device_name(args.device) if args.device.type == "cuda" else "CPU"
    print(f"device: {args.device} ({name}, {torch.get_num_threads()} CPU threads); {n} training images")
    print(f"{'batch':>6} {'updates/epoch':>14} {'ms/update':>10} {'s/epoch':>9}")
    rows = []
    for size in sizes:
        row = time_batch_size(data, size, args.device, args.seed, min_updates)
        rows.append(row)
        print(
            f"{size:>6} {row['updates_per_epoch']:>14} {row['seconds_per_update'] * 1e3:>10.3f} "
            f"{row['seconds_per_epoch']:>9.4f}"
        )
    base = rows[0]["seconds_per_update"]
    print(f"update time at B={rows[-1]['batch_size']} / at B=1: {rows[-1]['seconds_per_update'] / base:.1f}x")
    paths = save_figures(
        lambda language: figure(rows, args.device, language),
        args.out,
        f"batch_size_timing_{args.device.type}",
    )
    for path in paths:
        print(f"wrote {path}")
    return {"rows": rows, "figures": paths}


if __name__ == "__main__":
    main()
