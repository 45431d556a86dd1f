"""Files handled a chunk at a time, in forked worker processes once a run is large enough, with
results in input order. Shared by ``classify`` and ``read`` over folders.

Each worker runs the whole job for its chunks (decode, preprocess, inference) with a classifier
of its own, so every core works and none waits on another stage. Work in flight is bounded (a
window of chunks per worker), so memory stays flat however many files a folder holds: paths are
pulled from the folder walk as work goes out, never listed and loaded up front.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import deque
from itertools import chain, islice
from typing import Callable, Iterator, TypeVar

from .classifier import Classifier
from .errors import EdgeDigitError
from .opencv_threads import one_opencv_thread

Item = TypeVar("Item")
# work(classifier, chunk) -> answer: a module-level function (it is sent to the workers by name)
Work = Callable[[Classifier, list], object]

CHUNKS_PER_WORKER = 4  # tasks in flight per worker: workers never wait, memory stays bounded


def default_workers() -> int:
    """Worker processes: one per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def parallel_available() -> bool:
    """Workers are forked: cheap (no re-import) and they inherit the classifier's contract. Only
    where fork is the safe, native way (Linux); elsewhere the job runs in this process."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def chunks_of(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    return iter(lambda: list(islice(items, size)), [])


def run_chunks(classifier: Classifier, items: Iterator[Item], work: Work, *, chunk_size: int,
               workers: int | None, min_items: int) -> Iterator[tuple[list[Item], object]]:
    """(chunk, work(classifier, chunk)) for consecutive chunks of ``items``, in order.

    ``workers``: None picks one per core once there are at least ``min_items`` items (fewer are
    done here: forking would cost more than it saves); 0 or 1 keeps everything in this process.
    Both ways run the same ``work`` on the same chunks, so they give the same answers."""
    n_workers = default_workers() if workers is None else workers
    if n_workers > 1 and parallel_available():
        enough = min_items if workers is None else 1
        head = list(islice(items, enough))
        if len(head) >= enough:
            yield from _in_workers(classifier, chunks_of(chain(head, items), chunk_size), work, n_workers)
            return
        items = iter(head)
    with one_opencv_thread():  # as in the workers
        for chunk in chunks_of(items, chunk_size):
            yield chunk, work(classifier, chunk)


_worker_classifier: Classifier | None = None


def _worker_init(classifier: Classifier) -> None:
    """In each forked worker: a session of its own, never the one inherited from the parent."""
    global _worker_classifier
    _worker_classifier = classifier.with_own_session()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the pool


def _in_worker(work: Work, chunk: list):
    return work(_worker_classifier, chunk)


def _named(item) -> str:
    """The file an item is about: a path, or a job tuple that starts with one."""
    return str(item[0] if isinstance(item, tuple) else item)


def _in_workers(classifier: Classifier, chunks: Iterator[list], work: Work,
                workers: int) -> Iterator[tuple[list, object]]:
    import multiprocessing  # here, not at the top: `classify one.png` never pays for it
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    window = max(2, workers * CHUNKS_PER_WORKER)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_init, initargs=(classifier,))
    try:
        # The workers fork on the first submit. OpenCV's thread pool does not survive a fork (a
        # child that touches it, even to resize it, waits forever on threads left behind), so
        # the parent runs single-threaded across the fork: children start with no pool and stay
        # serial (the parallelism is the processes). The parent gets its threads back after.
        with one_opencv_thread():
            in_flight = deque((chunk, pool.submit(_in_worker, work, chunk)) for chunk in islice(chunks, window))
        while in_flight:
            chunk, future = in_flight.popleft()
            try:
                answer = future.result()
            except BrokenProcessPool:  # killed (out of memory?) or crashed in a decoder
                raise EdgeDigitError(f"a worker process died while reading {_named(chunk[0])} .. {_named(chunk[-1])}; "
                                     "run again with --workers 1 to find the file") from None
            following = next(chunks, None)
            if following is not None:  # keep the window full before this process turns to output
                in_flight.append((following, pool.submit(_in_worker, work, following)))
            yield chunk, answer
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
