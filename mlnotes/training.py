"""A small training loop that the experiments share.

[`train`][] runs mini-batch training for a number of epochs. It picks the device (``"auto"``,
``"cpu"`` or ``"cuda"``), draws a fresh, seeded shuffle every epoch, shows a progress bar, and times
the updates honestly: on a GPU it waits for the device (``torch.cuda.synchronize``) before reading
the clock, so the time is that of the work and not of queueing it. When the loss becomes NaN or
infinite it stops with [`TrainingDiverged`][], naming the epoch and the update.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm  # tqdm.auto warns "IProgress not found" in every lab notebook

from mlnotes import _checks
from mlnotes.data import Split
from mlnotes.device import resolve_device

LossFn = Callable[[Tensor, Tensor], Tensor]


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class EpochResult:
    """One epoch: mean training loss over its updates, evaluation results, and time."""

    epoch: int
    train_loss: float  # mean of the batch losses seen during the epoch
    updates: int
    seconds: float  # the updates only, device synchronized; evaluation not included
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass
class History:
    """What [`train`][] did: one [`EpochResult`][] per epoch, and where it ran."""

    device: str
    batch_size: int
    epochs: list[EpochResult] = field(default_factory=list)

    @property
    def seconds_per_update(self) -> float:
        updates = sum(e.updates for e in self.epochs)
        return sum(e.seconds for e in self.epochs) / updates if updates else float("nan")

    @property
    def seconds_per_epoch(self) -> float:
        return sum(e.seconds for e in self.epochs) / len(self.epochs) if self.epochs else float("nan")


def synchronize(device: torch.device) -> None:
    """Wait until ``device`` has finished its queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: Split,
    *,
    loss_fn: LossFn = F.cross_entropy,
    batch_size: int = 2048,
    device: str | torch.device = "auto",
) -> tuple[float, float]:
    """Mean loss and accuracy of a classifier on ``split`` (evaluation mode, no gradients).

    The model's train/eval mode is restored afterwards.
    """
    batch_size = _checks.positive_int("batch_size", batch_size)
    device = resolve_device(device) if isinstance(device, str) else device
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    try:
        for start in range(0, len(split), batch_size):
            x = split.x[start : start + batch_size].to(device)
            y = split.y[start : start + batch_size].to(device)
            logits = model(x)
            total_loss += float(loss_fn(logits, y, reduction="sum"))
            correct += int((logits.argmax(dim=1) == y).sum())
    finally:
        model.train(was_training)
    return total_loss / len(split), correct / len(split)


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Split,
    *,
    epochs: int,
    batch_size: int,
    val: Split | None = None,
    loss_fn: LossFn = F.cross_entropy,
    device: str | torch.device = "auto",
    seed: int = 0,
    progress: bool = True,
    check_every: int = 100,
) -> History:
    """Mini-batch training of ``model`` on ``data``; returns a [`History`][].

    Every epoch shuffles the examples with a generator seeded once by ``seed`` (so epoch 2 has a
    different order from epoch 1, and a rerun has the same orders) and visits every example once;
    the last batch of an epoch may be smaller. ``batch_size=len(data)`` is full-batch gradient
    descent. The model is moved to ``device`` first; create the optimizer before or after, its
    parameters are the same objects.

    Args:
        model: maps a batch of ``data.x`` to logits.
        optimizer: any ``torch.optim.Optimizer`` over ``model``'s parameters.
        data: the training split.
        epochs: passes over ``data``, at least 1.
        batch_size: examples per update, at least 1.
        val: evaluated after every epoch if given.
        loss_fn: ``loss_fn(logits, targets)``, mean over the batch; must accept ``reduction="sum"``
            for evaluation (as ``torch.nn.functional`` losses do).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or a ``torch.device``.
        seed: seeds the shuffling.
        progress: show a progress bar over the epochs.
        check_every: look for a NaN or infinite loss every this many updates and at the end of an
            epoch (each look waits for the device, so it is not done every update).

    Raises:
        TrainingDiverged: the loss became NaN or infinite; the message names epoch and update.
        ValueError: bad ``epochs``, ``batch_size`` or ``check_every``, or an empty ``data``.
    """
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    check_every = _checks.positive_int("check_every", check_every)
    if len(data) == 0:
        raise ValueError("data is empty")
    device = resolve_device(device) if isinstance(device, str) else device
    model.to(device)
    model.train()
    x_all, y_all = data.x.to(device), data.y.to(device)
    generator = torch.Generator().manual_seed(seed)
    n = len(data)
    per_epoch = -(-n // batch_size)
    history = History(device=str(device), batch_size=batch_size)
    bar = tqdm(
        range(1, epochs + 1), desc=f"batch {batch_size}", unit="epoch", disable=not progress, leave=False
    )
    for epoch in bar:
        order = torch.randperm(n, generator=generator).to(device)
        losses = torch.empty(per_epoch, device=device)
        checked = 0
        synchronize(device)
        start = time.perf_counter()
        for update in range(per_epoch):
            index = order[update * batch_size : (update + 1) * batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_all[index]), y_all[index])
            loss.backward()
            optimizer.step()
            losses[update] = loss.detach()
            if (update + 1) % check_every == 0 or update + 1 == per_epoch:
                _check_finite(losses, checked, update + 1, epoch)
                checked = update + 1
        synchronize(device)
        seconds = time.perf_counter() - start
        val_loss, val_accuracy = (
            evaluate(model, val, loss_fn=loss_fn, device=device) if val is not None else (None, None)
        )
        result = EpochResult(epoch, float(losses.mean()), per_epoch, seconds, val_loss, val_accuracy)
        history.epochs.append(result)
        bar.set_postfix(loss=f"{result.train_loss:.4f}")
    return history


def _check_finite(losses: Tensor, start: int, stop: int, epoch: int) -> None:
    window = losses[start:stop]
    finite = torch.isfinite(window)
    if not bool(finite.all()):
        first = start + int((~finite).nonzero()[0])
        raise TrainingDiverged(
            f"the training loss became {float(losses[first])} at epoch {epoch}, update {first + 1}: "
            "lower the learning rate (or check the data and the loss function)"
        )
