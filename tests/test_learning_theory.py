"""The bound on bad training sets by hand, and the simulator against exact enumeration."""

import itertools
import math

import numpy as np
import pytest

from mlnotes.learning_theory import ThresholdProblem, bad_set_bound, examples_needed


def test_bound_by_hand():
    assert bad_set_bound(1, 50, 0.2) == pytest.approx(2 * math.exp(-4))
    assert bad_set_bound(1000, 500, 0.1) == pytest.approx(2000 * math.exp(-10))
    assert bad_set_bound(10, 1, 0.01) > 1  # returned as computed, even where it is useless


def test_examples_needed_is_the_smallest_n_that_meets_delta():
    for h, eps, delta in [(1, 0.1, 0.05), (10_000, 0.1, 0.1), (3, 0.05, 0.01)]:
        n = examples_needed(h, eps, delta)
        assert bad_set_bound(h, n, eps) <= delta < bad_set_bound(h, n - 1, eps) or n == 1


def exact_bad_probability(problem, n, eps):
    """Enumerate every ordered training set of size n (all equally likely) and count the bad ones."""
    errors, truth = problem.errors(), problem.all_losses()
    bad = 0
    for picks in itertools.product(range(len(problem.x)), repeat=n):
        losses = errors[:, list(picks)].mean(axis=1)
        bad += bool((np.abs(losses - truth) > eps).any())
    return bad / len(problem.x) ** n


@pytest.mark.parametrize(("n", "eps"), [(3, 0.2), (4, 0.3), (5, 0.1)])
def test_simulator_agrees_with_exact_enumeration(n, eps):
    problem = ThresholdProblem(
        x=np.array([0.1, 0.35, 0.6, 0.8, 0.95]),
        y=np.array([0, 1, 0, 1, 1]),
        thresholds=np.array([0.0, 0.3, 0.5, 0.9]),
    )
    exact = exact_bad_probability(problem, n, eps)
    trials = 40_000
    estimate = problem.bad_fraction(n, eps, trials=trials, seed=1)
    standard_error = math.sqrt(max(exact * (1 - exact), 1e-4) / trials)
    assert abs(estimate - exact) < 5 * standard_error
    assert exact <= bad_set_bound(problem.num_hypotheses, n, eps)  # the bound holds


def test_one_hypothesis_is_a_binomial():
    """With |H| = 1 the training loss is Binomial(N, p) / N: P(bad) in closed form."""
    problem = ThresholdProblem.noisy(size=400, num_hypotheses=1, noise=0.2, seed=3)
    p = problem.all_losses()[0]
    n, eps = 30, 0.1
    exact = sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1) if abs(k / n - p) > eps)
    estimate = problem.bad_fraction(n, eps, trials=40_000, seed=2)
    assert abs(estimate - exact) < 5 * math.sqrt(exact * (1 - exact) / 40_000)


def test_more_data_and_fewer_hypotheses_make_bad_sets_rarer():
    many = ThresholdProblem.noisy(size=1000, num_hypotheses=50, seed=0)
    few = ThresholdProblem(many.x, many.y, many.thresholds[::10])
    assert many.bad_fraction(200, 0.05, trials=4000) < many.bad_fraction(50, 0.05, trials=4000)
    assert few.bad_fraction(50, 0.05, trials=4000) <= many.bad_fraction(50, 0.05, trials=4000)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bad_set_bound(0, 10, 0.1), "num_hypotheses"),
        (lambda: bad_set_bound(5, 0, 0.1), "n must"),
        (lambda: bad_set_bound(5, 10, 0.0), "eps"),
        (lambda: examples_needed(5, 0.1, 1.0), "delta"),
        (lambda: ThresholdProblem(np.array([0.1]), np.array([2]), np.array([0.5])), "labels 0 and 1"),
        (lambda: ThresholdProblem(np.array([0.1, 0.2]), np.array([1]), np.array([0.5])), "same"),
        (lambda: ThresholdProblem.noisy(10, 3, noise=0.7), "noise"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _bound_by_hand(h, n, eps):
    """2|H| exp(-2 N eps^2) in 60-digit decimal arithmetic, from the exact value of the float eps."""
    from decimal import Decimal, localcontext

    with localcontext() as context:
        context.prec = 60
        return float(2 * h * (-2 * n * Decimal(eps) ** 2).exp())


@pytest.mark.parametrize(
    ("h", "n", "eps"),
    [
        (10, 100, 0.1),
        (2**62, 390, 1 - 2**-40),  # exp(-780) underflows to 0, the bound (about 1e-320) does not
        (2**62, 2**62, 0.999),  # far below the smallest float: 0
        (10, 1, 1e-160),  # eps^2 underflows, 2 N eps^2 need not: the bound is 2|H|
        (2**63 - 1, 1, 0.5),
    ],
)
def test_bound_equals_a_hand_computation_without_overflow_or_early_underflow(h, n, eps):
    expected = _bound_by_hand(h, n, eps)
    assert math.isfinite(bad_set_bound(h, n, eps))
    assert bad_set_bound(h, n, eps) == pytest.approx(expected, rel=1e-12, abs=1e-323)  # 2 ulp of subnormals


def test_a_bound_too_large_for_a_float_is_refused_naming_num_hypotheses():
    with pytest.raises(ValueError, match="num_hypotheses") as error:
        bad_set_bound(10**308, 1, 0.1)  # 2e308 exp(-0.02): beyond float range
    assert "\n" not in str(error.value)


def test_examples_needed_is_exact_beyond_float_range():
    """eps = 1e-160 needs about 2.6e320 examples: compared with 400-digit arithmetic by mpmath."""
    mpmath = pytest.importorskip("mpmath")
    for h, eps, delta in [(10, 1e-160, 0.1), (10, 1e-200, 0.1), (7, 0.3, 1e-320), (2**62, 1e-9, 0.5)]:
        with mpmath.workdps(400):
            exact = mpmath.log(mpmath.mpf(2 * h) / mpmath.mpf(delta)) / (2 * mpmath.mpf(eps) ** 2)
            expected = int(mpmath.ceil(exact))
        assert examples_needed(h, eps, delta) == expected


def test_examples_needed_for_a_tiny_delta_meets_the_bound():
    n = examples_needed(10, 0.1, 1e-320)  # 2|H| / delta overflows a float
    assert n == math.ceil((math.log(20) - math.log(1e-320)) / 0.02)
    assert bad_set_bound(10, n, 0.1) <= 1e-320 < bad_set_bound(10, n - 1, 0.1)


@pytest.mark.parametrize("eps", [1.0, 1.5, 1e200, -0.1, math.inf, math.nan])
def test_eps_outside_zero_one_is_refused_everywhere(eps):
    problem = ThresholdProblem([0.1, 0.7], [0, 1], [0.5])
    for call in (
        lambda: bad_set_bound(10, 100, eps),
        lambda: examples_needed(10, eps, 0.1),
        lambda: problem.bad_fraction(5, eps, trials=10),
    ):
        with pytest.raises(ValueError, match=r"eps must be a number in \(0, 1\)") as error:
            call()
        assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"x": [0.1, math.nan]}, "x"),
        ({"x": [0.1, math.inf]}, "x"),
        ({"thresholds": [math.nan]}, "thresholds"),
        ({"thresholds": [0.5, -math.inf]}, "thresholds"),
    ],
)
def test_threshold_problem_refuses_non_finite_values(kwargs, name):
    args = {"x": [0.1, 0.7], "y": [0, 1], "thresholds": [0.5]} | kwargs
    with pytest.raises(ValueError, match=f"^{name} contains NaN or infinite values"):
        ThresholdProblem(**args)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"x": [1j, 0.5]}, "x"),
        ({"x": np.array([1j, 0.5])}, "x"),  # NumPy would drop the imaginary part with a warning
        ({"y": np.array([0, 1j])}, "y"),
        ({"thresholds": [0.5 + 0j]}, "thresholds"),
        ({"x": ["a", "b"]}, "x"),
        ({"x": [[0.1], [0.2, 0.3]]}, "x"),
    ],
)
def test_threshold_problem_refuses_what_is_not_real_naming_the_argument(kwargs, name):
    args = {"x": [0.1, 0.7], "y": [0, 1], "thresholds": [0.5]} | kwargs
    with pytest.raises(TypeError, match=f"^{name} must be (an|a 1-D) array of real numbers") as error:
        ThresholdProblem(**args)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("n", "hypotheses"), [(2**40, 3), (10**8 - 21, 10)])
def test_a_training_set_too_large_to_simulate_is_refused_naming_n(n, hypotheses):
    # one set takes its n draws and two counts per gap between thresholds: n + 2 (|H| + 1) numbers
    problem = ThresholdProblem.noisy(20, hypotheses)
    with pytest.raises(
        ValueError, match=rf"^n={n} is too large to simulate: .* {n + 2 * (hypotheses + 1)} numbers"
    ):
        problem.bad_fraction(n, 0.1, trials=1)


def test_the_counting_simulation_equals_averaging_the_error_matrix_over_each_training_set():
    """bad_fraction counts examples between thresholds; averaging errors() over the drawn examples,
    the direct way, must give the same share, with unsorted and repeated thresholds and ties."""
    rng = np.random.default_rng(5)
    for case in range(4):
        x = rng.choice(np.linspace(0, 1, 11), 40) if case % 2 else rng.uniform(size=50)
        y = (rng.uniform(size=len(x)) < 0.4).astype(float)
        problem = ThresholdProblem(
            x, y, rng.permutation(np.concatenate([rng.uniform(size=7), x[:3], [0.5, 0.5]]))
        )
        errors, truth = problem.errors(), problem.all_losses()
        for n, eps in ((1, 0.2), (5, 0.05), (30, 0.1)):
            draws = np.random.default_rng(case).integers(0, len(x), size=(300, n))
            direct = (np.abs(errors[:, draws].mean(axis=2) - truth[:, None]) > eps).any(axis=0).mean()
            assert problem.bad_fraction(n, eps, trials=300, seed=case) == direct


def test_the_largest_training_set_below_the_limit_is_simulated():
    # one hypothesis that errs on every example: every training set has error 1, the truth 1
    problem = ThresholdProblem(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([2.0]))
    assert problem.bad_fraction(10**6, 0.1, trials=2) == 0.0
