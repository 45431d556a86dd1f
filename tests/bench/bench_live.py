"""Per-frame latency of the live loop on one core, for 640x480 frames holding 1, 4 and 10 digits.

    python tests/bench/bench_live.py [--frames 300] [--opencv-threads 1]

Each frame goes through exactly what `edge-digit live` does per frame (gray conversion, the
multi-digit reader: find ink, group, preprocess, one batched inference), on one onnxruntime
thread and, as `live` runs it, one OpenCV thread (--opencv-threads 0 leaves OpenCV's pool as it
is, to see what it costs). "CPU ms" is the CPU time of the whole process per frame.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/videos.py

from edge_digit import Classifier  # noqa: E402
from edge_digit.runtime.preprocess import to_gray  # noqa: E402
from edge_digit.runtime.reader import read_gray  # noqa: E402
from videos import pick_digits, scene  # noqa: E402

LAYOUTS = {1: ("7", 90, 40), 4: ("2019", 90, 40), 10: ("0123456789", 52, 10)}  # number, side, gap
WRITERS = 5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--opencv-threads", type=int, default=1,
                    help="OpenCV's thread count (1, as `edge-digit live` runs; 0: OpenCV's own default)")
    args = ap.parse_args()
    if args.opencv_threads:
        cv2.setNumThreads(args.opencv_threads)
    clf = Classifier(threads=1)
    data = Path(__file__).resolve().parents[1] / "data" / "mnist-subset.npz"
    with np.load(data) as d:
        # five writers' digits, a set per frame in turn: "read right" is not decided by one odd digit
        writers = [pick_digits(d["x_test"], d["y_test"], clf, skip=k) for k in range(WRITERS)]
    rng = np.random.default_rng(0)
    print(f"command: python tests/bench/bench_live.py --frames {args.frames} --opencv-threads {args.opencv_threads}"
          f" (OpenCV on {cv2.getNumThreads()} threads)")
    print(f"{'digits':>6}  {'p50 ms':>7}  {'p99 ms':>7}  {'CPU ms':>7}  {'read right':>10}")
    for n, (number, side, gap) in LAYOUTS.items():
        frames = [scene(writers[i % WRITERS], number, int(rng.integers(10, 640 - n * (side + gap) + gap - 10)),
                        int(rng.integers(20, 480 - side - 20)), side, gap, rng) for i in range(20)]
        for f in frames[:5]:  # warm-up
            read_gray(clf, to_gray(f))
        times, right = [], 0
        cpu = time.process_time()  # all threads of this process: what OpenCV's pool costs shows here
        for i in range(args.frames):
            f = frames[i % len(frames)]
            t = time.perf_counter()
            reading = read_gray(clf, to_gray(f))
            times.append((time.perf_counter() - t) * 1e3)
            right += reading.number == number
        cpu_ms = (time.process_time() - cpu) * 1e3 / args.frames
        p50, p99 = np.percentile(times, [50, 99])
        print(f"{n:>6}  {p50:7.2f}  {p99:7.2f}  {cpu_ms:7.2f}  {100 * right / args.frames:9.1f}%")


if __name__ == "__main__":
    main()
