"""Keras and onnxruntime side by side, for real (TensorFlow is imported here).

A tiny model is trained and exported by the project's own code in the test; the shipped
model is checked against the Keras file it was exported from. Tests that import TensorFlow
live in files collected after test_benchmark.py, whose parallel-classify tests fork the test
process: forking a process that runs TensorFlow's thread pools is unsafe.
"""

from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SUBSET
from edge_digit.runtime.model_file import FP32_MODEL_NAME, shipped_model

pytestmark = pytest.mark.parity

SHIPPED_KERAS = REPO / "train" / "shipped" / "digits.keras"


@pytest.fixture(scope="module")
def keras_inputs(mnist_subset, contract):
    """The 600 test digits as the training pipeline feeds them to Keras."""
    from edge_digit.runtime.preprocess import normalize_batch

    digits, found = normalize_batch(mnist_subset["x_test"], contract)
    assert found.all()
    return digits


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from edge_digit.train.fit import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny") / "tiny.keras"
    result = train(TrainConfig(data=str(SUBSET), out=str(out), epochs=5, batch_size=32, augment_copies=0, workers=1, seed=1),
                   log=lambda _: None)
    assert result.val_accuracy > 0.5  # it learned something, so agreement checks are not trivial
    return out


def keras_probs(path: Path, digits: np.ndarray, contract) -> np.ndarray:
    from edge_digit.runtime.preprocess import to_model_input
    from edge_digit.train.fit import load_model

    model, _ = load_model(path)
    return model.predict(to_model_input(digits, contract), batch_size=256, verbose=0)


def test_export_of_a_fresh_model_matches_keras(tiny_model, keras_inputs, contract, tmp_path):
    from edge_digit import Classifier
    from edge_digit.export.onnx_export import export_model

    out = tmp_path / "tiny.onnx"
    result = export_model(tiny_model, out, check_images=keras_inputs, int8_out=tmp_path / "tiny-int8.onnx",
                          calibration_images=keras_inputs[:200], log=lambda _: None)
    assert result.parity.images == 600 and result.parity.max_abs_delta <= 1e-5
    # an independent look: the runtime loads the file and answers like Keras
    clf = Classifier(out, min_confidence=0)
    assert clf.contract.extra["trained_with"]["epochs"] == 5
    onnx = clf.infer(keras_inputs)
    ref = keras_probs(tiny_model, keras_inputs, contract)
    assert np.max(np.abs(onnx - ref)) <= 1e-5
    assert np.array_equal(onnx.argmax(1), ref.argmax(1))
    int8 = Classifier(tmp_path / "tiny-int8.onnx").infer(keras_inputs)
    assert np.mean(int8.argmax(1) == onnx.argmax(1)) >= 0.97
    # the converter's long tensor and node names are gone from both files (they weighed a third of the int8 file)
    import onnx as onnx_lib

    for path in (out, tmp_path / "tiny-int8.onnx"):
        g = onnx_lib.load(path).graph
        names = [t.name for t in g.initializer] + [o for n in g.node for o in n.output] + [n.name for n in g.node]
        assert max(map(len, names)) <= len(contract.output_name), path
    # the Flatten is one constant-shape Reshape: no Transpose before it, no shape computed at run time
    ops = {n.op_type for n in onnx_lib.load(out).graph.node}
    assert not ops & {"Transpose", "Shape", "Gather", "Concat"}, ops


@pytest.mark.skipif(not SHIPPED_KERAS.is_file(), reason="shipped Keras model not in this checkout")
def test_shipped_onnx_matches_its_keras_model(keras_inputs, contract):
    from edge_digit import Classifier

    ref = keras_probs(SHIPPED_KERAS, keras_inputs, contract)
    fp32 = Classifier(shipped_model(FP32_MODEL_NAME), min_confidence=0).infer(keras_inputs)
    assert np.max(np.abs(fp32 - ref)) <= 1e-5
    assert np.array_equal(fp32.argmax(1), ref.argmax(1))


@pytest.mark.skipif(not SHIPPED_KERAS.is_file(), reason="shipped Keras model not in this checkout")
def test_runtime_file_path_matches_keras_on_training_arrays(mnist_pngs, keras_inputs, contract):
    """PNG on disk -> decode -> preprocessing -> onnxruntime gives Keras' answer on the training arrays."""
    from edge_digit import Classifier

    folder, labels = mnist_pngs
    from edge_digit.runtime.second_look import VIEWS, views_of

    ref = keras_probs(SHIPPED_KERAS, keras_inputs, contract)
    for below in (0.0, 0.99):  # the model's own answer, and with a second look at unsure digits
        clf = Classifier(shipped_model(FP32_MODEL_NAME), min_confidence=0, top_k=10, second_look=below)
        preds = clf.predict_batch(sorted(folder.glob("*.png")))
        got = np.array([dict(p.top)[k] for p in preds for k in range(10)]).reshape(-1, 10)
        want = ref.copy()
        rows = np.flatnonzero(ref.max(axis=1) < below)
        if len(rows):  # Keras, fed the same views, averaged
            views = keras_probs(SHIPPED_KERAS, views_of(keras_inputs[rows]), contract)
            want[rows] = (ref[rows] + views.reshape(len(VIEWS), len(rows), -1).sum(axis=0)) / (1 + len(VIEWS))
        assert below == 0 or len(rows) > 0
        assert np.max(np.abs(got - want)) <= 1e-5
        assert [p.label for p in preds] == want.argmax(1).tolist()


def test_keras_model_with_code_is_refused_by_safe_mode(tmp_path):
    """A .keras file carrying a Python lambda: loading it must not run the code (safe mode)."""
    keras = pytest.importorskip("keras")
    import zipfile

    from edge_digit.runtime.contract import Contract
    from edge_digit.runtime.errors import ModelError
    from edge_digit.train.fit import CONTRACT_MEMBER, load_model

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Lambda(lambda t: t * 1.0)(inputs)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(CONTRACT_MEMBER, Contract().to_json())
    with pytest.raises(ModelError, match=r"lambda\.keras: cannot load Keras model \(.*Lambda.*\)"):
        load_model(path)
