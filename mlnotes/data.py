"""Real data that works offline: scikit-learn's handwritten digits, and MNIST from its IDX files.

The experiments default to [`load_digits`][]: 1,797 grey-scale 8x8 images of the digits 0-9 that
ship inside scikit-learn, so nothing is downloaded. [`load_mnist`][] reads the 70,000 28x28 MNIST
images from the four standard IDX files. It downloads them once into a cache folder, verifies
every file's checksum, and fails with a clear message when it is offline and the files are not
cached. [`read_idx`][] parses one IDX file (plain or gzip-compressed). [`as_split`][] accepts the
usual ways of holding a split of data (a pair of tensors, a ``TensorDataset``) as a [`Split`][].
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import struct
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from mlnotes import _checks

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
# A download's temporary file not written to for this long belongs to a run that was killed (a
# running download writes every _BLOCK bytes it receives); a younger one may be another process's.
STALE_AFTER_S = 3600.0
_BLOCK = 1 << 16


def _check_pair(x: object, y: object, prefix: str, parts: tuple[str, str]) -> None:
    """Both tensors, with a first dimension, of one length; messages start ``prefix`` + a part's name."""
    for part, tensor in zip(parts, (x, y), strict=True):
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"{prefix}{part} must be a torch.Tensor, got {type(tensor).__name__}: convert with "
                "torch.as_tensor, or use Split.from_arrays"
            )
        if tensor.dim() == 0:
            raise ValueError(f"{prefix}{part} is a 0-dim tensor: it needs one entry per example")
    if len(x) != len(y):
        raise ValueError(
            f"{prefix}{parts[0]} and {parts[1]} must have the same first dimension (one per example), "
            f"got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (float, one row per example) and integer class labels ``y``.

    Raises:
        TypeError: ``x`` or ``y`` is not a ``torch.Tensor``.
        ValueError: ``x`` or ``y`` is 0-dim, or their first dimensions (the number of examples)
            differ.
    """

    x: Tensor
    y: Tensor

    def __post_init__(self) -> None:
        _check_pair(self.x, self.y, "Split ", ("x", "y"))

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray) -> Split:
        """float32 inputs and int64 labels from numpy arrays.

        Raises:
            TypeError: ``y`` does not hold real numbers.
            ValueError: ``y`` holds a value that is not an integer (``1.7``, NaN): class labels are
                not rounded.
        """
        array = np.asarray(y)
        if array.dtype == np.uint64 and array.size and int(array.max()) >= 2**63:  # would wrap to < 0
            raise ValueError(f"y holds the label {int(array.max())}, beyond the int64 range of class labels")
        labels = torch.as_tensor(array)
        if labels.is_complex():
            raise TypeError(f"y must hold integer class labels, got dtype {labels.dtype}")
        if labels.is_floating_point():
            integral = (labels.abs() < 2.0**63) & (labels == labels.round())  # NaN, inf: False
            if not integral.all():
                bad = labels[~integral][0].item()
                raise ValueError(
                    f"y must hold integer class labels, got {bad!r}: labels are not rounded; "
                    "pass the class numbers"
                )
        return cls(torch.as_tensor(x, dtype=torch.float32), labels.to(torch.long))


@dataclass(frozen=True)
class Dataset:
    """A training, a validation and a test split, and the number of classes.

    Raises:
        TypeError: a split is not a [`Split`][].
        ValueError: ``num_classes`` is not a positive integer.
    """

    train: Split
    val: Split
    test: Split
    num_classes: int

    def __post_init__(self) -> None:
        for name in ("train", "val", "test"):
            value = getattr(self, name)
            if not isinstance(value, Split):
                raise TypeError(
                    f"Dataset {name} must be a Split, got {type(value).__name__}: "
                    "build it with Split(x, y) or Split.from_arrays"
                )
        object.__setattr__(self, "num_classes", _checks.positive_int("num_classes", self.num_classes))


def as_split(name: str, value: object) -> Split:
    """``value`` as a [`Split`][]: the inputs and targets of a whole split of data, as two tensors.

    Accepted: a [`Split`][]; an ``(inputs, targets)`` pair (tuple or list) of tensors; a
    ``torch.utils.data.TensorDataset`` of two tensors; any object with tensor attributes ``.x`` and
    ``.y``. Both must be tensors with the same first dimension (the number of examples, at least 1).
    A ``Split`` is returned as it is; the tensors of the others are not copied or converted.

    Raises:
        TypeError: ``value`` is none of these (a ``DataLoader``, a [`Dataset`][] of three splits,
            NumPy arrays), with the one-line message naming ``name`` and what to pass instead.
        ValueError: the wrong number of tensors, a 0-dim tensor, no examples, or inputs and targets
            of different lengths.

    Examples:
        >>> split = as_split("data", (torch.zeros(5, 3), torch.arange(5)))
        >>> tuple(split.x.shape), len(split)
        ((5, 3), 5)
    """
    if isinstance(value, Split):
        x, y = value.x, value.y
    elif isinstance(value, DataLoader):
        raise TypeError(
            f"{name} takes the whole split as tensors, (inputs, targets), not a DataLoader: the batches are "
            "drawn by the function itself; pass the loader's TensorDataset (loader.dataset) or its tensors"
        )
    elif isinstance(value, Dataset):
        raise TypeError(
            f"{name} takes one split, got a Dataset of train/val/test splits: pass e.g. data.train"
        )
    elif isinstance(value, (tuple, list, TensorDataset)):
        parts = value.tensors if isinstance(value, TensorDataset) else value
        if len(parts) != 2:
            kind = type(value).__name__
            raise ValueError(f"{name} must hold two tensors, (inputs, targets), got a {kind} of {len(parts)}")
        x, y = parts
    elif hasattr(value, "x") and hasattr(value, "y"):
        x, y = value.x, value.y
    else:
        raise TypeError(
            f"{name} must be a Split, an (inputs, targets) pair of tensors, a TensorDataset of two "
            f"tensors or an object with tensor attributes .x and .y, got {type(value).__name__}"
        )
    _check_pair(x, y, f"{name}: the ", ("inputs", "targets"))
    if len(x) == 0:
        raise ValueError(f"{name} holds no examples (first dimension 0): pass at least one")
    return value if isinstance(value, Split) else Split(x, y)


def _fraction(name: str, value: object) -> float:
    try:
        number = _checks.real(name, value)
    except TypeError:
        number = math.nan
    if not 0.0 < number < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return number


def _check_split_sizes(y: np.ndarray, val_fraction: float, test_fraction: float) -> None:
    """Refuse fractions that leave a split fewer examples than classes (stratification needs one each).

    The sizes are scikit-learn's: ``ceil(test_size * n)`` for the split taken off, the rest for the
    other, first for the test split and then for the validation split out of the rest.
    """
    n, classes = len(y), len(np.unique(y))
    n_test = math.ceil(test_fraction * n)
    n_rest = n - n_test
    n_val = math.ceil(val_fraction / (1.0 - test_fraction) * n_rest)
    n_train = n_rest - n_val
    why = f"fewer than the {classes} classes (a stratified split needs at least one of each)"
    largest = math.floor((1.0 - (classes + 2) / n) * 1e4) / 1e4  # 2: the two ceilings below
    if n_test < classes:
        raise ValueError(
            f"test_fraction={test_fraction} gives the test split {n_test} of the {n} examples, {why}: "
            f"pass test_fraction >= {classes / n:.4g}"
        )
    if n_rest < 2 * classes:
        raise ValueError(
            f"test_fraction={test_fraction} leaves {n_rest} of the {n} examples for the training and "
            f"validation splits, {why} in each: make val_fraction + test_fraction at most {largest}"
        )
    if n_val < classes:
        smallest = classes * (1.0 - test_fraction) / n_rest
        raise ValueError(
            f"val_fraction={val_fraction} gives the validation split {n_val} of the {n} examples, {why}: "
            f"pass val_fraction >= {smallest:.4g} (with test_fraction={test_fraction})"
        )
    if n_train < classes:
        raise ValueError(
            f"val_fraction + test_fraction = {val_fraction} + {test_fraction} leaves the training split "
            f"{n_train} of the {n} examples, {why}: make the sum at most {largest}"
        )


def _split(x: np.ndarray, y: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> Dataset:
    from sklearn.model_selection import train_test_split

    val_fraction = _fraction("val_fraction", val_fraction)
    test_fraction = _fraction("test_fraction", test_fraction)
    seed = _checks.seed("seed", seed, limit=2**32)  # scikit-learn's random_state: below 2**32
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1, got {val_fraction} + {test_fraction}"
        )
    _check_split_sizes(y, val_fraction, test_fraction)
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
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an IDX file")
    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    try:
        raw = gzip.open(path).read() if compressed else path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
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
    expected = math.prod(shape) * dtype.itemsize  # Python ints: 0xffffffff**2 does not overflow
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


def _temp_prefix(name: str) -> str:
    return f".{name}."


def _remove_stale_temp_files(name: str, folder: Path) -> None:
    """Remove the temporary files that killed downloads of ``name`` left in ``folder``.

    Only names ``tempfile.mkstemp`` makes with our prefix (``.{name}.`` and 8 random characters)
    count, and only files not written to for ``STALE_AFTER_S`` seconds:
    a younger one may be the file of a download running in another process.
    """
    pattern = re.compile(re.escape(_temp_prefix(name)) + r"[a-z0-9_]{8}")
    now = time.time()
    for path in folder.iterdir():
        if not pattern.fullmatch(path.name):
            continue
        try:
            if path.is_file() and not path.is_symlink() and now - path.stat().st_mtime > STALE_AFTER_S:
                path.unlink()
        except OSError:  # removed meanwhile, or not ours to remove: the download does not need it gone
            pass


def _download(name: str, checksum: str, folder: Path, mirrors: Sequence[str], timeout: float) -> Path:
    target = folder / name
    if target.is_file():
        if _md5(target) == checksum:
            return target
        raise ValueError(f"{target}: cached file has MD5 {_md5(target)}, expected {checksum}; delete it")
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(name, folder)
    reasons = []
    for mirror in mirrors:
        url = mirror + name
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(name))
        try:  # the finally clause removes the temporary file on any exit, Ctrl-C and SystemExit too
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                for block in iter(lambda: response.read(_BLOCK), b""):
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
            Path(tmp).unlink(missing_ok=True)
    raise RuntimeError(
        f"MNIST file {name} is not in {folder} and could not be downloaded:\n  "
        + "\n  ".join(reasons)
        + f"\nIf this machine is offline, copy the four MNIST .gz files into {folder}."
    )


def _check_folder(name: str, folder: Path) -> None:
    """Refuse a ``folder`` that is an existing file or lies below one (it could never be created)."""
    ancestor = folder
    while not ancestor.exists() and ancestor.parent != ancestor:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        where = "is a file" if ancestor == folder else f"lies below {ancestor}, which is a file"
        raise ValueError(f"{name} {folder} {where}, not a folder: pass a folder for the MNIST cache")


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    val_size: int = 10_000,
    seed: int = 0,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    files: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Dataset:
    """MNIST as flat float vectors in [0, 1]: training images split into train/val, and the test set.

    Args:
        root: cache folder (default ``$MLNOTES_DATA`` or ``~/.cache/mlnotes``); files go to ``root/mnist``.
        download: fetch missing files from ``mirrors``; if false, a missing file is an error.
        val_size: how many training images (chosen with ``seed``) become the validation split.
        seed: fixes the validation split.
        mirrors: base URLs tried in order (any scheme ``urllib`` opens, ``file://`` included); one
            string is one mirror.
        files: file name to MD5 checksum, the four standard files by default.
        timeout: seconds that each network operation (connecting, each read) may wait before the
            mirror counts as unreachable and the next one is tried; a mirror that accepts the
            connection and never answers costs this long, not forever.

    A download goes to a temporary file in the cache folder that is renamed into place once its
    checksum matches; an interrupted download (an error, Ctrl-C, ``SystemExit``) removes it, and the
    next download of that file removes those that killed runs left behind.

    Raises:
        RuntimeError: a file is missing and cannot be downloaded (offline), with what to do.
        ValueError: a checksum does not match, a file is not valid IDX, an argument is out of range,
            or ``root`` is a file (or lies below one) rather than a folder.
        TypeError: ``val_size``, ``seed`` or ``timeout`` is not a number of the right kind, ``root``
            is not a path,
            ``download`` is not a bool, or ``mirrors`` holds something other than strings.
    """
    val_size = _checks.integer("val_size", val_size)
    if val_size < 1:
        raise ValueError(f"val_size must be at least 1, got {val_size}")
    seed = _checks.seed("seed", seed)
    timeout = _checks.real("timeout", timeout)
    if not 0.0 < timeout < math.inf:
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout}")
    download = _checks.flag("download", download)
    if isinstance(mirrors, str):  # one URL, not a sequence of one-character mirrors
        mirrors = (mirrors,)
    if not all(isinstance(m, str) for m in mirrors):
        raise TypeError(f"mirrors must be base URLs (strings), got {mirrors!r}")
    files = MNIST_FILES if files is None else files
    kinds = {"train-images", "train-labels", "t10k-images", "t10k-labels"}
    if not isinstance(files, dict) or {str(name).split("-idx")[0] for name in files} != kinds:
        raise ValueError(
            "files must map the four MNIST file names (train-images, train-labels, t10k-images, "
            f"t10k-labels, each '...-idx...') to their MD5 checksums, got {files!r}"
        )
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder (a str or pathlib.Path) or None, got {type(root).__name__}")
    root = Path(root if root is not None else DEFAULT_CACHE)
    _check_folder("root", root)
    folder = root / "mnist"
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder: MNIST is cached in root/mnist; move it away")
    paths = {}
    for name, checksum in files.items():
        if download:
            paths[name] = _download(name, checksum, folder, mirrors, timeout)
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
