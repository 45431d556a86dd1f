"""Reading written numbers: every digit of a picture found, classified in one batch, left to right.

    from edge_digit import Classifier
    from edge_digit.runtime.reader import read_number
    reading = read_number(Classifier(), "meter.jpg")
    reading.number            # "1234"; an unsure digit shows as "?" (its label is None)
    reading.digits[0].box     # Box(x, y, w, h) in the picture's pixels

The digits go through the same shared preprocessing as single pictures (``find_ink`` ->
``Ink.layer`` -> ``fit_digit``); only the grouping of ink into digits (segment.py) is added.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .classifier import NO_INK, Classifier, ImageLike, Prediction, as_gray
from .decode import read_image
from .errors import ImageError
from .files import iter_inputs
from .preprocess import Box, find_ink, fit_digit, to_gray
from .segment import READ_KEEP_FRACTION, Segment, find_digits

NO_DIGIT = "no digit found"  # ink, but only specks too small to be digits
UNSURE_MARK = "?"  # stands in the number string for a digit the model is unsure of
KEEP_WHOLE_ABOVE = 0.8  # a wide blob read as one digit at least this confidently is not cut


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number: ``label`` None when the model is unsure (see ``reason``)."""

    label: int | None
    confidence: float
    box: Box
    reason: str | None = None

    def to_dict(self) -> dict:
        out = {"label": self.label, "confidence": round(self.confidence, 6), "box": self.box.as_list()}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Reading:
    """A number read from a picture. ``number`` holds one character per digit, left to right,
    with ``?`` for unsure digits; it is "" when no digit was found, and ``reason`` says why."""

    number: str
    digits: list[DigitReading] = field(default_factory=list)
    reason: str | None = None

    def to_dict(self) -> dict:
        out = {"number": self.number, "digits": [d.to_dict() for d in self.digits]}
        if self.reason:
            out["reason"] = self.reason
        return out


def choose_cut(whole: Prediction | None, parts: list[Prediction]) -> bool:
    """Read a wide blob as touching digits rather than one? Yes when it is too wide for one digit
    (``whole`` None), or when the model is unsure of it as one digit and surer of every part."""
    if whole is None:
        return True
    if not parts or whole.confidence >= KEEP_WHOLE_ABOVE:
        return False
    return min(p.confidence for p in parts) > whole.confidence


def read_gray(classifier: Classifier, gray: np.ndarray) -> Reading:
    """A uint8 gray picture -> the number written in it."""
    ink = find_ink(gray, keep_fraction=READ_KEEP_FRACTION)
    if ink is None:
        return Reading("", [], NO_INK)
    # every candidate reading of every slot goes into one batch
    contract = classifier.contract
    segments: list[Segment] = []
    plan: list[tuple[int | None, list[int]]] = []  # per slot: index of the whole, indices of the parts
    for slot in find_digits(ink):
        whole = None
        if not slot.must_cut:
            whole = len(segments)
            segments.append(slot.whole)
        parts = list(range(len(segments), len(segments) + len(slot.parts)))
        segments.extend(slot.parts)
        plan.append((whole, parts))
    prepared = [fit_digit(ink.layer(s.box, s.ids), contract) for s in segments]
    preds = classifier.predict_prepared(prepared)
    chosen: list[int] = []
    for whole, parts in plan:
        found = [i for i in parts if prepared[i] is not None]
        if whole is not None and prepared[whole] is None:
            whole_pred = None if found else Prediction(None, 0.0, [], NO_INK)
        else:
            whole_pred = preds[whole] if whole is not None else None
        if choose_cut(whole_pred, [preds[i] for i in found]):
            chosen.extend(found)
        elif whole is not None and prepared[whole] is not None:
            chosen.append(whole)
    if not chosen:
        return Reading("", [], NO_DIGIT)
    digits = [DigitReading(preds[i].label, preds[i].confidence, segments[i].box, preds[i].reason) for i in chosen]
    number = "".join(UNSURE_MARK if d.label is None else str(d.label) for d in digits)
    unsure = sum(d.label is None for d in digits)
    return Reading(number, digits, f"{unsure} unsure digit{'s' if unsure > 1 else ''}" if unsure else None)


def read_number(classifier: Classifier, image: ImageLike) -> Reading:
    """A picture (path, array in OpenCV's BGR(A) order, or PIL image) -> the number written in it."""
    return read_gray(classifier, as_gray(image))


@dataclass(frozen=True)
class ReadResult:
    """The reading of one file, or why it could not be read; ``annotated`` is where its
    annotated copy was written (when asked for)."""

    path: str
    reading: Reading | None = None
    error: str | None = None
    annotated: str | None = None

    def to_dict(self) -> dict:
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        out = {"path": self.path, **self.reading.to_dict()}
        if self.annotated:
            out["annotated"] = self.annotated
        return out


def read_files(classifier: Classifier, inputs: Iterable[str | os.PathLike],
               annotate_dir: str | os.PathLike | None = None) -> Iterator[ReadResult]:
    """Stream readings for every image named by ``inputs`` (files, folders, globs), in order.
    A file that cannot be read (or annotated) becomes an error result; the run goes on."""
    from .annotate import AnnotationNames, write_annotated

    names = AnnotationNames(Path(annotate_dir)) if annotate_dir is not None else None
    for path in iter_inputs(inputs):
        try:
            image = read_image(path)
            reading = read_gray(classifier, to_gray(image))
            target = None
            if names is not None:
                target = str(write_annotated(image, reading, names.claim(path)))
        except ImageError as exc:
            yield ReadResult(str(path), error=str(exc))
            continue
        yield ReadResult(str(path), reading, annotated=target)
