"""mlnotes.optim against torch.optim, hand-derived recursions, and two test surfaces."""

import copy
import math

import numpy as np
import pytest
import torch
from optim_cases import batches, one_param, optimizer_classes, small_net, trajectory

import mlnotes.optim as mo

# ---------------------------------------------------------------- equivalence with torch.optim.SGD


def test_gradient_descent_is_torch_sgd():
    data = batches(30)
    a, b = small_net(), small_net()
    ours = trajectory(a, mo.GradientDescent(a.parameters(), lr=0.3), data)
    theirs = trajectory(b, torch.optim.SGD(b.parameters(), lr=0.3), data)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_momentum_with_constant_lr_is_torch_sgd_with_momentum(momentum):
    # m = -eta * v: the lecture's step and PyTorch's buffer describe the same method
    data = batches(40)
    a, b = small_net(), small_net()
    ours = trajectory(a, mo.Momentum(a.parameters(), lr=0.2, momentum=momentum), data)
    theirs = trajectory(b, torch.optim.SGD(b.parameters(), lr=0.2, momentum=momentum), data)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)


def _lecture_momentum(grad, theta, lam, lrs):
    """m <- lam m - eta_t g_t; theta <- theta + m, written out by hand."""
    m, out = 0.0, []
    for eta in lrs:
        m = lam * m - eta * grad(theta)
        theta = theta + m
        out.append(theta)
    return out


def _pytorch_momentum(grad, theta, mu, lrs):
    """v <- mu v + g_t (v = g on the first step); theta <- theta - eta_t v, as torch.optim.SGD documents."""
    v, out = None, []
    for eta in lrs:
        g = grad(theta)
        v = g if v is None else mu * v + g
        theta = theta - eta * v
        out.append(theta)
    return out


def test_with_a_changing_lr_the_two_momentum_conventions_differ_as_documented():
    # f(w) = w^2 / 2, g = w; halve the learning rate every step
    lrs = [0.4 * 0.5**t for t in range(6)]
    lecture = _lecture_momentum(lambda w: w, 1.0, 0.9, lrs)
    pytorch = _pytorch_momentum(lambda w: w, 1.0, 0.9, lrs)

    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    ours = mo.Momentum([w], lr=lambda t: 0.4 * 0.5**t, momentum=0.9)
    v = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    sgd = torch.optim.SGD([v], lr=0.4, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(sgd, lambda t: 0.5**t)
    got_ours, got_torch = [], []
    for _ in lrs:
        for p, opt in ((w, ours), (v, sgd)):
            opt.zero_grad()
            (0.5 * p**2).sum().backward()
            opt.step()
        sched.step()
        got_ours.append(w.item())
        got_torch.append(v.item())
    assert got_ours == pytest.approx(lecture, abs=1e-14)
    assert got_torch == pytest.approx(pytorch, abs=1e-14)
    # the first step agrees (one gradient, one rate); from the second on they part
    assert got_ours[0] == pytest.approx(got_torch[0], abs=1e-15)
    assert abs(got_ours[1] - got_torch[1]) > 1e-3


def test_momentum_step_is_the_weighted_sum_of_past_gradients():
    # m^{t+1} = -sum_k lam^(t-k) eta_k g^k, checked on the gradients the optimizer actually saw
    torch.manual_seed(3)
    target = torch.randn(4, dtype=torch.float64)
    w = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    lam, lrs = 0.8, [0.1, 0.05, 0.2, 0.1, 0.3]
    opt = mo.Momentum([w], lr=lambda t: lrs[t], momentum=lam)
    grads = []
    for t in range(len(lrs)):
        opt.zero_grad()
        ((w - target) ** 4).sum().backward()
        grads.append(w.grad.clone())
        before = w.detach().clone()
        opt.step()
        expected = -sum(lam ** (t - k) * lrs[k] * grads[k] for k in range(t + 1))
        torch.testing.assert_close(w.detach() - before, expected, rtol=0, atol=1e-14)


def test_state_dict_round_trip_continues_the_same_trajectory():
    data = batches(20)
    a, b = small_net(), small_net()
    opt_a = mo.Momentum(a.parameters(), lr=0.1, momentum=0.9)
    trajectory(a, opt_a, data[:10])
    b.load_state_dict(a.state_dict())
    opt_b = mo.Momentum(b.parameters(), lr=0.1, momentum=0.9)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # torch shares same-device tensors otherwise
    continued_a = trajectory(a, opt_a, data[10:])
    torch.testing.assert_close(continued_a, trajectory(b, opt_b, data[10:]), rtol=0, atol=0)


def test_torch_lr_scheduler_drives_a_numeric_lr():
    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = mo.GradientDescent([w], lr=0.5)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    for _ in range(2):
        opt.zero_grad()
        (0.5 * w**2).sum().backward()
        opt.step()
        sched.step()
    assert w.item() == pytest.approx((1 - 0.5) * (1 - 0.05))


# ---------------------------------------------------------------- every optimizer converges


def quadratic(p):
    return 0.5 * (p[0] ** 2 + 10 * p[1] ** 2)


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


PROBLEMS = {
    # name: (function, start, minimum, tolerance on the distance to the minimum)
    "quadratic": (quadratic, (1.0, 1.0), (0.0, 0.0), 1e-6),
    "rosenbrock": (rosenbrock, (-1.5, 2.0), (1.0, 1.0), 1e-2),
}
# Every optimizer of mlnotes.optim, with settings for each problem and a budget of steps. A new
# optimizer must be added here (test_the_table_lists_every_optimizer).
TABLE = {
    "GradientDescent": {"quadratic": ({"lr": 0.05}, 500), "rosenbrock": ({"lr": 2e-3}, 4000)},
    "Momentum": {
        "quadratic": ({"lr": 0.05, "momentum": 0.9}, 500),
        "rosenbrock": ({"lr": 1e-3, "momentum": 0.9}, 2000),
    },
    # measured: 53 and 7,832 steps; Adagrad's steps do not shrink along the curved valley, so a small
    # rate and a long run are what it takes
    "Adagrad": {"quadratic": ({"lr": 0.1}, 500), "rosenbrock": ({"lr": 0.005}, 8000)},
    # measured: 155 and 5,162 steps
    "RMSProp": {"quadratic": ({"lr": 0.01, "alpha": 0.9}, 500), "rosenbrock": ({"lr": 0.003}, 6000)},
    # measured: 189 and 846 steps
    "Adam": {"quadratic": ({"lr": 0.1}, 500), "rosenbrock": ({"lr": 0.1}, 2000)},
}


def test_the_table_lists_every_optimizer():
    assert set(TABLE) == set(optimizer_classes())


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name", sorted(TABLE))
def test_every_optimizer_converges(name, problem):
    f, start, minimum, tol = PROBLEMS[problem]
    kwargs, budget = TABLE[name][problem]
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = optimizer_classes()[name]([p], **kwargs)
    target = torch.tensor(minimum, dtype=torch.float64)
    for _ in range(budget):
        if torch.linalg.vector_norm(p.detach() - target) < tol:
            break
        opt.zero_grad()
        f(p).backward()
        opt.step()
    distance = float(torch.linalg.vector_norm(p.detach() - target))
    assert distance < tol, f"{name} on {problem}: {distance:.3g} from the minimum after {budget} steps"


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("lr", [-1, -0.5])
def test_negative_lr_is_refused_in_pytorchs_words(lr):
    with pytest.raises(ValueError) as torch_error:
        torch.optim.SGD(one_param(), lr=lr)
    for cls in optimizer_classes().values():
        with pytest.raises(ValueError) as ours:
            cls(one_param(), lr=lr)
        assert str(ours.value) == str(torch_error.value)


@pytest.mark.parametrize("lr", [math.nan, math.inf])
def test_nan_and_infinite_lr_are_refused(lr):
    for cls in optimizer_classes().values():
        with pytest.raises(ValueError, match="Invalid learning rate"):
            cls(one_param(), lr=lr)


@pytest.mark.parametrize("lr", ["0.1", True, None, [0.1]])
def test_lr_of_the_wrong_type_is_a_type_error(lr):
    for cls in optimizer_classes().values():
        with pytest.raises(TypeError, match="lr must be a real number or a callable"):
            cls(one_param(), lr=lr)


def test_negative_momentum_is_refused_in_pytorchs_words():
    with pytest.raises(ValueError) as torch_error:
        torch.optim.SGD(one_param(), lr=0.1, momentum=-0.1)
    with pytest.raises(ValueError) as ours:
        mo.Momentum(one_param(), lr=0.1, momentum=-0.1)
    assert str(ours.value) == str(torch_error.value)


@pytest.mark.parametrize("momentum", [1.0, 1.5, math.nan])
def test_momentum_must_stay_below_one(momentum):
    with pytest.raises(ValueError, match="Invalid momentum value"):
        mo.Momentum(one_param(), lr=0.1, momentum=momentum)


def test_momentum_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="momentum must be a real number"):
        mo.Momentum(one_param(), lr=0.1, momentum="0.9")


@pytest.mark.parametrize("bad", [-0.1, math.nan, "x"])
def test_a_schedule_returning_a_bad_value_names_the_step(bad):
    p = torch.zeros(2, requires_grad=True)
    opt = mo.GradientDescent([p], lr=lambda t: 0.1 if t < 2 else bad)
    for t in range(3):
        opt.zero_grad()
        (p**2).sum().backward()
        if t < 2:
            opt.step()
        else:
            with pytest.raises(ValueError, match=r"returned .* at step 2"):
                opt.step()


def test_a_bad_lr_in_a_new_param_group_is_refused():
    opt = mo.GradientDescent(one_param(), lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -2"):
        opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": -2})


# ---------------------------------------------------------------- complex parameters


def _parts_loss(x, y):
    """A loss of the real parts x and imaginary parts y, neither quadratic nor separable."""
    return ((x - 1.0) ** 2 + 3.0 * (y + 0.5) ** 2 + x**2 * y**2).sum()


def _run_complex(make, steps=8):
    p = torch.tensor([1 + 1j, 0.5 - 2j, -0.3 + 0.2j], dtype=torch.complex128, requires_grad=True)
    opt = make([p])
    for _ in range(steps):
        opt.zero_grad()
        _parts_loss(p.real, p.imag).backward()
        opt.step()
    return p.detach()


SAME_METHOD = {
    # ours, and torch.optim's optimizer that computes the same method
    "GradientDescent": (lambda p: mo.GradientDescent(p, lr=0.05), lambda p: torch.optim.SGD(p, lr=0.05)),
    "Momentum": (
        lambda p: mo.Momentum(p, lr=0.05, momentum=0.8),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8),
    ),
    "Adam": (lambda p: mo.Adam(p, lr=0.1), lambda p: torch.optim.Adam(p, lr=0.1, foreach=False)),
    "Adam as RMSprop": (
        lambda p: mo.Adam(p, lr=0.01, betas=(0.0, 0.9), bias_correction=False),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, foreach=False),
    ),
}


@pytest.mark.parametrize("name", sorted(SAME_METHOD))
def test_complex_parameters_as_torch_optim_treats_them(name):
    ours, theirs = SAME_METHOD[name]
    torch.testing.assert_close(_run_complex(ours), _run_complex(theirs), rtol=0, atol=1e-13)


def test_adam_on_a_complex_parameter_is_torch_adam_with_the_abs_squared_loss():
    def run(cls):
        p = torch.tensor([1 + 1j, 0.5 - 2j], requires_grad=True)
        opt = cls([p], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (p.abs() ** 2).sum().backward()
            opt.step()
        return p.detach()

    torch.testing.assert_close(run(mo.Adam), run(torch.optim.Adam))


@pytest.mark.parametrize("name", sorted(optimizer_classes()))
def test_a_complex_parameter_is_optimized_as_its_real_view(name):
    cls = optimizer_classes()[name]
    p = torch.tensor([1 + 1j, 0.5 - 2j, -0.3 + 0.2j], dtype=torch.complex128, requires_grad=True)
    r = torch.view_as_real(p.detach()).clone().requires_grad_()  # the same numbers, shape (3, 2)
    start = r.detach().clone()
    opt_p, opt_r = cls([p], lr=0.02), cls([r], lr=0.02)
    for _ in range(8):
        for opt in (opt_p, opt_r):
            opt.zero_grad()
        _parts_loss(p.real, p.imag).backward()
        _parts_loss(r[:, 0], r[:, 1]).backward()
        opt_p.step()
        opt_r.step()
    torch.testing.assert_close(torch.view_as_real(p.detach()), r.detach(), rtol=0, atol=1e-15)
    assert not torch.equal(r.detach(), start)


# ---------------------------------------------------------------- every hyperparameter, every path

BAD_HYPERPARAMETERS = [
    # (optimizer, a bad setting, the error, its message)
    ("GradientDescent", {"lr": -1}, ValueError, "Invalid learning rate: -1"),
    (
        "GradientDescent",
        {"lr": "0.1"},
        TypeError,
        "lr must be a real number or a callable schedule t -> lr, got str",
    ),
    ("Momentum", {"momentum": 1.5}, ValueError, "Invalid momentum value: 1.5"),
    ("Momentum", {"momentum": -0.1}, ValueError, "Invalid momentum value: -0.1"),
    ("Adagrad", {"eps": 0.0}, ValueError, "Invalid epsilon value: 0.0"),
    ("RMSProp", {"alpha": 1.0}, ValueError, "Invalid alpha value: 1.0"),
    ("RMSProp", {"eps": math.nan}, ValueError, "Invalid epsilon value: nan"),
    ("Adam", {"betas": (0.9, 1.5)}, ValueError, "Invalid beta parameter at index 1: 1.5"),
    ("Adam", {"betas": 0.9}, TypeError, "betas must be a pair (beta1, beta2), got 0.9"),
    ("Adam", {"eps": -1.0}, ValueError, "Invalid epsilon value: -1.0"),
    ("Adam", {"bias_correction": 1}, TypeError, "bias_correction must be True or False, got 1"),
]


def _raises(error, message, call):
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message and "\n" not in message
    return caught


@pytest.mark.parametrize(("name", "bad", "error", "message"), BAD_HYPERPARAMETERS)
def test_a_bad_hyperparameter_is_refused_on_every_path(name, bad, error, message):
    cls = optimizer_classes()[name]
    _raises(error, message, lambda: cls(one_param(), **bad))
    _raises(
        error,
        "param group 1: " + message,
        lambda: cls([{"params": one_param()}, {"params": one_param(), **bad}]),
    )
    opt = cls(one_param())
    _raises(error, "param group 1: " + message, lambda: opt.add_param_group({"params": one_param(), **bad}))
    assert len(opt.param_groups) == 1
    # edited by hand after construction: refused at step(), before the first group moved
    first, second = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = cls([{"params": [first]}, {"params": [second]}], lr=0.1)
    opt.param_groups[1].update(bad)
    (first.sum() + second.sum()).backward()
    _raises(error, "param group 1: " + message, opt.step)
    assert torch.equal(first.detach(), torch.ones(2)) and len(opt.state) == 0


@pytest.mark.parametrize(
    ("ours", "theirs", "bad"),
    [
        (mo.GradientDescent, torch.optim.SGD, {"lr": -1}),
        (mo.Momentum, torch.optim.SGD, {"momentum": -0.1}),
        (mo.Adam, torch.optim.Adam, {"betas": (0.9, 1.5)}),
        (mo.Adam, torch.optim.Adam, {"eps": -1.0}),
    ],
)
def test_a_param_group_is_refused_in_pytorchs_words_naming_the_group(ours, theirs, bad):
    with pytest.raises(ValueError) as torch_error:
        theirs(one_param(), **{"lr": 0.1, **bad})
    opt = ours(one_param(), lr=0.1)
    with pytest.raises(ValueError) as our_error:
        opt.add_param_group({"params": one_param(), **bad})
    assert str(our_error.value) == f"param group 1: {torch_error.value}"


def test_keys_without_a_check_are_left_alone_as_torch_leaves_them():
    group = {"params": one_param(), "weight_decay": 0.0, "note": "frozen", "initial_lr": 0.3}
    torch.optim.SGD(one_param(), lr=0.1).add_param_group(dict(group))
    opt = mo.GradientDescent(one_param(), lr=0.1)
    opt.add_param_group(group)
    assert opt.param_groups[1]["weight_decay"] == 0.0 and opt.param_groups[1]["note"] == "frozen"
    assert opt.param_groups[1]["initial_lr"] == 0.3


@pytest.mark.parametrize("name", sorted(optimizer_classes()))
def test_every_default_hyperparameter_has_a_check(name):
    cls = optimizer_classes()[name]
    assert set(cls(one_param()).defaults) == {"lr", *cls.hyperparameters}


# ---------------------------------------------------------------- NumPy scalars and 0-dim tensors


def run_net(make, steps=10):
    net = small_net()
    return trajectory(net, make(net.parameters()), batches(steps))


def test_numpy_hyperparameters_are_accepted_as_torch_accepts_them():
    kwargs = {"lr": np.float32(1e-2), "betas": (np.float64(0.9), 0.999), "eps": np.float32(1e-8)}
    plain = {"lr": float(kwargs["lr"]), "betas": (0.9, 0.999), "eps": float(kwargs["eps"])}
    theirs = run_net(lambda p: torch.optim.Adam(p, **kwargs, foreach=False))
    torch.testing.assert_close(run_net(lambda p: mo.Adam(p, **kwargs)), theirs, rtol=0, atol=1e-13)
    torch.testing.assert_close(run_net(lambda p: mo.Adam(p, **plain)), theirs, rtol=0, atol=1e-13)
    momentum = {"lr": np.float32(0.25), "momentum": np.float64(0.9)}
    torch.testing.assert_close(
        run_net(lambda p: mo.Momentum(p, **momentum)),
        run_net(lambda p: torch.optim.SGD(p, **momentum)),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize(
    "lr",
    [
        np.float32(0.25),
        np.float64(0.25),
        torch.tensor(0.25),
        lambda t: np.float32(0.25),
        lambda t: torch.tensor(0.25),
    ],
)
def test_a_numpy_or_tensor_rate_and_a_schedule_returning_one(lr):
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = mo.GradientDescent([w], lr=lr)
    (w**2).sum().backward()  # g = 2w, so w - 0.25 g = w / 2
    opt.step()
    assert w.detach().tolist() == [0.5, -1.0]


@pytest.mark.parametrize("lr", [np.bool_(True), torch.tensor([0.1, 0.2]), torch.tensor(True)])
def test_a_numpy_bool_or_a_tensor_of_several_numbers_is_not_a_rate(lr):
    with pytest.raises(TypeError, match="lr must be a real number or a callable"):
        mo.GradientDescent(one_param(), lr=lr)


# ---------------------------------------------------------------- a failing step changes nothing


def _snapshot(opt):
    return [p.detach().clone() for g in opt.param_groups for p in g["params"]], copy.deepcopy(
        opt.state_dict()
    )


def _assert_unchanged(opt, before):
    params, saved = before
    assert all(
        torch.equal(a, p)
        for a, p in zip(params, (p for g in opt.param_groups for p in g["params"]), strict=True)
    )
    state = opt.state_dict()["state"]
    assert state.keys() == saved["state"].keys()
    for key, entries in saved["state"].items():
        assert entries.keys() == state[key].keys()
        for name, value in entries.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(state[key][name]))


class ScheduleFailure(Exception):
    pass


@pytest.mark.parametrize("fail_at", [0, 2])
@pytest.mark.parametrize("bad", [math.nan, -1.0, "raise"])
@pytest.mark.parametrize("name", sorted(optimizer_classes()))
def test_a_step_whose_second_schedule_fails_changes_nothing(name, bad, fail_at):
    def schedule(t):
        if t < fail_at:
            return 0.1
        if bad == "raise":
            raise ScheduleFailure(t)
        return bad

    first, second = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = optimizer_classes()[name]([{"params": [first], "lr": 0.1}, {"params": [second], "lr": schedule}])

    def step():
        opt.zero_grad()
        ((first - 2) ** 2).sum().add(((second + 1) ** 2).sum()).backward()
        opt.step()

    for _ in range(fail_at):
        step()
    before = _snapshot(opt)
    with pytest.raises(ScheduleFailure if bad == "raise" else ValueError) as caught:
        step()
    if bad != "raise":
        assert str(caught.value).startswith(
            f"param group 1: the learning-rate schedule returned {bad!r} at step {fail_at}"
        )
    _assert_unchanged(opt, before)


@pytest.mark.parametrize("name", sorted(optimizer_classes()))
def test_a_sparse_gradient_is_refused_before_any_update(name):
    first, second = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = optimizer_classes()[name]([{"params": [first]}, {"params": [second]}], lr=0.1)
    first.grad = torch.ones(2)
    second.grad = torch.ones(2).to_sparse()
    before = _snapshot(opt)
    with pytest.raises(TypeError, match=r"param group 1: .* does not support sparse gradients"):
        opt.step()
    _assert_unchanged(opt, before)


# ---------------------------------------------------------------- half precision, in float32


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", sorted(optimizer_classes()))
def test_half_precision_is_computed_in_float32_and_rounded(name, dtype):
    """A zero gradient entry: eps rounds to 0 in half precision, 0 / 0 = NaN; not here.

    The reference is the float32 computation with the parameter rounded to ``dtype`` after every
    step (the parameter holds only half-precision values); the state stays float32 in both.
    """
    cls = optimizer_classes()[name]
    half = torch.tensor([0.5, 2.0], dtype=dtype, requires_grad=True)
    single = half.detach().float().requires_grad_()
    opt_half, opt_single = cls([half], lr=0.01), cls([single], lr=0.01)
    ulp = 2 * torch.finfo(dtype).eps  # the spacing of half-precision numbers in [2, 4)
    for _ in range(5):
        half.grad = torch.tensor([0.0, 1.0], dtype=dtype)
        single.grad = torch.tensor([0.0, 1.0])
        opt_half.step()
        opt_single.step()
        with torch.no_grad():
            single.copy_(single.to(dtype))
        assert torch.isfinite(half).all()
        torch.testing.assert_close(half.detach().float(), single.detach(), rtol=0, atol=ulp)
    assert half[0].item() == 0.5 and half[1].item() < 2.0  # the zero-gradient entry does not move
    assert all(v.dtype == torch.float32 for v in opt_half.state[half].values() if isinstance(v, torch.Tensor))


def test_half_precision_state_stays_float32_through_a_state_dict_round_trip():
    def steps(p, opt, n):
        for _ in range(n):
            p.grad = torch.tensor([0.0, 1.0, 1e-4], dtype=torch.float16)
            opt.step()

    a = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float16, requires_grad=True)
    opt_a = mo.Adam([a], lr=0.01)
    steps(a, opt_a, 3)
    b = a.detach().clone().requires_grad_()
    opt_b = mo.Adam([b], lr=0.01)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    assert opt_b.state[b]["v"].dtype == torch.float32
    assert torch.equal(opt_b.state[b]["v"], opt_a.state[a]["v"])  # 1e-8 would round to 0 in float16
    steps(a, opt_a, 3)
    steps(b, opt_b, 3)
    assert torch.equal(a, b) and torch.isfinite(b).all()


# ---------------------------------------------------------------- a NaN or inf gradient


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("name", sorted(optimizer_classes()))
def test_a_non_finite_gradient_is_refused_before_any_update(name, bad):
    first, second, third = (torch.ones(2, requires_grad=True) for _ in range(3))
    opt = optimizer_classes()[name]([{"params": [first]}, {"params": [second, third]}], lr=0.1)
    for p in (first, second, third):
        p.grad = torch.ones(2)
    opt.step()  # some state to keep
    third.grad = torch.tensor([bad, 1.0])
    before = _snapshot(opt)
    with pytest.raises(mo.NonFiniteGradient) as caught:
        opt.step()
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == (
        "param group 1, parameter 1: the gradient holds NaN or inf; no parameter was changed "
        "(lower the learning rate, or check the loss)"
    )
    _assert_unchanged(opt, before)
    # torch.optim, by contrast, writes it in: the refusal is not a no-op check
    w = torch.ones(2, requires_grad=True)
    w.grad = torch.tensor([bad, 1.0])
    torch.optim.Adam([w]).step()
    assert not torch.isfinite(w).all()


def test_the_finite_gradient_check_synchronizes_once_per_step(monkeypatch):
    params = [torch.ones(3, requires_grad=True) for _ in range(5)]
    opt = mo.Adam([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
    for p in params:
        p.grad = torch.full((3,), 0.5)
    reads = []
    original = torch.Tensor.__bool__
    monkeypatch.setattr(torch.Tensor, "__bool__", lambda t: reads.append(1) or original(t))
    opt.step()
    assert len(reads) == 1


def test_non_finite_gradient_is_exported():
    assert "NonFiniteGradient" in mo.__all__
    assert all(hasattr(mo, name) for name in mo.__all__)


# ---------------------------------------------------------------- state dicts of another optimizer


def _stepped(opt, param):
    param.grad = torch.ones_like(param)
    opt.step()
    return opt


@pytest.mark.parametrize(
    ("make_saver", "make_loader", "saver", "loader"),
    [
        (lambda p: torch.optim.Adam([p]), lambda p: mo.Adam([p]), "torch.optim", "mlnotes.Adam"),
        (lambda p: mo.Adam([p]), lambda p: mo.Momentum([p]), "mlnotes.Adam", "mlnotes.Momentum"),
        (lambda p: mo.Adam([p]), lambda p: mo.Adagrad([p]), "mlnotes.Adam", "mlnotes.Adagrad"),
        (lambda p: mo.RMSProp([p]), lambda p: mo.Adam([p]), "mlnotes.RMSProp", "mlnotes.Adam"),
    ],
)
def test_a_state_dict_of_another_optimizer_is_refused_naming_both(make_saver, make_loader, saver, loader):
    w = torch.ones(2, requires_grad=True)
    saved = _stepped(make_saver(w), w).state_dict()
    target = _stepped(make_loader(w), w)
    before = _snapshot(target)
    with pytest.raises(ValueError) as caught:
        target.load_state_dict(saved)
    message = str(caught.value)
    assert "\n" not in message and loader in message
    assert (saver in message) if saver != "torch.optim" else ("torch.optim" in message)
    _assert_unchanged(target, before)


def test_the_state_dict_names_its_optimizer_and_torch_loads_it_still():
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    ours = _stepped(mo.GradientDescent([w], lr=0.1), w).state_dict()
    assert ours["mlnotes_optimizer"] == "GradientDescent"
    theirs = torch.optim.SGD([w], lr=0.5)
    theirs.load_state_dict(ours)  # torch ignores the extra top-level key
    assert theirs.param_groups[0]["lr"] == 0.1


# ---------------------------------------------------------------- torch.optim options not implemented


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("GradientDescent", "weight_decay", 0.5),
        ("Adam", "weight_decay", 1e-2),
        ("Momentum", "nesterov", True),
        ("Momentum", "dampening", 0.1),
        ("Adam", "maximize", True),
        ("Adam", "amsgrad", np.bool_(True)),
        ("RMSProp", "centered", True),
        ("Adagrad", "lr_decay", 0.01),
        ("Adagrad", "initial_accumulator_value", 0.1),
        ("Adam", "foreach", True),
        ("Adam", "fused", True),
        ("GradientDescent", "capturable", True),
        ("GradientDescent", "differentiable", True),
        ("GradientDescent", "weight_decay", math.nan),
        ("GradientDescent", "weight_decay", "0.1"),
    ],
)
def test_a_torch_option_that_is_not_implemented_is_refused(name, key, value):
    cls = optimizer_classes()[name]
    with pytest.raises(ValueError, match=rf"^param group 0: mlnotes\.{name} has no {key} \(got {key}="):
        cls([{"params": one_param(), key: value}], lr=0.1)
    opt = cls(one_param(), lr=0.1)
    with pytest.raises(ValueError, match=rf"^param group 1: mlnotes\.{name} has no {key}"):
        opt.add_param_group({"params": one_param(), key: value})
    assert len(opt.param_groups) == 1


def test_weight_decay_names_the_alternatives():
    with pytest.raises(ValueError, match=r"mlnotes\.Adam has no weight_decay .*l2_penalty.*AdamW"):
        mo.Adam([{"params": one_param(), "weight_decay": 0.1}])
    with pytest.raises(ValueError, match=r"l2_penalty to the loss, or use torch\.optim\.SGD\(weight_decay"):
        mo.GradientDescent([{"params": one_param(), "weight_decay": 0.1}])


def test_torch_options_at_their_inactive_values_give_torchs_numbers():
    inactive = {"weight_decay": 0, "nesterov": False, "dampening": 0.0, "maximize": False}
    inactive |= {"foreach": None, "fused": None, "differentiable": False}
    ours_w = torch.tensor([1.0, -2.0], requires_grad=True)
    theirs_w = ours_w.detach().clone().requires_grad_()
    ours = mo.GradientDescent([{"params": [ours_w], **inactive}], lr=0.25)
    theirs = torch.optim.SGD([{"params": [theirs_w], **inactive}], lr=0.25)
    for w, opt in ((ours_w, ours), (theirs_w, theirs)):
        (w**2).sum().backward()
        opt.step()
    torch.testing.assert_close(ours_w, theirs_w, rtol=0, atol=0)


def test_one_cycle_lr_adds_its_keys_and_drives_adam_as_it_drives_torch_adam():
    data = batches(12)
    a, b = small_net(), small_net()
    ours, theirs = mo.Adam(a.parameters(), lr=0.01), torch.optim.Adam(b.parameters(), lr=0.01)
    scheds = [torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.05, total_steps=12) for o in (ours, theirs)]
    assert {"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"} <= set(ours.param_groups[0])
    torch.testing.assert_close(
        trajectory(a, ours, data, scheds[0]), trajectory(b, theirs, data, scheds[1]), rtol=1e-10, atol=1e-12
    )


def test_a_hyperparameter_edited_between_steps_is_checked_again_and_used():
    """The checks of a group are reused between steps only while no value of it was replaced."""
    ours_w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    theirs_w = ours_w.detach().clone().requires_grad_()
    ours = mo.Momentum([ours_w], lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([theirs_w], lr=0.1, momentum=0.9)

    def steps(n):
        for _ in range(n):
            for opt, w in ((ours, ours_w), (theirs, theirs_w)):
                opt.zero_grad()
                (w**2).sum().backward()
                opt.step()

    steps(3)
    ours.param_groups[0]["momentum"] = theirs.param_groups[0]["momentum"] = 0.5
    steps(3)
    assert torch.allclose(ours_w, theirs_w, rtol=0, atol=1e-15)
    ours.param_groups[0]["momentum"] = 1.5
    _raises(ValueError, "param group 0: Invalid momentum value: 1.5", lambda: steps(1))


def test_the_old_name_of_the_optimizer_base_still_works_and_warns():
    import mlnotes

    for module in (mo, mlnotes):
        with pytest.warns(DeprecationWarning, match="LectureOptimizer is deprecated: use OptimizerBase"):
            assert module.LectureOptimizer is mo.OptimizerBase
        with pytest.raises(AttributeError, match="has no attribute 'LectureOptimiser'"):
            module.LectureOptimiser  # noqa: B018
    assert set(optimizer_classes()) == {"GradientDescent", "Momentum", "Adagrad", "RMSProp", "Adam"}
