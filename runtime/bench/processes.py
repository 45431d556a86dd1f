"""Process start and folder mode: real ``edge-digit classify`` subprocesses, timed from process
start to exit, with memory sampled from /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np

from .results import ColdStart, FolderRun


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
    from ..files import iter_inputs

    for p in iter_inputs([folder]):
        if p.is_file():
            return str(p)
    return None
