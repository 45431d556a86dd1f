"""Training data sources (no TensorFlow) and reproducible training (TensorFlow, marker parity)."""

import gzip
import struct

import cv2
import numpy as np
import pytest

from conftest import SUBSET
from edge_digit.train import data as data_sources


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_npz_idx_and_image_tree_sources_agree(tmp_path, mnist_subset):
    x, y = mnist_subset["x_train"][:60], mnist_subset["y_train"][:60]
    idx = tmp_path / "idx"
    idx.mkdir()
    write_idx(idx / "train-images-idx3-ubyte.gz", x)
    write_idx(idx / "train-labels-idx1-ubyte.gz", y)
    write_idx(idx / "t10k-images-idx3-ubyte.gz", x[:10])
    write_idx(idx / "t10k-labels-idx1-ubyte.gz", y[:10])
    ds = data_sources.load(idx)
    assert np.array_equal(ds.x_train, x) and np.array_equal(ds.y_train, y) and len(ds.x_test) == 10

    tree = tmp_path / "tree"
    for i, (img, label) in enumerate(zip(x, y)):
        (tree / str(label)).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tree / str(label) / f"{i}.png"), img)
    ds = data_sources.load(tree, seed=0, test_fraction=0.2)
    assert len(ds.x_train) == 48 and len(ds.x_test) == 12
    assert sorted(map(bytes, np.concatenate([ds.x_train, ds.x_test]))) == sorted(map(bytes, x))

    ds = data_sources.load(SUBSET)
    assert ds.x_train.shape == (1000, 28, 28) and ds.x_test.shape == (600, 28, 28)


@pytest.mark.parity
def test_same_seed_same_model(tmp_path):
    from edge_digit.train.fit import TrainConfig, load_model, train

    weights = []
    for i in range(2):
        cfg = TrainConfig(data=str(SUBSET), out=str(tmp_path / f"m{i}.keras"), epochs=1, batch_size=64,
                          augment_copies=1, workers=1, seed=7, limit=400)
        train(cfg, log=lambda _: None)
        model, contract = load_model(cfg.out)
        assert contract.extra["trained_with"]["seed"] == 7
        weights.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


@pytest.mark.parity
def test_a_student_learns_from_its_teachers(tmp_path):
    from edge_digit.runtime.errors import DataError
    from edge_digit.runtime.preprocess import normalize_batch, to_model_input
    from edge_digit.train.distill import pack_targets, teacher_targets
    from edge_digit.train.fit import TrainConfig, load_model, save_model, train

    def quiet(_):
        return None

    base = dict(data=str(SUBSET), epochs=3, batch_size=32, augment_copies=0, workers=1)
    teacher = tmp_path / "teacher.keras"
    train(TrainConfig(out=str(teacher), seed=3, **base), log=quiet)
    model, contract = load_model(teacher)

    with np.load(SUBSET) as d:
        x, _ = normalize_batch(d["x_test"][:200], contract)
    own = model.predict(to_model_input(x, contract), verbose=0)
    soft = teacher_targets([str(teacher)], contract, [x], log=quiet)[0]
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-5)
    assert np.array_equal(soft.argmax(axis=1), own.argmax(axis=1))  # the teacher's answer, softened
    assert soft.max(axis=1).mean() < own.max(axis=1).mean()
    packed = pack_targets(np.arange(200) % 10, soft)
    assert packed.shape == (200, 20) and np.array_equal(packed[:, :10].argmax(axis=1), np.arange(200) % 10)

    result = train(TrainConfig(out=str(tmp_path / "student.keras"), seed=4, teachers=[str(teacher)], **base), log=quiet)
    assert result.val_accuracy > 0.8  # it learned digits, not noise
    assert load_model(result.model_path)[1].extra["trained_with"]["teachers"] == [str(teacher)]

    other = tmp_path / "other.keras"
    save_model(model, contract.with_(box=18), other)  # a teacher that fits digits into another box
    with pytest.raises(DataError, match="other preprocessing"):
        teacher_targets([str(other)], contract, [x], log=quiet)


@pytest.mark.parity
def test_train_and_export_commands_print_their_own_lines_only(tmp_path):
    # TensorFlow's C++ start-up notes (oneDNN, no CUDA driver, absl) are kept off the terminal,
    # with TF_CPP_MIN_LOG_LEVEL not set by the user (the tests' runner sets it)
    from conftest import run_cli

    model = tmp_path / "m.keras"
    res = run_cli("train", "--data", str(SUBSET), "--limit", "200", "--epochs", "1", "--augment-copies", "0",
                  "--out", str(model), env={"TF_CPP_MIN_LOG_LEVEL": ""})
    assert res.returncode == 0, res.stderr
    ours = ("data: ", "preprocessed ", "epoch 1/1 ", "test accuracy ", "wrote ")
    assert [line for line in res.stderr.splitlines() if not line.startswith(ours)] == []
    res = run_cli("export", str(model), "--out", str(tmp_path / "m.onnx"), "--samples", "20", env={"TF_CPP_MIN_LOG_LEVEL": ""})
    assert res.returncode == 0, res.stderr
    ours = ("check/calibration data: ", "fp32 vs Keras ", "wrote ")
    assert [line for line in res.stderr.splitlines() + res.stdout.splitlines() if not line.startswith(ours)] == []
