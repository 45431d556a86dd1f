"""A minimal walk of an ONNX file's protobuf, without the ``onnx`` package (not a runtime
dependency): is it an ONNX model at all, and which tensors keep their data in external files?

Only the messages that can hold tensors are descended into (graphs, nodes, attributes, sparse
tensors, training info, functions); every other field is skipped by its length.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DEPTH = 64  # nested subgraphs; protobuf itself refuses deeper than 100

# field numbers from onnx.proto: (message, field) -> message kind of the submessage
_MODEL = {7: "graph", 20: "training", 25: "function"}
_CHILDREN = {
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "training": {1: "graph", 2: "graph"},
    "function": {7: "node", 11: "attribute"},
}
_TENSOR_NAME, _TENSOR_EXTERNAL, _TENSOR_LOCATION = 8, 13, 14  # TensorProto fields
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


class NotOnnx(ValueError):
    """The bytes are not a parseable ONNX ModelProto."""


@dataclass(frozen=True)
class ExternalRef:
    tensor: str
    location: str | None  # as written in the file: relative to the model's folder by the ONNX spec


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise NotOnnx("truncated or malformed varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf: memoryview):
    """(field number, wire type, value) of each field; LEN values as memoryview slices."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise NotOnnx("field number 0")
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        else:  # groups (3, 4) are not used by ONNX; 6, 7 do not exist
            raise NotOnnx(f"unexpected wire type {wire}")
        if i > len(buf):
            raise NotOnnx("truncated field")
        yield field, wire, value


def _text(value: memoryview) -> str:
    return bytes(value).decode("utf-8", "replace")


def _tensor(buf: memoryview, out: list[ExternalRef]) -> None:
    name, location, external = "", None, False
    for field, wire, value in _fields(buf):
        if field == _TENSOR_NAME and wire == 2:
            name = _text(value)
        elif field == _TENSOR_LOCATION and wire == 0:
            external = external or value == _EXTERNAL
        elif field == _TENSOR_EXTERNAL and wire == 2:
            external = True
            entry = {k: _text(v) for k, w, v in _fields(value) if w == 2}
            if entry.get(1) == "location":
                location = entry.get(2, "")
    if external:
        out.append(ExternalRef(name, location))


def _walk(buf: memoryview, kind: str, depth: int, out: list[ExternalRef]) -> None:
    if depth > MAX_DEPTH:
        raise NotOnnx(f"subgraphs nested deeper than {MAX_DEPTH}")
    children = _CHILDREN[kind]
    for field, wire, value in _fields(buf):
        child = children.get(field)
        if child is None or wire != 2:
            continue
        if child == "tensor":
            _tensor(value, out)
        else:
            _walk(value, child, depth + 1, out)


def external_refs(data: bytes) -> list[ExternalRef]:
    """Tensors of an ONNX model that keep their data outside the file. NotOnnx if ``data``
    is not a ModelProto (not protobuf, or without a graph)."""
    buf = memoryview(data)
    out: list[ExternalRef] = []
    has_graph = False
    for field, wire, value in _fields(buf):
        kind = _MODEL.get(field)
        if kind is None or wire != 2:
            continue
        has_graph = has_graph or kind == "graph"
        _walk(value, kind, 1, out)
    if not has_graph:
        raise NotOnnx("no graph in the file")
    return out
