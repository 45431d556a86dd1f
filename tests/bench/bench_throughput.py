"""Reproduce the figures in BENCHMARKS.md (a benchmark script, not a test: pytest does not
collect it, and nothing here asserts a speed).

    python tests/bench/bench_throughput.py --mnist /path/to/mnist.npz --work /tmp/edge-digit-bench

1. writes the 10,000 MNIST test digits as PNG files (WORK/mnist-test/), and a 100,000-file
   folder of hard links to them (WORK/mnist-100k/, 10 links per file: no extra disk space);
2. runs, one after the other, each as a user would (a fresh process, output to a pipe):
   - ``edge-digit benchmark --folder WORK/mnist-test [--keras K]``    (end-to-end, process start)
   - ``edge-digit classify WORK/mnist-test --format jsonl --workers 1`` (one process, for comparison)
   - ``edge-digit benchmark --folder WORK/mnist-100k --runs 1``       (peak memory of a long run)
   - ``edge-digit benchmark --data MNIST --limit 10000 [--keras K]``  (stages, batches, fp32 vs int8)
3. prints the tables and writes the JSON reports to WORK/*.json.

Check ``uptime`` first: figures taken while other work runs (load average above 0.5 on a
2-core machine) are disturbed, and the reports say so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def make_folders(mnist: Path, work: Path, copies: int) -> tuple[Path, Path]:
    import cv2
    import numpy as np

    test_dir, big_dir = work / "mnist-test", work / f"mnist-{copies * 10}k"
    with np.load(mnist) as d:
        x = d["x_test"]
    if not test_dir.is_dir() or len(os.listdir(test_dir)) != len(x):
        test_dir.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(x):
            cv2.imwrite(str(test_dir / f"{i:05d}.png"), img)
    if copies and (not big_dir.is_dir() or len(os.listdir(big_dir)) != copies * len(x)):
        big_dir.mkdir(parents=True, exist_ok=True)
        for c in range(copies):
            for i in range(len(x)):
                link = big_dir / f"{c:02d}-{i:05d}.png"
                if not link.exists():
                    os.link(test_dir / f"{i:05d}.png", link)
    return test_dir, big_dir


def edge_digit(*args: str, out: Path | None = None) -> str:
    cmd = [sys.executable, "-m", "edge_digit.cli", *args]
    print("$ edge-digit " + " ".join(args), file=sys.stderr, flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode not in (0, 1):
        raise SystemExit(f"failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    if out is not None:
        out.write_text(res.stdout)
    return res.stdout


def show(path: Path) -> None:
    from edge_digit.runtime.bench.results import BenchReport
    from edge_digit.runtime.bench.table import format_table

    print(format_table(BenchReport.from_dict(json.loads(path.read_text()))) + "\n", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mnist", type=Path, required=True, help="keras-style mnist.npz")
    ap.add_argument("--work", type=Path, default=Path("/tmp/edge-digit-bench"))
    ap.add_argument("--keras", type=Path, default=None, help="the .keras model for the reference (train extra)")
    ap.add_argument("--model", type=Path, action="append", default=[], help="ONNX model(s) (default: shipped)")
    ap.add_argument("--copies", type=int, default=10, help="the big folder holds COPIES x 10,000 links (0: skip)")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()

    print(f"load average: {os.getloadavg()}", file=sys.stderr)
    test_dir, big_dir = make_folders(a.mnist, a.work, a.copies)
    models = [x for m in a.model for x in ("--model", str(m))]
    keras = ["--keras", str(a.keras)] if a.keras else []

    # end-to-end first, before anything else has run
    edge_digit("benchmark", "--folder", str(test_dir), "--runs", str(a.runs), "--cold-runs", "5", "--format", "json",
               *models, *keras, out=a.work / "folder-10k.json")
    show(a.work / "folder-10k.json")
    t = time.perf_counter()
    edge_digit("classify", str(test_dir), "--format", "jsonl", "--quiet", "--workers", "1", *models[:2],
               out=a.work / "one-process.jsonl")
    print(f"one process (--workers 1): 10,000 images in {time.perf_counter() - t:.2f} s wall\n")
    if a.copies:
        edge_digit("benchmark", "--folder", str(big_dir), "--runs", "1", "--cold-runs", "0", "--format", "json",
                   *models, out=a.work / "folder-big.json")
        show(a.work / "folder-big.json")
    edge_digit("benchmark", "--data", str(a.mnist), "--limit", "10000", "--format", "json", *models, *keras,
               out=a.work / "stages.json")
    show(a.work / "stages.json")
    print(f"load average: {os.getloadavg()}; JSON reports in {a.work}", file=sys.stderr)


if __name__ == "__main__":
    main()
