"""Bad and hostile model files: each is refused with one line naming the file and the cause and
exit code 2 (info and classify), and nothing outside the model's folder is ever read. Models are
built here with the `onnx` package (a test dependency; the runtime never imports it)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli
from edge_digit import Classifier, ContractError, ModelError
from edge_digit.runtime import model_file
from edge_digit.runtime.contract import CONTRACT_KEY, SECOND_OPINION_KEY, Contract

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

DIGIT = REPO / "samples" / "mnist" / "digit-7.png"


def tiny_model(input_shape=("N", 28, 28, 1), contract: str | None = Contract().to_json(), outputs: int = 10,
               weight: float | None = None, pick: int | None = None):
    """image [N, 28, 28, 1] -> reshape -> (gather pixel ``pick``) -> matmul -> softmax -> probabilities
    [N, outputs]. ``weight`` fills the weights with one value (NaN: a model that outputs NaN);
    ``pick`` out of range makes a model that loads but fails when it runs."""
    h, w = input_shape[1], input_shape[2]
    weights = np.random.default_rng(0).normal(size=(h * w, outputs)).astype(np.float32)
    if weight is not None:
        weights[:] = weight
    nodes = [helper.make_node("Reshape", ["image", "shape"], ["flat"])]
    inits = [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.array([-1, h * w], np.int64), "shape")]
    if pick is not None:
        nodes.append(helper.make_node("Gather", ["flat", "pick"], ["picked"], axis=1))
        inits.append(numpy_helper.from_array(np.full(h * w, pick, np.int64), "pick"))
    nodes += [helper.make_node("MatMul", ["picked" if pick is not None else "flat", "w"], ["logits"]),
              helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", outputs])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if contract is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = CONTRACT_KEY, contract
    return model


def with_second_opinion(model, second: bytes | str):
    """``model`` carrying ``second`` (ONNX bytes, base64-encoded here, or a raw string) as its second opinion."""
    entry = model.metadata_props.add()
    entry.key = SECOND_OPINION_KEY
    entry.value = second if isinstance(second, str) else base64.b64encode(second).decode("ascii")
    return model


def with_contract(**changes) -> str:
    raw = json.loads(Contract().to_json())
    raw.update(changes)
    return json.dumps(raw)


def external(folder: Path, name: str, location: str | None = None) -> Path:
    """A tiny model whose weights live in '<name>.bin' beside it, the location then rewritten."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.onnx"
    onnx.save_model(tiny_model(), path, save_as_external_data=True, location=f"{name}.bin")
    if location is not None:
        proto = onnx.load(path, load_external_data=False)
        for tensor in proto.graph.initializer:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
        onnx.save_model(proto, path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-models")
    out = {}

    def save(name: str, proto) -> None:
        out[name] = d / f"{name}.onnx"
        onnx.save_model(proto, out[name])

    save("good", tiny_model())
    (d / "text.onnx").write_text("this is not an ONNX file\n")
    out["text"] = d / "text.onnx"
    (d / "empty.onnx").write_bytes(b"")
    out["empty"] = d / "empty.onnx"
    out["keras"] = REPO / "train" / "shipped" / "digits.keras"  # the usual mix-up: the model before export
    good = out["good"].read_bytes()
    (d / "truncated.onnx").write_bytes(good[: len(good) // 2])
    out["truncated"] = d / "truncated.onnx"
    out["folder"] = d / "folder.onnx"
    out["folder"].mkdir()
    out["missing"] = d / "missing.onnx"
    save("no-contract", tiny_model(contract=None))
    save("schema-99", tiny_model(contract=with_contract(schema_version=99)))
    save("contract-not-json", tiny_model(contract="{not json"))
    save("unknown-preprocess", tiny_model(contract=with_contract(preprocess="resize-only")))
    save("input-shape", tiny_model(input_shape=("N", 32, 32, 1)))
    save("output-shape", tiny_model(outputs=5))
    save("fails-when-run", tiny_model(pick=5000))
    save("outputs-nan", tiny_model(weight=float("nan")))
    save("second-not-base64", with_second_opinion(tiny_model(), "not base64!"))
    save("second-not-onnx", with_second_opinion(tiny_model(), b"this is not an ONNX file"))
    save("second-no-contract", with_second_opinion(tiny_model(), tiny_model(contract=None).SerializeToString()))
    other_input = tiny_model(input_shape=("N", 32, 32, 1), contract=with_contract(input_size=[32, 32]))
    save("second-other-input", with_second_opinion(tiny_model(), other_input.SerializeToString()))

    out["external-inside"] = external(d / "inside", "weights")
    out["external-absolute"] = external(d / "absolute", "weights", "/etc/passwd")
    out["external-parent"] = external(d / "parent", "weights", "../inside/weights.bin")
    out["external-missing"] = external(d / "missing-data", "weights", "gone.bin")
    linked = external(d / "linked", "weights")
    (linked.parent / "weights.bin").unlink()
    os.symlink(d / "inside" / "weights.bin", linked.parent / "weights.bin")  # inside its folder by name only
    out["external-link-out"] = linked
    return out


# name -> cause expected after "<path>: "
REFUSED = {
    "text": "not an ONNX model",
    "empty": "empty file, not an ONNX model",
    "keras": "a zip file (a .keras model?), not an ONNX model; 'edge-digit export' makes one from a .keras file",
    "truncated": "ONNX model",
    "folder": "is a directory, not a model file",
    "missing": "no such model file",
    "no-contract": "carries no edge-digit contract",
    "schema-99": "contract schema version 99 is not supported",
    "contract-not-json": "contract is not valid JSON",
    "unknown-preprocess": "unknown preprocessing 'resize-only'",
    "input-shape": "graph input shape ['N', 32, 32, 1] disagrees with the contract's [batch, 28, 28, 1]",
    "output-shape": "disagrees with the contract's 10 labels",
    "external-absolute": "keeps its data in '/etc/passwd', outside the model's folder; refused",
    "external-parent": "keeps its data in '../inside/weights.bin', outside the model's folder; refused",
    "external-missing": "keeps its data in 'gone.bin', which is missing",
    "external-link-out": "a link leading outside the model's folder; refused",
    "second-not-base64": "its second opinion: not base64-encoded ONNX",
    "second-not-onnx": "its second opinion: not an ONNX model",
    "second-no-contract": "its second opinion: ONNX model carries no edge-digit contract",
    "second-other-input": "its second opinion: its contract does not match the model's",
}
CONTRACT_CASES = {"no-contract", "schema-99", "contract-not-json", "unknown-preprocess", "input-shape", "output-shape",
                  "second-not-base64", "second-not-onnx", "second-no-contract", "second-other-input"}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_library_refuses_with_typed_error(models, name):
    path = models[name]
    with pytest.raises(ModelError) as info:
        Classifier(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and REFUSED[name] in message and "\n" not in message, message
    assert isinstance(info.value, ContractError) == (name in CONTRACT_CASES)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_info_exits_2_with_one_line(models, name):
    res = run_cli("info", str(models[name]))
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    assert res.stderr.startswith(f"edge-digit: error: {models[name]}: ") and REFUSED[name] in res.stderr
    assert len(res.stderr.splitlines()) == 1


def test_external_data_outside_is_refused_before_onnxruntime_reads_anything(models, monkeypatch):
    def no_session(*args, **kwargs):
        raise AssertionError("onnxruntime was asked to load the model")

    monkeypatch.setattr(model_file.ort, "InferenceSession", no_session)
    for name in ("external-absolute", "external-parent", "external-link-out", "external-missing"):
        with pytest.raises(ModelError, match="refused|missing"):
            Classifier(models[name])


def test_external_data_beside_the_model_is_supported(models):
    inside, plain = Classifier(models["external-inside"]), Classifier(models["good"])
    a, b = inside.predict(DIGIT), plain.predict(DIGIT)
    assert a.top == b.top


def test_classify_with_a_bad_model_exits_2_before_reading_images(models):
    res = run_cli("classify", str(DIGIT), "--model", str(models["external-parent"]), "--format", "jsonl")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith(f"edge-digit: error: {models['external-parent']}: ") and len(res.stderr.splitlines()) == 1


def test_traceback_only_with_debug(models):
    quiet = run_cli("info", str(models["text"]))
    loud = run_cli("--debug", "info", str(models["text"]))
    assert "Traceback" not in quiet.stderr and quiet.returncode == 2
    assert "Traceback" in loud.stderr and "ModelError" in loud.stderr and loud.returncode != 0


@pytest.mark.parametrize("name, cause", [("fails-when-run", "inference failed"),
                                         ("outputs-nan", "the model's output is not finite probabilities")])
def test_models_that_fail_when_run(models, name, cause):
    clf = Classifier(models[name])  # loads: the contract and the graph's signature are fine
    with pytest.raises(ModelError, match=f"{name}.onnx: {cause}"):
        clf.predict(DIGIT)
    res = run_cli("classify", str(DIGIT), "--model", str(models[name]), "--format", "jsonl")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith(f"edge-digit: error: {models[name]}: {cause}") and len(res.stderr.splitlines()) == 1


def test_a_good_tiny_model_works_through_the_cli(models):
    res = run_cli("classify", str(DIGIT), "--model", str(models["external-inside"]), "--format", "jsonl")
    assert res.returncode == 0, res.stderr
    assert "label" in json.loads(res.stdout)


def test_keras_files_that_are_not_edge_digit_models(tmp_path):
    """export refuses before TensorFlow is needed: not a zip, no contract, an unknown contract."""
    import zipfile

    text = tmp_path / "text.keras"
    text.write_text("not a keras file")
    bare = tmp_path / "bare.keras"
    with zipfile.ZipFile(bare, "w") as z:
        z.writestr("config.json", "{}")
    future = tmp_path / "future.keras"
    with zipfile.ZipFile(future, "w") as z:
        z.writestr("edge_digit_contract.json", with_contract(schema_version=7))
    cases = {text: "not a .keras model file", bare: "no edge-digit contract inside",
             future: "contract schema version 7 is not supported", tmp_path / "none.keras": "no such Keras model file"}
    for path, cause in cases.items():
        res = run_cli("export", str(path), "--out", str(tmp_path / "out.onnx"))
        assert res.returncode == 2, res.stderr
        assert res.stderr.startswith(f"edge-digit: error: {path}: ") and cause in res.stderr, res.stderr
        assert not (tmp_path / "out.onnx").exists()
