r"""The Hessian of a network's loss at scale: products, extreme eigenvalues, trace, spectral density.

A network with $n$ parameters has an $n\times n$ Hessian: $10^{10}$ numbers at $n = 10^5$, never
formed here. Everything below needs only Hessian-vector products $\mathbf{H}\mathbf{v}$, each about
the cost of one more gradient:

- [`HessianOperator`][] is $\mathbf{H}$ of the *mean* loss over a dataset, as a function
  $\mathbf{v}\mapsto\mathbf{H}\mathbf{v}$. It accumulates the products of batches weighted by batch
  size, by forward-over-reverse (``torch.func``) or double backward ([`mlnotes.derivatives.hvp`][]).
  Convolutions and eval-mode batch norm enter a graph that is differentiated twice in a form that
  is cheaper to differentiate the second time (``mlnotes._double_backward``; the same function).
- [`lanczos`][] finds the $k$ largest or smallest (most negative) eigenvalues and their
  eigenvectors, with full re-orthogonalization.
- [`hutchinson_trace`][] estimates $\operatorname{tr}\mathbf{H}$ from random $\pm1$ vectors.
- [`spectral_density`][] estimates the density of all $n$ eigenvalues by stochastic Lanczos
  quadrature.

Each function takes an operator: a [`HessianOperator`][], which says its dimension, dtype and
device (``lanczos(op, k=5)``), or any function from a 1-D tensor to a 1-D tensor of the same length
with its dimension ``n`` (``lanczos(lambda v: a @ v, 10)``), so they are tested on matrices whose
eigenvalues are known. An object that has a ``matvec`` method and a ``shape`` of ``(n, n)``, and
optionally ``dtype`` and ``device``, is an operator too.

**One layer.** ``HessianOperator(..., params=[model.fc.weight, model.fc.bias])`` is the Hessian
with respect to those parameters only, the others held fixed: the diagonal block of the full
$\mathbf{H}$ that belongs to them.

**Across processes.** ``HessianOperator(..., distributed=True)``, built on every process of a
``torch.distributed`` process group with that process's shard of the data, returns on every
process the product for all the data: each shard's product, weighted by its share of the examples,
summed by ``all_reduce``. [`lanczos`][], [`hutchinson_trace`][] and [`spectral_density`][] then run
unchanged on every process: their random vectors come from the ``seed``, so every process draws the
same ones, and since every process receives the same sum, every process returns the same answer.

**Dropout and batch normalization.** By default (``mode="eval"``) products are taken with the
model in evaluation mode: dropout is off, so the loss is one deterministic function of
$\boldsymbol\theta$, and batch normalization uses its running statistics, so the loss is a sum over
examples and does not depend on how the data are cut into batches. ``mode="train"`` takes the
Hessian of the loss as training computes it, with batch statistics (the result then depends on the
batch size); it works on a copy whose batch-norm layers track no running statistics, so the model's
own statistics are never updated. It refuses a model with active dropout, whose training loss is
random.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.utils import parameters_to_vector
from torch.utils.data import Dataset, IterableDataset, TensorDataset

from mlnotes import _checks, _deprecation
from mlnotes._double_backward import double_backward_friendly
from mlnotes.batchnorm import BatchNorm
from mlnotes.derivatives import HVP_METHODS, HvpMethod, ModuleLoss, gradient, hvp

MatVec = Callable[[Tensor], Tensor]
MODES = ("eval", "train")
WHICH = ("largest", "smallest", "both")


def _batches(data: object) -> Callable[[], Iterable[object]]:
    """A function that yields the (inputs, targets) batches of ``data`` afresh on every call.

    One-pass iterables (a generator, ``zip``, ``iter(...)``) and datasets that yield single examples
    are refused: the operator walks over the data once per product, and a used-up iterator would
    silently give a zero Hessian.
    """
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, Tensor) for t in data):
        return lambda: [tuple(data)]
    if isinstance(data, TensorDataset) and len(data.tensors) == 2:
        return lambda: [tuple(data.tensors)]
    if hasattr(data, "x") and hasattr(data, "y") and isinstance(data.x, Tensor):
        return lambda: [(data.x, data.y)]
    if isinstance(data, (Dataset, IterableDataset)):
        raise TypeError(
            f"data is a {type(data).__name__}, which yields single examples: wrap it in "
            "torch.utils.data.DataLoader(data, batch_size=...) to give the operator batches"
        )
    if isinstance(data, Iterable) and not isinstance(data, (Tensor, str, bytes, dict)):
        if iter(data) is data:
            raise TypeError(
                f"data is a one-pass iterator ({type(data).__name__}), but the operator goes over the data "
                "once per product: pass something that can be iterated again, e.g. list(data) or a DataLoader"
            )
        return lambda: iter(data)
    raise TypeError(
        "data must be an (inputs, targets) pair of tensors, a split with .x and .y, a TensorDataset, or a "
        f"re-iterable of such pairs (a list, a DataLoader), got {type(data).__name__}"
    )


def _fingerprint(inputs: Tensor, targets: Tensor) -> tuple[float, ...]:
    """What identifies a batch up to the order of its examples: its size and sums of its values."""
    parts = [float(len(inputs))]
    for value in (inputs, targets):
        if value.dtype == torch.bool:
            value = value.to(torch.float64)
        elif value.is_complex():
            value = torch.view_as_real(value)
        parts += [float(value.sum(dtype=torch.float64)), float(value.abs().sum(dtype=torch.float64))]
    return tuple(parts)


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Equal up to the rounding of summing the same numbers in another order."""
    scale = 1e-9 * (abs(a[2]) + abs(a[4]) + 1.0)
    pairs = zip(a, b, strict=True)
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-9, abs_tol=scale) for x, y in pairs)


@dataclass(frozen=True)
class _Group:
    """A process group, and the device its collectives take tensors on (CUDA for NCCL, else the CPU)."""

    group: object
    device: torch.device
    world_size: int


def _process_group(distributed: object, process_group: object | None, device: torch.device) -> _Group | None:
    """The process group the products are summed over, or ``None`` for one process."""
    distributed = _checks.flag("distributed", distributed)
    if not distributed:
        if process_group is not None:
            raise ValueError("process_group is given but distributed is False: pass distributed=True as well")
        return None
    if not dist.is_available():
        raise ValueError("distributed=True needs torch.distributed, which this build of PyTorch lacks")
    if not dist.is_initialized():
        raise ValueError(
            "distributed=True needs torch.distributed's default process group: call "
            "torch.distributed.init_process_group('gloo') (or 'nccl' on GPUs) first, or launch with torchrun"
        )
    group = dist.group.WORLD if process_group is None else process_group
    try:
        backend, rank, size = dist.get_backend(group), dist.get_rank(group), dist.get_world_size(group)
    except (RuntimeError, ValueError) as error:
        raise TypeError(f"process_group must be a torch.distributed process group ({error})") from None
    if rank < 0:
        raise ValueError(
            "this process is not in process_group: build the operator on the group's members only"
        )
    if str(backend) == "nccl":
        if device.type != "cuda":
            raise ValueError(
                "the process group's backend is NCCL, which sums CUDA tensors only, but the model is on "
                f"{device}: move the model to its rank's GPU or use the gloo backend"
            )
        return _Group(group, device, size)
    return _Group(group, torch.device("cpu"), size)


def _all_reduced(local: Tensor, group: _Group) -> Tensor:
    """The sum of ``local`` over the ranks of ``group`` (``torch.distributed.all_reduce``)."""
    total = local.detach().to(group.device, copy=True)
    dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group.group)
    return total.to(local.device)


def _shard_sizes(group: _Group, local_size: int, num_parameters: int) -> int:
    """The number of examples over all ranks; every rank checks the same gathered numbers, so every
    rank raises the same error (rather than one rank raising while the others wait)."""
    mine = torch.tensor([local_size, num_parameters], dtype=torch.int64, device=group.device)
    everyone = [torch.empty_like(mine) for _ in range(group.world_size)]
    dist.all_gather(everyone, mine, group=group.group)
    sizes, lengths = [int(t[0]) for t in everyone], [int(t[1]) for t in everyone]
    if len(set(lengths)) != 1:
        raise ValueError(
            f"the ranks' operators have different numbers of parameters ({lengths}): every rank must build "
            "it from the same model and the same params"
        )
    empty = [rank for rank, size in enumerate(sizes) if size == 0]
    if empty:
        raise ValueError(f"rank(s) {empty} hold no examples: give every rank a non-empty shard of the data")
    return sum(sizes)


def _same_values(before: list[Tensor], now: list[Tensor]) -> bool:
    """Whether two lists of tensors hold the same values, tensor by tensor."""
    return len(before) == len(now) and all(
        a.device == b.device and a.dtype == b.dtype and torch.equal(a, b)
        for a, b in zip(before, now, strict=True)
    )


class HessianOperator:
    r"""$\mathbf{H}$ of the mean loss of ``model`` over ``data``, as a matrix-free operator.

    ``op(v)`` (or ``op.matvec(v)``) returns $\mathbf{H}\mathbf{v}$ for the loss
    $L(\boldsymbol\theta) = \frac1N\sum_b N_b\,L_b(\boldsymbol\theta)$, where $L_b$ is ``loss_fn``
    on batch $b$ (a batch *mean*, as ``nn.CrossEntropyLoss()`` returns by default) and $N_b$ its
    size. $\boldsymbol\theta$ is the model's current trainable parameters, flattened in the order
    of ``model.named_parameters()``; the model is never changed.

    **What it expects.** The data are walked over once per product (or once, with a cached graph),
    so they must give the same examples on every pass: a one-pass iterator (a generator, ``zip``)
    is refused rather than silently giving a zero Hessian after its first pass; so are data that
    change between passes (random augmentation, a shuffling ``DataLoader`` with ``drop_last=True``,
    or any shuffling in ``mode="train"``, where the batches themselves matter), found by comparing
    each pass's sums with the first. Inputs are moved to the model's device; floating-point inputs
    must have the parameters' dtype and be finite. The parameters must be real float32 or float64:
    PyTorch would take float16 too, but half precision keeps about three digits, too few for
    eigenvalues, so it is refused with the advice to analyze ``model.float()``.

    Args:
        model: the network.
        loss_fn: ``loss_fn(outputs, targets)``, the mean loss of a batch.
        data: an ``(inputs, targets)`` pair, a split with ``.x`` and ``.y`` (``mlnotes.data``), a
            ``TensorDataset`` of two tensors, or a re-iterable of pairs (a list, a ``DataLoader``).
        method: how each batch's product is computed: ``"auto"`` (forward-over-reverse, falling back
            to double backward), ``"forward-over-reverse"`` or ``"double-backward"``.
        mode: ``"eval"`` (default) or ``"train"``: the module mode used for the products (see the
            module notes on dropout and batch normalization).
        cache_graph: keep each batch's gradient graph between products, so that a product is one
            backward pass through it (double backward) instead of a forward pass, a gradient and
            its derivative. Faster for repeated products at the same parameters, at the memory
            cost of the graphs. The default, ``None``, caches when ``data`` is one batch and
            ``method`` allows double backward. A cached graph is rebuilt whenever the parameters'
            or buffers' values differ from those it was built at, however they were changed (an
            optimizer step, ``vector_to_parameters``, an edit through ``p.data``).
        params: the parameters to take the Hessian over, as the model's parameter tensors or their
            names (e.g. ``[model.fc.weight, model.fc.bias]`` or ``["fc.weight", "fc.bias"]``), for the
            Hessian of one layer: the diagonal block of the full $\mathbf{H}$ that belongs to them, in
            the model's order. The other parameters stay fixed at their values. Default: all
            trainable parameters.
        distributed: sum the products over the processes of ``torch.distributed``'s process group
            (data parallel): each process passes its own shard of the data, and every process gets
            the product for all the data, the shards' products weighted by their sizes and summed
            by ``all_reduce``. Every process must build the operator (same model, same ``params``)
            and take every product, as [`lanczos`][], [`hutchinson_trace`][] and
            [`spectral_density`][] do when they run on all ranks with the same arguments.
        process_group: the group to sum over when ``distributed`` (default: the default group).

    Attributes:
        num_parameters: $n$, the length of $\boldsymbol\theta$.
        shape: $(n, n)$.
        dtype, device: those of the parameters; the vectors of the products have them.
        parameter_names: the names of the parameters that make up $\boldsymbol\theta$, in order.
        num_examples: the number of examples (over all processes when ``distributed``).
        num_local_examples: the number of examples this process holds.
        size, local_size: the old names of ``num_examples`` and ``num_local_examples``, deprecated;
            they go in the next release.

    Raises:
        TypeError: a wrong type for ``model``, ``loss_fn`` or ``data`` (a one-pass iterator, a
            dataset of single examples), or inputs of another dtype than the parameters.
        ValueError: an unknown ``method`` or ``mode``, empty data, data with NaN or inf,
            half-precision parameters, a loss module whose ``reduction`` is not ``"mean"`` (the
            weights by batch size assume batch means), or ``mode="train"`` with active dropout. Later, at a
            product: data that changed between passes, a changed set of trainable parameters,
            parameters or a product that are not finite. For ``params``: an empty list, a parameter
            named twice, a frozen one, or a tensor or name that is not the model's. For
            ``distributed``: no initialized process group (call
            ``torch.distributed.init_process_group``, or launch with ``torchrun``), a rank with no
            data, or ranks whose operators differ in size.

    Examples:
        >>> net = nn.Linear(2, 1, bias=False)
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> op = HessianOperator(net, nn.MSELoss(), (x, torch.zeros(2, 1)))
        >>> op.dense()                                 # H = 2 X^T X / N for the mean squared error
        tensor([[1., 0.],
                [0., 4.]])
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[Tensor, Tensor], Tensor],
        data: object,
        *,
        method: HvpMethod = "auto",
        mode: Literal["eval", "train"] = "eval",
        cache_graph: bool | None = None,
        params: Iterable[Tensor | str] | None = None,
        distributed: bool = False,
        process_group: object | None = None,
    ) -> None:
        model = _checks.module("model", model)
        loss_fn = _checks.mean_loss("loss_fn", loss_fn, over_examples=True)
        method = _checks.choice("method", method, HVP_METHODS)
        mode = _checks.choice("mode", mode, MODES)
        if cache_graph is not None:
            cache_graph = _checks.flag("cache_graph", cache_graph)
        named = _checks.trainable(model)
        self._trainable_layout = [(n, p.shape) for n, p in named]
        if params is not None:
            named = _checks.parameter_subset("params", model, params)
        self.parameter_names = [n for n, _ in named]
        self.dtype, self.device = named[0][1].dtype, named[0][1].device
        if self.dtype not in (torch.float32, torch.float64):
            raise ValueError(
                f"the model's parameters are {self.dtype}: half precision keeps about 3 digits, too few for "
                "Hessian eigenvalues; analyze a float32 copy, copy.deepcopy(model).float()"
            )
        self.model, self.loss_fn, self.method, self.mode = model, loss_fn, method, mode
        # Products are taken on a stand-in with the model's structure; functional_call supplies the
        # parameters. In train mode it is a copy whose batch-norm layers keep no running statistics
        # (torch.func.replace_all_batch_norm_modules_, and the package's own BatchNorm told not to
        # track): they normalize with the batch's statistics, as in training, without the in-place
        # buffer updates that torch.func cannot trace and that would change the model.
        if mode == "train":
            self._structure = copy.deepcopy(model).train()
            torch.func.replace_all_batch_norm_modules_(self._structure)
            for layer in self._structure.modules():
                if isinstance(layer, BatchNorm):
                    layer.track_running_stats = False
            found = ", ".join(_checks.stateful_layers(self._structure))
            if found:
                raise ValueError(
                    "mode='train' with active dropout makes the loss random, so it has no Hessian; "
                    f"use mode='eval' (dropout off); found {found}"
                )
        else:
            self._structure = model
        # which examples share a batch matters in train mode, and in eval mode for batch norm that
        # keeps no running statistics (it normalizes with the batch's even then)
        self._batches_matter = mode == "train" or any(
            not layer.track_running_stats for layer in _checks.batch_norm_layers(model)
        )
        self._batches = _batches(data)
        self.num_parameters = sum(p.numel() for _, p in named)
        self._prints: list[tuple[float, ...]] = []
        for index, (inputs, targets) in enumerate(self._pass(check=True)):
            _checks.batch(inputs, targets, self.dtype, self.device, f"batch {index} of data: ")
            _checks.no_ignored_targets(f"batch {index} of data:", targets, loss_fn)
        self.num_local_examples = int(sum(f[0] for f in self._prints))
        self._group = _process_group(distributed, process_group, self.device)
        self.num_examples = self.num_local_examples
        if self._group is not None:
            self.num_examples = _shard_sizes(self._group, self.num_local_examples, self.num_parameters)
        elif self.num_examples == 0:
            raise ValueError("data holds no examples")
        if cache_graph is None:
            cache_graph = len(self._prints) == 1 and method != "forward-over-reverse"
        self.cache_graph = cache_graph
        self._graphs: tuple[list[Tensor], list[tuple[Tensor, Tensor, float]]] | None = None

    def _pass(self, check: bool = False) -> Iterator[tuple[Tensor, Tensor]]:
        """The non-empty batches of one pass over the data, on the model's device.

        The first pass (``check=True``) records each batch's fingerprint; every later pass is
        compared with it when it ends.
        """
        prints = []
        for index, batch in enumerate(self._batches()):
            if not (
                isinstance(batch, (tuple, list))
                and len(batch) == 2
                and all(isinstance(t, Tensor) for t in batch)
            ):
                raise TypeError(
                    "every batch of data must be an (inputs, targets) pair of tensors, "
                    f"got {type(batch).__name__} "
                    f"at batch {index}"
                )
            inputs, targets = batch
            if inputs.dim() == 0 or targets.dim() == 0 or len(inputs) != len(targets):
                raise ValueError(
                    f"batch {index} of data: inputs and targets must hold the same number of examples, "
                    f"got shapes {tuple(inputs.shape)} and {tuple(targets.shape)}"
                )
            if len(inputs) == 0:
                continue
            prints.append(_fingerprint(inputs, targets))
            yield inputs.to(self.device), targets.to(self.device)
        if check:
            self._prints = prints
            return
        if len(prints) != len(self._prints):
            raise ValueError(
                f"data gave {len(prints)} batches on this pass but {len(self._prints)} on the first: "
                "the data "
                "must give the same examples on every pass (no random augmentation or drop_last with shuffle)"
            )
        if self._batches_matter:
            same = all(_same(a, b) for a, b in zip(prints, self._prints, strict=True))
            what = "the same batches on every pass, since batch statistics depend on them (mode='train', "
            what += "or batch norm without running statistics): use a DataLoader with shuffle=False"
        else:
            same = _same(
                tuple(map(sum, zip(*prints, strict=True))), tuple(map(sum, zip(*self._prints, strict=True)))
            )
            what = "the same examples on every pass (no random augmentation, no drop_last with shuffle)"
        if not same:
            raise ValueError(f"data changed between passes over it: the operator needs {what}")

    def _parameters(self) -> list[Tensor]:
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        if [(n, p.shape) for n, p in named] != self._trainable_layout:
            raise ValueError(
                "the model's trainable parameters changed since this operator was built (a layer frozen, "
                "unfrozen or replaced): build a new HessianOperator"
            )
        chosen = set(self.parameter_names)
        return [p for n, p in named if n in chosen]

    @property
    def shape(self) -> tuple[int, int]:
        r"""$(n, n)$, the shape of $\mathbf{H}$."""
        return (self.num_parameters, self.num_parameters)

    size = _deprecation.renamed_attribute("HessianOperator", "size", "num_examples")
    local_size = _deprecation.renamed_attribute("HessianOperator", "local_size", "num_local_examples")

    def _reduced(self, local: Tensor) -> Tensor:
        """The sum over the ranks of each rank's ``local`` part (``local`` itself when not distributed)."""
        if self._group is None:
            return local
        return _all_reduced(local, self._group)

    @property
    def theta(self) -> Tensor:
        """The model's trainable parameters as one flat, detached vector."""
        return parameters_to_vector(self._parameters()).detach()

    def _point(self) -> Tensor:
        """theta, refused if it holds NaN or inf (a diverged model has no meaningful Hessian)."""
        theta = self.theta
        if not _checks.all_finite(theta):
            raise ValueError("the model's parameters contain NaN or infinite values (did training diverge?)")
        return theta

    def _accumulate(self, per_batch: Callable[[ModuleLoss, Tensor, float], Tensor]) -> Tensor:
        """Sum over batches of ``per_batch(loss of the batch, theta, share of the examples)``."""
        with _checks.modes_restored(self._structure):
            self._structure.train(self.mode == "train")
            if self.mode == "train":  # the copy takes the model's current frozen parameters and buffers
                own = {**dict(self.model.named_parameters()), **dict(self.model.named_buffers())}
                with torch.no_grad():
                    for name, tensor in (
                        *self._structure.named_parameters(),
                        *self._structure.named_buffers(),
                    ):
                        if name in own:  # batch-norm running statistics exist in the model only
                            tensor.copy_(own[name])
            theta, total = self._point(), None
            for inputs, targets in self._pass():
                loss = ModuleLoss(self._structure, self.loss_fn, inputs, targets, names=self.parameter_names)
                part = per_batch(loss, theta, len(inputs) / self.num_examples)
                total = part if total is None else total + part
            return total

    def matvec(self, v: Tensor) -> Tensor:
        r"""$\mathbf{H}\mathbf{v}$ for a 1-D ``v`` of length $n$ (the model's dtype and device)."""
        v = _checks.vector("v", v)
        if v.numel() != self.num_parameters:
            raise ValueError(f"v must be a vector of {self.num_parameters} entries, got {v.numel()}")
        if v.dtype != self.dtype:
            raise ValueError(f"v must have the parameters' dtype, {self.dtype}, got {v.dtype}")
        _checks.finite("v", v)
        v = v.to(self.device)
        if self.cache_graph:
            total = torch.zeros_like(v)
            for leaf, g, weight in self._cached_graphs():
                if g.requires_grad:  # a loss linear in theta has no graph left, and H = 0
                    (hv,) = torch.autograd.grad(g, leaf, grad_outputs=v, retain_graph=True, allow_unused=True)
                    if hv is not None:
                        total += weight * hv
        else:
            total = self._accumulate(
                lambda loss, theta, weight: weight * hvp(loss, theta, v, method=self.method)
            )
        total = self._reduced(total)
        if not _checks.all_finite(total):
            raise ValueError(
                "the Hessian-vector product is not finite (NaN or inf): "
                "the loss overflows at these parameters"
            )
        return total

    def _state(self) -> list[Tensor]:
        """Every number the products depend on besides the data: all parameters (frozen ones and
        those outside ``params`` too) and the floating-point buffers, as the model's own tensors."""
        self._parameters()  # refuses a changed set of trainable parameters
        tensors = (*self.model.parameters(), *self.model.buffers())
        return [t.detach() for t in tensors if t.is_floating_point()]

    def _cached_graphs(self) -> list[tuple[Tensor, Tensor, float]]:
        """Per batch: a leaf copy of theta, the gradient with its graph, and the batch's weight.

        The graphs are rebuilt when the parameters' or buffers' *values* differ from those they were
        built at. Version counters would miss ``vector_to_parameters`` and edits through ``p.data``.
        """
        state = self._state()
        if self._graphs is None or not _same_values(self._graphs[0], state):
            self._graphs = None  # free the old graphs before building new ones
            graphs = []

            def build(loss: ModuleLoss, theta: Tensor, weight: float) -> Tensor:
                leaf = theta.detach().clone().requires_grad_(True)
                with torch.enable_grad(), double_backward_friendly():
                    value = _checks.scalar_output("loss_fn", loss(leaf))
                    (g,) = torch.autograd.grad(value, leaf, create_graph=True)
                graphs.append((leaf, g, weight))
                return value.detach().reshape(1)

            self._accumulate(build)
            self._graphs = ([t.clone() for t in state], graphs)
        return self._graphs[1]

    __call__ = matvec

    def loss(self) -> float:
        """The mean loss over the data at the current parameters."""
        with torch.no_grad():
            local = self._accumulate(lambda loss, theta, weight: weight * loss(theta).reshape(1))
            value = float(self._reduced(local)[0])
        if not math.isfinite(value):
            raise ValueError(f"the loss is {value} at the current parameters")
        return value

    def gradient(self) -> Tensor:
        """The gradient of the mean loss over the data, flattened like ``theta``."""
        return self._reduced(self._accumulate(lambda loss, theta, weight: weight * gradient(loss, theta)))

    def dense(self) -> Tensor:
        r"""The whole $n\times n$ matrix, one product per column: for small models and tests only."""
        eye = torch.eye(self.num_parameters, dtype=self.dtype, device=self.device)
        return torch.stack([self.matvec(column) for column in eye], dim=1)


@dataclass(frozen=True)
class LanczosResult:
    """Eigenvalues (ascending), their unit eigenvectors (columns), the number of products used, and
    whether every requested pair met the tolerance."""

    eigenvalues: Tensor
    eigenvectors: Tensor
    iterations: int
    converged: bool


def _described(matvec: object) -> object | None:
    """The object that describes the operator: ``matvec`` itself, or the owner of a bound method
    such as ``op.matvec``; ``None`` for a plain function."""
    for candidate in (matvec, getattr(matvec, "__self__", None)):
        if candidate is not None and any(hasattr(candidate, a) for a in ("shape", "num_parameters", "dtype")):
            return candidate
    return None


def _check_matvec(
    matvec: object, n: object, dtype: object, device: object
) -> tuple[MatVec, int, torch.dtype, torch.device]:
    r"""Validate the operator, and take the dimension, dtype and device from it where not given.

    An operator is any callable $\mathbf{v}\mapsto A\mathbf{v}$, or any object with such a
    ``matvec`` method; it may say its dimension (``shape == (n, n)`` or ``num_parameters``), its
    ``dtype`` and its ``device``, as a [`HessianOperator`][] does. What it says is the default, and
    an argument that contradicts it is refused; a plain function needs ``n``, and its vectors are
    float64 on the CPU unless ``dtype`` and ``device`` say otherwise.
    """
    if not callable(matvec) and callable(getattr(matvec, "matvec", None)):
        matvec = matvec.matvec
    if not callable(matvec):
        raise TypeError(f"matvec must be callable (a function v -> Av), got {type(matvec).__name__}")
    owner = _described(matvec)
    own_n = own_dtype = own_device = None
    if owner is not None:
        shape = getattr(owner, "shape", None)
        if isinstance(shape, tuple) and len(shape) == 2 and all(isinstance(d, int) for d in shape):
            own_n = shape[0]
        elif isinstance(getattr(owner, "num_parameters", None), int):
            own_n = owner.num_parameters
        if isinstance(getattr(owner, "dtype", None), torch.dtype):
            own_dtype = owner.dtype
        if isinstance(getattr(owner, "device", None), (torch.device, str)):
            own_device = torch.device(owner.device)
    if n is None:
        if own_n is None:
            raise ValueError(
                "n must be given for a plain function, which does not say its dimension: pass n=..., "
                "or an operator with .shape such as a HessianOperator"
            )
        n = own_n
    n = _checks.positive_int("n", n)
    if own_n is not None and own_n != n:
        raise ValueError(f"n must be the operator's dimension, {own_n}, got {n}: leave n out to use it")
    if dtype is None:
        dtype = torch.float64 if own_dtype is None else own_dtype
    dtype = _checks.vector_dtype("dtype", dtype)
    if own_dtype is not None and dtype != own_dtype:
        raise ValueError(
            f"dtype is {dtype} but the operator's is {own_dtype}: leave dtype out to use the operator's"
        )
    device = _checks.device("device", (own_device or "cpu") if device is None else device)
    if own_device is not None and not _same_device(device, own_device):
        raise ValueError(
            f"device is {device} but the operator's is {own_device}: leave device out to use the operator's"
        )
    return matvec, n, dtype, device


def _same_device(a: torch.device, b: torch.device) -> bool:
    """The same device, where ``cuda`` without an index means the current one."""
    if a.type != b.type:
        return False
    if a.index is None or b.index is None:
        if a.type != "cuda" or not torch.cuda.is_available():
            return True
        current = torch.cuda.current_device()
        return (a.index if a.index is not None else current) == (b.index if b.index is not None else current)
    return a.index == b.index


def _product(matvec: MatVec, v: Tensor, count: int) -> Tensor:
    """``matvec(v)``, refused unless it is a finite vector shaped like ``v``."""
    try:
        w = matvec(v)
    except (RuntimeError, TypeError, ValueError) as error:
        # a refusal of the vector's dtype or device at the first product means the vectors were made
        # wrongly: say which arguments make them right (a later one is the operator's own error)
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        words = ("dtype", "scalar type", "device", "Expected all tensors")
        if (count == 0 or isinstance(error, RuntimeError)) and any(word in text for word in words):
            raise TypeError(
                f"matvec failed on a {v.dtype} vector on {v.device} ({text}): pass dtype= and device= "
                "matching the operator"
            ) from error
        raise
    if not isinstance(w, Tensor) or w.shape != v.shape:
        shape = tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__
        raise ValueError(f"matvec must return a vector of length {v.numel()}, got {shape}")
    if w.dtype != v.dtype:
        raise TypeError(
            f"matvec returned {w.dtype} for a {v.dtype} vector: pass dtype={w.dtype} to work in the "
            f"operator's precision, or make matvec return {v.dtype}"
        )
    w = w.detach()  # a product built with create_graph=True: only its values are used
    if not _checks.all_finite(w):
        raise ValueError(
            f"matvec returned NaN or inf at product {count + 1}: "
            "check the data and the parameters for NaN or inf"
        )
    return w if w.device == v.device else w.to(v.device)


def _lanczos_basis(
    matvec: MatVec,
    q: Tensor,
    steps: int,
    stop: Callable[[Tensor, Tensor, float], bool] | None = None,
    products_before: int = 0,
    restart: Callable[[Tensor, Tensor], Tensor | None] | None = None,
) -> tuple[Tensor, Tensor, Tensor, float, float]:
    """``steps`` Lanczos steps from the unit vector ``q`` with full re-orthogonalization.

    Returns the basis Q (steps x n), the diagonal alpha and off-diagonal beta of T, the last beta
    (the residual norm factor), all for the operator divided by ``factor``, and ``factor`` (a power
    of two, 1 unless the operator's scale is extreme). Stops early when
    ``stop(alpha, beta, last_beta)`` says so, or on breakdown (the Krylov space is invariant). On
    breakdown ``restart(alpha, beta)``, if given, may return a fresh random vector to go on with (it
    is made orthogonal to the basis, and its coupling beta is 0, so T becomes block diagonal), or
    ``None`` to stop.
    """
    n = q.numel()
    basis = torch.empty(steps, n, dtype=q.dtype, device=q.device)
    alpha = torch.empty(steps, dtype=q.dtype, device=q.device)
    beta = torch.zeros(steps, dtype=q.dtype, device=q.device)
    basis[0] = q
    m = steps
    last, factor = 0.0, 1.0
    for j in range(steps):
        w = _product(matvec, basis[j], products_before + j)
        if j == 0:
            factor = _power_of_two(w)
        if factor != 1.0:
            w = w / factor
        alpha[j] = torch.dot(w, basis[j])
        earlier = basis[: j + 1]
        coefficients = earlier @ w
        scale = max(float(alpha[: j + 1].abs().max()), float(beta[:j].abs().max()) if j else 0.0, 1e-300)
        _check_symmetric(coefficients, beta, j, scale)
        w = _orthogonalized(w, earlier, coefficients)
        last = float(torch.linalg.vector_norm(w))
        if j + 1 == steps:
            m = j + 1
            break
        if last <= 1e-10 * scale:
            fresh = None if restart is None else restart(alpha[: j + 1], beta[:j])
            if fresh is not None:
                fresh = _orthogonalized(fresh.to(dtype=q.dtype, device=q.device), earlier)
                size = float(torch.linalg.vector_norm(fresh))
            if fresh is None or size <= 1e-8:  # no restart wanted, or the basis spans everything
                m = j + 1
                break
            last = 0.0
            torch.div(fresh, size, out=basis[j + 1])  # beta[j] stays 0: a new, uncoupled block
            continue
        beta[j] = last
        torch.div(w, last, out=basis[j + 1])
        if stop is not None and stop(alpha[: j + 1], beta[:j], last):
            m = j + 1
            break
    return basis[:m], alpha[:m], beta[: m - 1], last, factor


def _power_of_two(w: Tensor) -> float:
    """1, or the power of two near max |w| when that is so small or large that squares would
    underflow or overflow (vector norms of entries near 1e-160 come out 0 in float64).

    Dividing by a power of two is exact, so T of the scaled operator is T of the operator over it.
    """
    info = torch.finfo(w.dtype)
    largest = float(w.abs().max())
    if largest == 0.0 or info.tiny**0.25 <= largest <= info.max**0.25:
        return 1.0
    return 2.0 ** round(math.log2(largest))


def _check_symmetric(coefficients: Tensor, beta: Tensor, j: int, scale: float) -> None:
    """Refuse an operator that is not symmetric, seen in the Lanczos coefficients of step ``j``.

    For a symmetric A, q_{j-1}^T A q_j equals beta_{j-1} and q_i^T A q_j vanishes for i < j - 1 (up
    to rounding); an operator that is not symmetric breaks both.
    """
    if j == 0:
        return
    gap = abs(float(coefficients[j - 1]) - float(beta[j - 1]))
    if j > 1:
        gap = max(gap, float(coefficients[: j - 1].abs().max()))
    allowed = 100 * math.sqrt(torch.finfo(coefficients.dtype).eps) * scale
    if gap > allowed:
        raise ValueError(
            f"matvec is not symmetric (q_i^T A q_j differs from q_j^T A q_i by {gap:.3g}, relative "
            f"{gap / scale:.2g}): lanczos and spectral_density need a symmetric operator such as a Hessian"
        )


def _orthogonalized(w: Tensor, earlier: Tensor, coefficients: Tensor | None = None) -> Tensor:
    """``w`` minus its components along the rows of ``earlier``, twice ("twice is enough").

    The first pass makes a new vector (``w`` may be the caller's) and uses ``coefficients``
    (``earlier @ w``) if the caller has them already; the second works in place.
    """
    first = earlier @ w if coefficients is None else coefficients
    w = torch.addmv(w, earlier.T, first, alpha=-1)
    return w.addmv_(earlier.T, earlier @ w, alpha=-1)


def _unit(gen: torch.Generator, n: int, dtype: torch.dtype, device: torch.device | str) -> Tensor:
    q = torch.randn(n, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
    return q / torch.linalg.vector_norm(q)


def _rademacher(n: int, gen: torch.Generator, dtype: torch.dtype, device: torch.device | str) -> Tensor:
    """A vector of independent +-1 entries, equally likely."""
    return (torch.randint(0, 2, (n,), generator=gen) * 2 - 1).to(dtype=dtype, device=device)


def _tridiagonal(alpha: Tensor, beta: Tensor) -> Tensor:
    return torch.diag(alpha) + torch.diag(beta, 1) + torch.diag(beta, -1)


def lanczos(
    matvec: MatVec,
    n: int | None = None,
    *,
    k: int = 1,
    which: Literal["largest", "smallest", "both"] = "largest",
    max_iter: int | None = None,
    tol: float = 1e-6,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> LanczosResult:
    r"""Extreme eigenvalues and eigenvectors of a symmetric operator by the Lanczos method.

    Builds an orthonormal basis of the Krylov space $\{\mathbf{q}, A\mathbf{q}, A^2\mathbf{q},\dots\}$
    from a random unit $\mathbf{q}$, re-orthogonalizing every new vector against all earlier ones (so
    no spurious copies of converged eigenvalues appear), and takes the eigenpairs of the small
    tridiagonal matrix $T = Q^\top A Q$ (Ritz pairs). A Ritz pair $(\tilde\lambda, Q\mathbf{y})$ has residual
    $\|AQ\mathbf{y} - \theta Q\mathbf{y}\| = \beta\,|y_m|$; iteration stops once every requested pair
    has a residual at most ``tol`` times the largest $|\tilde\lambda|$ of all Ritz values (so that an
    eigenvalue 0 converges too). The eigenvalues are then more accurate than ``tol`` suggests:
    some eigenvalue lies within the residual $r$ of $\theta$, and within
    $r^2/\delta$ when the rest of the spectrum is at least $\delta$ away from $\theta$. This is a
    different test from power iteration's usual "two successive estimates agree to ``tol``"
    (PyHessian's), which stops early when convergence is slow.

    **Repeated eigenvalues.** A Krylov space built from one vector holds one copy of each
    eigenvalue: for $A = \operatorname{diag}(1, 2, 2)$ it closes after two steps with Ritz values
    1 and 2, and the top two, 2 and 2, cannot be read from it. When the space closes (breakdown),
    the basis therefore goes on from a fresh random vector, orthogonal to it, and $T$ becomes block
    diagonal; this repeats until a further block leaves the requested eigenvalues unchanged. A copy
    that the space does not reach before the stopping test is met can still be missed, as with any
    method that starts from one vector; a run with another ``seed`` is the check.

    Args:
        matvec: $\mathbf{v}\mapsto A\mathbf{v}$ for a symmetric $A$ (e.g. a [`HessianOperator`][]).
        n: the dimension (default: the operator's, which a plain function does not have).
        k: how many eigenvalues from each requested end, $1 \le k \le n$.
        which: ``"largest"`` (algebraically largest), ``"smallest"`` (most negative) or ``"both"``.
        max_iter: the most products to use (default $\min(n, \max(4k + 40, 100))$).
        tol: relative residual tolerance, $> 0$.
        seed: the seed of the random start vector.
        dtype: the dtype of the vectors, float32 or float64 (default: the operator's ``dtype`` if it
            has one, as a [`HessianOperator`][] does, else float64); it must agree with the operator's.
        device: the device of the vectors (default: the operator's ``device``, else the CPU).

    Returns:
        A [`LanczosResult`][]: eigenvalues ascending ($k$, or $\min(2k, n)$ for ``"both"``), their
        eigenvectors as columns.

    Raises:
        TypeError: ``matvec`` is not callable, ``dtype`` is not a dtype, or the products come back in
            another dtype than the vectors (or fail on them: pass ``dtype=`` and ``device=``).
        ValueError: ``n``, ``k``, ``max_iter`` (fewer than the eigenvalues asked for) or ``tol`` out
            of range, an unknown ``which``, a ``dtype`` other than float32/float64, a device this
            machine lacks, an ``n``, ``dtype`` or ``device`` that differs from the operator's, no
            ``n`` for a plain function, or a product that is not a finite vector of length ``n``
            (NaN in the data or the parameters).

    Examples:
        >>> a = torch.diag(torch.arange(1.0, 11.0, dtype=torch.float64))
        >>> r = lanczos(lambda v: a @ v, 10, k=2, which="both")
        >>> r.eigenvalues.round(decimals=8)
        tensor([ 1.,  2.,  9., 10.], dtype=torch.float64)

        A [`HessianOperator`][] says its dimension and dtype (here float32) itself:

        >>> net = nn.Linear(2, 1, bias=False)
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> op = HessianOperator(net, nn.MSELoss(), (x, torch.zeros(2, 1)))
        >>> lanczos(op, k=1).eigenvalues
        tensor([4.])
    """
    matvec, n, dtype, device = _check_matvec(matvec, n, dtype, device)
    k = _checks.positive_int("k", k)
    if k > n:
        raise ValueError(f"k must be at most n = {n}, got {k}")
    which = _checks.choice("which", which, WHICH)
    tol = _checks.interval("tol", tol, 0.0, 1.0)
    seed = _checks.seed("seed", seed)
    wanted_count = min(n, 2 * k if which == "both" else k)
    if max_iter is None:
        steps = max(4 * k + 40, 100)
    else:
        steps = _checks.positive_int("max_iter", max_iter)
        if steps < wanted_count:
            raise ValueError(
                f"max_iter must be at least the number of eigenvalues asked for, {wanted_count}, got {steps}"
            )
    steps = min(steps, n)

    def wanted(values: Tensor) -> Tensor:
        m = values.numel()
        idx = torch.arange(m, device=values.device)
        if which == "largest":
            return idx[-k:]
        if which == "smallest":
            return idx[:k]
        return idx if 2 * k >= m else torch.cat([idx[:k], idx[-k:]])

    def residuals(alpha: Tensor, beta: Tensor, last: float) -> tuple[Tensor, Tensor, Tensor, float]:
        """The wanted Ritz values, their vectors in T's basis, their residuals, and the largest |theta|."""
        values, vectors = torch.linalg.eigh(_tridiagonal(alpha, beta))
        chosen = wanted(values)
        scale = float(values.abs().max())
        return values[chosen], vectors[:, chosen], last * vectors[-1, chosen].abs(), scale

    def met(res: Tensor, scale: float) -> bool:
        # relative to the largest |Ritz value| of all (an estimate of the operator's norm), so that
        # a wanted eigenvalue of 0 can converge too
        return bool((res <= tol * max(scale, 1e-300)).all())

    def done(alpha: Tensor, beta: Tensor, last: float) -> bool:
        if alpha.numel() < wanted_count:
            return False
        _, _, res, scale = residuals(alpha, beta, last)
        if not met(res, scale):
            return False
        # After a restart the newest block (past the last zero of beta) is still growing: its
        # extreme Ritz values move outward and may yet enter the wanted set, so they must have
        # converged too (in the first block the wanted values include its extremes anyway).
        breaks = (beta == 0).nonzero()
        if breaks.numel() == 0:
            return True
        start = int(breaks[-1]) + 1
        _, block_vectors = torch.linalg.eigh(_tridiagonal(alpha[start:], beta[start:]))
        ends = {"largest": [-1], "smallest": [0], "both": [0, -1]}[which]
        return met(last * block_vectors[-1, ends].abs(), scale)

    # A Krylov space that closes (an invariant subspace) holds one copy of each eigenvalue it
    # reaches: diag(1, 2, 2) from one vector gives Ritz values 1 and 2, never 2 and 2. So on
    # breakdown the basis goes on from a fresh random vector, and stops once a further block
    # leaves the wanted eigenvalues as they were.
    gen = torch.Generator().manual_seed(seed)
    before: list[Tensor] = []

    def restart(alpha: Tensor, beta: Tensor) -> Tensor | None:
        values = torch.linalg.eigvalsh(_tridiagonal(alpha, beta))
        now = values[wanted(values)]
        scale = tol * float(values.abs().max().clamp_min(1e-300))
        if values.numel() >= wanted_count and before and before[-1].shape == now.shape:
            if torch.allclose(now, before[-1], rtol=0, atol=scale):
                return None
        before.append(now)
        return _unit(gen, n, dtype, device)

    q = _unit(gen, n, dtype, device)
    basis, alpha, beta, last, factor = _lanczos_basis(matvec, q, steps, done, restart=restart)
    values, y, res, scale = residuals(alpha, beta, last)
    converged = met(res, scale)
    vectors = basis.T @ y
    return LanczosResult(values * factor, vectors, int(alpha.numel()), converged)


def hutchinson_trace(
    matvec: MatVec,
    n: int | None = None,
    *,
    samples: int = 100,
    deflate: int = 0,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[float, float]:
    r"""Hutchinson's estimate of $\operatorname{tr}A$ and its standard error.

    For $\mathbf{z}$ with independent entries $\pm1$ (equally likely),
    $\mathbb{E}[\mathbf{z}^\top A\mathbf{z}] = \sum_i A_{ii}\,\mathbb{E}[z_i^2] = \operatorname{tr}A$;
    the estimate is the mean of ``samples`` such products.

    **Deflation.** The variance of one sample is $2\sum_{i\ne j}A_{ij}^2$, which the few large
    eigenvalues of a network's Hessian dominate. With ``deflate`` $= m > 0$, $m$ Lanczos steps from a
    random unit vector first build an orthonormal basis $Q$ of a Krylov space, which holds the extreme
    eigenvectors closely, and $\operatorname{tr}(Q^\top AQ)$ (the sum of the diagonal of the
    tridiagonal $T$) is taken exactly. Since $\operatorname{tr}A = \operatorname{tr}(Q^\top AQ) +
    \operatorname{tr}(PAP)$ with $P = I - QQ^\top$, the rest is Hutchinson's estimate with the vectors
    $P\mathbf{z}$, whose samples no longer see those eigenvalues. $Q$ is independent of the $\mathbf{z}$,
    so the estimate stays unbiased, and the standard error is that of the mean of the remaining samples
    (given $Q$). The products used are ``deflate + samples``. This is Hutch++ (Meyer et al., 2021) with
    a Krylov basis in place of the one-step sketch $AS$, whose trace then costs no further products.

    Args:
        matvec: $\mathbf{v}\mapsto A\mathbf{v}$ (e.g. a [`HessianOperator`][]).
        n: the dimension (default: the operator's).
        samples: how many random vectors, at least 1.
        deflate: Lanczos steps whose Krylov space is traced exactly, $0 \le$ ``deflate`` $< n$ (default
            0: plain Hutchinson). For a network's Hessian, whose few outlying eigenvalues the Krylov
            space must hold, a third to a half of the products is a good share.
        seed: the seed of the random vectors.
        dtype: float32 or float64 (default: the operator's ``dtype``, else float64).
        device: the device of the vectors (default: the operator's ``device``, else the CPU).

    Raises:
        TypeError, ValueError: as for [`lanczos`][].

    Returns:
        ``(estimate, standard_error)``; the standard error is that of the mean of the samples
        (``nan`` for one sample).

    Examples:
        >>> a = torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
        >>> hutchinson_trace(lambda v: a @ v, 3, samples=5)   # diagonal: every sample is exact
        (6.0, 0.0)

        Two eigenvalues far above the rest make plain samples noisy; three Lanczos steps take them out
        (with three distinct eigenvalues the Krylov space closes after three steps):

        >>> u, _ = torch.linalg.qr(torch.randn(100, 100, dtype=torch.float64))   # a random rotation
        >>> b = u @ torch.diag(torch.tensor([100.0, 50.0] + [1.0] * 98, dtype=torch.float64)) @ u.T
        >>> plain = hutchinson_trace(lambda v: b @ v, 100, samples=40)
        >>> deflated = hutchinson_trace(lambda v: b @ v, 100, samples=37, deflate=3)
        >>> round(float(b.trace()), 6), plain[1] > 10 * deflated[1]
        (248.0, True)
    """
    matvec, n, dtype, device = _check_matvec(matvec, n, dtype, device)
    samples = _checks.positive_int("samples", samples)
    deflate = _checks.nonnegative_int("deflate", deflate)
    if deflate >= n:
        raise ValueError(f"deflate must be below n = {n}, got {deflate}: with n steps the trace is tr T")
    gen = torch.Generator().manual_seed(_checks.seed("seed", seed))
    exact, basis = 0.0, None
    if deflate:
        basis, alpha, _, _, factor = _lanczos_basis(matvec, _unit(gen, n, dtype, device), deflate)
        exact = math.fsum(float(a) for a in alpha.double()) * factor
    values = []
    for count in range(samples):
        z = _rademacher(n, gen, dtype, device)
        if basis is not None:
            z = _orthogonalized(z, basis)
        values.append(float(torch.dot(z, _product(matvec, z, deflate + count))))
    mean = math.fsum(values) / samples
    if samples == 1:
        return exact + mean, math.nan
    var = math.fsum((v - mean) ** 2 for v in values) / (samples - 1)
    return exact + mean, math.sqrt(var / samples)


@dataclass(frozen=True)
class SpectralDensity:
    r"""A stochastic-Lanczos-quadrature estimate of the eigenvalue density.

    ``nodes[r]`` and ``weights[r]`` are the quadrature nodes (Ritz values) and weights of run ``r``;
    each run's weights sum to 1. ``grid`` and ``density`` are the Gaussian-smoothed density
    $\phi(t) = \frac1R\sum_r\sum_j w_{rj}\,\mathcal{N}(t;\,\tilde\lambda_{rj}, \sigma^2)$ on the grid.
    """

    nodes: list[Tensor]
    weights: list[Tensor]
    grid: Tensor
    density: Tensor
    sigma: float

    def expectation(self, f: Callable[[Tensor], Tensor]) -> float:
        r"""The quadrature estimate of $\frac1n\operatorname{tr} f(A) = \frac1n\sum_i f(\lambda_i)$."""
        runs = [float((w * f(t)).sum()) for t, w in zip(self.nodes, self.weights, strict=True)]
        return math.fsum(runs) / len(runs)


def spectral_density(
    matvec: MatVec,
    n: int | None = None,
    *,
    steps: int = 80,
    runs: int = 10,
    sigma: float | None = None,
    points: int = 1000,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> SpectralDensity:
    r"""The density of the eigenvalues of a symmetric operator, by stochastic Lanczos quadrature.

    For a random vector $\mathbf{v}$ with entries $\pm1/\sqrt n$ (Rademacher, normalized),
    $\mathbb{E}[\mathbf{v}^\top f(A)\mathbf{v}] = \frac1n\operatorname{tr}f(A)$, and for a
    diagonal $A$ every single draw gives it exactly. $m$ Lanczos steps from $\mathbf{v}$ give
    $\mathbf{v}^\top f(A)\mathbf{v} \approx \sum_j \tau_j^2 f(\tilde\lambda_j)$, with $\tilde\lambda_j$ the
    eigenvalues of $T$ and $\tau_j$ the first entries of its unit eigenvectors (Gauss quadrature,
    exact for polynomials of degree $< 2m$). Averaging over ``runs`` start vectors and replacing
    each node by a Gaussian of width $\sigma$ gives a smooth density.

    Args:
        matvec: $\mathbf{v}\mapsto A\mathbf{v}$, symmetric.
        n: the dimension (default: the operator's).
        steps: Lanczos steps per run ($\le n$).
        runs: independent start vectors.
        sigma: the smoothing width (default: 1% of the range of all nodes, or of their magnitude
            when they all coincide).
        points: grid points, spread over the nodes' range plus $5\sigma$ on each side.
        seed: the seed of the random start vectors.
        dtype: float32 or float64 (default: the operator's ``dtype``, else float64).
        device: the device of the vectors (default: the operator's ``device``, else the CPU).

    Raises:
        TypeError, ValueError: as for [`lanczos`][]; also ``steps`` above ``n`` or a bad ``sigma``.

    Examples:
        $\operatorname{tr}A/4 = 8/4$ and $\operatorname{tr}A^2/4 = (1 + 4 + 4 + 25)/4$, exactly, since
        $A$ is diagonal:

        >>> a = torch.diag(torch.tensor([-1.0, 2.0, 2.0, 5.0], dtype=torch.float64))
        >>> d = spectral_density(lambda v: a @ v, 4, steps=4, runs=3)
        >>> round(d.expectation(lambda t: t), 6), round(d.expectation(lambda t: t**2), 6)
        (2.0, 8.5)
    """
    matvec, n, dtype, device = _check_matvec(matvec, n, dtype, device)
    steps = _checks.positive_int("steps", steps)
    if steps > n:
        raise ValueError(f"steps must be at most n = {n}, got {steps}")
    runs = _checks.positive_int("runs", runs)
    points = _checks.positive_int("points", points)
    if sigma is not None:
        sigma = _checks.interval("sigma", sigma, 0.0, math.inf)
    nodes, weights = [], []
    gen = torch.Generator().manual_seed(_checks.seed("seed", seed))
    products = 0
    for _ in range(runs):
        q = _rademacher(n, gen, dtype, device) / math.sqrt(n)
        _, alpha, beta, _, factor = _lanczos_basis(matvec, q, steps, products_before=products)
        products += alpha.numel()
        values, vectors = torch.linalg.eigh(_tridiagonal(alpha, beta))
        nodes.append((values * factor).cpu())
        weights.append((vectors[0] ** 2).cpu())
    everything = torch.cat(nodes)
    lo, hi = float(everything.min()), float(everything.max())
    if sigma is None:  # 1% of the nodes' range; of their size when they all coincide; 1 for all zero
        sigma = 0.01 * (hi - lo) or 0.01 * max(abs(lo), abs(hi)) or 1.0
    grid = torch.linspace(lo - 5 * sigma, hi + 5 * sigma, points, dtype=torch.float64)
    density = torch.zeros_like(grid)
    for t, w in zip(nodes, weights, strict=True):
        z = (grid[:, None] - t[None, :].double()) / sigma
        density += (w[None, :].double() * torch.exp(-0.5 * z**2)).sum(dim=1)
    density /= runs * sigma * math.sqrt(2 * math.pi)
    return SpectralDensity(nodes, weights, grid, density, sigma)
