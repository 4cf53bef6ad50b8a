"""Real data that works offline: scikit-learn's handwritten digits, and MNIST from its IDX files.

The experiments default to [`load_digits`][]: 1,797 grey-scale 8x8 images of the digits 0-9 that
ship inside scikit-learn, so nothing is downloaded. [`load_mnist`][] reads the 70,000 28x28 MNIST
images from the four standard IDX files. It downloads them once into a cache folder, verifies
every file's checksum, and fails with a clear message when it is offline and the files are not
cached. [`read_idx`][] parses one IDX file (plain or gzip-compressed).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

# IDX type codes (third byte of the magic number) and the big-endian dtypes they stand for
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

MNIST_FILES: dict[str, str] = {
    # file name: MD5 checksum of the published file
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
DEFAULT_CACHE = Path(os.environ.get("MLNOTES_DATA", Path.home() / ".cache" / "mlnotes"))


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (float, one row per example) and integer class labels ``y``."""

    x: Tensor
    y: Tensor

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray) -> Split:
        """float32 inputs and int64 labels from numpy arrays."""
        return cls(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long))


@dataclass(frozen=True)
class Dataset:
    """A training, a validation and a test split, and the number of classes."""

    train: Split
    val: Split
    test: Split
    num_classes: int


def _split(x: np.ndarray, y: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> Dataset:
    from sklearn.model_selection import train_test_split

    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1, got {val_fraction} + {test_fraction}"
        )
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction / (1.0 - test_fraction), random_state=seed, stratify=y_rest
    )
    return Dataset(
        Split.from_arrays(x_train, y_train),
        Split.from_arrays(x_val, y_val),
        Split.from_arrays(x_test, y_test),
        int(y.max()) + 1,
    )


def load_digits(*, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's handwritten digits, pixels scaled to [0, 1], split into train/val/test.

    The splits are stratified (every class in the same proportion) and fixed by ``seed``.

    Examples:
        >>> data = load_digits()
        >>> len(data.train), len(data.val), len(data.test), data.num_classes
        (1077, 360, 360, 10)
        >>> tuple(data.train.x.shape), float(data.train.x.max())
        ((1077, 64), 1.0)
    """
    from sklearn.datasets import load_digits as _sklearn_digits

    bunch = _sklearn_digits()
    return _split(bunch.data / 16.0, bunch.target, val_fraction, test_fraction, seed)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Parse an IDX file (MNIST's format), plain or gzip-compressed, into a numpy array.

    Raises:
        ValueError: the file is not a well-formed IDX file (bad magic number, unknown type code,
            or a size that does not match its header); the message names the file.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    try:
        raw = gzip.open(path).read() if compressed else path.read_bytes()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path}: not a readable gzip file ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (the magic number must start with two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{path}: IDX header truncated ({ndim} dimensions, {len(raw)} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX data has {len(raw) - header} bytes, "
            f"the header {shape} of {dtype.name} needs {expected}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(name: str, checksum: str, folder: Path, mirrors: Sequence[str]) -> Path:
    target = folder / name
    if target.is_file():
        if _md5(target) == checksum:
            return target
        raise ValueError(f"{target}: cached file has MD5 {_md5(target)}, expected {checksum}; delete it")
    folder.mkdir(parents=True, exist_ok=True)
    reasons = []
    for mirror in mirrors:
        url = mirror + name
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
            got = _md5(Path(tmp))
            if got != checksum:
                reasons.append(f"{url}: MD5 {got}, expected {checksum}")
                continue
            os.replace(tmp, target)
            return target
        except (urllib.error.URLError, OSError, ValueError) as error:
            reasons.append(f"{url}: {error}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise RuntimeError(
        f"MNIST file {name} is not in {folder} and could not be downloaded:\n  "
        + "\n  ".join(reasons)
        + f"\nIf this machine is offline, copy the four MNIST .gz files into {folder}."
    )


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    val_size: int = 10_000,
    seed: int = 0,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    files: dict[str, str] | None = None,
) -> Dataset:
    """MNIST as flat float vectors in [0, 1]: training images split into train/val, and the test set.

    Args:
        root: cache folder (default ``$MLNOTES_DATA`` or ``~/.cache/mlnotes``); files go to ``root/mnist``.
        download: fetch missing files from ``mirrors``; if false, a missing file is an error.
        val_size: how many training images (chosen with ``seed``) become the validation split.
        seed: fixes the validation split.
        mirrors: base URLs tried in order (any scheme ``urllib`` opens, ``file://`` included).
        files: file name to MD5 checksum, the four standard files by default.

    Raises:
        RuntimeError: a file is missing and cannot be downloaded (offline), with what to do.
        ValueError: a checksum does not match, or a file is not valid IDX.
    """
    files = MNIST_FILES if files is None else files
    folder = Path(root if root is not None else DEFAULT_CACHE) / "mnist"
    paths = {}
    for name, checksum in files.items():
        if download:
            paths[name] = _download(name, checksum, folder, mirrors)
        elif not (folder / name).is_file():
            raise RuntimeError(f"MNIST file {folder / name} is missing and download=False")
        elif _md5(folder / name) != checksum:
            raise ValueError(f"{folder / name}: MD5 {_md5(folder / name)}, expected {checksum}")
        else:
            paths[name] = folder / name
    arrays = {name.split("-idx")[0]: read_idx(path) for name, path in paths.items()}
    x_train = arrays["train-images"].reshape(len(arrays["train-images"]), -1) / 255.0
    x_test = arrays["t10k-images"].reshape(len(arrays["t10k-images"]), -1) / 255.0
    y_train, y_test = arrays["train-labels"].astype(np.int64), arrays["t10k-labels"].astype(np.int64)
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"{folder}: image and label files disagree on the number of examples")
    if not 0 < val_size < len(y_train):
        raise ValueError(f"val_size must be between 1 and {len(y_train) - 1}, got {val_size}")
    order = np.random.default_rng(seed).permutation(len(y_train))
    val, train = order[:val_size], order[val_size:]
    return Dataset(
        Split.from_arrays(x_train[train], y_train[train]),
        Split.from_arrays(x_train[val], y_train[val]),
        Split.from_arrays(x_test, y_test),
        int(max(y_train.max(), y_test.max())) + 1,
    )
