"""MNIST test accuracy measured through the CLI, as a user would get it.

    python tests/bench/bench_mnist.py [--data ../shared/data/mnist.npz] [--keep DIR] [--models FP32 INT8]

Writes the 10,000 test digits as PNG files, runs `edge-digit classify DIR --format jsonl`
for the shipped fp32 and int8 models, and prints accuracy and agreement.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]


def classify(folder: Path, model: str) -> dict[str, int | None]:
    cmd = [sys.executable, "-m", "edge_digit.cli", "classify", str(folder), "--format", "jsonl",
           "--min-confidence", "0", "--quiet", "--model", model]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    return {Path(r["path"]).name: r.get("label") for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mnist.npz"))
    ap.add_argument("--keep", help="write the PNG files here instead of a temporary folder")
    ap.add_argument("--models", nargs=2, metavar=("FP32", "INT8"), help="ONNX files to measure (default: the shipped pair)")
    args = ap.parse_args()
    with np.load(args.data) as d:
        x, y = d["x_test"], d["y_test"]
    from edge_digit.runtime.model_file import FP32_MODEL_NAME, INT8_MODEL_NAME, shipped_model

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(x):
            cv2.imwrite(str(folder / f"{i:05d}.png"), img)
        truth = {f"{i:05d}.png": int(v) for i, v in enumerate(y)}
        results = {}
        for name in args.models or [str(shipped_model(n)) for n in (FP32_MODEL_NAME, INT8_MODEL_NAME)]:
            got = classify(folder, name)
            correct = sum(got[k] == v for k, v in truth.items())
            results[name] = got
            print(f"{Path(name).name}: {correct}/{len(truth)} = {100 * correct / len(truth):.2f}% (through `edge-digit classify`)")
        a, b = results.values()
        agree = sum(a[k] == b[k] for k in truth)
        print(f"int8 vs fp32 top-1 agreement: {100 * agree / len(truth):.2f}%")


if __name__ == "__main__":
    main()
