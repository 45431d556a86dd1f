"""The `edge-digit` command as a user runs it, on the shipped model."""

import csv
import io
import json

from conftest import REPO, run_cli


def test_classify_samples_table():
    res = run_cli("classify", "samples/mnist")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 10
    for line in lines:
        path, label = line.split()[:2]
        assert path.endswith(f"digit-{label}.png"), line
    assert "10 classified" in res.stderr


def test_classify_jsonl_schema_and_top_k():
    res = run_cli("classify", "samples/photos", "--format", "jsonl", "--top", "2")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 10
    for row in rows:
        assert set(row) >= {"path", "label", "confidence", "top"}
        assert len(row["top"]) == 2 and row["top"][0][0] == row["label"]
        assert abs(row["confidence"] - row["top"][0][1]) < 1e-6
        assert row["path"].endswith(f"photo-{row['label']}.jpg"), row


def test_classify_csv_with_a_bad_file(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    res = run_cli("classify", str(REPO / "samples/mnist/digit-3.png"), str(bad), "--format", "csv")
    assert res.returncode == 1
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert rows[0]["label"] == "3" and rows[0]["error"] == ""
    assert rows[1]["label"] == "" and "not an image" in rows[1]["error"]
    assert "Traceback" not in res.stderr


def test_classify_globs_and_blank_picture(tmp_path):
    import numpy as np
    import cv2

    cv2.imwrite(str(tmp_path / "blank.png"), np.full((50, 50), 255, np.uint8))
    res = run_cli("classify", str(tmp_path / "*.png"), "-f", "jsonl")
    assert res.returncode == 0
    row = json.loads(res.stdout)
    assert row["label"] is None and row["reason"] == "no ink found"


def test_usage_errors_exit_2():
    assert run_cli("classify", "samples", "--format", "xml").returncode == 2
    assert run_cli("classify").returncode == 2
    assert run_cli("classify", "samples", "--model", "no-such.onnx").returncode == 2


def test_info_prints_the_embedded_contract():
    res = run_cli("info")
    assert res.returncode == 0, res.stderr
    meta = json.loads(res.stdout)
    assert meta["schema_version"] == 1 and meta["input_size"] == [28, 28] and meta["preprocess"] == "ink-fit-v2"
    assert meta["labels"] == [str(d) for d in range(10)]
    assert meta["second_opinion"]["precision"] == "fp32" and meta["second_opinion"]["extra"]["trained_with"]["epochs"] == 36


def test_help_explains_commands():
    res = run_cli("--help")
    assert res.returncode == 0
    for command in ("classify", "train", "export", "info"):
        assert command in res.stdout


def test_help_shows_install_hints_verbatim():
    # square brackets are literal text in help, not markup to swallow: the train extra must show
    res = run_cli("train", "--help")
    assert res.returncode == 0
    assert "edge-digit[train]" in res.stdout.replace("-\n", "-").replace(" ", "")


def test_recursive_glob_names_each_file_once(tmp_path):
    import shutil

    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(REPO / "samples/mnist/digit-1.png", tmp_path / "a")
    shutil.copy(REPO / "samples/mnist/digit-2.png", tmp_path / "a" / "b")
    res = run_cli("classify", str(tmp_path / "**"), "-f", "jsonl")
    assert res.returncode == 0, res.stderr
    assert sorted(json.loads(line)["label"] for line in res.stdout.splitlines()) == [1, 2]


def test_train_refuses_an_unknown_width():
    res = run_cli("train", "--width", "huge", "--data", "nothing.npz")
    assert res.returncode == 2
    assert "--width must be one of small, base, wide, wider" in res.stderr and "Traceback" not in res.stderr


def test_a_picture_on_standard_input():
    import subprocess
    import sys

    def run(*args: str, data: bytes) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "edge_digit.cli", *args], input=data, capture_output=True,
                              cwd=REPO, timeout=120)

    photo = (REPO / "samples/photos/photo-7.jpg").read_bytes()
    res = run("classify", "-", "--format", "jsonl", data=photo)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["path"] == "-" and json.loads(res.stdout)["label"] == 7
    res = run("read", "-", "--format", "jsonl", data=photo)
    assert res.returncode == 0 and json.loads(res.stdout)["number"] == "7", res.stderr
    res = run("classify", "-", "--format", "jsonl", data=b"")
    assert res.returncode == 1 and json.loads(res.stdout)["error"] == "-: nothing on standard input"
    res = run("classify", "-", "samples/mnist", data=photo)
    assert res.returncode == 2 and b"must be the only input" in res.stderr
