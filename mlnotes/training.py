"""A small training loop that the experiments share.

[`train`][] runs mini-batch training for a number of epochs. It picks the device (``"auto"``,
``"cpu"`` or ``"cuda"``), draws a fresh, seeded shuffle every epoch, shows a progress bar, and times
the updates honestly: on a GPU it waits for the device (``torch.cuda.synchronize``) before reading
the clock, so the time is that of the work and not of queueing it. When the loss becomes NaN or
infinite it stops with [`TrainingDiverged`][], naming the epoch and the update.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm  # tqdm.auto warns "IProgress not found" in every lab notebook

from mlnotes import _checks, _deprecation
from mlnotes import device as _device
from mlnotes.data import Split, as_split
from mlnotes.optim import NonFiniteGradient

LossFn = Callable[[Tensor, Tensor], Tensor]


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite.

    Raised by [`train`][], whose ``history`` attribute then holds the [`History`][] of the epochs
    completed before the one that diverged (``None`` where the error was raised elsewhere).
    """

    history: History | None = None


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


def _model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters (or, without any, its buffers) are; the CPU for an empty model."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _classification_targets(name: str, targets: Tensor) -> Tensor:
    """Class indices ``(N,)`` or class probabilities ``(N, C)``: what an accuracy can be read from."""
    if targets.dim() == 1 and not targets.is_floating_point() and not targets.is_complex():
        return targets
    if targets.dim() == 2 and targets.is_floating_point():
        return targets
    raise ValueError(
        f"{name} targets have shape {tuple(targets.shape)} and dtype {targets.dtype}, but an accuracy "
        "needs class indices of shape (N,) (an integer tensor) or class probabilities of shape (N, C)"
    )


def _check_split(name: str, split: Split, model: nn.Module) -> Split:
    """Refuse NaN or inf in a split, and floating-point inputs of another dtype than the model's."""
    dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
    _checks.batch(split.x, split.y, dtypes.pop() if len(dtypes) == 1 else None, None, f"{name} ")
    return split


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: Split,
    *,
    loss_fn: LossFn = F.cross_entropy,
    batch_size: int = 2048,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """Mean loss and accuracy of a classifier on ``split`` (evaluation mode, no gradients).

    ``split`` is anything [`mlnotes.data.as_split`][] takes: a ``Split``, an ``(inputs, targets)``
    pair of tensors, a ``TensorDataset``. Its targets are class indices ``(N,)`` or class
    probabilities ``(N, C)`` (then a prediction is right where it picks the most probable class), and
    the model's outputs are logits ``(N, C)``. The loss of each batch is ``loss_fn``'s batch mean
    times the batch size, so any loss that returns a batch mean works (``F.cross_entropy``,
    ``nn.CrossEntropyLoss()``). Every layer's train/eval mode is restored afterwards.

    Args:
        model: the classifier.
        split: the examples and their targets.
        loss_fn: ``loss_fn(logits, targets)``, the mean over the batch.
        batch_size: examples per forward pass (only memory depends on it).
        device: where the model is; the data are moved there. ``None`` (default) takes the device of
            the model's parameters; a different device is refused rather than moving the model.

    Raises:
        TypeError, ValueError: a bad ``split`` (targets that are not class indices or
            probabilities, inputs of another dtype than the model, NaN or inf), ``loss_fn`` (not
            callable, or a loss module with ``reduction`` other than ``"mean"``), ``batch_size``,
            a ``device`` that is not the model's, outputs that are not ``(N, C)`` logits, or a loss
            that is not finite.
    """
    model = _checks.materialized(_checks.module("model", model))
    split = _check_split("split", as_split("split", split), model)
    _classification_targets("split", split.y)
    loss_fn = _checks.mean_loss("loss_fn", loss_fn, over_examples=True)
    _checks.no_ignored_targets("split", split.y, loss_fn)
    batch_size = _checks.positive_int("batch_size", batch_size)
    here = _model_device(model)
    device = here if device is None else _checks.device("device", device)
    if device != here and not (device.type == here.type and device.index in (None, here.index)):
        raise ValueError(
            f"device is {device} but the model is on {here}: move the model (model.to({str(device)!r})) "
            "or leave device=None"
        )
    total_loss, correct = 0.0, 0
    with _checks.modes_restored(model):
        model.eval()
        for start in range(0, len(split), batch_size):
            x = split.x[start : start + batch_size].to(device)
            y = split.y[start : start + batch_size].to(device)
            logits = model(x)
            if not isinstance(logits, Tensor) or logits.dim() != 2 or len(logits) != len(y):
                shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
                raise ValueError(
                    f"the model must return logits of shape ({len(y)}, C) for {len(y)} examples, got {shape}"
                )
            if y.dim() == 2 and y.shape != logits.shape:
                raise ValueError(
                    f"probability targets of shape {tuple(y.shape)} do not match "
                    f"the logits' {tuple(logits.shape)}"
                )
            loss = _checks.scalar_output("loss_fn", loss_fn(logits, y))
            total_loss += float(loss) * len(y)
            labels = y.argmax(dim=1) if y.dim() == 2 else y
            correct += int((logits.argmax(dim=1) == labels).sum())
    if not math.isfinite(total_loss):
        raise ValueError(
            f"the loss on split is {total_loss}: check the model (did training diverge?) and the loss "
            "(e.g. every target equal to an ignore_index)"
        )
    return total_loss / len(split), correct / len(split)


def _check_optimizer(optimizer: object, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer, if every parameter it updates is one of the model's and some are trainable."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    own = {id(p) for p in model.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"]]
    foreign = sum(id(p) not in own for p in held)
    if foreign:
        raise ValueError(
            f"optimizer updates {foreign} of its {len(held)} parameter tensors that are not the model's, "
            "so training would not change the model: create it from model.parameters()"
        )
    if not any(p.requires_grad for p in held):
        raise ValueError("optimizer holds none of the model's trainable parameters (requires_grad=True)")
    return optimizer


def _batch_bounds(n: int, batch_size: int, batch_norm: bool) -> list[int]:
    """Where the batches of an epoch start and end; a lone last example joins the batch before."""
    bounds = [*range(0, n, batch_size), n]
    if batch_norm and len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return bounds


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

    A model with batch normalization cannot train on a batch of one example (its variance is 0):
    such a model needs ``batch_size >= 2``, and when the last batch of an epoch would hold a single
    example, that example joins the batch before it.

    Args:
        model: maps a batch of ``data.x`` to logits.
        optimizer: any ``torch.optim.Optimizer`` over ``model``'s parameters (all of them or some:
            frozen layers may be left out, but a parameter of another model is refused).
        data: the training split: a ``Split``, an ``(inputs, targets)`` pair of tensors or a
            ``TensorDataset`` ([`mlnotes.data.as_split`][]); not a ``DataLoader``, since ``train``
            draws the batches itself.
        epochs: passes over ``data``, at least 1.
        batch_size: examples per update, at least 1.
        val: evaluated after every epoch if given (the same kinds as ``data``).
        loss_fn: ``loss_fn(logits, targets)``, the mean over the batch (a function such as
            ``F.cross_entropy`` or a module such as ``nn.CrossEntropyLoss()``).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``.
        seed: seeds the shuffling.
        progress: show a progress bar over the epochs.
        check_every: look for a NaN or infinite loss every this many updates and at the end of an
            epoch (each look waits for the device, so it is not done every update).

    Raises:
        TrainingDiverged: the loss became NaN or infinite; the message names epoch and update, and the
            error's ``history`` holds the epochs completed before.
        TypeError: ``model``, ``optimizer``, ``data``, ``val`` or ``loss_fn`` of the wrong kind.
        ValueError: bad ``epochs``, ``batch_size``, ``check_every``, ``seed`` or ``device`` (one
            this machine lacks), empty ``data`` or ``val`` or ones holding NaN or inf, an optimizer
            over other parameters, a
            loss module that does not average, or ``batch_size=1`` with batch normalization.
    """
    model = _checks.materialized(_checks.module("model", model))
    optimizer = _check_optimizer(optimizer, model)
    data = _check_split("data", as_split("data", data), model)
    val = None if val is None else _check_split("val", as_split("val", val), model)
    loss_fn = _checks.mean_loss("loss_fn", loss_fn)
    if val is not None:  # what evaluate() will refuse after the first epoch, refused before it
        _classification_targets("val", val.y)
        _checks.mean_loss("loss_fn", loss_fn, over_examples=True)
        _checks.no_ignored_targets("val", val.y, loss_fn)
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    check_every = _checks.positive_int("check_every", check_every)
    seed = _checks.seed("seed", seed)
    progress = _checks.flag("progress", progress)
    device = _checks.device("device", device)
    n = len(data)
    batch_norm = bool(_checks.batch_norm_layers(model))
    if batch_norm and min(batch_size, n) < 2:
        raise ValueError(
            "batch normalization needs at least 2 examples per batch in training, "
            f"got batch_size={batch_size} "
            f"and {n} examples: use batch_size >= 2"
        )
    model.to(device)
    model.train()
    x_all, y_all = data.x.to(device), data.y.to(device)
    generator = torch.Generator().manual_seed(seed)
    bounds = _batch_bounds(n, batch_size, batch_norm)
    history = History(device=str(device), batch_size=batch_size)
    bar = tqdm(
        range(1, epochs + 1), desc=f"batch {batch_size}", unit="epoch", disable=not progress, leave=False
    )
    per_epoch = len(bounds) - 1
    try:
        for epoch in bar:
            order = torch.randperm(n, generator=generator).to(device)
            losses = None
            checked = 0
            _device.synchronize(device)
            start = time.perf_counter()
            for update in range(per_epoch):
                index = order[bounds[update] : bounds[update + 1]]
                optimizer.zero_grad(set_to_none=True)
                loss = _checks.scalar_output("loss_fn", loss_fn(model(x_all[index]), y_all[index]))
                loss.backward()
                try:
                    optimizer.step()
                except NonFiniteGradient as error:  # mlnotes' optimizers refuse it before any update
                    value = float(loss.detach())
                    what = (
                        "gradient became NaN or inf"
                        if math.isfinite(value)
                        else f"training loss became {value}"
                    )
                    raise TrainingDiverged(
                        f"the {what} at epoch {epoch}, update {update + 1}: lower the learning rate "
                        "(or check the data and the loss function)"
                    ) from error
                if losses is None:  # in the loss's own dtype: a float64 loss of 1e39 is finite
                    losses = torch.empty(per_epoch, device=device, dtype=loss.dtype)
                losses[update] = loss.detach()
                if (update + 1) % check_every == 0 or update + 1 == per_epoch:
                    _check_finite(losses, checked, update + 1, epoch)
                    checked = update + 1
            _device.synchronize(device)
            seconds = time.perf_counter() - start
            val_loss, val_accuracy = (
                evaluate(model, val, loss_fn=loss_fn, device=device) if val is not None else (None, None)
            )
            result = EpochResult(epoch, float(losses.mean()), per_epoch, seconds, val_loss, val_accuracy)
            history.epochs.append(result)
            bar.set_postfix(loss=f"{result.train_loss:.4f}")

    except TrainingDiverged as error:
        error.history = history  # the epochs completed before this one
        raise
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


def activation_spread(
    model: nn.Module,
    inputs: Tensor,
    *,
    kinds: type | tuple[type, ...] | None = None,
) -> dict[str, float]:
    r"""How much each layer's output still differs from one example to the next.

    For every layer the forward pass of ``inputs`` runs through, the standard deviation of each
    output unit over the examples of the batch, averaged over the units:
    $\frac{1}{U}\sum_u \mathrm{std}_n\, h_{n,u}$. A signal that dies out with depth shows as a spread
    that falls layer by layer towards 0: the deep layers then give nearly the same output for every
    example, and the network can only predict the same thing for all of them.

    The forward pass runs in the model's current mode without gradients; running statistics of
    batch normalization are put back afterwards, so the call leaves the model as it was (dropout in
    training mode draws its masks, so its spreads are random).

    Args:
        model: the network.
        inputs: a batch of at least two examples, ``(N, ...)``, of the model's dtype and device.
        kinds: a layer class or a tuple of them: report only layers of these kinds (e.g. ``nn.ReLU``
            for the hidden values of a ReLU network). ``None`` (default): every layer without
            sub-layers.

    Returns:
        ``{layer name: spread}`` in the order the layers ran (a layer run twice appears as
        ``name``, ``name (call 2)``).

    Raises:
        TypeError, ValueError: ``inputs`` not a floating-point tensor of at least two finite examples, of
            another dtype or device than the model; ``kinds`` not layer classes; a reported layer whose
            output is not a tensor with the batch as its first dimension.

    Examples:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> spread = activation_spread(net, torch.randn(32, 4), kinds=nn.ReLU)
        >>> list(spread)
        ['1']
    """
    model = _checks.materialized(_checks.module("model", model))
    if not isinstance(inputs, Tensor) or not inputs.is_floating_point():
        kind = f"a tensor of dtype {inputs.dtype}" if isinstance(inputs, Tensor) else type(inputs).__name__
        raise TypeError(f"inputs must be a floating-point tensor (N, ...), got {kind}")
    if inputs.dim() == 0 or len(inputs) < 2:
        raise ValueError(
            f"inputs must hold at least 2 examples along the first dimension to have a spread, got shape "
            f"{tuple(inputs.shape)}"
        )
    dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
    if len(dtypes) == 1 and inputs.dtype not in dtypes:
        (dtype,) = dtypes
        raise ValueError(
            f"inputs are {inputs.dtype} but the model is {dtype}: convert them with inputs.to({dtype})"
        )
    here = _model_device(model)
    if inputs.device != here:
        raise ValueError(
            f"inputs are on {inputs.device} but the model is on {here}: move them with "
            f"inputs.to({str(here)!r})"
        )
    _checks.finite("inputs", inputs)
    if kinds is not None:
        classes = kinds if isinstance(kinds, tuple) else (kinds,)
        if not classes or not all(isinstance(c, type) and issubclass(c, nn.Module) for c in classes):
            raise TypeError(f"kinds must be a layer class or a tuple of them (e.g. nn.ReLU), got {kinds!r}")
    spreads: dict[str, float] = {}
    calls: dict[str, int] = {}
    problems: list[str] = []

    def record(name: str):
        def hook(layer: nn.Module, _args: object, output: object) -> None:
            calls[name] = calls.get(name, 0) + 1
            label = name if calls[name] == 1 else f"{name} (call {calls[name]})"
            if not isinstance(output, Tensor) or output.dim() == 0 or len(output) != len(inputs):
                shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
                problems.append(f"layer {name!r} ({type(layer).__name__}) returns {shape}")
                return
            spreads[label] = float(output.detach().flatten(1).double().std(dim=0, correction=0).mean())

        return hook

    chosen = [
        (name, layer)
        for name, layer in model.named_modules()
        if (isinstance(layer, classes) if kinds is not None else not any(True for _ in layer.children()))
    ]
    saved = [(b, b.detach().clone()) for b in model.buffers()]
    handles = [layer.register_forward_hook(record(name or type(layer).__name__)) for name, layer in chosen]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)
    if problems:
        raise ValueError(
            f"{problems[0]}, not a batch of {len(inputs)} outputs: choose the layers to report with kinds="
        )
    return spreads


__getattr__ = _deprecation.module_getattr(
    __name__, {"synchronize": ("mlnotes.device.synchronize", _device.synchronize)}
)
