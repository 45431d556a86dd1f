"""Bad training data: each case raises DataError with one line naming the path and the cause
(the CLI exits 2 with it). Calls edge_digit.train.data.load directly: no TensorFlow is imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import run_cli
from edge_digit import DataError
from edge_digit.train.data import load


@pytest.fixture(scope="module")
def small(mnist_subset) -> tuple[np.ndarray, np.ndarray]:
    return mnist_subset["x_train"][:40], mnist_subset["y_train"][:40].astype(np.int64)


def npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def tree(root: Path, files: dict[str, np.ndarray | bytes | None]) -> Path:
    """root/<relative path> for each entry: an image array, raw bytes, or None for a folder."""
    for rel, content in files.items():
        target = root / rel
        if content is None:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            cv2.imwrite(str(target), content)
    return root


def cases(tmp: Path, x: np.ndarray, y: np.ndarray) -> dict[str, tuple[Path, str]]:
    """name -> (source, cause expected in the message)."""
    one = x[0]
    ten = {f"{d}/{i}.png": one for d in range(2) for i in range(10)}
    (tmp / "notes.txt").write_text("not data")
    (tmp / "text.npz").write_text("not a zip archive")
    np.save(tmp / "lone.npy", x)
    (tmp / "lone.npz").write_bytes((tmp / "lone.npy").read_bytes())
    return {
        "missing path": (tmp / "no-such-data.npz", "no such file or folder"),
        "not npz or folder": (tmp / "notes.txt", "expected a .npz file or a folder"),
        "npz that is text": (tmp / "text.npz", "not a .npz file (not a zip archive)"),
        "npy named npz": (tmp / "lone.npz", "not a .npz file (not a zip archive)"),
        "npz without arrays": (npz(tmp / "other.npz", images=x, labels=y),
                               "missing arrays x_test, x_train, y_test, y_train (expected the keras mnist.npz layout)"),
        "npz missing one array": (npz(tmp / "no-y-test.npz", x_train=x, y_train=y, x_test=x), "missing arrays y_test"),
        "labels above 9": (npz(tmp / "high.npz", x_train=x, y_train=y + 3, x_test=x, y_test=y),
                           f"labels in y_train must be 0..9, found {int(y.min()) + 3}..{int(y.max()) + 3}"),
        "negative labels": (npz(tmp / "negative.npz", x_train=x, y_train=y, x_test=x, y_test=y - 1),
                            f"labels in y_test must be 0..9, found -1..{int(y.max()) - 1}"),
        "one-hot labels": (npz(tmp / "onehot.npz", x_train=x, y_train=np.eye(10)[y], x_test=x, y_test=y),
                           "one-hot labels are not supported"),
        "fractional labels": (npz(tmp / "fraction.npz", x_train=x, y_train=y + 0.5, x_test=x, y_test=y),
                              "not whole numbers"),
        "text labels": (npz(tmp / "text-labels.npz", x_train=x, y_train=y.astype(str), x_test=x, y_test=y),
                        "values, not class indices 0..9"),
        "fewer labels than images": (npz(tmp / "short.npz", x_train=x, y_train=y[:-1], x_test=x, y_test=y),
                                     f"x_train has {len(x)} images but y_train has {len(y) - 1} labels"),
        "images not 3-D": (npz(tmp / "flat.npz", x_train=x.reshape(len(x), -1), y_train=y, x_test=x, y_test=y),
                           "x_train must be images [N, H, W]"),
        "NaN pixels": (npz(tmp / "nan.npz", x_train=np.full(x.shape, np.nan, np.float32), y_train=y, x_test=x, y_test=y),
                       "NaN or infinite pixel values"),
        "no test images": (npz(tmp / "no-test.npz", x_train=x, y_train=y, x_test=x[:0], y_test=y[:0]), "no test images"),
        "mixed sizes": (tree(tmp / "mixed", {"0/a.png": one, "1/b.png": cv2.resize(one, (32, 30))}),
                        f"images have mixed sizes: {tmp / 'mixed/0/a.png'} is 28x28 but {tmp / 'mixed/1/b.png'} is 32x30"),
        "mixed sizes deeper": (tree(tmp / "deep", {**ten, "1/sub/big.png": np.zeros((40, 40), np.uint8)}),
                               f"but {tmp / 'deep/1/sub/big.png'} is 40x40"),
        "empty class folder": (tree(tmp / "empty-class", {**ten, "7": None}), f"{tmp / 'empty-class/7'}: class folder holds no images"),
        "folder not a label": (tree(tmp / "bad-name", {**ten, "cats/a.png": one}), "sub-folder names must be digit labels 0..9"),
        "no class folders": (tree(tmp / "flat", {"a.png": one}), "expected sub-folders named 0..9 holding images"),
        "bad image in tree": (tree(tmp / "bad-image", {**ten, "1/zero.png": b""}), f"{tmp / 'bad-image/1/zero.png'}: empty file"),
        "too few images": (tree(tmp / "few", {"0/a.png": one, "1/b.png": one}), "too few to hold out a test split"),
        "truncated IDX": (tree(tmp / "idx", {"train-images-idx3-ubyte": b"\x00\x00\x08\x03\x00\x00"}), "IDX header is truncated"),
    }


CASE_NAMES = ["missing path", "not npz or folder", "npz that is text", "npy named npz", "npz without arrays",
              "npz missing one array", "labels above 9", "negative labels", "one-hot labels", "fractional labels",
              "text labels", "fewer labels than images", "images not 3-D", "NaN pixels", "no test images", "mixed sizes",
              "mixed sizes deeper", "empty class folder", "folder not a label", "no class folders", "bad image in tree",
              "too few images", "truncated IDX"]


@pytest.fixture(scope="module")
def sources(tmp_path_factory, small):
    return cases(tmp_path_factory.mktemp("bad-data"), *small)


def test_every_case_is_listed(sources):
    assert sorted(sources) == sorted(CASE_NAMES)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_data_raises_data_error_naming_the_path(sources, name):
    source, cause = sources[name]
    with pytest.raises(DataError) as info:
        load(source)
    message = str(info.value)
    assert message.startswith(str(source)) and cause in message and "\n" not in message, message
    assert info.value.exit_code == 2


def test_a_good_tree_loads(tmp_path, small):
    x, y = small
    root = tree(tmp_path / "good", {f"{label}/{i}.png": img for i, (img, label) in enumerate(zip(x, y))})
    (root / "3" / "notes.txt").write_text("ignored: not an image name")
    ds = load(root)
    assert len(ds.x_train) + len(ds.x_test) == len(x) and ds.x_train.shape[1:] == (28, 28)


def test_loading_data_imports_no_tensorflow(sources):
    code = ("import sys\nfrom edge_digit.train.data import load\nfrom edge_digit import DataError\n"
            f"try:\n    load({str(sources['mixed sizes'][0])!r})\nexcept DataError:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_train_command_exits_2_with_one_line(sources):
    for name in ("missing path", "mixed sizes"):
        source, cause = sources[name]
        res = run_cli("train", "--data", str(source), "--epochs", "1")
        assert res.returncode == 2, res.stderr
        assert res.stderr.startswith(f"edge-digit: error: {source}") and cause in res.stderr
        assert len(res.stderr.splitlines()) == 1 and "Traceback" not in res.stderr


def test_unwritable_output_fails_before_training(tmp_path):
    (tmp_path / "a-file").write_text("")
    cases = {tmp_path: "is a folder; --out needs a file name",
             tmp_path / "a-file" / "model.keras": f"cannot write there ({tmp_path / 'a-file'} is not a writable folder)"}
    for out, cause in cases.items():
        res = run_cli("train", "--data", str(tmp_path / "no-such.npz"), "--out", str(out))
        assert res.returncode == 2 and res.stderr == f"edge-digit: error: {out}: {cause}\n", res.stderr
