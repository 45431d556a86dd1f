"""Keras model -> ONNX (fp32, optionally int8), with the contract embedded and parity checked.

Nothing is written until the new file has passed ``onnx.checker`` and agrees with the Keras
model; the final write is an atomic rename, so a failed export leaves no half-written file.
"""

from __future__ import annotations

import base64
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..runtime.atomic import write_bytes_atomic
from ..runtime.contract import CONTRACT_KEY, SECOND_OPINION_KEY, Contract
from ..runtime.errors import ExportError
from ..runtime.preprocess import to_model_input

MAX_PARITY_DELTA = 1e-4  # fp32 ONNX vs Keras, max |delta probability|; measured ~1e-7
MIN_INT8_AGREEMENT = 0.99  # int8 vs fp32 top-1 agreement below this refuses the int8 file


@dataclass
class Parity:
    images: int
    max_abs_delta: float
    top1_agreement: float


@dataclass
class ExportResult:
    path: str
    bytes: int
    parity: Parity  # against the Keras model (fp32) or the fp32 ONNX (int8)
    int8_path: str | None = None
    int8_bytes: int | None = None
    int8_parity: Parity | None = None
    second_parity: Parity | None = None  # the second network: its fp32 ONNX against its Keras model


@dataclass
class Converted:
    """One Keras model as an ONNX file (contract embedded), checked against Keras."""

    onnx: bytes
    contract: Contract
    parity: Parity


def compare(reference: np.ndarray, candidate: np.ndarray) -> Parity:
    return Parity(
        images=len(reference),
        max_abs_delta=float(np.max(np.abs(reference - candidate))),
        top1_agreement=float(np.mean(reference.argmax(1) == candidate.argmax(1))),
    )


def onnx_predict(model_bytes: bytes, contract: Contract, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session.run([contract.output_name], {contract.input_name: x})[0]


def _convert(model, contract: Contract, workdir: str):
    """tf2onnx (through Keras' exporter) with a named input and a dynamic batch dimension."""
    import onnx
    import tensorflow as tf

    h, w = contract.input_size
    spec = tf.TensorSpec((None, h, w, 1), tf.float32, name=contract.input_name)
    raw = os.path.join(workdir, "raw.onnx")
    model.export(raw, format="onnx", input_signature=[spec], verbose=False)
    proto = onnx.load(raw)
    if len(proto.graph.output) != 1 or len(proto.graph.input) != 1:
        raise ExportError("expected a model with one input and one output")
    old = proto.graph.output[0].name
    for node in proto.graph.node:
        node.output[:] = [contract.output_name if o == old else o for o in node.output]
    proto.graph.output[0].name = contract.output_name
    proto.graph.name = "edge_digit"
    flatten_channels_first(proto)
    shorten_names(proto)
    return proto


def flatten_channels_first(proto) -> None:
    """Keras flattens its last feature map channels-last, so the converter puts a Transpose from
    onnxruntime's channels-first layout before the Flatten, and computes the Flatten's shape at run
    time (Shape, Gather, Slice, Concat, Casts): seven nodes around one Reshape. Permuting the Dense
    weights' rows to the channels-first order gives the same sums with a constant-shape Reshape
    and none of those nodes (inference at batch 256: about 6 % more images a second). Left as it
    is when the graph has another shape."""
    import onnx
    from onnx import numpy_helper

    g = proto.graph
    users: dict[str, list] = {}
    for node in g.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    weights = {t.name: t for t in g.initializer}
    shapes = {v.name: v for v in onnx.shape_inference.infer_shapes(proto).graph.value_info}
    for tr in g.node:
        if tr.op_type != "Transpose" or [list(a.ints) for a in tr.attribute] != [[0, 2, 3, 1]]:
            continue
        reshape = users.get(tr.output[0], [])
        matmul = users.get(reshape[0].output[0], []) if len(reshape) == 1 and reshape[0].op_type == "Reshape" else []
        if len(matmul) != 1 or matmul[0].op_type != "MatMul" or matmul[0].input[1] not in weights:
            continue
        dims = [d.dim_value for d in shapes[tr.input[0]].type.tensor_type.shape.dim[1:]] if tr.input[0] in shapes else []
        w = numpy_helper.to_array(weights[matmul[0].input[1]])
        if len(dims) != 3 or not all(dims) or w.shape[0] != dims[0] * dims[1] * dims[2]:
            continue
        c, h, wd = dims
        # channels-last row (y * W + x) * C + c  ->  channels-first row (c * H + y) * W + x
        permuted = w.reshape(h, wd, c, -1).transpose(2, 0, 1, 3).reshape(w.shape)
        weights[matmul[0].input[1]].CopyFrom(numpy_helper.from_array(permuted, matmul[0].input[1]))
        shape_name = f"{reshape[0].output[0]}_shape"
        g.initializer.append(numpy_helper.from_array(np.array([-1, w.shape[0]], np.int64), shape_name))
        reshape[0].input[:] = [tr.input[0], shape_name]
        _drop_unused(g)
        return


def _drop_unused(g) -> None:
    """Remove the nodes whose outputs nothing reads any more, then the initializers nothing reads."""
    while True:
        read = {name for node in g.node for name in node.input} | {v.name for v in g.output}
        dead = [node for node in g.node if not any(o in read for o in node.output)]
        if not dead:
            break
        for node in dead:
            g.node.remove(node)
    read = {name for node in g.node for name in node.input}
    for t in [t for t in g.initializer if t.name not in read]:
        g.initializer.remove(t)
    for v in [v for v in g.value_info if v.name not in read]:
        g.value_info.remove(v)


def shorten_names(proto) -> None:
    """Rename every tensor but the graph's input and output, and every node, to a short id. The
    converter's names ("model_1/separable_conv2d_3_1/separable_conv2d/merged_input:0_quantized")
    are repeated wherever a tensor is used: in the int8 file they weighed more than a third of it."""
    g = proto.graph
    keep = {v.name for v in g.input} | {v.name for v in g.output}
    names: dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        return names.setdefault(name, f"t{len(names)}")

    for t in g.initializer:
        t.name = short(t.name)
    for v in g.value_info:
        v.name = short(v.name)
    for i, node in enumerate(g.node):
        node.input[:] = [short(n) for n in node.input]
        node.output[:] = [short(n) for n in node.output]
        node.name = f"n{i}"


def embed_contract(proto, contract: Contract) -> None:
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = CONTRACT_KEY, contract.to_json()
    proto.producer_name = "edge-digit"


def with_second_opinion(model: bytes, second: bytes) -> bytes:
    """``model`` carrying ``second`` (an exported file, contract and all) in its metadata."""
    import onnx

    proto = onnx.load_from_string(model)
    entry = proto.metadata_props.add()
    entry.key, entry.value = SECOND_OPINION_KEY, base64.b64encode(second).decode("ascii")
    return proto.SerializeToString()


def _write(proto_bytes: bytes, out: Path) -> int:
    write_bytes_atomic(out, proto_bytes)
    return len(proto_bytes)


def quantize_int8(fp32_bytes: bytes, contract: Contract, calibration: np.ndarray, workdir: str) -> bytes:
    """Static QDQ quantization (int8 weights per channel, int8 activations) calibrated on
    model inputs made by the shared preprocessing."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(np.array_split(calibration, max(1, len(calibration) // 64)))

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {contract.input_name: batch}

    src = os.path.join(workdir, "fp32.onnx")
    pre = os.path.join(workdir, "pre.onnx")
    dst = os.path.join(workdir, "int8.onnx")
    Path(src).write_bytes(fp32_bytes)
    quant_pre_process(src, pre, skip_symbolic_shape=True)
    quantize_static(
        pre, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
        extra_options={"ActivationSymmetric": False},
    )
    proto = onnx.load(dst)
    shorten_names(proto)
    embed_contract(proto, contract.with_(precision="int8"))
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString()


def export_model(
    keras_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    check_images: np.ndarray,
    int8_out: str | os.PathLike | None = None,
    calibration_images: np.ndarray | None = None,
    second_opinion: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
) -> ExportResult:
    """``check_images`` and ``calibration_images`` are model inputs (uint8 [N, H, W]) already
    passed through the shared preprocessing. ``second_opinion``: a second Keras model, trained
    for the same contract, that the fp32 file carries for the second look (runtime/second_look.py).
    The int8 file does not carry it: that file is the small one (the shipped one must stay under
    100 KB, and a second network would more than double it)."""
    from ..train.fit import read_contract

    # the contracts first (read from the zips, no conversion): a mismatch costs nothing
    if second_opinion is not None and read_contract(second_opinion).with_(extra={}) != read_contract(keras_path).with_(extra={}):
        raise ExportError(f"{second_opinion}: its contract differs from {keras_path}'s (input, labels or preprocessing)")
    with tempfile.TemporaryDirectory(prefix="edge-digit-export-") as workdir:
        main = _fp32(keras_path, check_images, workdir, log, "fp32")
        second = None if second_opinion is None else _fp32(second_opinion, check_images, workdir, log, "second opinion fp32")
        int8 = None
        if int8_out is not None:
            if calibration_images is None or len(calibration_images) == 0:
                raise ExportError("int8 export needs calibration images")
            x, calibration = (to_model_input(v, main.contract) for v in (check_images, calibration_images))
            int8 = _int8(main, x, calibration, workdir, log)
        # every check passed: only now is anything written
        fp32 = main.onnx if second is None else with_second_opinion(main.onnx, second.onnx)
        result = ExportResult(str(out), _write(fp32, Path(out)), main.parity)
        if second is not None:
            result.second_parity = second.parity
        if int8 is not None:
            result.int8_path, result.int8_bytes, result.int8_parity = str(int8_out), _write(int8.onnx, Path(int8_out)), int8.parity
    return result


def _fp32(keras_path, check_images: np.ndarray, workdir: str, log: Callable[[str], None], what: str) -> Converted:
    """A Keras model -> its fp32 ONNX file, checked against Keras on ``check_images``."""
    import onnx

    from ..train.fit import load_model

    model, contract = load_model(keras_path)
    contract = contract.with_(precision="fp32")
    try:
        proto = _convert(model, contract, workdir)
    except ExportError:
        raise
    except Exception as exc:  # converter errors come in many types
        raise ExportError(f"{keras_path}: ONNX conversion failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    embed_contract(proto, contract)
    onnx.checker.check_model(proto, full_check=True)
    fp32 = proto.SerializeToString()
    x = to_model_input(check_images, contract)
    parity = compare(model.predict(x, batch_size=256, verbose=0), onnx_predict(fp32, contract, x))
    log(f"{what} vs Keras on {parity.images} images: max |delta| {parity.max_abs_delta:.2e}, top-1 agreement {100 * parity.top1_agreement:.2f}%")
    if parity.max_abs_delta > MAX_PARITY_DELTA or parity.top1_agreement < 1.0:
        raise ExportError(f"{keras_path}: ONNX output disagrees with Keras (max |delta| {parity.max_abs_delta:.2e}); nothing written")
    return Converted(fp32, contract, parity)


def _int8(fp32: Converted, x: np.ndarray, calibration: np.ndarray, workdir: str, log: Callable[[str], None]) -> Converted:
    """An fp32 file -> its int8 file, whose parity is its top-1 agreement with the fp32 file on ``x``."""
    int8 = quantize_int8(fp32.onnx, fp32.contract, calibration, workdir)
    parity = compare(onnx_predict(fp32.onnx, fp32.contract, x), onnx_predict(int8, fp32.contract, x))
    log(f"int8 vs fp32 on {parity.images} images: max |delta| {parity.max_abs_delta:.2e}, "
        f"top-1 agreement {100 * parity.top1_agreement:.2f}%")
    if parity.top1_agreement < MIN_INT8_AGREEMENT:
        raise ExportError(f"int8 model agrees with fp32 on only {100 * parity.top1_agreement:.2f}% of images; nothing written")
    return Converted(int8, fp32.contract.with_(precision="int8"), parity)
