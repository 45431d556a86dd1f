"""What a benchmark run measured, as typed results; ``BenchReport.to_dict()`` is plain JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np


@dataclass
class Timing:
    """Per-call wall time in microseconds over ``n`` calls after warm-up."""

    n: int
    p50_us: float
    p90_us: float
    p99_us: float
    mean_us: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> "Timing":
        us = np.asarray(seconds, np.float64) * 1e6
        p50, p90, p99 = np.percentile(us, (50, 90, 99))
        return cls(len(us), round(float(p50), 2), round(float(p90), 2), round(float(p99), 2), round(float(us.mean()), 2))


@dataclass
class Machine:
    cpu: str
    cores: int
    simd: list[str]  # the instruction-set extensions that decide int8 vs fp32 speed
    vnni: bool  # int8 dot-product instructions (AVX512-VNNI or AVX-VNNI)
    python: str
    onnxruntime: str
    opencv: str
    numpy: str
    platform: str


@dataclass
class ModelInfo:
    name: str
    path: str
    bytes: int
    precision: str  # from the embedded contract
    accuracy: float | None  # on the labelled digits (None when the inputs carry no labels)
    agreement: float | None  # top-1 agreement with the first model


@dataclass
class ModelStages:
    """Model-dependent stages for one input: one image per call."""

    inference: Timing  # uint8 model input -> probabilities (batch of 1)
    postprocess: Timing  # probabilities -> Prediction
    predict: Timing  # the whole in-process call: decoded picture -> Prediction
    predict_pool: Timing | None = None  # the same with OpenCV's thread pool left as it is (an app that does not set it)


@dataclass
class InputStages:
    input: str  # what was timed, e.g. "digit 28x28 PNG"
    read: Timing  # file bytes from the (warm) page cache
    decode: Timing  # bytes -> pixels (colour as stored, as a camera gives a frame)
    preprocess: Timing  # pixels -> uint8 model input (gray, ink, fit, centre)
    preprocess_1thread: Timing  # the same with OpenCV on one thread, as in classify's worker processes
    models: dict[str, ModelStages]
    decode_gray: Timing | None = None  # bytes -> gray pixels, as classify decodes a file (a JPEG's brightness alone)


@dataclass
class Throughput:
    model: str
    batch: int
    threads: int
    images_per_s: float
    us_per_image: float


@dataclass
class Verdict:
    fastest: str  # fastest model at batch 256 on one thread
    recommended: str  # fastest among the models whose accuracy equals the best (fp32 unless clearly slower)
    int8_speedup: float | None  # int8 images/s over fp32 images/s at batch 256, one thread
    message: str


@dataclass
class KerasReference:
    available: bool
    note: str
    model: str | None = None
    import_s: float | None = None  # import tensorflow + keras
    per_image: Timing | None = None  # model.predict(one image), the tutorials' way
    per_image_images_per_s: float | None = None
    batch_images_per_s: float | None = None  # model.predict(all, batch_size=256)
    agreement: float | None = None  # top-1 agreement with the first ONNX model
    accuracy: float | None = None


@dataclass
class ColdStart:
    command: list[str]
    runs: int
    import_cli_s: float  # median wall of `python -c "import edge_digit.cli"`
    classify_one_s: float  # median wall of `edge-digit classify ONE --quiet`
    classify_one_all_s: list[float] = field(default_factory=list)


@dataclass
class FolderRun:
    model: str
    command: list[str]
    images: int  # result lines printed
    seconds: float  # median wall, process start to exit
    images_per_s: float
    runs: list[float]
    exit_code: int
    peak_rss_mb: float  # largest single process: the CLI or one of its workers (wait4 ru_maxrss)
    peak_tree_pss_mb: float | None  # peak of the whole process tree's proportional set size (Linux)


@dataclass
class BenchReport:
    machine: Machine
    load_before: list[float]
    load_after: list[float]
    quiet: bool  # other processes used under QUIET_SHARE of the CPUs during the run: figures undisturbed
    settings: dict
    other_cpu_share: float | None = None  # CPU time of other processes during the run / (wall x cores)
    models: list[ModelInfo] = field(default_factory=list)
    stages: list[InputStages] = field(default_factory=list)
    throughput: list[Throughput] = field(default_factory=list)
    verdict: Verdict | None = None
    keras: KerasReference | None = None
    cold_start: ColdStart | None = None
    folder: list[FolderRun] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> "BenchReport":
        """The inverse of ``to_dict`` (a saved JSON report, e.g. to print it as a table)."""
        def timing(t):
            return None if t is None else Timing(**t)

        def stages(s):
            models = {k: ModelStages(**{n: timing(v) for n, v in m.items()}) for k, m in s["models"].items()}
            return InputStages(s["input"], timing(s["read"]), timing(s["decode"]), timing(s["preprocess"]),
                               timing(s["preprocess_1thread"]), models, timing(s.get("decode_gray")))

        keras = d.get("keras")
        return cls(Machine(**d["machine"]), d["load_before"], d["load_after"], d["quiet"], d["settings"],
                   d.get("other_cpu_share"), [ModelInfo(**m) for m in d.get("models", [])], [stages(s) for s in d.get("stages", [])],
                   [Throughput(**t) for t in d.get("throughput", [])],
                   None if d.get("verdict") is None else Verdict(**d["verdict"]),
                   None if keras is None else KerasReference(**{**keras, "per_image": timing(keras.get("per_image"))}),
                   None if d.get("cold_start") is None else ColdStart(**d["cold_start"]),
                   [FolderRun(**f) for f in d.get("folder", [])], d.get("ratios", {}), d.get("notes", []))
