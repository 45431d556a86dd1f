"""Training data sources: a keras-style .npz, an MNIST IDX folder, or an image folder tree.

Every source becomes a ``Dataset`` of raw uint8 pictures and int labels; the shared
preprocessing (runtime/preprocess/) is applied later, by the training pipeline.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..runtime.decode import read_image
from ..runtime.errors import DataError, ImageError
from ..runtime.files import IMAGE_SUFFIXES
from ..runtime.preprocess import to_gray

KERAS_CACHE = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist.npz"


@dataclass
class Dataset:
    x_train: np.ndarray  # uint8 [N, H, W]
    y_train: np.ndarray  # int64 [N]
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def __post_init__(self) -> None:
        for name in ("train", "test"):
            x, y = getattr(self, f"x_{name}"), getattr(self, f"y_{name}")
            if x.ndim != 3 or x.dtype != np.uint8:
                raise DataError(f"{self.source}: x_{name} must be uint8 [N, H, W], got {x.dtype} {x.shape}")
            if len(x) != len(y):
                raise DataError(f"{self.source}: x_{name} has {len(x)} images but y_{name} has {len(y)} labels")
            if len(y) and (y.min() < 0 or y.max() > 9):
                raise DataError(f"{self.source}: labels in y_{name} must be 0..9, found {int(y.min())}..{int(y.max())}")
        if len(self.x_train) == 0:
            raise DataError(f"{self.source}: no training images")
        if len(self.x_test) == 0:  # the test score is the one number training reports
            raise DataError(f"{self.source}: no test images")


def load(source: str | os.PathLike | None, *, seed: int = 0, test_fraction: float = 0.1) -> Dataset:
    """Load SOURCE; with None, the keras cache (there is no download: say how to provide data)."""
    if source is None:
        if KERAS_CACHE.is_file():
            return load_npz(KERAS_CACHE)
        raise DataError(
            f"no --data given and no MNIST in the keras cache ({KERAS_CACHE}); this tool does not download. "
            "Pass --data with a keras-style mnist.npz, an MNIST IDX folder, or a folder tree root/<label>/*.png"
        )
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix != ".npz":
            raise DataError(f"{path}: expected a .npz file or a folder")
        return load_npz(path)
    if any(path.glob("*idx3-ubyte*")):
        return load_idx_folder(path)
    return load_image_tree(path, seed=seed, test_fraction=test_fraction)


def load_npz(path: Path) -> Dataset:
    # np.load would take a lone .npy array or try to unpickle other bytes; an .npz is a zip archive
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # zip/npy format errors come in many types
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays)
    if missing:
        raise DataError(f"{path}: missing arrays {', '.join(sorted(missing))} (expected the keras mnist.npz layout)")
    return Dataset(
        _as_images(arrays["x_train"], path, "x_train"),
        _as_labels(arrays["y_train"], path, "y_train"),
        _as_images(arrays["x_test"], path, "x_test"),
        _as_labels(arrays["y_test"], path, "y_test"),
        str(path),
    )


def _as_images(x: np.ndarray, path: Path, name: str) -> np.ndarray:
    if x.dtype.kind not in "buif":
        raise DataError(f"{path}: {name} holds {x.dtype} values, not pixels")
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise DataError(f"{path}: {name} must be images [N, H, W], got shape {x.shape}")
    if x.dtype != np.uint8:
        if x.size and not np.isfinite(x).all():
            raise DataError(f"{path}: {name} holds NaN or infinite pixel values")
        x = np.clip(x * (255.0 if x.size and x.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    return x


def _as_labels(y: np.ndarray, path: Path, name: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{path}: {name} must be class indices [N], got shape {y.shape} (one-hot labels are not supported)")
    if y.dtype.kind not in "buif":
        raise DataError(f"{path}: {name} holds {y.dtype} values, not class indices 0..9")
    if y.dtype.kind == "f" and len(y) and not (np.isfinite(y).all() and (y == np.round(y)).all()):
        raise DataError(f"{path}: {name} holds values that are not whole numbers; labels must be class indices 0..9")
    return y.astype(np.int64)


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: IDX header is truncated")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: IDX header says {dims} but the file holds {body.size} values")
    return body.reshape(dims)


def load_idx_folder(folder: Path) -> Dataset:
    def find(prefix: str) -> Path:
        hits = sorted(folder.glob(f"{prefix}*"))
        if not hits:
            raise DataError(f"{folder}: no {prefix}* file (MNIST IDX layout)")
        return hits[0]

    def labels(prefix: str) -> np.ndarray:
        path = find(prefix)
        return _as_labels(_read_idx(path), path, "labels")

    return Dataset(
        _read_idx(find("train-images-idx3-ubyte")),
        labels("train-labels-idx1-ubyte"),
        _read_idx(find("t10k-images-idx3-ubyte")),
        labels("t10k-labels-idx1-ubyte"),
        str(folder),
    )


def load_image_tree(root: Path, *, seed: int, test_fraction: float) -> Dataset:
    """root/<label>/*.png (labels 0..9), every picture through to_gray. All pictures must have one
    size (a Dataset holds raw [N, H, W] arrays): mixed sizes are refused, naming two examples."""
    images, labels, files_read = [], [], []
    try:
        class_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError as exc:
        raise DataError(f"{root}: cannot list folder ({exc.strerror or exc})") from None
    if not class_dirs:
        raise DataError(f"{root}: expected sub-folders named 0..9 holding images")
    for d in class_dirs:
        if d.name not in {str(i) for i in range(10)}:
            raise DataError(f"{d}: sub-folder names must be digit labels 0..9")
        try:
            files = sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        except OSError as exc:
            raise DataError(f"{d}: cannot list folder ({exc.strerror or exc})") from None
        if not files:
            raise DataError(f"{d}: class folder holds no images")
        for f in files:
            try:
                img = to_gray(read_image(f))
            except ImageError as exc:
                raise DataError(str(exc)) from None
            if images and img.shape != images[0].shape:
                (h0, w0), (h1, w1) = images[0].shape, img.shape
                raise DataError(f"{root}: images have mixed sizes: {files_read[0]} is {w0}x{h0} but {f} is {w1}x{h1}; "
                                "make them one size")
            images.append(img)
            files_read.append(f)
            labels.append(int(d.name))
    x = np.stack(images)
    y = np.asarray(labels, np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    if n_test == 0:
        raise DataError(f"{root}: only {len(x)} image{'' if len(x) == 1 else 's'}, too few to hold out a test split; add more")
    test, train = order[:n_test], order[n_test:]
    return Dataset(x[train], y[train], x[test], y[test], str(root))
