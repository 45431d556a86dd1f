"""The preprocessing contract: everything the runtime must know to feed a model.

It is written as JSON into the ONNX file's ``metadata_props`` under ``CONTRACT_KEY``
at export and read back (and checked) when a model loads, so a model file is
self-describing and nobody re-types preprocessing parameters.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .errors import ContractError

CONTRACT_KEY = "edge_digit.contract"
# A second network (a base64 ONNX file with its own, matching contract) that the second look also
# asks; it runs only for the few digits the model is unsure of (second_look.py)
SECOND_OPINION_KEY = "edge_digit.second_opinion"
SCHEMA_VERSION = 1
# Names of preprocessing algorithms this runtime implements (see preprocess/).
KNOWN_PREPROCESS = ("ink-fit-v2",)


@dataclass(frozen=True)
class Contract:
    input_name: str = "image"
    output_name: str = "probabilities"
    input_size: tuple[int, int] = (28, 28)  # (height, width) of the model input
    box: int = 20  # the digit's longer side is fitted into box x box, then centred by centre of mass
    layout: str = "NHWC"  # float32 [batch, height, width, 1]
    polarity: str = "white_on_black"  # ink is bright, background is 0
    scale: float = 1.0 / 255.0  # uint8 pixel -> model input
    preprocess: str = "ink-fit-v2"
    labels: tuple[str, ...] = tuple(str(d) for d in range(10))
    precision: str = "fp32"
    schema_version: int = SCHEMA_VERSION
    extra: dict = field(default_factory=dict)  # provenance (training command, accuracy, ...)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            raise ContractError(
                f"contract schema version {self.schema_version} is not supported "
                f"(this edge-digit reads version {SCHEMA_VERSION})"
            )
        if self.preprocess not in KNOWN_PREPROCESS:
            raise ContractError(f"unknown preprocessing {self.preprocess!r} (known: {', '.join(KNOWN_PREPROCESS)})")
        if self.layout != "NHWC" or self.polarity != "white_on_black":
            raise ContractError(f"unsupported layout/polarity {self.layout}/{self.polarity}")
        h, w = self.input_size
        if not (8 <= self.box <= min(h, w)):
            raise ContractError(f"box {self.box} does not fit input size {h}x{w}")
        if not self.labels:
            raise ContractError("contract has no labels")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Contract":
        try:
            raw = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"contract is not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ContractError("contract is not a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        version = raw.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ContractError(
                f"contract schema version {version!r} is not supported (this edge-digit reads version {SCHEMA_VERSION})"
            )
        if unknown:
            raise ContractError(f"contract has unknown fields: {', '.join(sorted(unknown))}")
        try:
            raw["input_size"] = tuple(int(v) for v in raw.get("input_size", (28, 28)))
            raw["labels"] = tuple(str(v) for v in raw.get("labels", ()))
            return cls(**raw)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"contract fields are malformed: {exc}") from None

    def with_(self, **changes) -> "Contract":
        data = asdict(self)
        data.update(changes)
        return Contract(**data)
