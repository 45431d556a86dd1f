"""Accuracy on a small committed sample of the real-world evaluation set (tests/data/realworld,
made by tests/bench/handwriting_set.py --small), through the same path as `edge-digit classify`
and `edge-digit read`. Floors sit a little below what the shipped model scores, so a regression
in preprocessing, reading or the model fails here. The full set is for tests/bench/bench_realworld.py."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from edge_digit.runtime.batch import classify_files
from edge_digit.runtime.reader import read_files

SAMPLE = Path(__file__).resolve().parent / "data" / "realworld"

GROUPS = {
    "photos": ("photo-paper", "photo-shadow", "photo-thick", "photo-fine", "photo-board", "photo-notebook", "formats"),
    "other-writers": ("scan-lowres", "scan-stretched", "writers-hand", "writers-fonts"),
    "mnist": ("mnist",),
    "no-digit": ("no-digit",),  # scored as the share answered "no digit"
    "numbers": ("numbers-4",),  # scored as whole numbers read exactly right
}
# Share right per group, set a little below what the shipped model scored on this sample
# (the shipped files alike, fp32 with its second opinion and int8 without: photos 66/70, other
# writers 40/40, MNIST 10/10, no-digit 6/10, numbers 10/10). Re-measure after retraining; raise them,
# never lower them to pass.
FLOORS = {"photos": 0.92, "other-writers": 0.925, "mnist": 0.9, "no-digit": 0.5, "numbers": 0.8}


def load() -> dict[str, list[tuple[Path, str]]]:
    out: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    with open(SAMPLE / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            out[row["condition"]].append((SAMPLE / row["file"], row["label"]))
    return out


@pytest.fixture(scope="module")
def scores(classifier) -> dict[str, float]:
    sample = load()
    result = {}
    for group, conditions in GROUPS.items():
        items = [item for c in conditions for item in sample[c]]
        assert items, f"the committed sample has no images for {group}"
        paths = [p for p, _ in items]
        if group == "numbers":
            got = [r.reading.number if r.error is None else None for r in read_files(classifier, paths)]
            right = sum(g == label for g, (_, label) in zip(got, items))
        else:
            preds = [r.prediction.label if r.error is None else "error" for r in classify_files(classifier, paths)]
            if group == "no-digit":
                right = sum(p is None for p in preds)
            else:
                right = sum(p is not None and str(p) == label for p, (_, label) in zip(preds, items))
        result[group] = right / len(items)
    return result


@pytest.mark.parametrize("group", list(GROUPS))
def test_accuracy_floor(scores, group):
    assert scores[group] >= FLOORS[group], f"{group}: {100 * scores[group]:.1f}% is below the floor {100 * FLOORS[group]:.1f}%"


def test_every_sample_file_decodes(classifier):
    sample = load()
    paths = [p for items in sample.values() for p, _ in items]
    assert len(paths) >= 100
    errors = [r for r in classify_files(classifier, paths) if r.error is not None]
    assert not errors, errors[:3]
