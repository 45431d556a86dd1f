"""Fuzzing the decode -> preprocess -> predict path (and the ONNX scan) with random bytes, damaged
copies of valid files and random arrays. Every input must end as a Prediction or a one-line
ImageError: never another exception, never a hang. Bounded for CI by max_examples and deadline;
EDGE_DIGIT_FUZZ_EXAMPLES=5000 runs longer (run with -s to see how the inputs ended)."""

from __future__ import annotations

import io
import math
import os
from collections import Counter

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from edge_digit import ImageError, Prediction
from edge_digit.runtime.decode import decode_image
from edge_digit.runtime.model_file import shipped_model
from edge_digit.runtime.onnx_scan import NotOnnx, external_refs

EXAMPLES = int(os.environ.get("EDGE_DIGIT_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=3000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
OUTCOMES: dict[str, Counter] = {}


@pytest.fixture(scope="module", autouse=True)
def report_outcomes():
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # damaged files make OpenCV chatty
    yield
    cv2.utils.logging.setLogLevel(level)
    for test, counts in OUTCOMES.items():
        print(f"\n{test}: {sum(counts.values())} inputs: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))


def _seeds() -> list[bytes]:
    """One digit encoded in every format the reader accepts: the starting points for damage."""
    with np.load(os.path.join(os.path.dirname(__file__), "data", "mnist-subset.npz")) as d:
        digit = d["x_test"][0]
    out = [cv2.imencode(ext, digit)[1].tobytes() for ext in (".png", ".jpg", ".bmp", ".pgm")]
    for fmt in ("GIF", "TIFF", "WEBP"):
        buf = io.BytesIO()
        Image.fromarray(digit).save(buf, fmt)
        out.append(buf.getvalue())
    return out


SEEDS = _seeds()


def check(classifier, outcome: str, data_or_array) -> None:
    """Run one input through the whole path and tally how it ended."""
    try:
        if isinstance(data_or_array, bytes):
            image = decode_image(data_or_array, "<fuzz>")
            assert image.ndim in (2, 3) and image.shape[0] > 0 and image.shape[1] > 0
        else:
            image = data_or_array
        pred = classifier.predict(image)
    except ImageError as exc:
        message = str(exc)
        assert message.startswith("<") and "\n" not in message, message
        cause = message.split(": ", 1)[1].split(" (")[0]
        OUTCOMES.setdefault(outcome, Counter())[f"refused: {cause[:40]}"] += 1
        return
    assert isinstance(pred, Prediction)
    assert math.isfinite(pred.confidence) and 0.0 <= pred.confidence <= 1.0
    OUTCOMES.setdefault(outcome, Counter())["no ink found" if pred.reason == "no ink found" else "classified"] += 1


@FUZZ
@given(data=st.binary(min_size=0, max_size=2048))
def test_random_bytes(classifier, data):
    check(classifier, "random bytes", data)


@st.composite
def damaged_files(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):  # overwrite a few bytes, headers included
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=64))  # insert
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # truncate
    return bytes(data)


@FUZZ
@given(data=damaged_files())
def test_damaged_copies_of_valid_files(classifier, data):
    check(classifier, "damaged files", data)


SHAPES = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=8),  # anything, mostly not a picture
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=64),  # gray
    st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 2, 3, 4])),  # channels
)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # float64 beyond float32: saturates
@FUZZ
@given(array=hnp.arrays(
    dtype=st.sampled_from([np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64, np.bool_]),
    shape=SHAPES,
))
def test_random_arrays(classifier, array):
    check(classifier, "random arrays", array)


@FUZZ
@given(data=st.one_of(
    st.binary(max_size=1024),
    st.builds(lambda cut, flips: _damage(cut, flips), st.floats(0, 1), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8)),
))
def test_onnx_scan_never_crashes(data):
    try:
        refs = external_refs(data)
    except NotOnnx:
        OUTCOMES.setdefault("onnx scan", Counter())["not onnx"] += 1
        return
    assert isinstance(refs, list)
    OUTCOMES.setdefault("onnx scan", Counter())["parsed"] += 1


_MODEL = shipped_model().read_bytes()


def _damage(cut: float, flips: list[tuple[float, int]]) -> bytes:
    data = bytearray(_MODEL[: max(1, int(len(_MODEL) * cut))])
    for where, value in flips:
        data[min(len(data) - 1, int(where * len(data)))] = value
    return bytes(data)
