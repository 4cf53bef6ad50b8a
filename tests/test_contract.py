"""The package's contract with inputs that are not the book's, grouped by kind of input.

Each kind of input is fed to every public function that takes it, and the test asserts one of two
things: the result equals an independent reference (the same call with a plain Python value, an
exact Hessian by ``torch.autograd.functional.hessian``, ``torch.optim``, ``torch.nn.functional``),
or the error is a ``TypeError``/``ValueError`` whose message names the argument. Kinds:

1. numbers: NumPy scalars and one-element tensors where a number is meant; bool, NaN and inf;
2. devices: ``torch.device`` objects, devices this machine lacks, unknown names;
3. data: one-pass iterators, re-iterables of every accepted kind, datasets of single examples,
   data that change between passes;
4. models in training mode: dropout and batch normalization, PyTorch's and the package's own;
5. parameters: changed behind the operator's back, frozen, foreign to the model;
6. NaN and inf in data, parameters, products and losses;
7. empty inputs;
8. dtypes: float16, bfloat16, float64, complex.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.utils.data import DataLoader, Subset, TensorDataset

import mlnotes
from mlnotes import schedules
from mlnotes.data import Split

F64 = torch.float64
CE = nn.CrossEntropyLoss()


# ---------------------------------------------------------------- shared models, data, references


def net(seed: int = 0, extra: tuple[nn.Module, ...] = (), width: int = 5) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, width), *extra, nn.Tanh(), nn.Linear(width, 4)).double()


def batch(n: int = 12, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=gen, dtype=F64), torch.randint(0, 4, (n,), generator=gen)


def exact_hessian(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, train_mode: bool = False
) -> torch.Tensor:
    """The Hessian of the mean cross-entropy over the trainable parameters, formed whole by autograd."""
    model = copy.deepcopy(model).train(train_mode)
    if train_mode:
        torch.func.replace_all_batch_norm_modules_(model)
        for layer in model.modules():
            if isinstance(layer, mlnotes.BatchNorm):
                layer.track_running_stats = False
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    sizes = [p.numel() for _, p in named]
    theta = torch.cat([p.detach().reshape(-1) for _, p in named])

    def loss(t):
        pieces = torch.split(t, sizes)
        params = {n: piece.view(p.shape) for (n, p), piece in zip(named, pieces, strict=True)}
        return CE(functional_call(model, params, (x,)), y)

    return torch.autograd.functional.hessian(loss, theta)


def same(a: object, b: object) -> bool:
    """Equal results, compared exactly: tensors, numbers (NaN equal to NaN), containers, dataclasses."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, float):
        return isinstance(b, float) and (a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a):
        return same(dataclasses.astuple(a), dataclasses.astuple(b))
    return a == b


def error_names(call, error: type[Exception], *words: str) -> str:
    """Run ``call``, expecting ``error`` with a one-line message that holds every one of ``words``."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, (word, message)
    return message


# ---------------------------------------------------------------- 1. numbers


def _optimizer_run(cls, **hyper):
    w = torch.tensor([1.0, -2.0, 0.5], dtype=F64, requires_grad=True)
    opt = cls([w], **hyper)
    for _ in range(3):
        opt.zero_grad()
        (w**4).sum().backward()
        opt.step()
    return w.detach().clone()


def _quadratic_op():
    a = torch.diag(torch.arange(1.0, 21.0, dtype=F64))
    return lambda v: a @ v


def _digits_run(**kwargs):
    data = mlnotes.load_digits(seed=0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 10))
    args = {"epochs": 1, "batch_size": 256, "progress": False, "device": "cpu", **kwargs}
    lr = args.pop("lr", 0.1)
    split = (data.train.x[:300], data.train.y[:300])
    mlnotes.train(model, mlnotes.GradientDescent(model.parameters(), lr=lr), split, **args)
    return parameters_to_vector(model.parameters()).detach()


# (name, call taking the value, the plain value, "real" or "int", whether NaN/inf must be refused)
NUMBER_CASES = [
    ("GradientDescent lr", lambda v: _optimizer_run(mlnotes.GradientDescent, lr=v), 0.01, "real", True),
    ("Momentum momentum", lambda v: _optimizer_run(mlnotes.Momentum, lr=0.01, momentum=v), 0.5, "real", True),
    ("Adagrad eps", lambda v: _optimizer_run(mlnotes.Adagrad, lr=0.1, eps=v), 0.25, "real", True),
    ("RMSProp alpha", lambda v: _optimizer_run(mlnotes.RMSProp, lr=0.1, alpha=v), 0.5, "real", True),
    ("Adam lr", lambda v: _optimizer_run(mlnotes.Adam, lr=v), 0.125, "real", True),
    ("Adam betas", lambda v: _optimizer_run(mlnotes.Adam, lr=0.1, betas=(v, 0.999)), 0.5, "real", True),
    ("StepDecay lr", lambda v: schedules.StepDecay(v, 2, 0.5)(5), 0.5, "real", True),
    ("StepDecay step_size", lambda v: schedules.StepDecay(0.5, v, 0.5)(5), 2, "int", True),
    ("StepDecay gamma", lambda v: schedules.StepDecay(0.5, 2, v)(5), 0.5, "real", True),
    ("schedule step t", lambda v: schedules.CosineDecay(1.0, 8)(v), 3, "int", True),
    ("LinearWarmup warmup_steps", lambda v: schedules.LinearWarmup(1.0, v)(2), 4, "int", True),
    ("TransformerWarmup d_model", lambda v: schedules.TransformerWarmup(v, 4)(2), 16, "int", True),
    ("lanczos k", lambda v: mlnotes.lanczos(_quadratic_op(), 20, k=v).eigenvalues, 2, "int", True),
    ("lanczos tol", lambda v: mlnotes.lanczos(_quadratic_op(), 20, tol=v).eigenvalues, 0.25, "real", True),
    (
        "lanczos max_iter",
        lambda v: mlnotes.lanczos(_quadratic_op(), 20, max_iter=v).eigenvalues,
        5,
        "int",
        True,
    ),
    (
        "lanczos seed",
        lambda v: mlnotes.lanczos(_quadratic_op(), 20, seed=v, tol=0.5).eigenvalues,
        3,
        "int",
        True,
    ),
    ("lanczos n", lambda v: mlnotes.lanczos(_quadratic_op(), v).eigenvalues, 20, "int", True),
    (
        "hutchinson samples",
        lambda v: mlnotes.hutchinson_trace(_quadratic_op(), 20, samples=v),
        4,
        "int",
        True,
    ),
    (
        "spectral steps",
        lambda v: mlnotes.spectral_density(_quadratic_op(), 20, steps=v, runs=2).grid,
        5,
        "int",
        True,
    ),
    (
        "spectral sigma",
        lambda v: mlnotes.spectral_density(_quadratic_op(), 20, steps=5, sigma=v).density,
        0.5,
        "real",
        True,
    ),
    (
        "classify_hessian tol",
        lambda v: mlnotes.classify_hessian(torch.eye(2, dtype=F64), tol=v),
        0.5,
        "real",
        True,
    ),
    (
        "escape_step step_size",
        lambda v: mlnotes.escape_step(mlnotes.product_model_loss, torch.zeros(2), v),
        0.5,
        "real",
        True,
    ),
    ("bad_set_bound n", lambda v: mlnotes.bad_set_bound(10, v, 0.1), 100, "int", True),
    ("bad_set_bound eps", lambda v: mlnotes.bad_set_bound(10, 100, v), 0.25, "real", True),
    ("examples_needed delta", lambda v: mlnotes.examples_needed(10, 0.1, v), 0.125, "real", True),
    ("l2_penalty lam", lambda v: mlnotes.l2_penalty(torch.ones(3), v), 0.5, "real", True),
    ("Dropout p", lambda v: mlnotes.Dropout(v).p, 0.25, "real", True),
    ("EarlyStopping patience", lambda v: mlnotes.EarlyStopping(patience=v).patience, 3, "int", True),
    (
        "EarlyStopping.step val_loss",
        lambda v: mlnotes.EarlyStopping().step(v, nn.Linear(1, 1)),
        0.5,
        "real",
        True,
    ),
    (
        "BatchNorm eps",
        lambda v: mlnotes.BatchNorm(2, eps=v)(torch.tensor([[1.0, 2.0], [3.0, 5.0]])),
        0.5,
        "real",
        True,
    ),
    ("one_hot num_classes", lambda v: mlnotes.one_hot(torch.tensor([0, 2]), v), 3, "int", True),
    ("load_digits val_fraction", lambda v: mlnotes.load_digits(val_fraction=v).val.y, 0.25, "real", True),
    ("load_digits seed", lambda v: mlnotes.load_digits(seed=v).val.y, 3, "int", True),
    ("train batch_size", lambda v: _digits_run(batch_size=v), 128, "int", True),
    ("train seed", lambda v: _digits_run(seed=v), 5, "int", True),
    ("train lr", lambda v: _digits_run(lr=v), 0.25, "real", True),
]
IDS = [case[0] for case in NUMBER_CASES]
OPTIONAL = {"lanczos max_iter", "spectral sigma"}  # None means "the default" there


def _numpy_forms(value, kind):
    if kind == "int":
        return [np.int64(value), np.int32(value), torch.tensor(value)]
    return [np.float64(value), np.float32(value), torch.tensor(value, dtype=F64)]


@pytest.mark.parametrize(("name", "call", "value", "kind", "finite"), NUMBER_CASES, ids=IDS)
def test_numpy_scalars_and_one_element_tensors_give_the_plain_number_result(name, call, value, kind, finite):
    plain = int if kind == "int" else float
    for form in _numpy_forms(value, kind):
        # np.float32(0.01) is not 0.01: the reference is the Python number it stands for
        assert same(call(form), call(plain(form))), (name, type(form).__name__)


@pytest.mark.parametrize(("name", "call", "value", "kind", "finite"), NUMBER_CASES, ids=IDS)
def test_bools_strings_and_none_are_refused_where_a_number_is_meant(name, call, value, kind, finite):
    for bad in (True, np.bool_(False), "1", *([] if name in OPTIONAL else [None])):
        with pytest.raises((TypeError, ValueError)) as info:
            call(bad)
        assert "\n" not in str(info.value)
        assert any(word in str(info.value) for word in ("must be", "Invalid", "got")), str(info.value)


@pytest.mark.parametrize(("name", "call", "value", "kind", "finite"), NUMBER_CASES, ids=IDS)
def test_nan_inf_and_floats_for_integers_are_refused(name, call, value, kind, finite):
    bad_values = (
        [math.nan, math.inf, -math.inf, np.float64(math.nan)] if kind == "real" else [float(value) + 0.5]
    )
    if kind == "int":
        bad_values.append(np.float64(value))  # 3.0 is a float, not a count
    for bad in bad_values:
        with pytest.raises((TypeError, ValueError)) as info:
            call(bad)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda v: mlnotes.GradientDescent([torch.zeros(1, requires_grad=True)], lr=v),
        lambda v: mlnotes.lanczos(_quadratic_op(), 20, tol=v),
        lambda v: mlnotes.l1_penalty(torch.ones(2), v),
        lambda v: mlnotes.EarlyStopping().step(v, nn.Linear(1, 1)),
        lambda v: mlnotes.lanczos(_quadratic_op(), v),
        lambda v: mlnotes.one_hot(torch.tensor([0]), v),
        lambda v: schedules.LinearWarmup(0.1, 10)(v),
        lambda v: schedules.InverseSqrtDecay(0.1)(v),
    ],
)
def test_integers_too_large_for_a_float_or_an_int64_are_refused_in_one_line(call):
    with pytest.raises(ValueError) as info:
        call(10**400)
    assert "\n" not in str(info.value) and ("too large" in str(info.value) or "range" in str(info.value))


def test_integer_arguments_that_are_out_of_range_name_themselves():
    error_names(
        lambda: mlnotes.lanczos(_quadratic_op(), 20, k=np.int64(0)), ValueError, "k", "positive integer", "0"
    )
    error_names(lambda: mlnotes.lanczos(_quadratic_op(), 20, seed=-1), ValueError, "seed", "-1")
    error_names(lambda: mlnotes.lanczos(_quadratic_op(), 20, k=3, max_iter=2), ValueError, "max_iter", "3")
    error_names(
        lambda: mlnotes.lanczos(_quadratic_op(), 20, k=2, which="both", max_iter=3), ValueError, "max_iter"
    )
    error_names(lambda: _digits_run(seed=2**64), ValueError, "seed")


# ---------------------------------------------------------------- 2. devices


def _seeded_linear():
    torch.manual_seed(0)
    return nn.Linear(64, 10)


DEVICE_CALLS = {
    "train": lambda d: _digits_run(device=d),
    "evaluate": lambda d: mlnotes.evaluate(_seeded_linear(), mlnotes.load_digits().val, device=d),
    "lanczos": lambda d: mlnotes.lanczos(_quadratic_op(), 20, device=d).eigenvalues,
    "hutchinson_trace": lambda d: mlnotes.hutchinson_trace(_quadratic_op(), 20, samples=3, device=d),
    "spectral_density": lambda d: (
        mlnotes.spectral_density(_quadratic_op(), 20, steps=4, runs=2, device=d).density
    ),
    "resolve_device": lambda d: mlnotes.device.resolve_device(d),
}


@pytest.mark.parametrize("name", sorted(DEVICE_CALLS))
def test_a_torch_device_is_the_same_as_its_name(name):
    call = DEVICE_CALLS[name]
    for form in (torch.device("cpu"), "cpu:0", torch.device("cpu", 0)):  # as PyTorch takes them
        assert same(call(form), call("cpu"))


@pytest.mark.parametrize("name", sorted(DEVICE_CALLS))
def test_absent_and_unknown_devices_are_refused_before_any_work(name, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    call = DEVICE_CALLS[name]
    for absent in ("cuda", "cuda:1", torch.device("cuda"), torch.device("cuda", 0)):
        error_names(lambda d=absent: call(d), ValueError, "cuda", "not available", "'cpu'")
    error_names(lambda: call("tpu"), ValueError, "device", "'tpu'")
    error_names(lambda: call("cuda:x"), ValueError, "cuda")
    error_names(lambda: call(0), TypeError, "device")


def test_auto_falls_back_to_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert same(DEVICE_CALLS["train"]("auto"), DEVICE_CALLS["train"]("cpu"))


# ---------------------------------------------------------------- 3. data


def _one_pass_forms(x, y):
    return {
        "zip": lambda: zip([x], [y], strict=True),
        "iter of a list": lambda: iter([(x, y)]),
        "generator": lambda: ((a, b) for a, b in [(x, y)]),
        "map": lambda: map(lambda pair: pair, [(x, y)]),
    }


@pytest.mark.parametrize("kind", ["zip", "iter of a list", "generator", "map"])
def test_the_operator_refuses_one_pass_iterators(kind):
    x, y = batch()
    data = _one_pass_forms(x, y)[kind]()
    error_names(lambda: mlnotes.HessianOperator(net(), CE, data), TypeError, "data", "one-pass", "list(data)")


def _reiterable_forms(x, y):
    halves = [(x[:5], y[:5]), (x[5:], y[5:])]
    return {
        "pair tuple": (x, y),
        "pair list": [x, y],
        "TensorDataset": TensorDataset(x, y),
        "Split": Split(x, y),
        "list of batches": halves,
        "tuple of batches": tuple(halves),
        "list with an empty batch": [*halves, (x[:0], y[:0])],
        "DataLoader": DataLoader(TensorDataset(x, y), batch_size=5),
        "shuffling DataLoader": DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True),
        "list(zip(...))": list(zip([x[:5], x[5:]], [y[:5], y[5:]], strict=True)),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "pair tuple",
        "pair list",
        "TensorDataset",
        "Split",
        "list of batches",
        "tuple of batches",
        "list with an empty batch",
        "DataLoader",
        "shuffling DataLoader",
        "list(zip(...))",
    ],
)
def test_every_reiterable_kind_of_data_gives_the_exact_hessian(kind):
    x, y = batch()
    model, data = net(), _reiterable_forms(x, y)[kind]
    op = mlnotes.HessianOperator(model, CE, data)
    exact = exact_hessian(model, x, y)
    torch.testing.assert_close(op.dense(), exact, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(op.dense(), exact, rtol=1e-9, atol=1e-11)  # and again: nothing used up


@settings(max_examples=20, deadline=None)
@given(cuts=st.lists(st.integers(1, 11), max_size=5, unique=True))
def test_any_cut_of_the_data_into_batches_gives_the_same_hessian(cuts):
    x, y = batch()
    bounds = [0, *sorted(cuts), 12]
    batches = [(x[a:b], y[a:b]) for a, b in itertools.pairwise(bounds)]
    model = net()
    op = mlnotes.HessianOperator(model, CE, batches, cache_graph=bool(len(cuts) % 2))
    torch.testing.assert_close(op.dense(), exact_hessian(model, x, y), rtol=1e-9, atol=1e-11)


def test_datasets_of_single_examples_are_refused_with_the_cure():
    x, y = batch()
    for data in (Subset(TensorDataset(x, y), [0, 1, 2]), torch.utils.data.StackDataset(x, y)):
        error_names(lambda d=data: mlnotes.HessianOperator(net(), CE, d), TypeError, "data", "DataLoader")


class Augmented:
    """A re-iterable whose inputs get fresh noise on every pass, like random augmentation."""

    def __init__(self, x, y):
        self.x_, self.y_, self.passes = x, y, 0

    def __iter__(self):
        self.passes += 1
        yield self.x_ + 0.01 * self.passes, self.y_


def test_data_that_change_between_passes_are_refused_at_the_product():
    x, y = batch()
    op = mlnotes.HessianOperator(net(), CE, Augmented(x, y), cache_graph=False)
    v = torch.ones(op.num_parameters, dtype=F64)
    error_names(lambda: op(v), ValueError, "data changed between passes")
    dropping = DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True, drop_last=True)
    op = mlnotes.HessianOperator(net(), CE, dropping)
    error_names(lambda: [op(v) for _ in range(6)], ValueError, "data")


def test_train_mode_refuses_a_shuffling_loader_and_accepts_a_fixed_one():
    x, y = batch()
    model = net(extra=(nn.BatchNorm1d(5),)).train()
    shuffled = DataLoader(TensorDataset(x, y), batch_size=6, shuffle=True)
    op = mlnotes.HessianOperator(model, CE, shuffled, mode="train")
    v = torch.ones(op.num_parameters, dtype=F64)
    error_names(lambda: [op(v) for _ in range(4)], ValueError, "mode='train'", "shuffle=False")
    fixed = DataLoader(TensorDataset(x, y), batch_size=6)
    dense = mlnotes.HessianOperator(model, CE, fixed, mode="train").dense()
    halves = (
        exact_hessian(model, x[:6], y[:6], train_mode=True) + exact_hessian(model, x[6:], y[6:], True)
    ) / 2
    torch.testing.assert_close(dense, halves, rtol=1e-8, atol=1e-10)


def test_batch_norm_without_running_statistics_makes_batches_matter_in_eval_mode_too():
    x, y = batch()
    model = net(extra=(nn.BatchNorm1d(5, track_running_stats=False),)).eval()
    shuffled = DataLoader(TensorDataset(x, y), batch_size=6, shuffle=True)
    op = mlnotes.HessianOperator(model, CE, shuffled)
    v = torch.ones(op.num_parameters, dtype=F64)
    error_names(lambda: [op(v) for _ in range(4)], ValueError, "batch statistics", "shuffle=False")
    fixed = mlnotes.HessianOperator(model, CE, DataLoader(TensorDataset(x, y), batch_size=6)).dense()
    halves = (exact_hessian(model, x[:6], y[:6]) + exact_hessian(model, x[6:], y[6:])) / 2
    torch.testing.assert_close(fixed, halves, rtol=1e-8, atol=1e-10)


def test_a_loss_that_sums_instead_of_averaging_is_refused_by_every_tool():
    x, y = batch()
    summed = nn.CrossEntropyLoss(reduction="sum")
    error_names(
        lambda: mlnotes.HessianOperator(net(), summed, (x, y)), ValueError, "loss_fn", "reduction='sum'"
    )
    model = net()
    opt = mlnotes.GradientDescent(model.parameters(), lr=0.1)
    error_names(
        lambda: mlnotes.train(model, opt, (x, y), loss_fn=summed, epochs=1, batch_size=4),
        ValueError,
        "reduction",
    )
    error_names(lambda: mlnotes.evaluate(model, (x, y), loss_fn=summed), ValueError, "reduction")


def test_losses_whose_mean_is_not_over_the_examples_are_refused_where_batches_are_added():
    x, y = batch()
    weighted = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 5.0, 0.2, 1.0], dtype=F64))
    error_names(lambda: mlnotes.HessianOperator(net(), weighted, (x, y)), ValueError, "class weights")
    error_names(lambda: mlnotes.evaluate(net(), (x, y), loss_fn=weighted), ValueError, "class weights")
    model = net()  # training on a weighted loss is fine: each update uses its own batch's mean
    mlnotes.train(
        model,
        mlnotes.Adam(model.parameters()),
        (x, y),
        loss_fn=weighted,
        epochs=1,
        batch_size=4,
        progress=False,
    )
    ignored = y.clone()
    ignored[2] = -100  # the default ignore_index of PyTorch's cross-entropy
    threes = y.clone()
    threes[0] = 3
    for loss, targets in (
        (CE, ignored),
        (F.cross_entropy, ignored),
        (nn.CrossEntropyLoss(ignore_index=3), threes),
    ):
        error_names(
            lambda f=loss, t=targets: mlnotes.HessianOperator(net(), f, (x, t)), ValueError, "ignore_index"
        )
    error_names(lambda: mlnotes.evaluate(net(), (x, ignored)), ValueError, "ignore_index")


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        ("data", TypeError, ("data must be",)),
        ({"x": 1}, TypeError, ("data must be",)),
        ([("a", "b")], TypeError, ("pair of tensors", "batch 0")),
        ([(torch.ones(3, 3), torch.ones(2))], ValueError, ("batch 0", "same number of examples")),
        ((np.ones((3, 3)), np.zeros(3)), TypeError, ("data",)),
    ],
)
def test_malformed_data_name_the_batch_and_the_problem(data, error, words):
    error_names(lambda: mlnotes.HessianOperator(net(), CE, data), error, *words)


@pytest.mark.parametrize("kind", ["DataLoader", "numpy arrays", "a Dataset of three splits", "three tensors"])
def test_the_training_loop_names_what_it_takes(kind):
    x, y = batch()
    data = {
        "DataLoader": DataLoader(TensorDataset(x, y), batch_size=4),
        "numpy arrays": (x.numpy(), y.numpy()),
        "a Dataset of three splits": mlnotes.load_digits(),
        "three tensors": (x, y, y),
    }[kind]
    model = net()
    opt = mlnotes.GradientDescent(model.parameters(), lr=0.1)
    for call in (
        lambda: mlnotes.train(model, opt, data, epochs=1, batch_size=4, progress=False),
        lambda: mlnotes.evaluate(model, data),
    ):
        with pytest.raises((TypeError, ValueError)) as info:
            call()
        assert "\n" not in str(info.value) and ("data" in str(info.value) or "split" in str(info.value))


@pytest.mark.parametrize("kind", ["pair tuple", "pair list", "TensorDataset"])
def test_the_training_loop_takes_every_tensor_form_of_a_split_alike(kind):
    x, y = batch(40)

    def run(data):
        model = net()
        mlnotes.train(
            model,
            mlnotes.Adam(model.parameters(), lr=0.01),
            data,
            epochs=2,
            batch_size=8,
            val=data,
            progress=False,
            device="cpu",
        )
        return parameters_to_vector(model.parameters()).detach()

    form = {"pair tuple": (x, y), "pair list": [x, y], "TensorDataset": TensorDataset(x, y)}[kind]
    assert torch.equal(run(form), run(Split(x, y)))


def test_evaluate_reads_accuracy_from_indices_or_probabilities_and_refuses_anything_else():
    x, y = batch(40)
    model = net()
    logits = model(x)
    right = (logits.argmax(dim=1) == y).double().mean().item()
    loss, accuracy = mlnotes.evaluate(model, (x, y))
    assert accuracy == right and math.isclose(loss, F.cross_entropy(logits, y).item(), rel_tol=1e-12)
    one_hot = F.one_hot(y, 4).double()
    assert mlnotes.evaluate(model, (x, one_hot))[1] == right  # torch's cross_entropy takes these too
    error_names(lambda: mlnotes.evaluate(model, (x, y[:, None])), ValueError, "targets", "class")
    error_names(lambda: mlnotes.evaluate(model, (x, y.double())), ValueError, "targets", "class")
    flat = nn.Sequential(model, nn.Flatten(0))
    error_names(lambda: mlnotes.evaluate(flat, (x, y)), ValueError, "logits of shape")
    error_names(lambda: mlnotes.evaluate(model, (x.float(), y)), TypeError, "inputs", "float64")
    error_names(
        lambda: mlnotes.train(
            model, mlnotes.Adam(model.parameters()), (x.float(), y), epochs=1, batch_size=8
        ),
        TypeError,
        "inputs",
    )


def test_evaluate_runs_where_the_model_is_and_refuses_another_device(monkeypatch):
    x, y = batch()
    model = net()
    assert same(mlnotes.evaluate(model, (x, y)), mlnotes.evaluate(model, (x, y), device="cpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    error_names(lambda: mlnotes.evaluate(model, (x, y), device="cuda"), ValueError, "model is on cpu")


def test_a_large_but_finite_float64_loss_is_not_divergence():
    x, y = batch(16)
    model = net()

    def loss(outputs, targets):  # 1e39 overflows float32, not float64
        return F.cross_entropy(outputs, targets) * 1e39

    history = mlnotes.train(
        model,
        mlnotes.GradientDescent(model.parameters(), lr=0.0),
        (x, y),
        loss_fn=loss,
        epochs=1,
        batch_size=4,
        progress=False,
    )
    assert 1e38 < history.epochs[0].train_loss < math.inf


def test_models_on_the_meta_device_are_refused_before_any_work():
    with torch.device("meta"):
        model = nn.Linear(3, 4)
    x, y = batch()
    error_names(lambda: mlnotes.HessianOperator(model, CE, (x.float(), y)), ValueError, "meta", "to_empty")
    error_names(lambda: mlnotes.evaluate(model, (x.float(), y)), ValueError, "meta")
    error_names(
        lambda: mlnotes.train(
            model, torch.optim.SGD(model.parameters(), lr=0.1), (x.float(), y), epochs=1, batch_size=4
        ),
        ValueError,
        "meta",
    )


# ---------------------------------------------------------------- 4. models in training mode

TRAIN_MODE_LAYERS = {
    "nn.Dropout": lambda: nn.Dropout(0.5),
    "mlnotes.Dropout": lambda: mlnotes.Dropout(0.5),
    "nn.BatchNorm1d": lambda: nn.BatchNorm1d(5),
    "mlnotes.BatchNorm": lambda: mlnotes.BatchNorm(5),
}


def _snapshot(model):
    return [b.clone() for b in model.buffers()], torch.random.get_rng_state()


def _unchanged(model, snapshot):
    buffers, rng = snapshot
    return all(torch.equal(a, b) for a, b in zip(buffers, model.buffers(), strict=True)) and torch.equal(
        rng, torch.random.get_rng_state()
    )


@pytest.mark.parametrize("layer", sorted(TRAIN_MODE_LAYERS))
def test_module_loss_refuses_a_train_mode_model_and_leaves_it_alone(layer):
    x, y = batch()
    model = net(extra=(TRAIN_MODE_LAYERS[layer](),)).train()
    before = _snapshot(model)
    error_names(lambda: mlnotes.ModuleLoss(model, CE, x, y), ValueError, "training mode", "model.eval()")
    loss = mlnotes.ModuleLoss(model.eval(), CE, x, y)
    model.train()  # switched back after the loss was built: refused at the call
    for call in (mlnotes.gradient, mlnotes.hessian):
        error_names(lambda c=call: c(loss, loss.theta), ValueError, "model.eval()")
    for method in ("auto", "forward-over-reverse", "double-backward"):
        error_names(
            lambda m=method: mlnotes.hvp(loss, loss.theta, loss.theta, method=m), ValueError, "model.eval()"
        )
    assert _unchanged(model, before)


@pytest.mark.parametrize("layer", sorted(TRAIN_MODE_LAYERS))
def test_a_hand_written_loss_over_a_train_mode_model_is_refused_with_the_cure(layer):
    x, y = batch()
    model = net(extra=(TRAIN_MODE_LAYERS[layer](),)).train()
    names = [n for n, _ in model.named_parameters()]
    sizes = [p.numel() for p in model.parameters()]
    shapes = [p.shape for p in model.parameters()]
    theta = parameters_to_vector(model.parameters()).detach()

    def loss(t):
        params = {n: p.view(s) for n, p, s in zip(names, torch.split(t, sizes), shapes, strict=True)}
        return CE(functional_call(model, params, (x,)), y)

    running = [b.clone() for b in model.buffers()]
    for call in (mlnotes.gradient, mlnotes.hessian):
        error_names(lambda c=call: c(loss, theta), ValueError, "model.eval()")
    error_names(lambda: mlnotes.hvp(loss, theta, theta), ValueError, "model.eval()")
    # "auto" did not fall back to double backward, which would have updated the running statistics
    assert all(torch.equal(a, b) for a, b in zip(running, model.buffers(), strict=True))


@pytest.mark.parametrize("layer", sorted(TRAIN_MODE_LAYERS))
def test_the_operator_in_eval_mode_is_the_eval_hessian_and_restores_the_model(layer):
    x, y = batch()
    model = net(extra=(TRAIN_MODE_LAYERS[layer](),)).train()
    model.eval()(x)  # a forward pass in eval mode changes nothing; running statistics stay at (0, 1)
    model.train()
    before = _snapshot(model)
    dense = mlnotes.HessianOperator(model, CE, (x, y)).dense()
    torch.testing.assert_close(dense, exact_hessian(model, x, y), rtol=1e-9, atol=1e-11)
    assert model.training and _unchanged(model, before)


@pytest.mark.parametrize("layer", sorted(TRAIN_MODE_LAYERS))
def test_the_operator_in_train_mode_takes_batch_statistics_and_refuses_dropout(layer):
    x, y = batch()
    model = net(extra=(TRAIN_MODE_LAYERS[layer](),)).train()
    before = _snapshot(model)
    if "Dropout" in layer:
        error_names(lambda: mlnotes.HessianOperator(model, CE, (x, y), mode="train"), ValueError, "dropout")
        return
    dense = mlnotes.HessianOperator(model, CE, (x, y), mode="train").dense()
    torch.testing.assert_close(dense, exact_hessian(model, x, y, train_mode=True), rtol=1e-8, atol=1e-10)
    assert _unchanged(model, before)


def test_layer_modes_set_one_by_one_are_restored_one_by_one():
    x, y = batch()
    model = net(extra=(nn.BatchNorm1d(5), nn.Dropout(0.3))).train()
    model[1].eval()  # batch norm frozen inside a training model: a common fine-tuning set-up
    op = mlnotes.HessianOperator(model, CE, (x, y))
    op(torch.ones(op.num_parameters, dtype=F64))
    mlnotes.evaluate(model, (x, y))
    assert [layer.training for layer in model] == [True, False, True, True, True]


def test_the_train_mode_operator_follows_the_models_buffers():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", torch.ones((), dtype=F64))

        def forward(self, h):
            return h * self.scale

    x, y = batch()
    model = net(extra=(Scaled(), nn.BatchNorm1d(5))).train()
    op = mlnotes.HessianOperator(model, CE, (x, y), mode="train")
    first = op.dense()
    model[1].scale.fill_(3.0)
    torch.testing.assert_close(op.dense(), exact_hessian(model, x, y, train_mode=True), rtol=1e-8, atol=1e-10)
    assert not torch.allclose(first, op.dense())


# ---------------------------------------------------------------- 5. parameters


def _change_vector(model, op):
    vector_to_parameters(op.theta * 1.5, model.parameters())


def _change_data(model, op):
    model[0].weight.data.mul_(0.5)


def _change_in_place(model, op):
    with torch.no_grad():
        model[-1].weight[0].add_(0.3)  # one class only: a shift of every logit alike would not matter


def _change_by_optimizer(model, op):
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = batch()
    CE(model(x), y).backward()
    opt.step()


def _change_by_state_dict(model, op):
    model.load_state_dict(net(seed=5, extra=(nn.BatchNorm1d(5),)).state_dict())


def _change_running_stats(model, op):
    model.train()(batch(30, seed=9)[0])  # an eval-mode Hessian depends on the running statistics
    model.eval()


CHANGES = {
    "vector_to_parameters": _change_vector,
    "p.data edit": _change_data,
    "in-place under no_grad": _change_in_place,
    "optimizer step": _change_by_optimizer,
    "load_state_dict": _change_by_state_dict,
    "running statistics": _change_running_stats,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_cached_graph_follows_every_way_the_model_can_change(change):
    x, y = batch()
    model = net(extra=(nn.BatchNorm1d(5),)).eval()
    op = mlnotes.HessianOperator(model, CE, (x, y), cache_graph=True)
    v = torch.randn(op.num_parameters, dtype=F64, generator=torch.Generator().manual_seed(0))
    first = op(v)
    CHANGES[change](model, op)
    exact = exact_hessian(model, x, y) @ v
    assert not torch.allclose(first, exact)  # the change matters
    torch.testing.assert_close(op(v), exact, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_frozen_parameter_changed_later_is_followed_too(mode):
    x, y = batch()
    model = net(extra=(nn.BatchNorm1d(5),)).train(mode == "train")
    model[0].requires_grad_(False)
    op = mlnotes.HessianOperator(model, CE, (x, y), mode=mode, cache_graph=True)
    first = op.dense()
    with torch.no_grad():
        model[0].weight.mul_(3.0)
    exact = exact_hessian(model, x, y, train_mode=mode == "train")
    assert not torch.allclose(first, exact)
    torch.testing.assert_close(op.dense(), exact, rtol=1e-8, atol=1e-10)


def test_frozen_parameters_are_left_out_and_freezing_later_is_refused():
    x, y = batch()
    model = net()
    model[0].requires_grad_(False)
    op = mlnotes.HessianOperator(model, CE, (x, y))
    assert op.num_parameters == sum(p.numel() for p in model[-1].parameters())
    torch.testing.assert_close(op.dense(), exact_hessian(model, x, y), rtol=1e-9, atol=1e-11)
    model[0].requires_grad_(True)
    error_names(
        lambda: op(torch.ones(op.num_parameters, dtype=F64)), ValueError, "build a new HessianOperator"
    )


def test_an_optimizer_over_another_model_is_refused_and_a_partial_one_trains_its_part():
    x, y = batch(40)
    model, other = net(), net(seed=1)
    error_names(
        lambda: mlnotes.train(
            model, mlnotes.Adam(other.parameters()), (x, y), epochs=1, batch_size=8, progress=False
        ),
        ValueError,
        "optimizer",
        "model.parameters()",
    )
    frozen = model[0].weight.detach().clone()
    mlnotes.train(
        model, mlnotes.Adam(model[-1].parameters(), lr=0.1), (x, y), epochs=1, batch_size=8, progress=False
    )
    assert torch.equal(model[0].weight, frozen) and not torch.equal(model[-1].weight, net()[-1].weight)
    error_names(
        lambda: mlnotes.train(model, "adam", (x, y), epochs=1, batch_size=8),
        TypeError,
        "optimizer",
        "torch.optim",
    )


# ---------------------------------------------------------------- 6. NaN and inf


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_and_inf_in_data_are_refused_where_they_enter(bad):
    x, y = batch()
    x[3, 1] = bad
    error_names(lambda: mlnotes.HessianOperator(net(), CE, (x, y)), ValueError, "batch 0", "NaN or infinite")
    error_names(lambda: mlnotes.ModuleLoss(net(), CE, x, y), ValueError, "inputs", "NaN or infinite")
    model = net()
    opt = mlnotes.GradientDescent(model.parameters(), lr=0.1)
    error_names(
        lambda: mlnotes.train(model, opt, (x, y), epochs=1, batch_size=4, progress=False), ValueError, "data"
    )
    error_names(lambda: mlnotes.evaluate(model, (x, y)), ValueError, "split")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_points_and_directions_are_refused(bad):
    theta = torch.tensor([1.0, bad, 0.5], dtype=F64)
    fine = torch.ones(3, dtype=F64)

    def loss(t):
        return (t**2).sum()

    for call in (
        lambda: mlnotes.gradient(loss, theta),
        lambda: mlnotes.hessian(loss, theta),
        lambda: mlnotes.hvp(loss, theta, fine),
        lambda: mlnotes.hvp(loss, fine, theta),
    ):
        error_names(call, ValueError, "NaN or infinite")
    model = net()
    with torch.no_grad():
        model[0].weight[0, 0] = bad
    x, y = batch()
    op = mlnotes.HessianOperator(model, CE, (x, y))
    error_names(lambda: op(torch.ones(op.num_parameters, dtype=F64)), ValueError, "parameters", "NaN")


def test_a_loss_that_overflows_is_an_error_not_a_nan():
    theta = torch.tensor([800.0], dtype=F64)

    def loss(t):
        return torch.exp(t).sum()

    for call in (
        lambda: mlnotes.gradient(loss, theta),
        lambda: mlnotes.hessian(loss, theta),
        lambda: mlnotes.hvp(loss, theta, torch.ones(1, dtype=F64)),
    ):
        error_names(call, ValueError, "not finite")


@pytest.mark.parametrize("routine", ["lanczos", "hutchinson_trace", "spectral_density"])
def test_an_operator_that_returns_nan_is_named_at_its_product(routine):
    calls = {"n": 0}

    diagonal = torch.arange(1.0, 11.0, dtype=F64)

    def matvec(v):
        calls["n"] += 1
        return diagonal * v * (math.nan if calls["n"] == 3 else 1.0)

    call = {
        "lanczos": lambda: mlnotes.lanczos(matvec, 10, max_iter=10, tol=1e-12),
        "hutchinson_trace": lambda: mlnotes.hutchinson_trace(matvec, 10, samples=5),
        "spectral_density": lambda: mlnotes.spectral_density(matvec, 10, steps=2, runs=3),
    }[routine]
    error_names(call, ValueError, "matvec", "NaN", "product 3")


@pytest.mark.parametrize("bad", [math.nan, math.inf, np.float32(math.inf), torch.tensor(math.nan)])
def test_early_stopping_refuses_a_diverged_validation_loss(bad):
    stopper = mlnotes.EarlyStopping(patience=1)
    model = nn.Linear(1, 1)
    error_names(lambda: stopper.step(bad, model), ValueError, "val_loss", "diverged")
    stopper.step(1.0, model)
    error_names(lambda: stopper.step(bad, model), ValueError, "restore()")
    stopper.restore(model)  # the state from the finite loss is there


@pytest.mark.parametrize("name", ["GradientDescent", "Momentum", "Adagrad", "RMSProp", "Adam"])
def test_schedules_that_return_nan_are_refused_before_any_update(name):
    w = torch.ones(2, requires_grad=True)
    u = torch.ones(2, requires_grad=True)
    opt = getattr(mlnotes, name)([{"params": [w]}, {"params": [u], "lr": lambda t: math.nan}], lr=0.1)
    (w.sum() + u.sum()).backward()
    error_names(opt.step, ValueError, "schedule", "nan")
    assert torch.equal(w.detach(), torch.ones(2)) and torch.equal(u.detach(), torch.ones(2))
    assert all(not state for state in opt.state.values())


# ---------------------------------------------------------------- 7. empty inputs


def test_empty_inputs_are_refused_with_what_is_empty():
    x, y = batch()
    for data in ((x[:0], y[:0]), [], [(x[:0], y[:0])]):
        error_names(lambda d=data: mlnotes.HessianOperator(net(), CE, d), ValueError, "no examples")
    error_names(lambda: mlnotes.ModuleLoss(net(), CE, x[:0], y[:0]), ValueError, "no examples")
    model = net()
    opt = mlnotes.GradientDescent(model.parameters(), lr=0.1)
    error_names(lambda: mlnotes.train(model, opt, (x[:0], y[:0]), epochs=1, batch_size=1), ValueError, "data")
    error_names(
        lambda: mlnotes.train(model, opt, (x, y), val=(x[:0], y[:0]), epochs=1, batch_size=4, progress=False),
        ValueError,
        "val",
    )
    error_names(lambda: mlnotes.l1_penalty([], 0.1), ValueError, "params", "empty")
    frozen = net().requires_grad_(False)
    error_names(lambda: mlnotes.HessianOperator(frozen, CE, (x, y)), ValueError, "trainable")
    error_names(lambda: mlnotes.gradient(lambda t: t.sum(), torch.zeros(0)), ValueError, "theta")


# ---------------------------------------------------------------- 8. dtypes


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_refused_for_hessians_with_the_cure(dtype):
    x, y = batch()
    model = net().to(dtype)
    error_names(
        lambda: mlnotes.HessianOperator(model, CE, (x.to(dtype), y)), ValueError, "half precision", ".float()"
    )
    error_names(lambda: mlnotes.lanczos(_quadratic_op(), 20, dtype=dtype), ValueError, "dtype", "float32")
    error_names(lambda: mlnotes.lanczos(_quadratic_op(), 20, dtype="float32"), TypeError, "dtype")


def test_inputs_of_another_dtype_than_the_model_say_how_to_convert():
    x, y = batch()
    error_names(
        lambda: mlnotes.HessianOperator(net(), CE, (x.float(), y)), TypeError, "inputs", "torch.float64"
    )
    error_names(lambda: mlnotes.ModuleLoss(net(), CE, x.float(), y), TypeError, "inputs", "torch.float64")


@pytest.mark.filterwarnings("ignore:Complex modules are a new feature")
def test_complex_parameters_and_points_are_refused_for_derivatives():
    model = nn.Linear(3, 1).to(torch.complex64)
    x, y = batch()
    error_names(lambda: mlnotes.ModuleLoss(model, CE, x, y), TypeError, "complex")
    error_names(
        lambda: mlnotes.gradient(lambda t: t.abs().sum(), torch.ones(2, dtype=torch.complex64)),
        TypeError,
        "theta",
    )


def test_the_eigenvalue_routines_take_the_operators_dtype_by_default():
    x, y = batch()
    model = net().float()
    op = mlnotes.HessianOperator(model, CE, (x.float(), y))
    top = mlnotes.lanczos(op, op.num_parameters, k=2, tol=1e-4)
    exact = torch.linalg.eigvalsh(exact_hessian(net(), x, y))[-2:]
    assert top.eigenvalues.dtype == torch.float32
    torch.testing.assert_close(top.eigenvalues.double(), exact, rtol=1e-3, atol=1e-4)
    error_names(lambda: mlnotes.lanczos(op, op.num_parameters + 1), ValueError, "n", str(op.num_parameters))


def test_a_matvec_of_another_dtype_is_named_with_the_cure():
    a = torch.diag(torch.arange(1.0, 11.0))  # float32, while the default vectors are float64
    error_names(lambda: mlnotes.lanczos(lambda v: a @ v, 10), TypeError, "matvec", "float64", "dtype=")
    top = mlnotes.lanczos(lambda v: a @ v, 10, dtype=torch.float32, tol=1e-5)
    assert abs(float(top.eigenvalues[-1]) - 10.0) < 1e-4


def test_forward_over_reverse_where_torch_func_fails_says_which_method_works():
    x, y = batch()
    f = mlnotes.ModuleLoss(net(), nn.MSELoss(), x, F.one_hot(y, 4).double())
    error_names(
        lambda: mlnotes.hvp(f, f.theta, f.theta, method="forward-over-reverse"), ValueError, "method='auto'"
    )


@pytest.mark.parametrize("name", ["GradientDescent", "Momentum", "Adagrad", "RMSProp", "Adam"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_optimizers_keep_half_precision_parameters_finite(name, dtype):
    w = torch.tensor([0.5, -1.0, 2.0], dtype=dtype, requires_grad=True)
    ref = w.detach().float().clone().requires_grad_(True)
    kwargs = {"lr": 0.01}
    opts = [getattr(mlnotes, name)([p], **kwargs) for p in (w, ref)]
    for _ in range(4):
        for p, opt in zip((w, ref), opts, strict=True):
            opt.zero_grad()
            p.grad = torch.tensor([0.0, 1.0, -3.0], dtype=p.dtype)  # a zero entry: 0 / (0 + eps)
            opt.step()
    assert torch.isfinite(w).all()
    # within a few roundings (one per step) of the float32 run; ulp = spacing of the dtype at |w| in [2, 4)
    ulp = 2.0**-6 if dtype == torch.bfloat16 else 2.0**-9
    torch.testing.assert_close(w.detach().float(), ref.detach(), rtol=0, atol=4 * ulp)


def _complex_run(opt_cls, **kwargs):
    p = torch.tensor([1 + 1j, 0.5 - 2j], requires_grad=True)
    opt = opt_cls([p], **kwargs)
    for _ in range(3):
        opt.zero_grad()
        (p.abs() ** 2).sum().backward()
        opt.step()
    return p.detach()


def test_complex_parameters_are_updated_as_torch_optim_does():
    torch.testing.assert_close(_complex_run(mlnotes.Adam, lr=0.1), _complex_run(torch.optim.Adam, lr=0.1))
    torch.testing.assert_close(
        _complex_run(mlnotes.Momentum, lr=0.1, momentum=0.5),
        _complex_run(torch.optim.SGD, lr=0.1, momentum=0.5),
    )
    torch.testing.assert_close(
        _complex_run(mlnotes.Adam, lr=0.1, betas=(0.0, 0.9), bias_correction=False, eps=1e-8),
        _complex_run(torch.optim.RMSprop, lr=0.1, alpha=0.9, eps=1e-8),
    )


LOSS_PAIRS = {
    "cross_entropy": (lambda z, t: mlnotes.cross_entropy(z, t), lambda z, t: F.cross_entropy(z, t)),
    "log_softmax": (lambda z, t: mlnotes.log_softmax(z), lambda z, t: F.log_softmax(z, dim=-1)),
    "softmax": (lambda z, t: mlnotes.softmax(z), lambda z, t: F.softmax(z, dim=-1)),
}


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(sorted(LOSS_PAIRS)),
    dtype=st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]),
    rows=st.integers(1, 6),
    classes=st.integers(1, 7),
    scale=st.sampled_from([1.0, 30.0, 1e4]),
    seed=st.integers(0, 2**16),
)
def test_losses_match_torch_in_every_floating_dtype(name, dtype, rows, classes, scale, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(rows, classes, generator=gen, dtype=F64) * scale).to(dtype)
    target = torch.randint(0, classes, (rows,), generator=gen)
    ours, theirs = LOSS_PAIRS[name]
    got, want = ours(logits, target), theirs(logits.double(), target)
    assert got.dtype == dtype and torch.isfinite(got).all()
    tol = {torch.float16: 1e-2, torch.bfloat16: 6e-2, torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    torch.testing.assert_close(got.double(), want, rtol=tol, atol=tol * max(1.0, float(want.abs().max())))


# ---------------------------------------------------------------- eigenvalues of awkward spectra


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(-3, 3), min_size=1, max_size=12),
    k=st.integers(1, 6),
    which=st.sampled_from(["largest", "smallest", "both"]),
    seed=st.integers(0, 1000),
)
def test_lanczos_finds_repeated_and_crowded_eigenvalues_exactly(values, k, which, seed):
    """Few distinct values, so most are repeated: a Krylov space from one vector sees each only once,
    and the answer is right only because the method restarts when that space closes."""
    n = len(values)
    k = min(k, n)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=F64))
    a = q @ torch.diag(torch.tensor(values, dtype=F64)) @ q.T
    exact = torch.linalg.eigvalsh(a)
    want = {"largest": exact[-k:], "smallest": exact[:k]}.get(which)
    if want is None:
        want = exact if 2 * k >= n else torch.cat([exact[:k], exact[-k:]])
    got = mlnotes.lanczos(lambda v: a @ v, n, k=k, which=which, tol=1e-10, seed=seed)
    assert got.converged
    torch.testing.assert_close(got.eigenvalues, want, rtol=0, atol=1e-8)


@pytest.mark.parametrize("factor", [1e-200, 1e-100, 1e100, 1e200])
def test_operators_of_extreme_scale_give_their_eigenvalues(factor):
    d = torch.diag(torch.arange(1.0, 11.0, dtype=F64))
    top = mlnotes.lanczos(lambda v: factor * (d @ v), 10, k=2, which="both")
    assert top.converged
    torch.testing.assert_close(top.eigenvalues / factor, torch.tensor([1.0, 2.0, 9.0, 10.0], dtype=F64))
    density = mlnotes.spectral_density(lambda v: factor * (d @ v), 10, steps=10, runs=2)
    assert math.isclose(density.expectation(lambda t: t / factor), 5.5, rel_tol=1e-9)
    assert torch.isfinite(density.density).all() and density.sigma > 0


def test_an_operator_that_is_not_symmetric_is_refused():
    a = torch.randn(8, 8, generator=torch.Generator().manual_seed(0), dtype=F64)
    for call in (
        lambda: mlnotes.lanczos(lambda v: a @ v, 8, k=2),
        lambda: mlnotes.spectral_density(lambda v: a @ v, 8, steps=6, runs=1),
    ):
        error_names(call, ValueError, "not symmetric")
    symmetric = a + a.T  # and a symmetric one of the same size passes, with its exact eigenvalues
    top = mlnotes.lanczos(lambda v: symmetric @ v, 8, k=8)
    torch.testing.assert_close(top.eigenvalues, torch.linalg.eigvalsh(symmetric))


def test_a_product_that_carries_a_graph_is_used_for_its_values():
    x, y = batch()
    f = mlnotes.ModuleLoss(net(), CE, x, y)
    theta = f.theta.requires_grad_(True)
    (g,) = torch.autograd.grad(f(theta), theta, create_graph=True)

    def matvec(v):  # returns a tensor that requires grad
        return torch.autograd.grad(g, theta, grad_outputs=v, retain_graph=True, create_graph=True)[0]

    top = mlnotes.lanczos(matvec, theta.numel(), k=1)
    exact = torch.linalg.eigvalsh(exact_hessian(net(), x, y))[-1]
    torch.testing.assert_close(top.eigenvalues[0], exact, rtol=1e-8, atol=1e-10)
    trace = mlnotes.hutchinson_trace(matvec, theta.numel(), samples=2)[0]
    assert math.isfinite(trace)


@pytest.mark.parametrize("name", ["GradientDescent", "Momentum", "Adagrad", "RMSProp", "Adam"])
def test_a_non_finite_gradient_changes_nothing_and_stops_training_as_divergence(name):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = getattr(mlnotes, name)([w], lr=0.1)
    w.grad = torch.tensor([math.nan, 1.0])
    error_names(opt.step, ValueError, "NaN or inf", "no parameter was changed")
    assert torch.equal(w.detach(), torch.tensor([1.0, 2.0])) and not opt.state[w]
    x, y = batch(16)
    model = net()

    def exploding(outputs, targets):  # a finite loss whose gradient is NaN at the second update
        exploding.calls += 1
        loss = F.cross_entropy(outputs, targets)
        return loss + (outputs * 0).abs().sqrt().sum() if exploding.calls == 2 else loss

    exploding.calls = 0
    with pytest.raises(mlnotes.TrainingDiverged, match="at epoch 1, update 2"):
        mlnotes.train(
            model,
            getattr(mlnotes, name)(model.parameters(), lr=0.1),
            (x, y),
            loss_fn=exploding,
            epochs=1,
            batch_size=4,
            progress=False,
        )


def test_third_probe_cases_give_the_reference_or_a_named_error():
    z = torch.tensor(0.0, requires_grad=True)
    mlnotes.losses.sigmoid(z).backward()
    ref = torch.tensor(0.0, requires_grad=True)
    torch.sigmoid(ref).backward()
    assert z.grad == ref.grad == 0.25
    huge = torch.tensor([[2e38, 0.0], [0.0, 1.0]])  # finite in float32, but h + h.T is not
    assert mlnotes.classify_hessian(huge) == mlnotes.PointKind.LOCAL_MINIMUM
    error_names(lambda: mlnotes.classify_hessian(torch.ones(2, 2, device="meta")), ValueError, "meta")
    error_names(lambda: mlnotes.one_hot(torch.tensor([1], dtype=torch.uint32), 3), TypeError, ".long()")
    error_names(
        lambda: Split.from_arrays(np.zeros((1, 2)), np.array([2**63 + 5], dtype=np.uint64)), ValueError, "y"
    )
    model = mlnotes.TaylorModel(lambda t: (t**2).sum(), torch.zeros(2, dtype=F64))
    error_names(lambda: model(torch.tensor([math.nan, 0.0], dtype=F64)), ValueError, "theta")
    error_names(
        lambda: mlnotes.analyze_point(mlnotes.product_model_loss, torch.ones(2), require_critical="no"),
        TypeError,
        "require_critical",
    )
    params = nn.ParameterList([nn.Parameter(torch.tensor([1.0, -2.0]))])
    assert mlnotes.l2_penalty(params, 0.5).item() == 2.5  # 0.5 * (1 + 4)


# --- one wording for ranges and choices (mlnotes/_checks.py) ---


@pytest.mark.parametrize(
    ("closed", "inside", "outside", "shown"),
    [
        ("neither", [1e-300, 0.5, 1 - 1e-16], [0.0, 1.0, -1.0], "(0, 1)"),
        ("left", [0.0, 0.5], [1.0, -1e-300], "[0, 1)"),
        ("right", [1.0, 1e-300], [0.0, 1.0000000000000002], "(0, 1]"),
        ("both", [0.0, 1.0], [-1e-300, 1.0000000000000002], "[0, 1]"),
    ],
)
def test_an_interval_check_takes_its_ends_as_told_and_names_the_interval(closed, inside, outside, shown):
    from mlnotes import _checks

    for value in inside:
        assert _checks.interval("x", np.float64(value), 0.0, 1.0, closed) == value
    for value in [*outside, math.nan]:
        with pytest.raises(ValueError, match=rf"^x must be a number in {re.escape(shown)}, got "):
            _checks.interval("x", value, 0.0, 1.0, closed)
    with pytest.raises(TypeError, match="x must be a real number, got bool"):
        _checks.interval("x", True, 0.0, 1.0, closed)


def test_a_choice_check_names_the_choices():
    from mlnotes import _checks

    assert _checks.choice("mode", "eval", ("eval", "train")) == "eval"
    for wrong in ("Eval", None, ["eval"]):
        with pytest.raises(ValueError, match=r"^mode must be one of \('eval', 'train'\), got "):
            _checks.choice("mode", wrong, ("eval", "train"))


def test_no_module_words_a_range_or_a_choice_check_by_hand():
    """Ranges and choices go through _checks.interval and _checks.choice, so they read alike."""
    by_hand = re.compile(r"must be (?:a number )?in [(\[]|must be one of")
    found = []
    for path in sorted(Path(mlnotes.__file__).parent.glob("*.py")):
        if path.name == "_checks.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if by_hand.search(line) and "'cuda:N'" not in line:  # a device is a choice or a pattern
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert not found, "use _checks.interval or _checks.choice:\n" + "\n".join(found)
