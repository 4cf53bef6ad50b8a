"""mlnotes.optim against torch.optim, hand-derived recursions, and two test surfaces."""

import copy
import math

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
