"""Accuracy per real-world condition, through the same code path as `edge-digit classify`
(runtime.batch.classify_files) and `edge-digit read` (runtime.reader.read_files); the tutorials'
recipe (PIL convert('L') -> resize 28x28 -> /255) on the same ONNX model as the peer baseline;
and preprocessing timings.

    python tests/bench/handwriting_set.py --out /tmp/realworld --count 1000
    python tests/bench/bench_realworld.py --set /tmp/realworld [--model M.onnx] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shlex
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_digit.runtime.batch import classify_files
from edge_digit.runtime.classifier import Classifier
from edge_digit.runtime.preprocess import normalize
from edge_digit.runtime.reader import read_files
from edge_digit.runtime.second_look import BELOW as SECOND_LOOK_BELOW

NUMBER_CONDITIONS = ("numbers-4",)
NO_DIGIT_CONDITIONS = ("no-digit",)
# what the issue asks of each condition (accuracy; for no-digit, the share answered "no digit")
TARGETS = {
    "photo-paper": 0.99, "photo-shadow": 0.99, "photo-thick": 0.99, "photo-fine": 0.99, "photo-board": 0.99,
    "photo-notebook": 0.99,
    "formats": 0.99, "scan-lowres": 0.97, "scan-stretched": 0.97, "writers-hand": 0.97, "writers-fonts": 0.97,
    "mnist": 0.996, "numbers-4": 0.98,
}


@dataclass
class Row:
    condition: str
    n: int
    accuracy: float  # right answers / all (a null label counts as wrong, except for no-digit)
    no_answer: float  # share with label null (unsure or no ink)
    failed: int  # files that could not be read
    baseline: float | None  # the tutorials' recipe on the same model
    target: float | None
    extra: dict


def load_set(root: Path) -> dict[str, list[tuple[Path, str, str]]]:
    by_cond: dict[str, list[tuple[Path, str, str]]] = defaultdict(list)
    with open(root / "labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            by_cond[r["condition"]].append((root / r["file"], r["label"], r["source"]))
    return dict(by_cond)


def tutorial_recipe(clf: Classifier, paths: list[Path]) -> np.ndarray:
    """What the tutorials do: PIL convert('L'), resize to 28x28, /255, argmax. No other step."""
    from PIL import Image

    xs = []
    for p in paths:
        with Image.open(p) as im:
            xs.append(np.asarray(im.convert("L").resize((28, 28)), np.float32) / 255.0)
    x = np.stack(xs)[..., None]
    c = clf.contract
    probs = np.concatenate([clf.session.run([c.output_name], {c.input_name: x[i : i + 256]})[0] for i in range(0, len(x), 256)])
    return probs.argmax(axis=1)


def score_digits(clf: Classifier, name: str, items: list[tuple[Path, str, str]], baseline: bool, by_source: bool) -> Row:
    paths = [p for p, _, _ in items]
    results = list(classify_files(clf, paths))
    want_none = name in NO_DIGIT_CONDITIONS
    right, none, failed = 0, 0, 0
    per_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    mistakes: dict[str, int] = defaultdict(int)
    for (path, label, source), res in zip(items, results):
        if res.error is not None:
            failed += 1
            continue
        got = res.prediction.label
        none += got is None
        ok = got is None if want_none else (got is not None and str(got) == label)
        right += ok
        per_source[source][0] += ok
        per_source[source][1] += 1
        if not ok:
            mistakes[f"{label or '-'}->{'-' if got is None else got}"] += 1
    base = None
    if baseline:
        pred = tutorial_recipe(clf, paths)
        base = 0.0 if want_none else float(np.mean([str(int(p)) == label for p, (_, label, _) in zip(pred, items)]))
    extra = {"mistakes": dict(sorted(mistakes.items(), key=lambda kv: -kv[1])[:8])}
    if by_source:
        extra["by_source"] = {s: round(a / max(n, 1), 4) for s, (a, n) in sorted(per_source.items())}
    n = len(items)
    return Row(name, n, right / n, none / n, failed, base, TARGETS.get(name), extra)


def score_numbers(clf: Classifier, name: str, items: list[tuple[Path, str, str]]) -> Row:
    paths = [p for p, _, _ in items]
    exact = count_ok = digit_ok = digit_n = none = failed = 0
    wrong: list[str] = []
    for (path, label, _), res in zip(items, read_files(clf, paths)):
        if res.error is not None:
            failed += 1
            continue
        got = res.reading.number
        exact += got == label
        count_ok += len(got) == len(label)
        none += "?" in got
        if len(got) == len(label):
            digit_ok += sum(a == b for a, b in zip(got, label))
        digit_n += len(label)
        if got != label and len(wrong) < 8:
            wrong.append(f"{label}->{got or '-'}")
    n = len(items)
    extra = {"digit_count_right": round(count_ok / n, 4), "digit_accuracy": round(digit_ok / max(digit_n, 1), 4),
             "mistakes": wrong}
    return Row(name, n, exact / n, none / n, failed, None, TARGETS.get(name), extra)


def p50_us(fn, inputs: list, runs: int) -> float:
    times = []
    for i in range(runs):
        x = inputs[i % len(inputs)]
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e6)


def timings(clf: Classifier, sets: dict[str, list[tuple[Path, str, str]]], runs: int) -> dict[str, float]:
    """p50 of the shared preprocessing (decoded array -> model input), without decoding or inference,
    with OpenCV on one thread as `edge-digit classify` and `live` run it."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return _timings(clf, sets, runs)
    finally:
        cv2.setNumThreads(threads)


def _timings(clf: Classifier, sets: dict[str, list[tuple[Path, str, str]]], runs: int) -> dict[str, float]:
    out = {}
    photos = [p for p, _, _ in sets.get("photo-paper", [])[:20]]
    if photos:
        bgr = [cv2.resize(cv2.imread(str(p), cv2.IMREAD_COLOR), (640, 480), interpolation=cv2.INTER_AREA) for p in photos]
        gray = [cv2.cvtColor(b, cv2.COLOR_BGR2GRAY) for b in bgr]
        normalize(bgr[0], clf.contract)  # warm up
        out["photo_640x480_bgr_us"] = p50_us(lambda a: normalize(a, clf.contract), bgr, runs)
        out["photo_640x480_gray_us"] = p50_us(lambda a: normalize(a, clf.contract), gray, runs)
    mnist = [p for p, _, _ in sets.get("mnist", [])[:200]]
    if mnist:
        small = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in mnist]
        normalize(small[0], clf.contract)
        out["mnist_28x28_us"] = p50_us(lambda a: normalize(a, clf.contract), small, runs * 5)
    return out


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:6.2f}%"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Real-world accuracy per condition (see tests/bench/handwriting_set.py).")
    ap.add_argument("--set", type=Path, required=True, help="Folder written by handwriting_set.py.")
    ap.add_argument("--model", type=Path, default=None, help="ONNX model (default: the shipped model).")
    ap.add_argument("--min-confidence", type=float, default=0.5, help="As `edge-digit classify --min-confidence`.")
    ap.add_argument("--second-look", type=float, default=SECOND_LOOK_BELOW, help="As `edge-digit classify --second-look`.")
    ap.add_argument("--conditions", default=None, help="Comma-separated subset (default: all in the set).")
    ap.add_argument("--json", type=Path, default=None, help="Also write the results as JSON here.")
    ap.add_argument("--no-baseline", action="store_true", help="Skip the tutorials' recipe.")
    ap.add_argument("--by-source", action="store_true", help="Break accuracy down by writer/source.")
    ap.add_argument("--timing-runs", type=int, default=300, help="Preprocessing runs per timing (0: skip).")
    args = ap.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    print("# reproduce: python tests/bench/bench_realworld.py " + " ".join(shlex.quote(a) for a in argv))

    clf = Classifier(args.model, min_confidence=args.min_confidence, second_look=args.second_look)
    digest = hashlib.sha256(clf.model_path.read_bytes()).hexdigest()[:16]
    print(f"# model: {clf.model_path} (sha256 {digest}), min-confidence {args.min_confidence}, second look below {args.second_look}")
    set_info = args.set / "set.json"
    if set_info.is_file():
        print(f"# set: {json.loads(set_info.read_text()).get('command')}")
    sets = load_set(args.set)
    names = [n.strip() for n in args.conditions.split(",")] if args.conditions else list(sets)
    rows = []
    for name in names:
        items = sets[name]
        t = time.perf_counter()
        if name in NUMBER_CONDITIONS:
            row = score_numbers(clf, name, items)
        else:
            row = score_digits(clf, name, items, not args.no_baseline, args.by_source)
        row.extra["seconds"] = round(time.perf_counter() - t, 1)
        rows.append(row)

    print(f"\n{'condition':<16}{'n':>6}  {'edge-digit':>10}  {'no answer':>9}  {'tutorial':>9}  {'target':>7}  ok")
    for r in rows:
        verdict = "" if r.target is None else ("yes" if r.accuracy >= r.target else "NO")
        label = r.condition + (" *" if r.condition in NO_DIGIT_CONDITIONS else "")
        print(f"{label:<16}{r.n:>6}  {pct(r.accuracy):>10}  {pct(r.no_answer):>9}  {pct(r.baseline):>9}  {pct(r.target):>7}  {verdict}")
    print("* no-digit: the share answered 'no digit' (label null); numbers-4: whole numbers read exactly right")
    for r in rows:
        if r.extra.get("mistakes") or r.extra.get("by_source"):
            print(f"  {r.condition}: " + json.dumps({k: v for k, v in r.extra.items() if k != "seconds"}))

    timing = timings(clf, sets, args.timing_runs) if args.timing_runs else {}
    if timing:
        print("\npreprocessing p50 (decoded array -> model input, this machine):")
        for k, v in timing.items():
            print(f"  {k:<24}{v:9.1f} us")
    if args.json:
        args.json.write_text(json.dumps({"command": "python tests/bench/bench_realworld.py " + " ".join(argv),
                                         "model": str(clf.model_path), "model_sha256_16": digest,
                                         "rows": [asdict(r) for r in rows], "timing_us": timing}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
