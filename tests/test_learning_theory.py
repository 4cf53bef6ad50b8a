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
