"""A whole ``edge-digit benchmark`` run: the in-process benchmark or folder mode, the Keras
reference, process start, the ratios between them, and whether other processes disturbed it."""

from __future__ import annotations

import os
import tempfile
from typing import Callable, Sequence

import cv2
import numpy as np

from ..classifier import Classifier
from ..model_file import default_threads
from ..preprocess import to_model_input
from .inprocess import BATCHES, find_models, run_inprocess
from .inputs import load_inputs
from .keras_reference import run_keras
from .machine import cpu_mark, load_average, machine_info
from .processes import first_image, run_cold_start, run_folder
from .results import BenchReport

QUIET_SHARE = 0.05  # other processes using less than this share of the CPUs: figures are undisturbed


def run_benchmark(models: Sequence[str | os.PathLike] = (), *, data: str | os.PathLike | None = None,
                  limit: int = 2000, iterations: int = 1000, warmup: int = 50, seconds: float = 1.0,
                  keras_model: str | os.PathLike | None = None, keras_single: int = 50,
                  folder: str | os.PathLike | None = None, runs: int = 3, cold_runs: int = 3,
                  log: Callable[[str], None] = lambda line: None) -> BenchReport:
    """The in-process benchmark (stages, throughput, accuracy, Keras reference, process start);
    with ``folder``, folder mode instead: classify subprocesses on it (+ process start, Keras)."""
    paths = find_models(models)
    start = cpu_mark()
    report = BenchReport(machine_info(), load_average(), [], False,
                         {"models": [str(p) for p in paths], "data": None if data is None else str(data), "limit": limit,
                          "iterations": iterations, "warmup": warmup, "seconds": seconds,
                          "keras": None if keras_model is None else str(keras_model),
                          "folder": None if folder is None else str(folder), "runs": runs, "cold_runs": cold_runs})
    threads = [1, default_threads()]  # one, and the runtime's default
    inputs = load_inputs(data, limit)
    report.settings["inputs"] = inputs.source
    report.settings["images"] = int(len(inputs.digits))
    explicit_model = None if not models else paths[0]

    if folder is not None:
        for path in paths:
            log(f"folder: classify {folder} with {path.name} ({runs} runs)")
            report.folder.append(run_folder(folder, path, runs, path.name))
        one = first_image(folder)
        if one is not None and cold_runs > 0:
            log("process start")
            report.cold_start = run_cold_start(one, explicit_model, cold_runs)
        if keras_model is not None:
            clf = Classifier(paths[0], threads=1)
            ready = [r for r in (clf.prepare(d) for d in inputs.digits) if r is not None]
            x = to_model_input(np.stack(ready), clf.contract)
            log("Keras reference")
            report.keras = run_keras(keras_model, x, None, None, single=keras_single, warmup=5)
    else:
        classifiers = run_inprocess(report, paths, inputs, iterations=iterations, warmup=warmup, seconds=seconds,
                                    threads=threads, log=log)
        first = next(iter(classifiers.values()))
        if keras_model is not None:
            prepared = [first.prepare(d) for d in inputs.digits]
            keep = [i for i, p in enumerate(prepared) if p is not None]
            x = to_model_input(np.stack([prepared[i] for i in keep]), first.contract)
            onnx_labels = first.infer(np.stack([prepared[i] for i in keep])).argmax(1)
            labels = None if inputs.labels is None else inputs.labels[keep]
            log("Keras reference")
            report.keras = run_keras(keras_model, x, onnx_labels, labels, single=keras_single, warmup=5)
        else:
            report.keras = run_keras(None, model_inputs=np.zeros(0), onnx_labels=None, labels=None, single=0, warmup=0)
        if cold_runs > 0:
            with tempfile.TemporaryDirectory(prefix="edge-digit-bench-") as tmp:
                one = os.path.join(tmp, "one.png")
                cv2.imwrite(one, inputs.digits[0])
                log("process start")
                report.cold_start = run_cold_start(one, explicit_model, cold_runs)
    _ratios(report)
    report.load_after = load_average()
    end = cpu_mark()
    if start is not None and end is not None:
        other = max(0.0, (end[0] - start[0]) - (end[1] - start[1]))
        report.other_cpu_share = round(other / max((end[2] - start[2]) * report.machine.cores, 1e-9), 3)
        report.quiet = report.other_cpu_share < QUIET_SHARE
    if not report.quiet:
        share = "unknown" if report.other_cpu_share is None else f"{100 * report.other_cpu_share:.0f}%"
        report.notes.append(f"machine busy: other processes used {share} of the CPUs during this run (quiet: under "
                            f"{100 * QUIET_SHARE:.0f}%); the figures are disturbed; measure again on a quiet machine")
    return report


def _ratios(report: BenchReport) -> None:
    k = report.keras
    if k is not None and k.available and k.per_image_images_per_s:
        for run in report.folder:
            report.ratios[f"classify folder ({run.model}) / Keras per image"] = round(run.images_per_s / k.per_image_images_per_s, 1)
        for t in report.throughput:
            if t.batch == max(BATCHES) and t.threads == 1:
                report.ratios[f"inference batch {t.batch} ({t.model}) / Keras per image"] = round(t.images_per_s / k.per_image_images_per_s, 1)
        if k.batch_images_per_s:
            for t in report.throughput:
                if t.batch == max(BATCHES) and t.threads == 1:
                    report.ratios[f"inference batch {t.batch} ({t.model}) / Keras batch {max(BATCHES)}"] = round(t.images_per_s / k.batch_images_per_s, 2)
