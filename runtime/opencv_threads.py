"""OpenCV on one thread for the length of a job, its thread count restored after.

On digit-sized pictures OpenCV's thread pool costs more than it gives: it wakes its threads for
work too small to share (~0.2 ms of system time per image in a folder run; in the live loop,
a third more CPU per frame for the same latency: tests/bench/bench_live.py), and photos are no
slower on one thread.
The setting is process-wide, so the library sets it only inside its own long jobs (``classify``
runs, the live loop); an app classifying single digits in a loop can set it itself.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import cv2


@contextlib.contextmanager
def one_opencv_thread() -> Iterator[None]:
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)
