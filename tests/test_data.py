"""mlnotes.data: the digits splits, the IDX reader and the MNIST loader, on files this test writes.

Nothing is downloaded: "mirrors" are file:// folders of small synthetic IDX files.
"""

import gzip
import hashlib
import math
import os
import re
import socket
import struct
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from mlnotes.data import Split, as_split, load_digits, load_mnist, read_idx

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding, written from the format's description: 0, 0, type code, ndim, sizes, data."""
    code = CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips_every_type(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    got = read_idx(write(tmp_path / "a.idx", idx_bytes(array), compress))
    assert got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, array)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "not an IDX file"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown IDX type code 0x07"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "header truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05\x06", "has 2 bytes"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", "has 2 bytes"),
    ],
)
def test_corrupt_idx_files_are_refused_with_the_file_named(tmp_path, data, message):
    path = write(tmp_path / "bad.idx", data, compress=False)
    with pytest.raises(ValueError, match=message) as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_a_truncated_gzip_file_is_refused(tmp_path):
    good = gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)), mtime=0)
    path = write(tmp_path / "cut.gz", good[: len(good) // 2], compress=False)
    with pytest.raises(ValueError, match=r"cut\.gz"):
        read_idx(path)


# ---------------------------------------------------------------- MNIST from a local "mirror"


@pytest.fixture
def mirror(tmp_path):
    """Four small MNIST-shaped files and their checksums: 50 training and 20 test images of 28x28."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "mirror"
    folder.mkdir()
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(50, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.arange(20, dtype=np.uint8) % 10,
    }
    files = {}
    for name, array in arrays.items():
        path = write(folder / name, idx_bytes(array), compress=True)
        files[name] = hashlib.md5(path.read_bytes()).hexdigest()
    return folder, files, arrays


def test_mnist_downloads_verifies_caches_and_then_works_offline(tmp_path, mirror):
    folder, files, arrays = mirror
    cache = tmp_path / "cache"
    data = load_mnist(cache, mirrors=[folder.as_uri() + "/"], files=files, val_size=10)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(files)  # no temp files left
    assert (len(data.train), len(data.val), len(data.test), data.num_classes) == (40, 10, 20, 10)
    assert data.train.x.shape == (40, 784) and data.train.x.dtype == torch.float32
    expected_test = arrays["t10k-images-idx3-ubyte.gz"].reshape(20, -1) / 255.0
    np.testing.assert_allclose(data.test.x.numpy(), expected_test, rtol=0, atol=1e-7)
    # train + val together are the training file, each image with its own label
    pairs = {
        (bytes((x * 255).round().to(torch.uint8).numpy()), int(y))
        for split in (data.train, data.val)
        for x, y in zip(split.x, split.y, strict=True)
    }
    images, labels = arrays["train-images-idx3-ubyte.gz"], arrays["train-labels-idx1-ubyte.gz"]
    assert pairs == {(bytes(i.reshape(-1)), int(label)) for i, label in zip(images, labels, strict=True)}
    offline = load_mnist(cache, mirrors=["file:///nonexistent/"], files=files, val_size=10)
    torch.testing.assert_close(offline.test.x, data.test.x)


def test_offline_and_not_cached_says_what_to_do(tmp_path, mirror):
    _, files, _ = mirror
    with pytest.raises(RuntimeError, match="could not be downloaded") as error:
        load_mnist(tmp_path / "cache", mirrors=[(tmp_path / "nowhere").as_uri() + "/"], files=files)
    assert "copy the four MNIST .gz files into" in str(error.value)
    assert not list((tmp_path / "cache" / "mnist").iterdir())  # no half-written file


def test_a_download_with_the_wrong_checksum_is_not_kept(tmp_path, mirror):
    folder, files, _ = mirror
    wrong = {**files, "t10k-labels-idx1-ubyte.gz": "0" * 32}
    with pytest.raises(RuntimeError, match="MD5"):
        load_mnist(tmp_path / "cache", mirrors=[folder.as_uri() + "/"], files=wrong)
    assert not (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_a_corrupted_cached_file_is_reported(tmp_path, mirror):
    folder, files, _ = mirror
    load_mnist(tmp_path / "cache", mirrors=[folder.as_uri() + "/"], files=files, val_size=10)
    (tmp_path / "cache" / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="delete it"):
        load_mnist(tmp_path / "cache", mirrors=[], files=files, val_size=10)
    with pytest.raises(ValueError, match="MD5"):
        load_mnist(tmp_path / "cache", download=False, files=files, val_size=10)


def test_download_false_and_missing_is_an_error(tmp_path, mirror):
    _, files, _ = mirror
    with pytest.raises(RuntimeError, match="download=False"):
        load_mnist(tmp_path / "cache", download=False, files=files)


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


# ---------------------------------------------------------------- MNIST arguments, timeouts, temporary files


def test_mnist_val_size_and_seed_may_be_numpy_integers(tmp_path, mirror):
    folder, files, _ = mirror
    kwargs = {"mirrors": [folder.as_uri() + "/"], "files": files}
    plain = load_mnist(tmp_path / "cache", val_size=10, seed=4, **kwargs)
    numpy = load_mnist(tmp_path / "cache", val_size=np.int32(10), seed=np.uint64(4), **kwargs)
    assert torch.equal(plain.val.x, numpy.val.x) and len(numpy.val) == 10


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"val_size": 10.0}, TypeError, "val_size must be an integer"),
        ({"val_size": True}, TypeError, "val_size must be an integer"),
        ({"val_size": 0}, ValueError, "val_size must be at least 1"),
        ({"seed": -1}, ValueError, "seed must be an integer >= 0"),
        ({"seed": "0"}, TypeError, "seed must be an integer"),
        ({"timeout": 0}, ValueError, "timeout must be a finite number of seconds > 0"),
        ({"timeout": -1.0}, ValueError, "timeout must be a finite number of seconds > 0"),
        ({"timeout": float("nan")}, ValueError, "timeout must be a finite number of seconds > 0"),
        ({"timeout": float("inf")}, ValueError, "timeout must be a finite number of seconds > 0"),
        ({"timeout": "10"}, TypeError, "timeout must be a real number"),
        ({"timeout": True}, TypeError, "timeout must be a real number"),
    ],
)
def test_mnist_bad_arguments_are_refused_before_any_download(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message) as info:
        load_mnist(tmp_path / "cache", mirrors=["http://192.0.2.1/"], **kwargs)  # never contacted
    assert "\n" not in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_mnist_timeout_may_be_a_numpy_float(tmp_path, mirror):
    folder, files, _ = mirror
    data = load_mnist(
        tmp_path / "cache", mirrors=[folder.as_uri() + "/"], files=files, val_size=10, timeout=np.float32(2)
    )
    assert len(data.test) == 20


@pytest.fixture
def silent_server(monkeypatch):
    """A TCP server on 127.0.0.1 that accepts connections and never answers; each connection is closed
    after 5 s, so that a download without a timeout fails this test by its duration instead of hanging."""
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(variable, "*")  # straight to 127.0.0.1, whatever proxy the machine has
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)  # so that the thread sees the stop event
    held, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            timer = threading.Timer(5.0, connection.close)
            timer.start()
            held.append((connection, timer))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    stop.set()
    thread.join(timeout=5)
    server.close()
    for connection, timer in held:
        timer.cancel()
        connection.close()


def test_a_mirror_that_never_answers_costs_the_timeout_not_minutes(tmp_path, mirror, silent_server):
    _, files, _ = mirror
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="could not be downloaded") as error:
        load_mnist(tmp_path / "cache", mirrors=[silent_server, silent_server], files=files, timeout=0.2)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"two silent mirrors took {elapsed:.1f} s at timeout=0.2"
    assert str(error.value).count("timed out") == 2, str(error.value)
    assert not list((tmp_path / "cache" / "mnist").iterdir())


class _InterruptedResponse:
    """A response that delivers one block and is then interrupted, as Ctrl-C or SIGTERM would."""

    def __init__(self, exception):
        self.exception, self.blocks = exception, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, size=-1):
        self.blocks += 1
        if self.blocks > 1:
            raise self.exception
        return b"partial data"


@pytest.mark.parametrize("exception", [KeyboardInterrupt(), SystemExit(143)])
def test_an_interrupted_download_leaves_no_temporary_file(tmp_path, mirror, monkeypatch, exception):
    _, files, _ = mirror
    seen = []

    def urlopen(url, timeout):
        seen.append(timeout)
        return _InterruptedResponse(exception)

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    with pytest.raises(type(exception)):
        load_mnist(tmp_path / "cache", mirrors=["http://192.0.2.1/"], files=files, timeout=3.5)
    assert seen == [3.5]  # the timeout reaches urlopen
    assert not list((tmp_path / "cache" / "mnist").iterdir()), "the partial download was left behind"


def test_stale_temporary_files_of_killed_downloads_are_removed(tmp_path, mirror):
    folder, files, _ = mirror
    cache = tmp_path / "cache" / "mnist"
    cache.mkdir(parents=True)
    name = "train-images-idx3-ubyte.gz"
    stale = cache / f".{name}.k1ll3d_x"  # what tempfile.mkstemp(prefix=f".{name}.") names a file
    running = cache / f".{name}.runn1ng_"  # another process downloading right now
    others = [cache / f".{name}.notes.txt", cache / ".README.k1ll3d_x", cache / f"{name}.k1ll3d_x"]
    day_ago = time.time() - 86_400
    for path in (stale, running, *others):
        path.write_bytes(b"partial")
        if path != running:
            os.utime(path, (day_ago, day_ago))
    load_mnist(tmp_path / "cache", mirrors=[folder.as_uri() + "/"], files=files, val_size=10)
    assert not stale.exists()
    assert running.exists() and all(path.exists() for path in others)


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


# ---------------------------------------------------------------- sizes, folders, fractions at their limits


def test_idx_sizes_are_computed_without_integer_overflow(tmp_path):
    header = bytes([0, 0, 0x0B, 2]) + struct.pack(">2I", 0xFFFFFFFF, 0xFFFFFFFF)  # int16, 2 bytes each
    path = write(tmp_path / "huge.idx", header + b"\x00" * 6, compress=False)
    needed = 0xFFFFFFFF * 0xFFFFFFFF * 2  # by hand, in Python integers
    with pytest.raises(ValueError, match=f"has 6 bytes, .* needs {needed}$") as error:
        read_idx(path)
    assert str(path) in one_line(error)


def test_read_idx_refuses_a_folder_naming_it(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not an IDX file") as error:
        read_idx(tmp_path)
    assert str(tmp_path) in one_line(error)


@pytest.mark.parametrize("download", [True, False])
def test_mnist_root_that_is_a_file_or_below_one_is_refused(tmp_path, download):
    file = tmp_path / "taken"
    file.write_text("keep", encoding="utf-8")
    for root, words in ((file, "is a file, not a folder"), (file / "sub", f"lies below {file}")):
        with pytest.raises(ValueError, match=f"^root {re.escape(str(root))} ") as error:
            load_mnist(root, download=download, mirrors=["http://192.0.2.1/"])  # never contacted
        assert words in one_line(error)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "mnist").write_text("keep", encoding="utf-8")
    with pytest.raises(ValueError, match="mnist is a file, not a folder"):
        load_mnist(tmp_path / "cache", download=download, mirrors=["http://192.0.2.1/"])
    assert file.read_text(encoding="utf-8") == "keep"
    with pytest.raises(TypeError, match=r"^root must be a folder"):
        load_mnist(3)


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
