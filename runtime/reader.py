"""Reading written numbers: every digit of a picture found, classified in one batch, read line by line.

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
from .files import iter_paths
from .preprocess import Box, find_ink, fit_digit, to_gray
from .segment import READ_KEEP_FRACTION, Segment, find_digits
from .workers import run_chunks

NO_DIGIT = "no digit found"  # ink, but only specks too small to be digits
UNSURE_MARK = "?"  # stands in the number string for a digit the model is unsure of
LINE_BREAK = " "  # between the lines of writing in the number string (one line per picture in a table)
# cutting a wide blob into touching digits (see choose_cut)
# (calibrated on MNIST *training* digits: wide single digits against touching pairs)
CUT_PARTS_SURE = 0.98  # every part must read at least this surely
KEEP_WHOLE_SURE = 0.99  # ... and the whole less surely than this
WIDE_FOR_ONE = 1.8  # ... unless the blob is this many writing heights wide (few single digits are)
# joining neighbours into one digit (a digit broken in two): the join must read this surely ...
JOIN_SURE = 0.95
PIECE_UNSURE = 0.9  # ... and one of the pieces less surely than this


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
    """A number read from a picture. ``number`` holds one character per digit in reading order
    (lines top to bottom, each left to right, a space between lines), with ``?`` for unsure
    digits; it is "" when no digit was found, and ``reason`` says why. ``digits`` are in the
    same order."""

    number: str
    digits: list[DigitReading] = field(default_factory=list)
    reason: str | None = None

    def to_dict(self) -> dict:
        out = {"number": self.number, "digits": [d.to_dict() for d in self.digits]}
        if self.reason:
            out["reason"] = self.reason
        return out


def choose_cut(whole: Prediction | None, parts: list[Prediction], width: float) -> bool:
    """Read a wide blob as touching digits rather than one? Always when it is too wide for one
    digit (``whole`` None). Otherwise only when every part reads surely and the whole does not,
    or the blob is wider than single digits come: the model reads touching pairs as one digit
    surprisingly surely, and a cut through one wide digit can read surely as two."""
    if whole is None:
        return True
    if not parts or min(p.confidence for p in parts) < CUT_PARTS_SURE:
        return False
    return whole.confidence < KEEP_WHOLE_SURE or width >= WIDE_FOR_ONE


def choose_join(join: float, pieces: tuple[float, float], short: bool) -> bool:
    """Read two neighbours as one digit broken in two (confidences; below 0: not readable)?
    When the join reads surely and a piece does not. When a piece is too short to be a digit of
    its own (``short``: a broken-off tail, a stroke lifted off), reading it as a digit is the
    unlikely answer even when it reads surely (a short stroke reads as a sure 1): then join
    whenever the join reads surely or at least as surely as the weaker piece."""
    if join < 0:
        return False
    if short:
        return join >= min(JOIN_SURE, min(pieces))
    return join >= JOIN_SURE and min(pieces) < PIECE_UNSURE


def read_gray(classifier: Classifier, gray: np.ndarray) -> Reading:
    """A uint8 gray picture -> the number written in it."""
    ink = find_ink(gray, keep_fraction=READ_KEEP_FRACTION)
    if ink is None:
        return Reading("", [], NO_INK)
    # every candidate reading of every slot goes into one batch
    segments: list[Segment] = []

    def add(*segs: Segment) -> list[int]:
        segments.extend(segs)
        return list(range(len(segments) - len(segs), len(segments)))

    slots = find_digits(ink)
    wholes = [None if s.must_cut else add(s.whole)[0] for s in slots]
    cuttings = [[add(*cut) for cut in s.cuts] for s in slots]
    joins = [add(s.join_next)[0] if s.join_next is not None else None for s in slots]
    prepared = [fit_digit(ink.layer(s.box, s.ids), classifier.contract) for s in segments]
    preds = classifier.predict_prepared(prepared)
    conf = [p.confidence if d is not None else -1.0 for p, d in zip(preds, prepared)]

    readings: list[list[int]] = []  # per slot: the segments it is read as
    for slot, whole, cuts in zip(slots, wholes, cuttings):
        usable = [c for c in cuts if min(conf[i] for i in c) >= 0]
        best = max(usable, key=lambda c: min(conf[i] for i in c), default=[])
        has_whole = whole is not None and conf[whole] >= 0
        if choose_cut(preds[whole] if has_whole else None, [preds[i] for i in best], slot.width):
            readings.append(best)
        else:
            readings.append([whole] if has_whole else [])
    chosen: list[int] = []
    lines: list[int] = []  # the line of writing of each chosen digit
    i = 0
    while i < len(slots):  # a digit broken in two (see choose_join)
        j = joins[i]
        if (j is not None and len(readings[i]) == 1 and len(readings[i + 1]) == 1
                and choose_join(conf[j], (conf[readings[i][0]], conf[readings[i + 1][0]]),
                                short=slots[i].short or slots[i + 1].short)):
            chosen.append(j)
            lines.append(slots[i].line)
            i += 2
            continue
        chosen.extend(readings[i])
        lines.extend([slots[i].line] * len(readings[i]))
        i += 1
    if not chosen:
        return Reading("", [], NO_DIGIT)
    digits = [DigitReading(preds[i].label, preds[i].confidence, segments[i].box, preds[i].reason) for i in chosen]
    unsure = sum(d.label is None for d in digits)
    return Reading(number_of(digits, lines), digits, f"{unsure} unsure digit{'s' if unsure > 1 else ''}" if unsure else None)


def number_of(digits: list[DigitReading], lines: list[int]) -> str:
    """The number string of digits in reading order, ``lines`` giving each one's line of writing."""
    chars = [UNSURE_MARK if d.label is None else str(d.label) for d in digits]
    return LINE_BREAK.join("".join(c for c, n in zip(chars, lines) if n == line) for line in dict.fromkeys(lines))


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


READ_CHUNK = 8  # pictures per task sent to a worker: a photo takes milliseconds, so few balance well
PARALLEL_MIN_FILES = 16  # fewer pictures: one process (forking workers would cost more than it saves)

# one file to read: (path, where to write its annotated copy or None)
_Job = tuple[str, "str | None"]


def _read_one(classifier: Classifier, path: str, target: str | None) -> ReadResult:
    from .annotate import write_annotated

    try:
        image = read_image(path, gray=target is None)  # the colours only to draw on
        reading = read_gray(classifier, to_gray(image))
        if target is not None:
            write_annotated(image, reading, Path(target))
    except ImageError as exc:
        return ReadResult(path, error=str(exc))
    return ReadResult(path, reading, annotated=target)


def _read_chunk(classifier: Classifier, jobs: list[_Job]) -> list[ReadResult]:
    return [_read_one(classifier, path, target) for path, target in jobs]


def read_files(classifier: Classifier, inputs: Iterable[str | os.PathLike],
               annotate_dir: str | os.PathLike | None = None, workers: int | None = None) -> Iterator[ReadResult]:
    """Stream readings for every image named by ``inputs`` (files, folders, globs), in order.
    A file that cannot be read (or annotated) becomes an error result; the run goes on.
    ``workers`` as in ``classify_files``: None reads in one process per core once there are at
    least PARALLEL_MIN_FILES pictures."""
    from .annotate import AnnotationNames

    names = AnnotationNames(Path(annotate_dir)) if annotate_dir is not None else None
    # names are claimed here, in input order, so they do not depend on which worker finishes first
    jobs = ((path, None if names is None else str(names.claim(path))) for path in iter_paths(inputs))
    for _, results in run_chunks(classifier, jobs, _read_chunk, chunk_size=READ_CHUNK, workers=workers,
                                 min_items=PARALLEL_MIN_FILES):
        yield from results
