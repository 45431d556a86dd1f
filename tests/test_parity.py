"""Keras and onnxruntime side by side, for real (TensorFlow is imported here).

A tiny model is trained and exported by the project's own code in the test; the shipped
model is checked against the Keras file it was exported from. Tests that import TensorFlow
live in files collected after test_benchmark.py, whose parallel-classify tests fork the test
process: forking a process that runs TensorFlow's thread pools is unsafe.
"""

from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SUBSET, second_network
from edge_digit.runtime.model_file import FP32_MODEL_NAME, shipped_model

pytestmark = pytest.mark.parity

SHIPPED_KERAS = REPO / "train" / "shipped" / "digits.keras"
SHIPPED_SECOND = REPO / "train" / "shipped" / "second-opinion.keras"  # the second network the model files carry


@pytest.fixture(scope="module")
def keras_inputs(mnist_subset, contract):
    """The 600 test digits as the training pipeline feeds them to Keras."""
    from edge_digit.runtime.preprocess import normalize_batch

    digits, found = normalize_batch(mnist_subset["x_test"], contract)
    assert found.all()
    return digits


def train_tiny(out: Path, seed: int) -> Path:
    from edge_digit.train.fit import TrainConfig, train

    result = train(TrainConfig(data=str(SUBSET), out=str(out), epochs=5, batch_size=32, augment_copies=0, workers=1, seed=seed),
                   log=lambda _: None)
    assert result.val_accuracy > 0.5  # it learned something, so agreement checks are not trivial
    return out


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("tiny") / "tiny.keras", seed=1)


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


def test_export_with_a_second_opinion_carries_it_in_the_fp32_file(tiny_model, keras_inputs, contract, tmp_path):
    """The second network travels inside the fp32 file and answers like its Keras model; the int8
    file, the small one, carries none."""
    from edge_digit import Classifier
    from edge_digit.export.onnx_export import export_model
    from edge_digit.runtime.preprocess import to_model_input

    second = train_tiny(tmp_path / "second.keras", seed=2)
    out, int8_out = tmp_path / "tiny.onnx", tmp_path / "tiny-int8.onnx"
    result = export_model(tiny_model, out, check_images=keras_inputs, int8_out=int8_out, calibration_images=keras_inputs[:200],
                          second_opinion=second, log=lambda _: None)
    assert result.second_parity.max_abs_delta <= 1e-5
    x = to_model_input(keras_inputs, contract)
    ref = keras_probs(second, keras_inputs, contract)
    assert np.abs(ref - keras_probs(tiny_model, keras_inputs, contract)).max() > 0.01  # two different networks
    fp32 = second_network(out).run(["probabilities"], {"image": x})[0]
    assert np.max(np.abs(fp32 - ref)) <= 1e-5
    assert second_network(int8_out) is None
    # the model's own answers are untouched by what it carries
    np.testing.assert_allclose(Classifier(out).infer(keras_inputs), keras_probs(tiny_model, keras_inputs, contract), atol=1e-5)


def test_export_refuses_a_second_opinion_for_another_contract(tiny_model, keras_inputs, tmp_path):
    """A second network whose contract names other labels is refused, and nothing is written."""
    import json
    import zipfile

    from edge_digit.export.onnx_export import export_model
    from edge_digit.runtime.errors import ExportError
    from edge_digit.train.fit import CONTRACT_MEMBER

    other = tmp_path / "other.keras"
    with zipfile.ZipFile(tiny_model) as src, zipfile.ZipFile(other, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == CONTRACT_MEMBER:
                raw = json.loads(data)
                raw["labels"] = list("abcdefghij")
                data = json.dumps(raw).encode()
            dst.writestr(item, data)
    out = tmp_path / "tiny.onnx"
    with pytest.raises(ExportError, match="its contract differs"):
        export_model(tiny_model, out, check_images=keras_inputs, second_opinion=other, log=lambda _: None)
    assert not out.exists()


@pytest.mark.skipif(not SHIPPED_KERAS.is_file(), reason="shipped Keras model not in this checkout")
def test_shipped_onnx_matches_its_keras_model(keras_inputs, contract):
    from edge_digit import Classifier

    from edge_digit.runtime.preprocess import to_model_input

    ref = keras_probs(SHIPPED_KERAS, keras_inputs, contract)
    fp32 = Classifier(shipped_model(FP32_MODEL_NAME), min_confidence=0).infer(keras_inputs)
    assert np.max(np.abs(fp32 - ref)) <= 1e-5
    assert np.array_equal(fp32.argmax(1), ref.argmax(1))
    # and the second network the file carries, against the Keras model it was exported from
    second_ref = keras_probs(SHIPPED_SECOND, keras_inputs, contract)
    second = second_network(shipped_model(FP32_MODEL_NAME)).run(["probabilities"], {"image": to_model_input(keras_inputs, contract)})[0]
    assert np.max(np.abs(second - second_ref)) <= 1e-5


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
        if len(rows):  # both Keras models, fed the digits and the same views, averaged
            views = views_of(keras_inputs[rows])
            answers = [ref[rows], keras_probs(SHIPPED_KERAS, views, contract),
                       keras_probs(SHIPPED_SECOND, keras_inputs[rows], contract), keras_probs(SHIPPED_SECOND, views, contract)]
            want[rows] = np.concatenate(answers).reshape(2 * (1 + len(VIEWS)), len(rows), -1).mean(axis=0)
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
