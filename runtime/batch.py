"""Classifying a stream of files: decode and preprocess each, infer in batches, yield results
in input order. A file that cannot be read becomes an error result; the run goes on.

Two paths, giving identical results (same preprocessing code, same inference batches):

* sequential, in this process: for a few files, where starting workers would cost more than
  it saves (``edge-digit classify one.png`` stays a single process);
* parallel, once a run reaches ``PARALLEL_MIN_FILES`` files on a machine with several cores:
  forked worker processes read, decode and preprocess chunks of paths and send back the
  28x28 uint8 model inputs (784 bytes an image) and error strings; this process runs the
  batched inference and yields results in input order. Work in flight is bounded (a window of
  chunks per worker), so memory stays flat however many files a folder holds: paths are
  streamed from the folder walk, never listed and loaded up front.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import deque
from dataclasses import dataclass
from itertools import chain, islice
from typing import Iterable, Iterator, Sequence

import numpy as np

from .classifier import Classifier, Prediction, as_gray
from .errors import EdgeDigitError, ImageError
from .files import iter_paths
from .opencv_threads import one_opencv_thread
from .preprocess import normalize

PARALLEL_MIN_FILES = 512  # fewer files: one process (forking workers would cost more than it saves)
CHUNK_FILES = 64  # paths per task sent to a worker: small enough to balance, large enough to amortise
CHUNKS_PER_WORKER = 4  # tasks in flight per worker: workers never wait, memory stays bounded
RUN_PIXELS = 1 << 20  # decoded pixels that end a run of files preprocessed together


@dataclass(frozen=True)
class FileResult:
    path: str
    prediction: Prediction | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        return {"path": self.path, **self.prediction.to_dict()}


# one item of a block: (path, model input or None when no ink, error or None)
_Item = tuple[str, "np.ndarray | None", "str | None"]


def _decode(path: str | os.PathLike) -> tuple[np.ndarray | None, str | None]:
    try:
        return as_gray(path), None
    except ImageError as exc:
        return None, str(exc)


def _prepare_run(classifier: Classifier, paths: Sequence[str]) -> list[tuple[np.ndarray | None, str | None]]:
    """(model input or None when no ink, error or None) per path. Files are decoded a run at a
    time and the run then preprocessed: each stage's code stays in the CPU's caches, about a
    fifth less CPU per 28x28 PNG than decoding and preprocessing file by file. A run ends once
    it holds RUN_PIXELS decoded pixels, so a folder of large photos holds one or two at a time."""
    out: list[tuple[np.ndarray | None, str | None]] = []
    run: list[tuple[int, np.ndarray]] = []
    held = 0

    def preprocess_run() -> None:
        for i, gray in run:
            out[i] = (normalize(gray, classifier.contract), None)
        run.clear()

    for path in paths:
        gray, err = _decode(path)
        out.append((None, err))
        if gray is not None:
            run.append((len(out) - 1, gray))
            held += gray.size
            if held >= RUN_PIXELS:
                preprocess_run()
                held = 0
    preprocess_run()
    return out


def _finish(classifier: Classifier, block: Sequence[_Item]) -> Iterator[FileResult]:
    """One inference for a block of prepared files; results in the block's order."""
    preds = iter(classifier.predict_prepared([d for _, d, err in block if err is None]))
    for path, _, err in block:
        yield FileResult(path, error=err) if err is not None else FileResult(path, next(preds))


def default_workers() -> int:
    """Worker processes for the parallel path: one per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def parallel_available() -> bool:
    """Workers are forked: cheap (no re-import) and they inherit the classifier's contract. Only
    where fork is the safe, native way (Linux); elsewhere the sequential path serves."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def classify_files(classifier: Classifier, inputs: Iterable[str | os.PathLike], batch_size: int = 256,
                   workers: int | None = None) -> Iterator[FileResult]:
    """Stream results for every image named by ``inputs`` (files, folders, globs), in input order.

    ``workers``: processes that decode and preprocess; None picks one per core once there are
    at least PARALLEL_MIN_FILES files, 0 or 1 keeps everything in this process.
    """
    paths = iter_paths(inputs)
    n_workers = default_workers() if workers is None else workers
    if n_workers > 1 and parallel_available():
        enough = PARALLEL_MIN_FILES if workers is None else 1
        head = list(islice(paths, enough))
        if len(head) >= enough:
            yield from _classify_parallel(classifier, chain(head, paths), batch_size, n_workers)
            return
        paths = iter(head)
    yield from _classify_sequential(classifier, paths, batch_size)


def _classify_sequential(classifier: Classifier, paths: Iterator[str], batch_size: int) -> Iterator[FileResult]:
    with one_opencv_thread():  # as in the workers
        block: list[_Item] = []
        for chunk in iter(lambda: list(islice(paths, CHUNK_FILES)), []):
            for path, (digit, err) in zip(chunk, _prepare_run(classifier, chunk)):
                block.append((path, digit, err))
                if len(block) >= batch_size:
                    yield from _finish(classifier, block)
                    block = []
        if block:
            yield from _finish(classifier, block)


# -- the parallel path --------------------------------------------------------------------------
_worker_classifier: Classifier | None = None


def _worker_init(classifier: Classifier) -> None:
    """In each forked worker. Only ``prepare`` (decoding and preprocessing: OpenCV, numpy) runs
    here, never the onnxruntime session the classifier inherited from the parent."""
    global _worker_classifier
    _worker_classifier = classifier
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the pool


def _worker_prepare(paths: list[str]) -> tuple[bytes, list[bool], list[str | None]]:
    """A chunk of paths -> (model inputs of the files with ink, as one uint8 buffer; ink found
    per file; error per file). One small message back instead of an object per image."""
    digits, found, errors = [], [], []
    for digit, err in _prepare_run(_worker_classifier, paths):
        errors.append(err)
        found.append(digit is not None)
        if digit is not None:
            digits.append(digit)
    data = np.stack(digits).tobytes() if digits else b""
    return data, found, errors


def _classify_parallel(classifier: Classifier, paths: Iterator[str], batch_size: int,
                       workers: int) -> Iterator[FileResult]:
    import multiprocessing  # here, not at the top: `classify one.png` never pays for it
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    shape = tuple(classifier.contract.input_size)
    chunks = iter(lambda: list(islice(paths, CHUNK_FILES)), [])
    window = max(2, workers * CHUNKS_PER_WORKER)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_init, initargs=(classifier,))
    try:
        # The workers fork on the first submit. OpenCV's thread pool does not survive a fork (a
        # child that touches it, even to resize it, waits forever on threads left behind), so
        # the parent runs single-threaded across the fork: children start with no pool and stay
        # serial (the parallelism is the processes). The parent gets its threads back after.
        with one_opencv_thread():
            in_flight = deque((chunk, pool.submit(_worker_prepare, chunk)) for chunk in islice(chunks, window))
        block: list[_Item] = []
        while in_flight:
            chunk, future = in_flight.popleft()
            try:
                data, found, errors = future.result()
            except BrokenProcessPool:  # killed (out of memory?) or crashed in a decoder
                raise EdgeDigitError(f"a worker process died while reading {chunk[0]} .. {chunk[-1]}; "
                                     "run again with --workers 1 to find the file") from None
            following = next(chunks, None)
            if following is not None:  # keep the window full before this process turns to inference
                in_flight.append((following, pool.submit(_worker_prepare, following)))
            digits = np.frombuffer(data, np.uint8).reshape(-1, *shape)
            j = 0
            for path, ink, err in zip(chunk, found, errors):
                if ink:
                    block.append((path, digits[j], None))
                    j += 1
                else:
                    block.append((path, None, err))
                if len(block) >= batch_size:  # the same blocks as the sequential path: identical batches
                    yield from _finish(classifier, block)
                    block = []
        if block:
            yield from _finish(classifier, block)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
