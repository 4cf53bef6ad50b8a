"""mlnotes.data: the digits splits, and the forms of data a split may be given in."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from mlnotes.data import Split, as_split, load_digits

# ---------------------------------------------------------------- digits


def test_digits_splits_cover_the_bundled_set_once_and_are_stratified():
    from sklearn.datasets import load_digits as sklearn_digits

    raw = sklearn_digits()
    data = load_digits(seed=3)
    assert len(data.train) + len(data.val) + len(data.test) == len(raw.target) == 1797
    rows = sorted(
        (*tuple((x * 16).round().int().tolist()), int(y))
        for split in (data.train, data.val, data.test)
        for x, y in zip(split.x, split.y, strict=True)
    )
    assert rows == sorted(
        (*tuple(r.astype(int).tolist()), int(t)) for r, t in zip(raw.data, raw.target, strict=True)
    )
    for split in (data.train, data.val, data.test):
        shares = torch.bincount(split.y, minlength=10).double() / len(split)
        assert float((shares - 0.1).abs().max()) < 0.02
    assert 0.0 == float(data.train.x.min()) and float(data.train.x.max()) == 1.0


def test_digits_split_is_fixed_by_the_seed():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    torch.testing.assert_close(a.train.x, b.train.x)
    assert not torch.equal(a.train.y, c.train.y)


@pytest.mark.parametrize(("val", "test"), [(0.0, 0.2), (0.2, 1.0), (0.6, 0.5), ("0.2", 0.2), (True, 0.2)])
def test_digits_bad_fractions(val, test):
    with pytest.raises(ValueError, match="fraction"):
        load_digits(val_fraction=val, test_fraction=test)


@pytest.mark.parametrize("kind", [np.float64, np.float32])
def test_digits_fractions_and_seed_may_be_numpy_numbers(kind):
    plain = load_digits(val_fraction=0.25, test_fraction=0.25, seed=3)  # 0.25 is exact in float32 too
    numpy = load_digits(val_fraction=kind(0.25), test_fraction=kind(0.25), seed=np.int64(3))
    for a, b in ((plain.train, numpy.train), (plain.val, numpy.val), (plain.test, numpy.test)):
        assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)


@pytest.mark.parametrize("fraction", [float("nan"), np.float64("nan"), np.float32(1.5), np.bool_(True)])
def test_digits_bad_numpy_fractions(fraction):
    with pytest.raises(ValueError, match="val_fraction must be a number strictly between 0 and 1"):
        load_digits(val_fraction=fraction)


@pytest.mark.parametrize(
    ("seed", "error"),
    [(-1, ValueError), (2**32, ValueError), ("3", TypeError), (True, TypeError), (3.0, TypeError)],
)
def test_digits_bad_seeds_are_refused_with_the_argument_named(seed, error):
    with pytest.raises(error, match="seed must be an integer") as info:
        load_digits(seed=seed)
    assert "\n" not in str(info.value)


def test_digits_largest_seed_scikit_learn_takes():
    assert len(load_digits(seed=2**32 - 1).train) == 1077


# ---------------------------------------------------------------- as_split


def _tensors(n=6):
    return torch.arange(3.0 * n).reshape(n, 3), torch.arange(n) % 2


@pytest.mark.parametrize(
    "make",
    [
        lambda x, y: (x, y),
        lambda x, y: [x, y],
        lambda x, y: TensorDataset(x, y),
        lambda x, y: SimpleNamespace(x=x, y=y),
    ],
    ids=["tuple", "list", "TensorDataset", "attributes"],
)
def test_as_split_takes_the_usual_containers_without_copying(make):
    x, y = _tensors()
    split = as_split("data", make(x, y))
    assert isinstance(split, Split) and len(split) == 6
    assert split.x is x and split.y is y


def test_as_split_returns_a_split_as_it_is():
    split = Split(*_tensors())
    assert as_split("data", split) is split


def one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


def test_as_split_explains_that_a_dataloader_is_not_a_split():
    loader = DataLoader(TensorDataset(*_tensors()), batch_size=2)
    with pytest.raises(TypeError) as error:
        as_split("train_data", loader)
    text = one_line(error)
    assert text.startswith("train_data") and "DataLoader" in text and "(inputs, targets)" in text
    assert len(as_split("train_data", loader.dataset)) == 6  # what the message suggests works


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        (load_digits(), TypeError, "data.train"),
        ((np.zeros((4, 2)), np.zeros(4)), TypeError, "torch.as_tensor"),
        ((torch.zeros(4, 2), [0, 1, 0, 1]), TypeError, "targets must be a torch.Tensor"),
        ("inputs.npy", TypeError, "an (inputs, targets) pair"),
        (torch.zeros(4, 2), TypeError, "an (inputs, targets) pair"),
        ((torch.zeros(4, 2),), ValueError, "two tensors"),
        ((torch.zeros(4, 2), torch.zeros(4), torch.zeros(4)), ValueError, "two tensors"),
        (TensorDataset(torch.zeros(4, 2)), ValueError, "two tensors"),
        ((torch.zeros(4, 2), torch.zeros(5)), ValueError, "same first dimension"),
        ((torch.zeros(0, 2), torch.zeros(0)), ValueError, "no examples"),
        ((torch.tensor(1.0), torch.zeros(1)), ValueError, "0-dim"),
        (SimpleNamespace(x=torch.zeros(3, 2), y=None), TypeError, "targets must be a torch.Tensor"),
    ],
)
def test_as_split_refuses_what_is_not_a_split_in_one_line_naming_the_argument(value, error, words):
    with pytest.raises(error) as info:
        as_split("val_data", value)
    text = one_line(info)
    assert text.startswith("val_data") and words in text, text


# ---------------------------------------------------------------- fractions at their limits


def _sizes_by_hand(n, val_fraction, test_fraction):
    """scikit-learn's sizes: ceil(fraction * n) for the split taken off, first test, then val."""
    n_test = math.ceil(test_fraction * n)
    n_val = math.ceil(val_fraction / (1 - test_fraction) * (n - n_test))
    return n - n_test - n_val, n_val, n_test


@pytest.mark.parametrize(
    ("kwargs", "name", "smallest"),
    [
        ({"val_fraction": 1e-9}, "val_fraction", "0.005567"),  # 10 * 0.8 / 1437
        ({"test_fraction": 1e-9}, "test_fraction", "0.005565"),  # 10 / 1797
        ({"val_fraction": 0.5, "test_fraction": 0.499}, "val_fraction + test_fraction", "0.9933"),
        ({"val_fraction": 0.001, "test_fraction": 0.995}, "test_fraction", "0.9933"),
    ],
)
def test_digits_fractions_that_leave_a_split_fewer_examples_than_classes(kwargs, name, smallest):
    with pytest.raises(ValueError) as error:
        load_digits(**kwargs)
    text = one_line(error)
    assert text.startswith(name) and "10 classes" in text and smallest in text, text
    assert "should be greater or equal" not in text  # not scikit-learn's message


def test_digits_smallest_fractions_the_message_names_work():
    for kwargs in ({"val_fraction": 0.005567}, {"test_fraction": 0.005565}, {"val_fraction": 0.7933}):
        data = load_digits(**kwargs)
        sizes = (len(data.train), len(data.val), len(data.test))
        val, test = kwargs.get("val_fraction", 0.2), kwargs.get("test_fraction", 0.2)
        assert sizes == _sizes_by_hand(1797, val, test)
        for split in (data.train, data.val, data.test):
            assert torch.bincount(split.y, minlength=10).min() >= 1  # every class in every split


# ---------------------------------------------------------------- Split and Dataset check their fields


@pytest.mark.parametrize("labels", [[0.5, 1.7, 2.2], np.array([0.0, 1.0, math.nan]), [0.0, 1e30, 2.0]])
def test_from_arrays_refuses_labels_that_are_not_integers(labels):
    with pytest.raises(ValueError, match=r"^y must hold integer class labels, got "):
        Split.from_arrays(np.zeros((3, 2)), labels)


def test_from_arrays_takes_integral_floats_as_the_integers_they_are():
    split = Split.from_arrays(np.zeros((3, 2)), np.array([2.0, 0.0, 1.0]))
    assert split.y.dtype == torch.long and split.y.tolist() == [2, 0, 1]
    assert split.x.dtype == torch.float32


@pytest.mark.parametrize(
    ("x", "y", "error", "message"),
    [
        (np.zeros((3, 2)), torch.zeros(3), TypeError, r"^Split x must be a torch\.Tensor, got ndarray"),
        (torch.zeros(3, 2), [0, 1, 2], TypeError, r"^Split y must be a torch\.Tensor, got list"),
        (torch.zeros(3, 2), torch.tensor(1), ValueError, r"^Split y is a 0-dim tensor"),
        (torch.zeros(3, 2), torch.zeros(2), ValueError, r"^Split x and y must have the same first dimension"),
    ],
)
def test_split_checks_its_fields(x, y, error, message):
    with pytest.raises(error, match=message):
        Split(x, y)


def test_dataset_checks_its_fields():
    from mlnotes.data import Dataset

    split = Split(torch.zeros(2, 1), torch.zeros(2, dtype=torch.long))
    with pytest.raises(TypeError, match=r"^Dataset val must be a Split, got tuple"):
        Dataset(split, (split.x, split.y), split, 2)
    with pytest.raises(ValueError, match=r"^num_classes must be a positive integer"):
        Dataset(split, split, split, 0)
    assert Dataset(split, split, split, np.int64(3)).num_classes == 3
