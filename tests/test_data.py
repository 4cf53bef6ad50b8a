"""mlnotes.data: the digits splits, the IDX reader and the MNIST loader, on files this test writes.

Nothing is downloaded: "mirrors" are file:// folders of small synthetic IDX files.
"""

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from mlnotes.data import load_digits, load_mnist, read_idx

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
