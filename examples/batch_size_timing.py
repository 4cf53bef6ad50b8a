"""Time per update and time per epoch against batch size (S3.3), on the device it runs on.

A fixed MLP (64-512-512-10) is trained on the 1,077 training images of the bundled digits set with
batch sizes from 1 to the whole set. Each batch size first runs a few warm-up updates; then enough
whole epochs are timed to cover at least ``MIN_UPDATES`` updates. The clock is read only after the
device has finished (mlnotes.training synchronizes CUDA), so the GPU numbers are the work, not the
queueing. Expected shape: the time of one update stays nearly flat while the hardware has idle
parallel units, then grows; the time of an epoch falls with the batch size, because an epoch needs
fewer updates.

- batch_size_timing_<device>.svg: seconds per update and per epoch against batch size (log-log).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.data import load_digits
from mlnotes.optim import GradientDescent
from mlnotes.plotting import new_figure, save_figure
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


def figure(rows: list[dict], device: torch.device):
    fig, (left, right) = new_figure(2, width=4.4, height=3.3)
    sizes = [r["batch_size"] for r in rows]
    left.loglog(sizes, [r["seconds_per_update"] * 1e3 for r in rows], "o-", color="tab:blue")
    right.loglog(sizes, [r["seconds_per_epoch"] for r in rows], "o-", color="tab:orange")
    left.set(xlabel="$B$", ylabel=r"$t_{\mathrm{update}}$ (ms)")
    right.set(xlabel="$B$", ylabel=r"$t_{\mathrm{epoch}}$ (s)")
    for ax in (left, right):
        ax.set_title(f"{device.type}", fontsize=9)
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
    path = save_figure(figure(rows, args.device), args.out / f"batch_size_timing_{args.device.type}.svg")
    print(f"wrote {path}")
    return {"rows": rows, "figures": [path]}


if __name__ == "__main__":
    main()
