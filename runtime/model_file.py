"""Loading an ONNX model file and its embedded contract, checked before any inference runs."""

from __future__ import annotations

import base64
import binascii
import os
import stat
from importlib import resources
from pathlib import Path, PureWindowsPath

import onnxruntime as ort

from .contract import CONTRACT_KEY, SECOND_OPINION_KEY, Contract
from .errors import ContractError, ModelError
from .onnx_scan import ExternalRef, NotOnnx, external_refs

MODELS_DIR = "models"
FP32_MODEL_NAME = "digits-fp32.onnx"  # the default: the exact Keras answer
# Nearly the same accuracy at a seventh of the size: the network alone, quantized, without the
# second network the fp32 file carries for the second look (second_look.py). Speed depends on
# the CPU: 1.0-1.3x fp32 at batch 256 on an AMD EPYC with VNNI, 0.8x on an Intel Xeon with VNNI
# and AMX, slower one image at a time on both; end to end within a few percent (BENCHMARKS.md).
# `edge-digit benchmark` says which to prefer here.
INT8_MODEL_NAME = "digits-int8.onnx"
MAX_MODEL_BYTES = 64 * 1024 * 1024


def shipped_model(name: str = FP32_MODEL_NAME) -> Path:
    """Path of a model file shipped inside the package (by default the fp32 one)."""
    path = Path(str(resources.files("edge_digit.runtime").joinpath(MODELS_DIR, name)))
    if not path.is_file():
        raise ModelError(f"{path}: shipped model missing from the installation")
    return path


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def session_options(threads: int | None) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # small CPUs: no spinning threads burning the core that decodes the next images
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.intra_op_num_threads = threads if threads else default_threads()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4  # fatal only: failures reach the user once, as a ModelError naming the file
    return opts


def load_session(path: str | os.PathLike, threads: int | None = None) -> tuple[ort.InferenceSession, Contract]:
    """Open an edge-digit ONNX file: the contract must be present, known, and match the graph."""
    p = Path(path)
    return open_session(read_model(p), p, threads)


def read_model(p: Path) -> bytes | str:
    """What onnxruntime should open: the file's bytes, or its checked path when the model keeps
    data in external files. Anything that is not a plausible ONNX model is refused here."""
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ModelError(f"{p}: no such model file") from None
    except OSError as exc:
        raise ModelError(f"{p}: cannot read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelError(f"{p}: is a directory, not a model file")
    if not stat.S_ISREG(st.st_mode):  # reading a pipe or device could block forever
        raise ModelError(f"{p}: not a regular file")
    size = st.st_size
    if size == 0:
        raise ModelError(f"{p}: empty file, not an ONNX model")
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"{p}: {size} bytes is too large for an edge-digit model")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"{p}: cannot read ({exc.strerror})") from None
    if data.startswith(b"PK\x03\x04"):  # a zip: what Keras saves a .keras model as
        raise ModelError(f"{p}: a zip file (a .keras model?), not an ONNX model; 'edge-digit export' makes one from a .keras file")
    try:
        refs = external_refs(data)
    except NotOnnx as exc:
        raise ModelError(f"{p}: not an ONNX model ({exc})") from None
    if refs:
        check_external_data(p, refs, size)
        return str(p)  # onnxruntime reads the checked files, relative to the model as ONNX specifies
    return data  # from bytes: onnxruntime then opens no file at all


def open_session(source: bytes | str, p: Path, threads: int | None = None) -> tuple[ort.InferenceSession, Contract]:
    """An onnxruntime session over ``source`` (from ``read_model(p)``) and its checked contract."""
    try:
        session = ort.InferenceSession(source, sess_options=session_options(threads), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several private exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{p}: not a usable ONNX model ({first[:200]})") from None
    meta = session.get_modelmeta().custom_metadata_map
    if CONTRACT_KEY not in meta:
        raise ContractError(f"{p}: ONNX model carries no edge-digit contract (metadata '{CONTRACT_KEY}'); export it with 'edge-digit export'")
    try:
        contract = Contract.from_json(meta[CONTRACT_KEY])
    except ContractError as exc:
        raise ContractError(f"{p}: {exc}") from None
    check_graph(session, contract, p)
    return session, contract


def second_opinion(session: ort.InferenceSession, contract: Contract, p: Path) -> tuple[ort.InferenceSession, Contract] | None:
    """The session and contract of the second network a model file may carry (base64 ONNX under
    SECOND_OPINION_KEY), checked to take the same input and give the same labels; None if none."""
    encoded = session.get_modelmeta().custom_metadata_map.get(SECOND_OPINION_KEY)
    if encoded is None:
        return None
    where = Path(f"{p}: its second opinion")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ContractError(f"{where}: not base64-encoded ONNX") from None
    try:
        if external_refs(data):
            raise ContractError(f"{where}: keeps data in external files; it must be whole")
    except NotOnnx as exc:
        raise ContractError(f"{where}: not an ONNX model ({exc})") from None
    second, theirs = open_session(data, where, 1)
    if theirs.with_(precision=contract.precision, extra={}) != contract.with_(extra={}):
        raise ContractError(f"{where}: its contract does not match the model's (input, labels or preprocessing differ)")
    return second, theirs


def check_external_data(p: Path, refs: list[ExternalRef], model_bytes: int) -> None:
    """External data may live only in the model's own folder. A location that is absolute, climbs
    out with '..', or leads out through a symbolic link is refused before anything is read."""
    folder = p.parent.resolve()
    total = model_bytes
    for location in sorted({r.location or "" for r in refs}):
        tensor = next(r.tensor for r in refs if (r.location or "") == location)
        where = f"tensor {tensor!r} keeps its data in {location!r}"
        if not location:
            raise ModelError(f"{p}: tensor {tensor!r} has external data without a location")
        parts = location.replace("\\", "/").split("/")
        if location.startswith(("/", "\\")) or PureWindowsPath(location).drive or ".." in parts or "\0" in location:
            raise ModelError(f"{p}: {where}, outside the model's folder; refused (external data must sit beside the model)")
        target = (folder / location).resolve()
        if not target.is_relative_to(folder):
            raise ModelError(f"{p}: {where}, a link leading outside the model's folder; refused")
        if not target.is_file():
            raise ModelError(f"{p}: {where}, which is missing")
        total += target.stat().st_size
    if total > MAX_MODEL_BYTES:
        raise ModelError(f"{p}: {total} bytes with its external data is too large for an edge-digit model")


def check_graph(session: ort.InferenceSession, contract: Contract, p: Path) -> None:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].name != contract.input_name:
        raise ContractError(f"{p}: graph input {[i.name for i in inputs]} does not match the contract's {contract.input_name!r}")
    if contract.output_name not in [o.name for o in outputs]:
        raise ContractError(f"{p}: graph has no output {contract.output_name!r} named by its contract")
    h, w = contract.input_size
    shape = inputs[0].shape
    if len(shape) != 4 or list(shape[1:]) != [h, w, 1]:
        raise ContractError(f"{p}: graph input shape {shape} disagrees with the contract's [batch, {h}, {w}, 1]")
    out_shape = outputs[[o.name for o in outputs].index(contract.output_name)].shape
    if len(out_shape) != 2 or (isinstance(out_shape[1], int) and out_shape[1] != len(contract.labels)):
        raise ContractError(f"{p}: graph output shape {out_shape} disagrees with the contract's {len(contract.labels)} labels")
