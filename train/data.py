"""Training data sources: a keras-style .npz, an MNIST IDX folder, or an image folder tree.

Every source becomes a ``Dataset`` of raw uint8 pictures and int labels; the shared
preprocessing (runtime/preprocess.py) is applied later, by the training pipeline.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..runtime.decode import read_image
from ..runtime.errors import DataError, ImageError
from ..runtime.preprocess import to_gray

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm", ".ppm"}
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
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # zip/npy format errors come in many types
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays)
    if missing:
        raise DataError(f"{path}: missing arrays {', '.join(sorted(missing))} (expected the keras mnist.npz layout)")
    return Dataset(
        _as_images(arrays["x_train"], path),
        arrays["y_train"].astype(np.int64).ravel(),
        _as_images(arrays["x_test"], path),
        arrays["y_test"].astype(np.int64).ravel(),
        str(path),
    )


def _as_images(x: np.ndarray, path: Path) -> np.ndarray:
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise DataError(f"{path}: images must be [N, H, W], got shape {x.shape}")
    if x.dtype != np.uint8:
        x = np.clip(x * (255.0 if x.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    return x


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

    return Dataset(
        _read_idx(find("train-images-idx3-ubyte")),
        _read_idx(find("train-labels-idx1-ubyte")).astype(np.int64),
        _read_idx(find("t10k-images-idx3-ubyte")),
        _read_idx(find("t10k-labels-idx1-ubyte")).astype(np.int64),
        str(folder),
    )


def load_image_tree(root: Path, *, seed: int, test_fraction: float) -> Dataset:
    """root/<label>/*.png (labels 0..9). Every picture goes through to_gray and is resized to the
    most common size only if sizes differ (stated, never guessed silently)."""
    images, labels = [], []
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    if not class_dirs:
        raise DataError(f"{root}: expected sub-folders named 0..9 holding images")
    for d in class_dirs:
        if d.name not in {str(i) for i in range(10)}:
            raise DataError(f"{d}: sub-folder names must be digit labels 0..9")
        files = sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise DataError(f"{d}: class folder holds no images")
        for f in files:
            try:
                images.append(to_gray(read_image(f)))
            except ImageError as exc:
                raise DataError(str(exc)) from None
            labels.append(int(d.name))
    sizes = {img.shape for img in images}
    if len(sizes) > 1:
        shown = ", ".join(f"{h}x{w}" for h, w in sorted(sizes)[:4])
        raise DataError(f"{root}: images have mixed sizes ({shown}{', ...' if len(sizes) > 4 else ''}); make them one size")
    x = np.stack(images)
    y = np.asarray(labels, np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return Dataset(x[train], y[train], x[test], y[test], str(root))
