"""The in-process benchmark: per-stage timings, inference throughput per batch size and thread
count, accuracy of each model, and which model to prefer."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from ..classifier import Classifier
from ..decode import decode_image, read_bytes
from ..model_file import shipped_model
from ..opencv_threads import one_opencv_thread
from .inputs import Inputs, photo_of
from .results import BenchReport, InputStages, ModelInfo, ModelStages, Throughput, Timing, Verdict

BATCHES = (1, 32, 256)
THROUGHPUT_ROUNDS = 3  # turns each model takes per throughput figure (the median is reported)
EQUAL_ACCURACY = 0.001  # accuracies within 0.1 percentage point count as equal
# fp32 gives Keras' own answer: another file must be at least this much faster to be preferred
# (runs of the same model vary by several percent, so a smaller lead may be noise)
CLEAR_GAIN = 1.10


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
