"""The machine a benchmark runs on, and how busy other processes keep it."""

from __future__ import annotations

import os
import platform
import resource
import time

import cv2
import numpy as np

from ..workers import default_workers  # one worker per core this process may run on
from .results import Machine


def machine_info() -> Machine:
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and cpu in ("", platform.machine(), platform.processor()):
                    cpu = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    wanted = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
    simd = [f for f in wanted if f in flags]
    import onnxruntime

    return Machine(cpu=cpu, cores=default_workers(), simd=simd, vnni=bool({"avx512_vnni", "avx_vnni"} & flags),
                   python=platform.python_version(), onnxruntime=onnxruntime.__version__, opencv=cv2.__version__,
                   numpy=np.__version__, platform=platform.platform())


def cpu_mark() -> tuple[float, float, float] | None:
    """(busy CPU seconds of the whole machine, CPU seconds of this process and the children it has
    reaped, wall clock): the difference of two marks tells how much *other* work ran meanwhile."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return busy, me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, time.perf_counter()


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []
