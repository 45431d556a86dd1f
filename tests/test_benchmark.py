"""`edge-digit benchmark` and the parallel classify path. Deterministic: no timing is asserted,
only that the figures are there and well formed, and that going parallel changes no result."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

import edge_digit.runtime.batch as batch
import edge_digit.runtime.workers as workers
from conftest import run_cli
from edge_digit.runtime.batch import classify_files

STAGES = ("read", "decode", "decode_gray", "preprocess", "preprocess_1thread")
MODEL_STAGES = ("inference", "postprocess", "predict", "predict_pool")
TIMING_KEYS = {"n", "p50_us", "p90_us", "p99_us", "mean_us"}


def _check_timing(t: dict) -> None:
    assert set(t) == TIMING_KEYS
    assert t["n"] >= 1
    assert all(math.isfinite(t[k]) and t[k] >= 0 for k in TIMING_KEYS - {"n"})
    assert t["p50_us"] <= t["p90_us"] <= t["p99_us"]


def test_benchmark_json_has_every_stage_and_batch():
    res = run_cli("benchmark", "--format", "json", "--limit", "40", "--iterations", "3", "--warmup", "1",
                  "--seconds", "0.01", "--cold-runs", "1")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert {"machine", "models", "stages", "throughput", "verdict", "keras", "cold_start", "settings"} <= set(report)
    assert report["machine"]["cores"] >= 1 and isinstance(report["machine"]["vnni"], bool)
    names = [m["name"] for m in report["models"]]
    assert names and all(m["precision"] in ("fp32", "int8") for m in report["models"])
    assert [s["input"] for s in report["stages"]] == ["digit 28x28 PNG", "photo 640x480 JPEG"]
    for st in report["stages"]:
        for stage in STAGES:
            _check_timing(st[stage])
        assert list(st["models"]) == names
        for per_model in st["models"].values():
            for stage in MODEL_STAGES:
                _check_timing(per_model[stage])
    for name in names:
        assert sorted(t["batch"] for t in report["throughput"] if t["model"] == name and t["threads"] == 1) == [1, 32, 256]
    assert all(t["images_per_s"] > 0 for t in report["throughput"])
    assert report["verdict"]["recommended"] in names
    assert report["keras"]["available"] is False and "--keras" in report["keras"]["note"]
    assert report["cold_start"]["classify_one_s"] > 0 and report["cold_start"]["import_cli_s"] > 0


def test_benchmark_table_and_folder_mode(tmp_path, mnist_subset):
    for i, img in enumerate(mnist_subset["x_test"][:12]):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), img)
    res = run_cli("benchmark", "--folder", str(tmp_path), "--runs", "1", "--cold-runs", "0")
    assert res.returncode == 0, res.stderr
    assert "folder mode" in res.stdout and "images/s" in res.stdout
    res = run_cli("benchmark", "--folder", str(tmp_path), "--runs", "1", "--cold-runs", "0", "--format", "json")
    runs = json.loads(res.stdout)["folder"]
    assert runs and all(r["images"] == 12 and r["exit_code"] == 0 and r["peak_rss_mb"] > 0 for r in runs)
    assert all("--format" in r["command"] and "jsonl" in r["command"] for r in runs)


def test_benchmark_usage_errors():
    assert run_cli("benchmark", "--format", "xml").returncode == 2
    assert run_cli("benchmark", "--folder", "no-such-folder").returncode == 2


# -- the parallel classify path ----------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory, mnist_subset):
    """300 files: MNIST digits, a blank picture, and bad files among them (sorted order)."""
    folder = tmp_path_factory.mktemp("mixed")
    for i, img in enumerate(mnist_subset["x_test"][:296]):
        cv2.imwrite(str(folder / f"{i:04d}.png"), img)
    cv2.imwrite(str(folder / "0100b-blank.png"), np.full((40, 40), 255, np.uint8))
    (folder / "0007b-garbage.png").write_bytes(b"this is not a PNG")
    (folder / "0200b-empty.jpg").write_bytes(b"")
    (folder / "0250b-truncated.png").write_bytes((folder / "0250.png").read_bytes()[:60])
    return folder


def _rows(results) -> list[dict]:
    return [r.to_dict() for r in results]


def test_parallel_gives_the_sequential_results_in_order(classifier, mixed_folder):
    sequential = _rows(classify_files(classifier, [mixed_folder], batch_size=32, workers=0))
    parallel = _rows(classify_files(classifier, [mixed_folder], batch_size=32, workers=2))
    assert len(sequential) == 300
    assert parallel == sequential  # same order, same errors, bit-identical probabilities
    errors = [i for i, r in enumerate(parallel) if "error" in r]
    assert [parallel[i]["path"].rsplit("/", 1)[1] for i in errors] == \
        ["0007b-garbage.png", "0200b-empty.jpg", "0250b-truncated.png"]
    assert any(r.get("reason") == "no ink found" for r in parallel)


def test_large_runs_go_parallel_by_themselves(classifier, mixed_folder, monkeypatch):
    calls = []
    real = workers._in_workers
    monkeypatch.setattr(workers, "_in_workers", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    monkeypatch.setattr(batch, "PARALLEL_MIN_FILES", 100)
    monkeypatch.setattr(workers, "default_workers", lambda: 2)
    auto = _rows(classify_files(classifier, [mixed_folder]))
    assert calls == [2] if workers.parallel_available() else calls == []
    assert auto == _rows(classify_files(classifier, [mixed_folder], workers=1))
    calls.clear()
    few = sorted(mixed_folder.glob("00[0-4]?.png"))  # 50 files: below the threshold, one process
    assert len(_rows(classify_files(classifier, few))) == 50 and calls == []


def test_parallel_path_streams_its_input(classifier, mixed_folder, monkeypatch):
    """Paths are pulled as work goes out, not all listed and loaded first."""
    files = sorted(mixed_folder.iterdir())
    pulled = []

    def paths():
        for f in files:
            pulled.append(f)
            yield f

    results = classify_files(classifier, paths(), batch_size=8, workers=2)
    first = next(results)
    assert first.path == str(files[0])
    assert len(pulled) < len(files) // 2  # a bounded window ahead, not the whole input
    rest = list(results)
    assert len(rest) == len(files) - 1
    results.close()


def test_a_worker_that_dies_is_an_error_not_a_hang(classifier, mixed_folder, monkeypatch):
    import os

    from edge_digit.runtime.errors import EdgeDigitError

    real = batch._decode

    def dying(path):  # runs in the forked worker
        if str(path).endswith("0150.png"):
            os._exit(3)
        return real(path)

    monkeypatch.setattr(batch, "_decode", dying)
    with pytest.raises(EdgeDigitError, match="worker process died"):
        list(classify_files(classifier, [mixed_folder], workers=2))


def test_verdict_prefers_fp32_unless_int8_is_clearly_faster():
    from types import SimpleNamespace

    from edge_digit.runtime.bench.inprocess import BATCHES, decide_verdict
    from edge_digit.runtime.bench.results import ModelInfo, Throughput

    def verdict(fp32_speed, int8_speed, int8_accuracy=0.994, second="int8"):
        models = [ModelInfo("a.onnx", "a.onnx", 1, "fp32", 0.994, None), ModelInfo("a-int8.onnx", "a-int8.onnx", 1, second, int8_accuracy, 0.999)]
        speeds = [Throughput("a.onnx", max(BATCHES), 1, fp32_speed, 0.0), Throughput("a-int8.onnx", max(BATCHES), 1, int8_speed, 0.0)]
        return decide_verdict(SimpleNamespace(throughput=speeds, models=models, machine=SimpleNamespace(vnni=True)))

    assert verdict(10_000, 10_100).recommended == "a.onnx"  # 1 % is noise: the exact answer wins
    assert "not 1.10x as fast" in verdict(10_000, 10_100).message
    assert verdict(10_000, 12_000).recommended == "a-int8.onnx"
    assert verdict(10_000, 12_000, int8_accuracy=0.98).recommended == "a.onnx"  # faster but less accurate
    assert verdict(10_000, 10_100, second="fp32").recommended == "a-int8.onnx"  # two fp32 files: simply the faster
    slower = verdict(10_000, 8_000)
    assert slower.recommended == "a.onnx" and "SLOWER" in slower.message and slower.int8_speedup == 0.8
