"""``edge-digit benchmark``: where the time goes, measured in one run, side by side.

* per-stage timings (read, decode, preprocess, inference, post-process, and the whole
  decoded picture -> Prediction call), p50/p90/p99 after warm-up, for an MNIST-sized digit
  (28x28 PNG) and a phone-photo-sized picture (640x480 JPEG);
* inference throughput at batch 1/32/256, for every model given (fp32 and int8 side by side),
  with one onnxruntime thread and with the default thread count;
* accuracy of each model on the same labelled digits, and which model to prefer: the fastest
  of those whose accuracy equals the best (int8 has to earn its place);
* the Keras reference (``model.predict`` per image, the tutorials' way) on the same model
  inputs, when TensorFlow is installed and a .keras file is given; run in a subprocess so its
  threads and import cost stay out of the other figures;
* process start: ``import edge_digit.cli`` and ``edge-digit classify one.png``, wall time;
* folder mode: a real ``edge-digit classify DIR --format jsonl`` subprocess, images/s counting
  process start, peak memory (largest process and the whole process tree).

Results are typed dataclasses; ``BenchReport.to_dict()`` is plain JSON. No TensorFlow import
here: only the Keras subprocess loads it. A benchmark, not a test: nothing here asserts speed.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from .classifier import Classifier
from .decode import decode_image, read_bytes
from .model_file import shipped_model
from .opencv_threads import one_opencv_thread
from .preprocess import to_model_input

BATCHES = (1, 32, 256)
THROUGHPUT_ROUNDS = 3  # turns each model takes per throughput figure (the median is reported)
EQUAL_ACCURACY = 0.001  # accuracies within 0.1 percentage point count as equal
# fp32 gives Keras' own answer: another file must be at least this much faster to be preferred
# (runs of the same model vary by several percent, so a smaller lead may be noise)
CLEAR_GAIN = 1.10
QUIET_SHARE = 0.05  # other processes using less than this share of the CPUs: figures are undisturbed


# -- results ------------------------------------------------------------------------------------
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


# -- the machine --------------------------------------------------------------------------------
def machine_info() -> Machine:
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and cpu in ("", platform.machine(), platform.processor()):
                    cpu = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    wanted = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
    simd = [f for f in wanted if f in flags]
    import onnxruntime

    return Machine(cpu=cpu, cores=_cores(), simd=simd, vnni=bool({"avx512_vnni", "avx_vnni"} & flags),
                   python=platform.python_version(), onnxruntime=onnxruntime.__version__, opencv=cv2.__version__,
                   numpy=np.__version__, platform=platform.platform())


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _cpu_mark() -> tuple[float, float, float] | None:
    """(busy CPU seconds of the whole machine, CPU seconds of this process and the children it has
    reaped, wall clock): the difference of two marks tells how much *other* work ran meanwhile."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return busy, me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, time.perf_counter()


def _load() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


# -- inputs -------------------------------------------------------------------------------------
@dataclass
class Inputs:
    """Labelled 28x28 digits (white on black, uint8) and their source."""

    digits: np.ndarray
    labels: np.ndarray | None
    source: str


def load_inputs(data: str | os.PathLike | None, limit: int) -> Inputs:
    """``data``: a keras-style mnist .npz (x_test/y_test, else x_train/y_train); None renders
    digits with OpenCV's fonts (labelled, deterministic, no files needed)."""
    if data is None:
        x, y = rendered_digits()
        return Inputs(x[:limit], y[:limit], "digits rendered with OpenCV fonts")
    from .errors import DataError

    try:
        with np.load(data) as d:
            xk, yk = ("x_test", "y_test") if "x_test" in d.files else ("x_train", "y_train")
            x, y = d[xk][:limit], d[yk][:limit] if yk in d.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{data}: not a keras-style mnist .npz ({exc})") from None
    if x.ndim != 3 or x.dtype != np.uint8:
        raise DataError(f"{data}: {xk} must be uint8 [N, H, W], not {x.dtype} {list(x.shape)}")
    return Inputs(np.ascontiguousarray(x), None if y is None else np.asarray(y).astype(np.int64), f"{data} ({xk})")


def rendered_digits() -> tuple[np.ndarray, np.ndarray]:
    """0-9 in OpenCV's Hershey fonts at a few stroke widths, drawn large and shrunk to 28x28."""
    fonts = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
             cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_PLAIN)
    xs, ys = [], []
    for font in fonts:
        for thick in (6, 9, 12):
            for digit in range(10):
                canvas = np.zeros((112, 112), np.uint8)
                scale = 3.2 if font != cv2.FONT_HERSHEY_PLAIN else 6.0
                (w, h), _ = cv2.getTextSize(str(digit), font, scale, thick)
                cv2.putText(canvas, str(digit), ((112 - w) // 2, (112 + h) // 2), font, scale, 255, thick, cv2.LINE_AA)
                xs.append(cv2.resize(canvas, (28, 28), interpolation=cv2.INTER_AREA))
                ys.append(digit)
    return np.stack(xs), np.array(ys, np.int64)


def photo_of(digit: np.ndarray, seed: int, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A phone-photo-like BGR picture of a 28x28 digit: dark ink on uneven, noisy paper."""
    rng = np.random.default_rng(seed)
    w, h = size
    side = int(min(w, h) * 0.55)
    ink = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
    gx = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    gy = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    paper = 200.0 + 22.0 * gx - 12.0 * gy + rng.normal(0.0, 3.0, (h, w)).astype(np.float32)
    x0, y0 = int(w * 0.4) - side // 2, int(h * 0.55) - side // 2
    paper[y0 : y0 + side, x0 : x0 + side] *= 1.0 - 0.75 * ink
    gray = np.clip(paper, 0, 255).astype(np.uint8)
    return cv2.merge([cv2.subtract(gray, 10), gray, cv2.add(gray, 6)])  # a warm cast, as under lamp light


# -- timing helpers -----------------------------------------------------------------------------
def _time_calls(fn: Callable, args: Sequence, iterations: int, warmup: int) -> Timing:
    """Call ``fn(arg)`` cycling through ``args``: ``warmup`` untimed calls, then ``iterations`` timed."""
    clock = time.perf_counter
    k = len(args)
    for i in range(warmup):
        fn(args[i % k])
    out = []
    for i in range(iterations):
        a = args[i % k]
        t = clock()
        fn(a)
        out.append(clock() - t)
    return Timing.of(out)


def _one_cv_thread(fn: Callable):
    with one_opencv_thread():
        return fn()


def _throughput(clf: Classifier, digits: np.ndarray, batch: int, seconds: float) -> float:
    """Images per second of ``infer`` on batches of ``batch`` model inputs."""
    reps = max(1, -(-batch // len(digits)))
    pool = np.concatenate([digits] * reps)[: max(batch, len(digits))]
    starts = list(range(0, len(pool) - batch + 1, batch)) or [0]
    for s in starts[:3]:
        clf.infer(pool[s : s + batch])  # warm-up
    done, t0, i = 0, time.perf_counter(), 0
    while True:
        s = starts[i % len(starts)]
        clf.infer(pool[s : s + batch])
        done += batch
        i += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and i >= 3:
            return done / elapsed


# -- the in-process benchmark -------------------------------------------------------------------
def find_models(given: Sequence[str | os.PathLike]) -> list[Path]:
    """The models to compare: those given, each with its int8 (or fp32) sibling when one sits
    beside it (``X.onnx`` / ``X-int8.onnx``; ``*-fp32.onnx`` / ``*-int8.onnx``); none given: the
    shipped models."""
    if not given:
        given = [shipped_model()]
    out: list[Path] = []
    for g in map(Path, given):
        out.append(g)
        stem = g.stem
        siblings = [g.with_name(stem + "-int8.onnx"), g.with_name(stem.replace("fp32", "int8") + g.suffix),
                    g.with_name(stem.replace("int8", "fp32") + g.suffix)]
        if stem.endswith("-int8"):
            siblings.append(g.with_name(stem[: -len("-int8")] + g.suffix))
        for s in siblings:
            if s != g and s.is_file() and s not in out and s not in map(Path, given):
                out.append(s)
                break
    return out


def _model_label(path: Path, taken: set[str]) -> str:
    return path.name if path.name not in taken else f"{path.parent.name}/{path.name}"


def run_inprocess(report: BenchReport, models: Sequence[Path], inputs: Inputs, *, iterations: int, warmup: int,
                  seconds: float, threads: Sequence[int], log: Callable[[str], None]) -> dict[str, Classifier]:
    """Stage timings, throughput, accuracy and the verdict, filled into ``report``."""
    classifiers: dict[str, Classifier] = {}
    for path in models:
        clf = Classifier(path, threads=1)
        label = _model_label(path, set(classifiers))
        classifiers[label] = clf
    first = next(iter(classifiers.values()))
    contract = first.contract

    # model inputs of the labelled digits, prepared once (the preprocessing does not depend on the model)
    log(f"preparing {len(inputs.digits)} digits")
    prepared = [first.prepare(d) for d in inputs.digits]
    found = np.array([p is not None for p in prepared])
    model_inputs = np.stack([p for p in prepared if p is not None]) if found.any() else np.zeros((1, *contract.input_size), np.uint8)

    base_labels = None
    for label, clf in classifiers.items():
        preds = clf.predict_prepared(prepared)
        got = np.array([-1 if p.label is None else p.label for p in preds])
        top1 = np.array([p.top[0][0] if p.top else -1 for p in preds])
        acc = float(np.mean(got == inputs.labels)) if inputs.labels is not None else None
        agree = None if base_labels is None else float(np.mean(top1 == base_labels))
        if base_labels is None:
            base_labels = top1
        report.models.append(ModelInfo(label, str(clf.model_path), clf.model_path.stat().st_size, clf.contract.precision,
                                       None if acc is None else round(acc, 5), None if agree is None else round(agree, 5)))

    # per-stage timings: a digit as MNIST stores it, and a photo-sized picture of one
    with tempfile.TemporaryDirectory(prefix="edge-digit-bench-") as tmp:
        n_distinct = min(len(inputs.digits), 64)
        kinds = [
            ("digit 28x28 PNG", [inputs.digits[i] for i in range(n_distinct)], ".png", iterations),
            ("photo 640x480 JPEG", [photo_of(inputs.digits[i], i) for i in range(min(n_distinct, 8))], ".jpg",
             max(10, iterations // 10)),
        ]
        for title, pictures, suffix, n in kinds:
            log(f"timing stages: {title}")
            paths = []
            for i, pic in enumerate(pictures):
                ok, buf = cv2.imencode(suffix, pic, [cv2.IMWRITE_JPEG_QUALITY, 90] if suffix == ".jpg" else [])
                p = os.path.join(tmp, f"{i}{suffix}")
                with open(p, "wb") as f:
                    f.write(buf.tobytes())
                paths.append(p)
            blobs = [read_bytes(p) for p in paths]
            decoded = [decode_image(b) for b in blobs]
            ready = [first.prepare(d) for d in decoded]
            ready = [r if r is not None else np.zeros(contract.input_size, np.uint8) for r in ready]
            singles = [r[None] for r in ready]
            stages = InputStages(
                input=title,
                read=_time_calls(read_bytes, paths, n, warmup),
                decode=_time_calls(decode_image, blobs, n, warmup),
                decode_gray=_time_calls(lambda b: decode_image(b, gray=True), blobs, n, warmup),
                preprocess=_time_calls(first.prepare, decoded, n, warmup),
                preprocess_1thread=_one_cv_thread(lambda: _time_calls(first.prepare, decoded, n, warmup)),
                models={},
            )
            for label, clf in classifiers.items():
                probs = [clf.infer(s) for s in singles]
                stages.models[label] = ModelStages(
                    inference=_time_calls(clf.infer, singles, n, warmup),
                    postprocess=_time_calls(clf.decide, probs, n, warmup),
                    # OpenCV on one thread, as `classify` and `live` run it
                    predict=_one_cv_thread(lambda: _time_calls(clf.predict, decoded, n, warmup)),
                    predict_pool=_time_calls(clf.predict, decoded, n, warmup),
                )
            report.stages.append(stages)

    # throughput of inference alone, per batch size, per thread count; the models take turns over
    # a few rounds and the median counts, so a passing disturbance does not pick the verdict
    for t in sorted(set(threads)):
        runners = {label: clf if t == 1 else Classifier(clf.model_path, threads=t) for label, clf in classifiers.items()}
        for b in BATCHES:
            log(f"throughput: batch {b} threads {t}")
            rounds = {label: [] for label in runners}
            for _ in range(THROUGHPUT_ROUNDS):
                for label, runner in runners.items():
                    rounds[label].append(_throughput(runner, model_inputs, b, seconds / THROUGHPUT_ROUNDS))
            for label, measured in rounds.items():
                ips = float(np.median(measured))
                report.throughput.append(Throughput(label, b, t, round(ips, 1), round(1e6 / ips, 2)))

    report.verdict = decide_verdict(report)
    return classifiers


def decide_verdict(report: BenchReport) -> Verdict:
    """The model to prefer: the fastest (batch 256, one thread) among those whose accuracy equals
    the best, unless fp32 is among them and within CLEAR_GAIN of it; and whether int8 earns its
    place on this CPU."""
    speed = {t.model: t.images_per_s for t in report.throughput if t.batch == max(BATCHES) and t.threads == 1}
    accs = {m.name: m.accuracy for m in report.models}
    fastest = max(speed, key=speed.get)
    known = [a for a in accs.values() if a is not None]
    best_acc = max(known) if known else None
    eligible = [m for m in speed if best_acc is None or accs[m] is None or accs[m] >= best_acc - EQUAL_ACCURACY]
    recommended = max(eligible, key=speed.get)
    prec = {m.name: m.precision for m in report.models}
    fp32 = next((m for m in speed if prec[m] == "fp32"), None)
    int8 = next((m for m in speed if prec[m] == "int8"), None)
    quicker = recommended  # the fastest of the accurate ones
    close = fp32 in eligible and prec[quicker] != "fp32" and speed[quicker] < CLEAR_GAIN * speed[fp32]
    if close:
        recommended = fp32
    ratio, parts = None, []
    if fp32 and int8:
        ratio = round(speed[int8] / speed[fp32], 3)
        cpu = "with VNNI" if report.machine.vnni else "without VNNI (no int8 dot-product instructions)"
        if ratio < 1.0:
            parts.append(f"int8 is SLOWER than fp32 on this CPU ({ratio:.2f}x at batch {max(BATCHES)}; CPU {cpu})")
        else:
            parts.append(f"int8 is {ratio:.2f}x fp32 at batch {max(BATCHES)} (CPU {cpu})")
        if accs.get(int8) is not None and accs.get(fp32) is not None:
            parts.append(f"accuracy fp32 {100 * accs[fp32]:.2f}%, int8 {100 * accs[int8]:.2f}%")
    if close:
        why = f" (the exact Keras answer; {quicker} is not {CLEAR_GAIN:.2f}x as fast)"
    elif recommended != fastest:
        why = f" (fastest is {fastest}, but less accurate)"
    else:
        why = ""
    parts.append(f"prefer {recommended}{why}")
    return Verdict(fastest, recommended, ratio, "; ".join(parts))


# -- Keras reference (subprocess) ---------------------------------------------------------------
_KERAS_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
t0 = time.perf_counter()
import numpy as np
import tensorflow as tf
import keras
t_import = time.perf_counter() - t0
model_path, x_path, n_single, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
x = np.load(x_path)
model = keras.models.load_model(model_path, compile=False)
for i in range(warmup):
    model.predict(x[i % len(x)][None], verbose=0)
single = []
for i in range(n_single):
    t = time.perf_counter()
    model.predict(x[i % len(x)][None], verbose=0)
    single.append(time.perf_counter() - t)
model.predict(x[:256], batch_size=256, verbose=0)
t = time.perf_counter()
probs = model.predict(x, batch_size=256, verbose=0)
batch_s = time.perf_counter() - t
np.save(x_path + ".labels.npy", np.argmax(probs, axis=1))
print(json.dumps({"import_s": t_import, "single": single, "batch_s": batch_s, "n": len(x)}))
"""


def run_keras(keras_model: str | os.PathLike | None, model_inputs: np.ndarray, onnx_labels: np.ndarray | None,
              labels: np.ndarray | None, *, single: int, warmup: int, timeout: float = 900) -> KerasReference:
    """``model.predict`` per image and in batches, on the very model inputs the ONNX models saw."""
    import importlib.util

    if keras_model is None:
        return KerasReference(False, "no Keras model given (--keras PATH); reference skipped")
    if not Path(keras_model).is_file():
        return KerasReference(False, f"{keras_model}: no such Keras model; reference skipped")
    if importlib.util.find_spec("tensorflow") is None:
        return KerasReference(False, "TensorFlow is not installed (the train extra); reference skipped")
    with tempfile.TemporaryDirectory(prefix="edge-digit-keras-") as tmp:
        x_path = os.path.join(tmp, "x.npy")
        np.save(x_path, model_inputs)
        try:
            proc = subprocess.run([sys.executable, "-c", _KERAS_SCRIPT, str(keras_model), x_path, str(single), str(warmup)],
                                  capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        except subprocess.TimeoutExpired:
            return KerasReference(False, f"Keras reference did not finish in {timeout:.0f} s", str(keras_model))
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]
            return KerasReference(False, f"Keras reference failed: {last}", str(keras_model))
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        k_labels = np.load(x_path + ".labels.npy")
    per = Timing.of(res["single"])
    return KerasReference(
        True, "model.predict in a separate process (TensorFlow threads and import kept out of the other figures)",
        str(keras_model), round(res["import_s"], 3), per, round(1e6 / per.p50_us, 1), round(res["n"] / res["batch_s"], 1),
        None if onnx_labels is None else round(float(np.mean(k_labels == onnx_labels)), 5),
        None if labels is None else round(float(np.mean(k_labels == labels)), 5))


# -- process start and folder mode (subprocesses) -----------------------------------------------
def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "edge_digit.cli", *args]


def _wall(cmd: list[str], timeout: float = 300) -> tuple[float, int]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    return time.perf_counter() - t, proc.returncode


def run_cold_start(one_image: str | os.PathLike, model: str | os.PathLike | None, runs: int) -> ColdStart:
    model_args = ["--model", str(model)] if model is not None else []
    cmd = cli_command("classify", str(one_image), "--quiet", *model_args)
    _wall(cmd)  # page cache warm-up
    imports = [_wall([sys.executable, "-c", "import edge_digit.cli"])[0] for _ in range(runs)]
    classify = [_wall(cmd)[0] for _ in range(runs)]
    return ColdStart(cmd, runs, round(float(np.median(imports)), 4), round(float(np.median(classify)), 4),
                     [round(v, 4) for v in classify])


def _children(pid: int) -> list[int]:
    """Child processes of ``pid``, from /proc (each thread lists the children it forked)."""
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out.extend(int(c) for c in f.read().split())
            except OSError:
                continue
    except OSError:
        pass
    return out


def _tree_pss_kb(root: int) -> int | None:
    """Proportional set size of ``root`` and its descendants, shared pages counted once
    (forked workers share most of their memory with the parent). None where /proc lacks it."""
    total, todo, seen = 0, [root], False
    while todo:
        pid = todo.pop()
        todo.extend(_children(pid))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        seen = True
                        break
        except OSError:
            continue
    return total if seen else None


def run_folder(folder: str | os.PathLike, model: str | os.PathLike | None, runs: int, label: str,
               sample_every: float = 0.2) -> FolderRun:
    """``edge-digit classify FOLDER --format jsonl`` as a user runs it: wall time from process
    start to exit, result lines counted as they stream, memory sampled from /proc."""
    model_args = ["--model", str(model)] if model is not None else []
    cmd = cli_command("classify", str(folder), "--format", "jsonl", "--quiet", *model_args)
    walls, lines, code, peak_pss, peak_rss_kb = [], 0, 0, None, 0
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        stop = threading.Event()
        peak = [None]

        def sample() -> None:
            while not stop.wait(sample_every):
                kb = _tree_pss_kb(proc.pid)
                if kb is not None and (peak[0] is None or kb > peak[0]):
                    peak[0] = kb

        sampler = threading.Thread(target=sample, daemon=True)
        if sys.platform.startswith("linux"):
            sampler.start()
        count = 0
        while chunk := proc.stdout.read(1 << 16):
            count += chunk.count(b"\n")
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)  # this run's own rusage: the CLI and the workers it reaped
        walls.append(time.perf_counter() - t)
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        peak_rss_kb = max(peak_rss_kb, usage.ru_maxrss)  # kilobytes on Linux
        stop.set()
        if sampler.is_alive():
            sampler.join()
        lines = count
        if peak[0] is not None:
            peak_pss = max(peak_pss or 0, peak[0])
    seconds = float(np.median(walls))
    return FolderRun(label, cmd, lines, round(seconds, 4), round(lines / seconds, 1) if seconds else 0.0,
                     [round(w, 4) for w in walls], code, round(peak_rss_kb / 1024, 1),
                     None if peak_pss is None else round(peak_pss / 1024, 1))


def first_image(folder: str | os.PathLike) -> str | None:
    from .files import iter_inputs

    for p in iter_inputs([folder]):
        if p.is_file():
            return str(p)
    return None


# -- the whole run ------------------------------------------------------------------------------
def run_benchmark(models: Sequence[str | os.PathLike] = (), *, data: str | os.PathLike | None = None,
                  limit: int = 2000, iterations: int = 1000, warmup: int = 50, seconds: float = 1.0,
                  keras_model: str | os.PathLike | None = None, keras_single: int = 50,
                  folder: str | os.PathLike | None = None, runs: int = 3, cold_runs: int = 3,
                  log: Callable[[str], None] = lambda line: None) -> BenchReport:
    """The in-process benchmark (stages, throughput, accuracy, Keras reference, process start);
    with ``folder``, folder mode instead: classify subprocesses on it (+ process start, Keras)."""
    paths = find_models(models)
    start = _cpu_mark()
    report = BenchReport(machine_info(), _load(), [], False,
                         {"models": [str(p) for p in paths], "data": None if data is None else str(data), "limit": limit,
                          "iterations": iterations, "warmup": warmup, "seconds": seconds,
                          "keras": None if keras_model is None else str(keras_model),
                          "folder": None if folder is None else str(folder), "runs": runs, "cold_runs": cold_runs})
    threads = [1, max(1, min(4, os.cpu_count() or 1))]  # one, and the runtime's default (model_file.session_options)
    inputs = load_inputs(data, limit)
    report.settings["inputs"] = inputs.source
    report.settings["images"] = int(len(inputs.digits))
    explicit_model = None if not models else paths[0]

    if folder is not None:
        for path in paths:
            log(f"folder: classify {folder} with {path.name} ({runs} runs)")
            report.folder.append(run_folder(folder, path, runs, path.name))
        one = first_image(folder)
        if one is not None and cold_runs > 0:
            log("process start")
            report.cold_start = run_cold_start(one, explicit_model, cold_runs)
        if keras_model is not None:
            clf = Classifier(paths[0], threads=1)
            ready = [r for r in (clf.prepare(d) for d in inputs.digits) if r is not None]
            x = to_model_input(np.stack(ready), clf.contract)
            log("Keras reference")
            report.keras = run_keras(keras_model, x, None, None, single=keras_single, warmup=5)
    else:
        classifiers = run_inprocess(report, paths, inputs, iterations=iterations, warmup=warmup, seconds=seconds,
                                    threads=threads, log=log)
        first = next(iter(classifiers.values()))
        if keras_model is not None:
            prepared = [first.prepare(d) for d in inputs.digits]
            keep = [i for i, p in enumerate(prepared) if p is not None]
            x = to_model_input(np.stack([prepared[i] for i in keep]), first.contract)
            onnx_labels = first.infer(np.stack([prepared[i] for i in keep])).argmax(1)
            labels = None if inputs.labels is None else inputs.labels[keep]
            log("Keras reference")
            report.keras = run_keras(keras_model, x, onnx_labels, labels, single=keras_single, warmup=5)
        else:
            report.keras = run_keras(None, model_inputs=np.zeros(0), onnx_labels=None, labels=None, single=0, warmup=0)
        if cold_runs > 0:
            with tempfile.TemporaryDirectory(prefix="edge-digit-bench-") as tmp:
                one = os.path.join(tmp, "one.png")
                cv2.imwrite(one, inputs.digits[0])
                log("process start")
                report.cold_start = run_cold_start(one, explicit_model, cold_runs)
    _ratios(report)
    report.load_after = _load()
    end = _cpu_mark()
    if start is not None and end is not None:
        other = max(0.0, (end[0] - start[0]) - (end[1] - start[1]))
        report.other_cpu_share = round(other / max((end[2] - start[2]) * report.machine.cores, 1e-9), 3)
        report.quiet = report.other_cpu_share < QUIET_SHARE
    if not report.quiet:
        share = "unknown" if report.other_cpu_share is None else f"{100 * report.other_cpu_share:.0f}%"
        report.notes.append(f"machine busy: other processes used {share} of the CPUs during this run (quiet: under "
                            f"{100 * QUIET_SHARE:.0f}%); the figures are disturbed; measure again on a quiet machine")
    return report


def _ratios(report: BenchReport) -> None:
    k = report.keras
    if k is not None and k.available and k.per_image_images_per_s:
        for run in report.folder:
            report.ratios[f"classify folder ({run.model}) / Keras per image"] = round(run.images_per_s / k.per_image_images_per_s, 1)
        for t in report.throughput:
            if t.batch == max(BATCHES) and t.threads == 1:
                report.ratios[f"inference batch {t.batch} ({t.model}) / Keras per image"] = round(t.images_per_s / k.per_image_images_per_s, 1)
        if k.batch_images_per_s:
            for t in report.throughput:
                if t.batch == max(BATCHES) and t.threads == 1:
                    report.ratios[f"inference batch {t.batch} ({t.model}) / Keras batch {max(BATCHES)}"] = round(t.images_per_s / k.batch_images_per_s, 2)


# -- the plain table ----------------------------------------------------------------------------
def format_table(r: BenchReport) -> str:
    m = r.machine
    out = [f"machine: {m.cpu}, {m.cores} cores, {' '.join(m.simd) or 'no SIMD flags read'}, VNNI: {'yes' if m.vnni else 'no'}",
           f"software: Python {m.python}, onnxruntime {m.onnxruntime}, OpenCV {m.opencv}, numpy {m.numpy}",
           f"load average: {r.load_before} before, {r.load_after} after; other processes' share of the CPUs during the run: "
           + ("unknown" if r.other_cpu_share is None else f"{100 * r.other_cpu_share:.1f}%")
           + ("  (quiet)" if r.quiet else "  (BUSY: figures disturbed)")]
    if r.models or (r.keras is not None and r.keras.available):
        out.append(f"inputs: {r.settings.get('images')} digits from {r.settings.get('inputs')}")
    if r.models:
        out += ["", "models"]
        rows = [["model", "precision", "bytes", "accuracy", "agreement"]]
        for mi in r.models:
            rows.append([mi.name, mi.precision, f"{mi.bytes:,}", "-" if mi.accuracy is None else f"{100 * mi.accuracy:.2f}%",
                         "-" if mi.agreement is None else f"{100 * mi.agreement:.2f}%"])
        out += _grid(rows)
    for st in r.stages:
        out += ["", f"stages, one {st.input} per call (microseconds, p50 / p90 / p99)"]
        rows = [["stage", "model", "p50", "p90", "p99"]]
        for name, title in (("read", "read"), ("decode", "decode"), ("decode_gray", "decode to gray (as classify)"),
                            ("preprocess", "preprocess"), ("preprocess_1thread", "preprocess, OpenCV 1 thread")):
            if getattr(st, name) is not None:
                rows.append([title, "-", *_pct(getattr(st, name))])
        for label, ms in st.models.items():
            for name, title in (("inference", "inference"), ("postprocess", "post-process"), ("predict", "decoded -> Prediction"),
                                ("predict_pool", "decoded -> Prediction, OpenCV pool")):
                if getattr(ms, name) is not None:
                    rows.append([title, label, *_pct(getattr(ms, name))])
        out += _grid(rows)
    if r.throughput:
        out += ["", "inference throughput (images/s)"]
        batches = sorted({t.batch for t in r.throughput})
        rows = [["model", "threads", *[f"batch {b}" for b in batches]]]
        keys = sorted({(t.model, t.threads) for t in r.throughput}, key=lambda k: ([m.name for m in r.models].index(k[0]) if k[0] in [m.name for m in r.models] else 0, k[1]))
        for model, th in keys:
            vals = {t.batch: t.images_per_s for t in r.throughput if t.model == model and t.threads == th}
            rows.append([model, str(th), *[f"{vals[b]:,.0f}" if b in vals else "-" for b in batches]])
        out += _grid(rows)
    if r.verdict:
        out += ["", f"verdict: {r.verdict.message}"]
    if r.keras is not None:
        k = r.keras
        out += [""]
        if k.available:
            out += [f"Keras reference ({k.model}): import tensorflow {k.import_s:.2f} s; model.predict per image "
                    f"p50 {k.per_image.p50_us / 1000:.2f} ms ({k.per_image_images_per_s:,.0f} images/s); "
                    f"batch {max(BATCHES)}: {k.batch_images_per_s:,.0f} images/s"
                    + ("" if k.agreement is None else f"; top-1 agreement with ONNX {100 * k.agreement:.2f}%")]
        else:
            out += [f"Keras reference: {k.note}"]
    if r.cold_start:
        c = r.cold_start
        out += ["", f"process start (median of {c.runs}): import edge_digit.cli {c.import_cli_s:.3f} s; "
                    f"classify one image {c.classify_one_s:.3f} s wall"]
    if r.folder:
        out += ["", "folder mode: edge-digit classify DIR --format jsonl (wall time includes process start)"]
        rows = [["model", "images", "seconds", "images/s", "peak RSS (largest process)", "peak PSS (process tree)", "exit"]]
        for f in r.folder:
            rows.append([f.model, f"{f.images:,}", f"{f.seconds:.3f}", f"{f.images_per_s:,.0f}", f"{f.peak_rss_mb:.0f} MB",
                         "-" if f.peak_tree_pss_mb is None else f"{f.peak_tree_pss_mb:.0f} MB", str(f.exit_code)])
        out += _grid(rows)
    if r.ratios:
        out += ["", "ratios"] + [f"  {k}: {v:,}x" for k, v in r.ratios.items()]
    for n in r.notes:
        out += ["", f"note: {n}"]
    return "\n".join(out)


def _pct(t: Timing) -> list[str]:
    return [f"{t.p50_us:,.1f}", f"{t.p90_us:,.1f}", f"{t.p99_us:,.1f}"]


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]
