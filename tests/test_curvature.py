"""mlnotes.curvature against the exact Hessian (autograd, finite differences) and known matrices."""

import copy
import math
import statistics

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.utils.data import DataLoader, TensorDataset

from mlnotes._checks import all_finite
from mlnotes.curvature import HessianOperator, hutchinson_trace, lanczos, spectral_density
from mlnotes.data import Split

F64 = torch.float64


def small_net(seed=0, extra=()):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), *extra, nn.Linear(5, 4)).double()


def toy_data(n=23, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=gen, dtype=F64), torch.randint(0, 4, (n,), generator=gen)


def exact_hessian(model, loss_fn, x, y):
    """The Hessian of loss_fn(model(x), y) over the flat parameters, formed whole by autograd
    (torch.autograd.functional.hessian, reverse over reverse). Not torch.func.hessian: in torch 2.13
    it returns an asymmetric, wrong matrix for batch normalization in training mode (entries between
    the batch-norm scale and the layer before it differ from finite differences of the gradient)."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    if model.training:  # batch statistics, without the running-statistics updates torch.func cannot trace
        model = copy.deepcopy(model)
        torch.func.replace_all_batch_norm_modules_(model)
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss(t):
        params = {n: p.view(s) for n, p, s in zip(names, torch.split(t, sizes), shapes, strict=True)}
        return loss_fn(functional_call(model, {**buffers, **params}, (x,)), y)

    return torch.autograd.functional.hessian(loss, theta)


@pytest.mark.parametrize("method", ["forward-over-reverse", "double-backward"])
def test_operator_equals_the_exact_hessian_for_every_way_of_giving_the_data(method):
    net, (x, y) = small_net(), toy_data()
    exact = exact_hessian(net.eval(), nn.CrossEntropyLoss(), x, y)
    loader = DataLoader(TensorDataset(x, y), batch_size=7)  # batches of 7, 7, 7, 2: weights matter
    for data in ((x, y), Split(x, y), loader):
        dense = HessianOperator(net, nn.CrossEntropyLoss(), data, method=method).dense()
        torch.testing.assert_close(dense, exact, rtol=1e-10, atol=1e-12)
    assert torch.allclose(exact, exact.T)


@pytest.mark.parametrize("cache_graph", [True, False])
def test_cached_and_uncached_products_agree_and_follow_parameter_updates(cache_graph):
    net, (x, y) = small_net(), toy_data()
    loader = DataLoader(TensorDataset(x, y), batch_size=7)
    ops = [HessianOperator(net, nn.CrossEntropyLoss(), d, cache_graph=cache_graph) for d in ((x, y), loader)]
    assert all(op.cache_graph is cache_graph for op in ops)
    v = torch.randn(ops[0].num_parameters, generator=torch.Generator().manual_seed(5), dtype=F64)
    before = [op(v) for op in ops]
    with torch.no_grad():
        net[0].weight.add_(0.5)  # an in-place update, as an optimizer step makes
    exact = exact_hessian(net.eval(), nn.CrossEntropyLoss(), x, y) @ v
    for op, old in zip(ops, before, strict=True):
        new = op(v)
        torch.testing.assert_close(new, exact, rtol=1e-10, atol=1e-12)
        assert (new - old).abs().max() > 1e-3  # the product is taken at the new parameters


def test_the_operator_counts_its_examples_and_the_old_names_warn():
    net, (x, y) = small_net(), toy_data(n=23)
    loader = DataLoader(TensorDataset(x, y), batch_size=7)  # 7 + 7 + 7 + 2
    op = HessianOperator(net.eval(), nn.CrossEntropyLoss(), loader)
    assert op.num_examples == op.num_local_examples == 23
    for old, new in (("size", "num_examples"), ("local_size", "num_local_examples")):
        with pytest.warns(DeprecationWarning, match=f"HessianOperator.{old} is deprecated: use {new}"):
            assert getattr(op, old) == 23


def test_the_default_caches_only_a_single_batch_and_only_with_double_backward():
    x, y = toy_data()
    one, loader = (x, y), DataLoader(TensorDataset(x, y), batch_size=7)
    assert HessianOperator(small_net(), nn.CrossEntropyLoss(), one).cache_graph
    assert not HessianOperator(small_net(), nn.CrossEntropyLoss(), loader).cache_graph
    forward = HessianOperator(small_net(), nn.CrossEntropyLoss(), one, method="forward-over-reverse")
    assert not forward.cache_graph


def test_loss_and_gradient_of_the_operator_are_the_dataset_means():
    net, (x, y) = small_net(), toy_data()
    loader = DataLoader(TensorDataset(x, y), batch_size=5)
    op = HessianOperator(net, nn.CrossEntropyLoss(), loader)
    full = nn.CrossEntropyLoss()(net(x), y)
    full.backward()
    expected = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    assert math.isclose(op.loss(), full.item(), rel_tol=1e-12)
    torch.testing.assert_close(op.gradient(), expected, rtol=1e-10, atol=1e-12)


def test_batch_norm_eval_mode_is_batch_independent_and_train_mode_uses_batch_statistics():
    net = small_net(extra=(nn.BatchNorm1d(5).double(),))
    x, y = toy_data(24)
    net.train()
    net(x)  # give the running statistics values other than 0 and 1
    running = net[2].running_mean.clone(), net[2].running_var.clone(), int(net[2].num_batches_tracked)
    whole = HessianOperator(net, nn.CrossEntropyLoss(), (x, y)).dense()
    batched = HessianOperator(
        net, nn.CrossEntropyLoss(), DataLoader(TensorDataset(x, y), batch_size=6)
    ).dense()
    torch.testing.assert_close(batched, whole, rtol=1e-10, atol=1e-12)  # eval: a sum over examples
    torch.testing.assert_close(whole, exact_hessian(net.eval(), nn.CrossEntropyLoss(), x, y))
    train = HessianOperator(net.train(), nn.CrossEntropyLoss(), (x, y), mode="train").dense()
    exact_train = exact_hessian(net.train(), nn.CrossEntropyLoss(), x, y)
    torch.testing.assert_close(train, exact_train, rtol=1e-10, atol=1e-12)
    theta, gradient = train_mode_gradient(net, x, y)
    for i in (3, 18, 23):  # spot check against finite differences of the gradient, column by column
        step = torch.zeros_like(theta)
        step[i] = 1e-6
        fd = (gradient(theta + step) - gradient(theta - step)) / 2e-6
        torch.testing.assert_close(train[:, i], fd, rtol=1e-5, atol=1e-7)
    assert (train - whole).abs().max() > 1e-3  # batch statistics change the curvature
    assert net.training  # the operator restores the mode it found
    assert torch.equal(net[2].running_mean, running[0]) and torch.equal(net[2].running_var, running[1])
    assert int(net[2].num_batches_tracked) == running[2]


def train_mode_gradient(net, x, y):
    """The gradient of the training-mode loss (batch statistics) by plain backward, on a copy."""
    copy_ = copy.deepcopy(net).train()
    torch.func.replace_all_batch_norm_modules_(copy_)
    params = list(copy_.parameters())

    def gradient(theta):
        vector_to_parameters(theta, params)
        copy_.zero_grad()
        nn.CrossEntropyLoss()(copy_(x), y).backward()
        return parameters_to_vector(p.grad for p in params)

    return parameters_to_vector(params).detach().clone(), gradient


def test_dropout_is_off_in_eval_mode_and_train_mode_refuses_it():
    x, y = toy_data()
    with_dropout = small_net(extra=(nn.Dropout(0.5),))
    without = small_net()
    a = HessianOperator(with_dropout.train(), nn.CrossEntropyLoss(), (x, y)).dense()
    b = HessianOperator(without, nn.CrossEntropyLoss(), (x, y)).dense()
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="dropout"):
        HessianOperator(with_dropout, nn.CrossEntropyLoss(), (x, y), mode="train")
    HessianOperator(small_net(extra=(nn.Dropout(0.0),)), nn.CrossEntropyLoss(), (x, y), mode="train")


def known_matrix(n=300, seed=0):
    """A dense symmetric matrix Q diag(lam) Q^T with eigenvalues chosen by hand, some negative."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=F64))
    lam = torch.cat(
        [torch.tensor([-7.0, -3.0, -2.5]), torch.linspace(-1, 1, n - 6), torch.tensor([4.0, 9.0, 20.0])]
    )
    return q @ torch.diag(lam.double()) @ q.T, lam.double().sort().values


@pytest.mark.parametrize("which", ["largest", "smallest", "both"])
def test_lanczos_finds_the_extreme_eigenpairs_of_a_known_matrix(which):
    a, lam = known_matrix()
    r = lanczos(lambda v: a @ v, 300, k=3, which=which, tol=1e-10)
    expected = {"largest": lam[-3:], "smallest": lam[:3], "both": torch.cat([lam[:3], lam[-3:]])}[which]
    assert r.converged and r.iterations < 300  # found without the whole space
    torch.testing.assert_close(r.eigenvalues, expected, rtol=0, atol=1e-8)
    residual = a @ r.eigenvectors - r.eigenvectors * r.eigenvalues
    assert residual.abs().max() < 1e-7
    torch.testing.assert_close(r.eigenvectors.T @ r.eigenvectors, torch.eye(len(expected), dtype=F64))


def test_lanczos_on_a_network_matches_eigh_of_the_exact_hessian():
    net, (x, y) = small_net(), toy_data()
    op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y))
    exact = torch.linalg.eigvalsh(exact_hessian(net.eval(), nn.CrossEntropyLoss(), x, y))
    r = lanczos(op, op.num_parameters, k=2, which="both", tol=1e-10)
    torch.testing.assert_close(r.eigenvalues, torch.cat([exact[:2], exact[-2:]]), rtol=0, atol=1e-8)


def test_lanczos_with_the_whole_space_is_an_eigendecomposition():
    a = torch.diag(torch.tensor([3.0, 1.0, 2.0], dtype=F64))
    r = lanczos(lambda v: a @ v, 3, k=3)
    torch.testing.assert_close(r.eigenvalues, torch.tensor([1.0, 2.0, 3.0], dtype=F64))


def test_hutchinson_is_exact_on_diagonals_and_unbiased_on_a_full_matrix():
    diag = torch.diag(torch.arange(1.0, 51.0, dtype=F64))
    assert hutchinson_trace(lambda v: diag @ v, 50, samples=3) == (1275.0, 0.0)
    a, lam = known_matrix(100)
    estimate, error = hutchinson_trace(lambda v: a @ v, 100, samples=400, seed=3)
    assert error > 0 and abs(estimate - lam.sum().item()) < 4 * error


def rotated(eigenvalues: list[float], seed: int = 0) -> torch.Tensor:
    """U diag(eigenvalues) U^T for a random rotation U: a full matrix with a known spectrum."""
    g = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=g, dtype=F64))
    return u @ torch.diag(torch.tensor(eigenvalues, dtype=F64)) @ u.T


def test_deflated_hutchinson_takes_out_what_the_krylov_space_holds():
    # three distinct eigenvalues: three Lanczos steps span an invariant space, and the rest of the
    # start vector's eigenspace of 1 is what the samples see, where P A P = P: samples of z^T P z
    b = rotated([100.0, 50.0] + [1.0] * 98)
    plain = hutchinson_trace(lambda v: b @ v, 100, samples=40, seed=2)
    deflated = hutchinson_trace(lambda v: b @ v, 100, samples=37, deflate=3, seed=2)
    assert abs(deflated[0] - 248.0) < 4 * deflated[1] and deflated[1] < plain[1] / 20


def test_deflated_hutchinson_is_unbiased():
    # a spread spectrum, so deflation leaves a real residual: over 60 seeds the estimates' mean is
    # within 4 standard errors of tr A (each seed draws a new Krylov basis and new samples)
    lam = torch.linspace(-3.0, 20.0, 80, dtype=F64) ** 2 / 10 - 5
    a = rotated(lam.tolist(), seed=4)
    runs = [hutchinson_trace(lambda v: a @ v, 80, samples=10, deflate=5, seed=s) for s in range(60)]
    estimates = torch.tensor([r[0] for r in runs], dtype=F64)
    spread = float(estimates.std()) / math.sqrt(len(runs))
    assert abs(float(estimates.mean()) - float(lam.sum())) < 4 * spread
    # each run's own standard error describes the spread between runs (within a factor of 2)
    own = statistics.median(r[1] for r in runs)
    assert 0.5 < own / float(estimates.std()) < 2.0


def test_deflated_hutchinson_on_a_network_hessian_and_its_errors():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    x, y = torch.randn(40, 5, dtype=F64), torch.randint(0, 3, (40,))
    op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y))
    exact = float(torch.trace(op.dense()))
    plain = hutchinson_trace(op, samples=60, seed=1)
    deflated = hutchinson_trace(op, samples=45, deflate=15, seed=1)
    assert abs(deflated[0] - exact) < 4 * deflated[1] < 4 * plain[1]
    assert hutchinson_trace(op, samples=5, deflate=0, seed=7) == hutchinson_trace(op, samples=5, seed=7)
    with pytest.raises(ValueError, match="deflate must be below n = 147"):
        hutchinson_trace(op, samples=5, deflate=147)
    with pytest.raises(ValueError, match="deflate must be an integer >= 0, got -1"):
        hutchinson_trace(op, samples=5, deflate=-1)
    with pytest.raises(ValueError, match=r"deflate must be an integer >= 0, got float 2\.0"):
        hutchinson_trace(op, samples=5, deflate=2.0)
    assert hutchinson_trace(op, samples=5, deflate=np.int64(3), seed=7) == hutchinson_trace(
        op, samples=5, deflate=3, seed=7
    )


def test_spectral_density_of_a_diagonal_problem():
    lam = torch.cat([torch.full((30,), -1.0), torch.full((60,), 2.0), torch.full((10,), 6.0)]).double()
    a = torch.diag(lam)
    d = spectral_density(lambda v: a @ v, 100, steps=20, runs=40, seed=1, sigma=0.1)
    for w in d.weights:
        assert math.isclose(float(w.sum()), 1.0, rel_tol=1e-12)
    # three distinct eigenvalues: Lanczos closes after three steps, the nodes are the eigenvalues,
    # and with +-1/sqrt(n) start vectors on a diagonal matrix the weights are the eigenvalues' shares
    for t, w in zip(d.nodes, d.weights, strict=True):
        torch.testing.assert_close(t, torch.tensor([-1.0, 2.0, 6.0], dtype=F64))
        torch.testing.assert_close(w, torch.tensor([0.3, 0.6, 0.1], dtype=F64))
    assert math.isclose(d.expectation(lambda t: t), lam.mean().item(), rel_tol=1e-12)
    assert math.isclose(d.expectation(lambda t: t**3), (lam**3).mean().item(), rel_tol=1e-12)
    step = float(d.grid[1] - d.grid[0])
    assert math.isclose(float(d.density.sum()) * step, 1.0, rel_tol=1e-3)
    mass_near = {v: float(d.density[(d.grid - v).abs() < 0.5].sum()) * step for v in (-1.0, 2.0, 6.0)}
    for v, share in ((-1.0, 0.3), (2.0, 0.6), (6.0, 0.1)):
        assert abs(mass_near[v] - share) < 0.01  # 5 sigma either side of each eigenvalue


def test_spectral_density_of_a_full_matrix_matches_its_moments():
    a, lam = known_matrix(200)
    d = spectral_density(lambda v: a @ v, 200, steps=40, runs=30, seed=2)
    # E[v^T A^k v] = tr(A^k)/n; 40 steps are exact for k < 80; the runs average over start vectors
    for k, tolerance in ((1, 0.01), (2, 0.05)):
        error = abs(d.expectation(lambda t, k=k: t**k) - (lam**k).mean().item())
        assert error < tolerance * float((lam**k).abs().max())
    peak = float(d.grid[d.density.argmax()])
    assert -1.2 < peak < 1.2  # most eigenvalues lie in [-1, 1]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: lanczos(lambda v: v, 5, k=6), ValueError, "k must be at most n = 5"),
        (lambda: lanczos(lambda v: v, 5, which="top"), ValueError, "which must be one of"),
        (lambda: lanczos(lambda v: v, 5, tol=0.0), ValueError, r"tol must be a number in \(0, 1\), got 0.0"),
        (lambda: lanczos("A", 5), TypeError, "matvec must be callable"),
        (lambda: lanczos(lambda v: v[:2], 5), ValueError, "matvec must return a vector of length 5"),
        (lambda: lanczos(lambda v: v, 0), ValueError, "n"),
        (lambda: hutchinson_trace(lambda v: v, 5, samples=0), ValueError, "samples"),
        (lambda: spectral_density(lambda v: v, 5, steps=6), ValueError, "steps must be at most n = 5"),
        (lambda: spectral_density(lambda v: v, 5, steps=2, sigma=-1.0), ValueError, "sigma"),
        (lambda: HessianOperator(nn.Linear(2, 1), nn.MSELoss(), "data"), TypeError, "data must be"),
        (
            lambda: HessianOperator("net", nn.MSELoss(), (torch.ones(2, 2), torch.ones(2, 1))),
            TypeError,
            "model",
        ),
        (
            lambda: HessianOperator(
                nn.Linear(2, 1), nn.MSELoss(), (torch.ones(2, 2), torch.ones(2, 1)), cache_graph=1
            ),
            TypeError,
            "cache_graph",
        ),
        (
            lambda: HessianOperator(
                nn.Linear(2, 1), nn.MSELoss(), (torch.ones(2, 2), torch.ones(2, 1)), mode="x"
            ),
            ValueError,
            "mode must be one of",
        ),
        (
            lambda: HessianOperator(nn.Linear(2, 1), nn.MSELoss(), (torch.ones(2, 2), torch.ones(2, 1)))(
                torch.ones(2)
            ),
            ValueError,
            "v must be a vector of 3 entries",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_no_submodule_shadows_a_function_of_the_package():
    """``import mlnotes.x`` sets ``mlnotes.x`` to the module: a function exported as ``x`` would vanish."""
    import pkgutil

    import mlnotes

    submodules = {m.name for m in pkgutil.iter_modules(mlnotes.__path__)}
    assert not submodules & set(mlnotes.__all__), submodules & set(mlnotes.__all__)


def test_dense_operator_and_lanczos_agree_with_torch_func_hessian_and_eigh():
    """For a network without batch normalization the torch.func route is right: check against it too."""
    net, (x, y) = small_net(), toy_data()
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    sizes = [p.numel() for p in net.parameters()]
    theta = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def loss(t):
        params = {n: p.view(s) for n, p, s in zip(names, torch.split(t, sizes), shapes, strict=True)}
        return nn.CrossEntropyLoss()(functional_call(net, params, (x,)), y)

    exact = torch.func.hessian(loss)(theta)
    op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y))
    torch.testing.assert_close(op.dense(), exact, rtol=1e-10, atol=1e-12)
    values = torch.linalg.eigh(exact).eigenvalues
    r = lanczos(op, op.num_parameters, k=4, which="smallest", tol=1e-10)
    torch.testing.assert_close(r.eigenvalues, values[:4], rtol=0, atol=1e-8)


# ---- the operator says its dimension, dtype and device; lanczos(op) needs nothing else ----


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_the_functions_read_n_dtype_and_device_from_the_operator(dtype):
    net, (x, y) = small_net(), toy_data()
    exact = torch.linalg.eigvalsh(exact_hessian(net.eval(), nn.CrossEntropyLoss(), x, y))
    op = HessianOperator(net.to(dtype), nn.CrossEntropyLoss(), (x.to(dtype), y))
    tolerance = 1e-4 if dtype == torch.float32 else 1e-10
    for operator in (op, op.matvec):  # the operator or its bound method
        top = lanczos(operator, k=3, which="both", tol=1e-8)
        assert top.eigenvalues.dtype == dtype and top.eigenvectors.shape == (op.num_parameters, 6)
        torch.testing.assert_close(
            top.eigenvalues.double(), torch.cat([exact[:3], exact[-3:]]), rtol=0, atol=tolerance
        )
    explicit = {"dtype": dtype, "device": "cpu"}
    assert hutchinson_trace(op, samples=7) == hutchinson_trace(op, op.num_parameters, samples=7, **explicit)
    mine, theirs = (
        spectral_density(op, steps=6, runs=2),
        spectral_density(op.matvec, op.num_parameters, steps=6, runs=2, **explicit),
    )
    assert torch.equal(mine.density, theirs.density)
    assert op.shape == (op.num_parameters, op.num_parameters) == (44, 44)


def test_an_object_with_a_matvec_method_and_a_shape_is_an_operator():
    a = torch.diag(torch.arange(1.0, 7.0, dtype=torch.float32))

    class Operator:  # what SciPy's LinearOperator would say of itself, in torch terms
        shape, dtype, device = (6, 6), torch.float32, torch.device("cpu")

        def matvec(self, v):
            return a @ v

    top = lanczos(Operator(), k=2)
    assert top.eigenvalues.tolist() == pytest.approx([5.0, 6.0], abs=1e-5)
    assert hutchinson_trace(Operator(), samples=3) == (21.0, 0.0)  # diagonal: every sample is exact


def test_arguments_that_contradict_the_operator_are_refused_by_name():
    op = HessianOperator(small_net().float(), nn.CrossEntropyLoss(), (toy_data()[0].float(), toy_data()[1]))
    for function in (lanczos, hutchinson_trace, spectral_density):
        with pytest.raises(ValueError, match=r"^dtype is torch.float64 but the operator's is torch.float32"):
            function(op, dtype=F64)
        with pytest.raises(ValueError, match=r"^n must be the operator's dimension, 44, got 43"):
            function(op, 43)
    with pytest.raises(ValueError, match=r"^n must be given for a plain function"):
        lanczos(lambda v: v)


def test_a_plain_function_in_another_precision_is_told_about_dtype():
    op = HessianOperator(small_net().float(), nn.CrossEntropyLoss(), (toy_data()[0].float(), toy_data()[1]))
    # the operator refuses float64 vectors; through a lambda it cannot say its dtype, and the message
    # must name dtype=, not the operator's internal v
    with pytest.raises(TypeError, match=r"^matvec failed on a torch.float64 vector.*pass dtype="):
        lanczos(lambda v: op(v), 44)
    a = torch.eye(4)  # float32: a @ v.float() returns float32 for float64 vectors
    with pytest.raises(
        TypeError, match=r"^matvec returned torch.float32 for a torch.float64 vector: pass dtype="
    ):
        hutchinson_trace(lambda v: a @ v.float(), 4)
    assert lanczos(lambda v: op(v), 44, dtype=torch.float32).eigenvalues.dtype == torch.float32


# ---- the Hessian over some of the parameters: a diagonal block ----


def block(full, net, names):
    """The rows and columns of the full Hessian that belong to the parameters ``names``."""
    index, start = [], 0
    for name, p in net.named_parameters():
        if name in names:
            index += range(start, start + p.numel())
        start += p.numel()
    return full[index][:, index]


@pytest.mark.parametrize("cache_graph", [True, False])
def test_a_parameter_subset_gives_the_diagonal_block_of_the_full_hessian(cache_graph):
    net, (x, y) = small_net(), toy_data()
    full = exact_hessian(net.eval(), nn.CrossEntropyLoss(), x, y)
    for chosen in ([net[2].weight, net[2].bias], ["2.bias", "0.weight"], [net[0].bias]):
        names = {c if isinstance(c, str) else dict((id(p), n) for n, p in net.named_parameters())[id(c)]
                 for c in chosen}  # fmt: skip
        op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y), params=chosen, cache_graph=cache_graph)
        assert op.parameter_names == [n for n, _ in net.named_parameters() if n in names]  # the model's order
        torch.testing.assert_close(op.dense(), block(full, net, names), rtol=1e-10, atol=1e-12)
        assert (
            op.gradient().numel()
            == op.num_parameters
            == sum(dict(net.named_parameters())[n].numel() for n in names)
        )


def test_a_layers_hessian_matches_torch_func_hessian_of_that_layer_alone():
    net, (x, y) = small_net(), toy_data()
    net.eval()
    weight = net[2].weight.detach().clone()

    def loss(w):  # the last layer's weight as the only variable, the rest fixed
        return nn.functional.cross_entropy(functional_call(net, {"2.weight": w}, (x,)), y)

    exact = torch.func.hessian(loss)(weight).reshape(weight.numel(), weight.numel())
    op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y), params=["2.weight"])
    torch.testing.assert_close(op.dense(), exact, rtol=1e-10, atol=1e-12)


def test_a_cached_subset_follows_changes_to_the_other_parameters():
    net, (x, y) = small_net(), toy_data()
    op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y), params=[net[2].weight], cache_graph=True)
    before = op.dense()
    with torch.no_grad():
        net[0].weight.mul_(2.0)  # outside the subset, yet the block depends on it
    after = op.dense()
    assert not torch.allclose(before, after)
    torch.testing.assert_close(
        after, block(exact_hessian(net.eval(), nn.CrossEntropyLoss(), x, y), net, {"2.weight"})
    )


def test_a_subset_in_train_mode_is_the_block_of_the_train_mode_hessian():
    net, (x, y) = small_net(extra=(nn.BatchNorm1d(5),)), toy_data()
    full = HessianOperator(net, nn.CrossEntropyLoss(), (x, y), mode="train").dense()
    op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y), mode="train", params=["2.weight", "2.bias"])
    torch.testing.assert_close(op.dense(), block(full, net, {"2.weight", "2.bias"}), rtol=1e-10, atol=1e-12)


def test_bad_parameter_subsets_are_refused_with_what_to_do():
    net, data = small_net(), toy_data()
    net[0].bias.requires_grad_(False)
    cases = [
        ([], ValueError, r"^params is empty"),
        ([net[2].weight, "2.weight"], ValueError, r"^params names the parameter '2.weight' twice"),
        (
            [torch.zeros(4, 5, requires_grad=True)],
            ValueError,
            r"^params\[0\] is a tensor of shape \(4, 5\) that is not",
        ),
        (["2.wieght"], ValueError, r"^params\[0\] is '2.wieght', not a parameter name"),
        ([net[0].bias], ValueError, r"^params\[0\] is '0.bias', which has requires_grad=False"),
        (net[2].weight, TypeError, r"^params must be a list of the model's parameters"),
        ([2], TypeError, r"^params\[0\] must be a parameter or a parameter name, got int"),
    ]
    for params, error, match in cases:
        with pytest.raises(error, match=match) as info:
            HessianOperator(net, nn.CrossEntropyLoss(), data, params=params)
        assert "\n" not in str(info.value)
    # a generator of parameters, as model.layer.parameters() gives, is a list of parameters
    op = HessianOperator(net, nn.CrossEntropyLoss(), data, params=net[2].parameters())
    assert op.parameter_names == ["2.weight", "2.bias"]


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_the_finiteness_check_is_exact_when_the_sum_overflows_or_cancels(dtype):
    big = torch.finfo(dtype).max
    assert all_finite(torch.tensor([big, big, 1.0], dtype=dtype))  # finite entries whose sum overflows
    assert all_finite(torch.tensor([], dtype=dtype))
    for bad in (float("nan"), float("inf"), -float("inf")):
        assert not all_finite(torch.tensor([1.0, bad, 2.0], dtype=dtype))
    assert not all_finite(torch.tensor([float("inf"), -float("inf")], dtype=dtype))  # the sum is NaN
    assert not all_finite(torch.tensor([big, big, float("nan")], dtype=dtype))


def test_a_cached_graph_follows_every_way_of_changing_the_models_numbers():
    net, (x, y) = small_net(extra=(nn.BatchNorm1d(5),)), toy_data()
    net[2].running_mean.uniform_(-1.0, 1.0)
    op = HessianOperator(net, nn.CrossEntropyLoss(), (x, y), cache_graph=True)
    v = torch.randn(op.num_parameters, generator=torch.Generator().manual_seed(7), dtype=F64)
    changes = [
        lambda: vector_to_parameters(parameters_to_vector(net.parameters()) * 1.1, net.parameters()),
        lambda: setattr(net[0].weight, "data", net[0].weight.data * 0.9),  # new storage, same tensor
        lambda: net[2].running_mean.add_(0.3),  # a buffer
        lambda: net[2].running_var.mul_(2.0),
    ]
    last = op(v)
    for change in changes:
        with torch.no_grad():
            change()
        now = op(v)
        torch.testing.assert_close(now, exact_hessian(net.eval(), nn.CrossEntropyLoss(), x, y) @ v)
        assert (now - last).abs().max() > 1e-4
        last = now
