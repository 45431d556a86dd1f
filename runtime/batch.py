"""Classifying a stream of files: decode, preprocess and infer them a chunk at a time, and yield
results in input order. A file that cannot be read becomes an error result; the run goes on.

Two paths, giving identical results (the same code classifies the same chunks):

* sequential, in this process: for a few files, where starting workers would cost more than
  it saves (``edge-digit classify one.png`` stays a single process);
* parallel, once a run reaches ``PARALLEL_MIN_FILES`` files on a machine with several cores:
  forked worker processes, each with its own one-thread onnxruntime session, classify chunks
  of paths end to end and send back the probabilities (40 bytes an image) and error strings;
  this process turns them into results, in input order. Every core runs the whole pipeline,
  so none waits on another stage. Work in flight is bounded (a window of chunks per worker),
  so memory stays flat however many files a folder holds: paths are streamed from the folder
  walk, never listed and loaded up front.
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


# what classifying a chunk sends back: (probabilities of the files with ink, ink found per file, error per file)
_Answer = tuple["np.ndarray | None", list[bool], list["str | None"]]


def _classify_chunk(classifier: Classifier, paths: Sequence[str]) -> _Answer:
    """One inference for a chunk of files."""
    prepared = _prepare_run(classifier, paths)
    digits = [d for d, _ in prepared if d is not None]
    probs = classifier.infer(np.stack(digits)) if digits else None
    return probs, [d is not None for d, _ in prepared], [err for _, err in prepared]


def _results(classifier: Classifier, paths: Sequence[str], answer: _Answer) -> Iterator[FileResult]:
    probs, found, errors = answer
    for path, pred, err in zip(paths, classifier.predictions(probs, found), errors):
        yield FileResult(path, error=err) if err is not None else FileResult(path, pred)


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

    ``batch_size``: files classified together, with one inference. ``workers``: processes that
    classify chunks of files; None picks one per core once there are
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


def _chunks(paths: Iterator[str], size: int) -> Iterator[list[str]]:
    return iter(lambda: list(islice(paths, size)), [])


def _classify_sequential(classifier: Classifier, paths: Iterator[str], batch_size: int) -> Iterator[FileResult]:
    with one_opencv_thread():  # as in the workers
        for chunk in _chunks(paths, batch_size):
            yield from _results(classifier, chunk, _classify_chunk(classifier, chunk))


# -- the parallel path --------------------------------------------------------------------------
_worker_classifier: Classifier | None = None


def _worker_init(classifier: Classifier) -> None:
    """In each forked worker: a session of its own, never the one inherited from the parent."""
    global _worker_classifier
    _worker_classifier = classifier.with_own_session()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the pool


def _worker_classify(paths: list[str]) -> _Answer:
    return _classify_chunk(_worker_classifier, paths)


def _classify_parallel(classifier: Classifier, paths: Iterator[str], batch_size: int,
                       workers: int) -> Iterator[FileResult]:
    import multiprocessing  # here, not at the top: `classify one.png` never pays for it
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunks = _chunks(paths, batch_size)
    window = max(2, workers * CHUNKS_PER_WORKER)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_init, initargs=(classifier,))
    try:
        # The workers fork on the first submit. OpenCV's thread pool does not survive a fork (a
        # child that touches it, even to resize it, waits forever on threads left behind), so
        # the parent runs single-threaded across the fork: children start with no pool and stay
        # serial (the parallelism is the processes). The parent gets its threads back after.
        with one_opencv_thread():
            in_flight = deque((chunk, pool.submit(_worker_classify, chunk)) for chunk in islice(chunks, window))
        while in_flight:
            chunk, future = in_flight.popleft()
            try:
                answer = future.result()
            except BrokenProcessPool:  # killed (out of memory?) or crashed in a decoder
                raise EdgeDigitError(f"a worker process died while reading {chunk[0]} .. {chunk[-1]}; "
                                     "run again with --workers 1 to find the file") from None
            following = next(chunks, None)
            if following is not None:  # keep the window full before this process turns to output
                in_flight.append((following, pool.submit(_worker_classify, following)))
            yield from _results(classifier, chunk, answer)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
