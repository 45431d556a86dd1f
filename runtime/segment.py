"""Finding the digits of a written number: ink components -> one segment per digit, left to right.

``find_ink`` gives the connected ink blobs of a picture. A digit is not always one blob (the
bar of a 5 or 7 drawn apart, a 4 in two strokes, a broken pen line) and one blob is not always
one digit (two digits written touching). The rules below work on blob boxes only, relative to
the height of the writing, so they hold at any resolution:

1. pieces that overlap strongly in x and sit close in y are one digit (broken strokes);
2. what is left much smaller than the writing is noise (specks, dust, a full stop);
3. a segment wider than a digit is cut where the column profile of its ink is lowest; unless
   it is far too wide for one digit, the classifier then says which reading it is surer of.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .preprocess import Box, Ink, union

READ_KEEP_FRACTION = 0.005  # find_ink's noise floor for numbers: keep small pieces, judged below
MERGE_OVERLAP = 0.5  # x-overlap, as a share of the narrower piece, that makes two pieces one digit
MERGE_GAP = 0.3  # largest vertical gap between pieces of one digit, in writing heights
MERGE_MAX_HEIGHT = 1.35  # a merged digit may not be taller than this many writing heights
NOISE_SIDE = 0.3  # a segment whose longer side is below this many writing heights is noise
# Width of a segment in writing heights (or its own height, if taller). Single digits are
# narrower than tall (99 % of MNIST below 1.43 w/h, and the wide ones are the flat, short ones),
# two touching digits are about 1.3 or more.
MAYBE_PAIR = 1.15  # wider than this: maybe touching digits, the classifier's confidence decides
SURELY_PAIR = 1.75  # wider than this: touching digits, always cut
DIGIT_WIDTH = 0.75  # width of one digit in writing heights, to count the digits in a wide blob
MAX_SPLIT = 6  # never cut one blob into more pieces than this


@dataclass(frozen=True)
class Segment:
    """One digit's ink: its box (full resolution) and the components of ``Ink.labels`` it owns."""

    box: Box
    ids: tuple[int, ...]


def writing_height(boxes: list[Box], areas: list[int]) -> float:
    """Typical digit height: the median height of the substantial blobs (not bars, not specks)."""
    big = max(areas)
    heights = [b.h for b, a in zip(boxes, areas) if a >= 0.25 * big]
    return float(np.median(heights))


def _x_overlap(a: Box, b: Box) -> int:
    return min(a.x + a.w, b.x + b.w) - max(a.x, b.x)


def _y_gap(a: Box, b: Box) -> int:
    return max(a.y, b.y) - min(a.y + a.h, b.y + b.h)


def merge_pieces(segments: list[Segment], height: float) -> list[Segment]:
    """Join pieces of one digit: strong x-overlap, a small vertical gap, and together no taller
    than one digit (two rows of writing stay apart)."""
    segs = list(segments)
    merged = True
    while merged:  # a handful of blobs: pairwise passes until nothing joins
        merged = False
        for i in range(len(segs)):
            for j in range(i + 1, len(segs)):
                a, b = segs[i].box, segs[j].box
                if _x_overlap(a, b) < MERGE_OVERLAP * min(a.w, b.w) or _y_gap(a, b) > MERGE_GAP * height:
                    continue
                box = union([a, b])
                if box.h > MERGE_MAX_HEIGHT * height:
                    continue
                segs[i] = Segment(box, segs[i].ids + segs[j].ids)
                del segs[j]
                merged = True
                break
            if merged:
                break
    return segs


def _cut_columns(profile: np.ndarray, parts: int) -> list[int]:
    """Where to cut a blob into ``parts`` digits: near each even division, at the column with
    the least ink (ties go to the column nearest the even division)."""
    w = len(profile)
    step = w / parts
    cuts = [0]
    for i in range(1, parts):
        nominal = i * step
        lo, hi = max(cuts[-1] + 1, int(nominal - 0.35 * step)), min(w - 1, int(nominal + 0.35 * step) + 1)
        if hi <= lo:
            cuts.append(int(nominal))
            continue
        window = profile[lo:hi].astype(np.float64)
        cost = window + 1e-3 * (window.max() + 1) * np.abs(np.arange(lo, hi) - nominal) / step
        cuts.append(lo + int(np.argmin(cost)))
    cuts.append(w)
    return cuts


def split_wide(ink: Ink, seg: Segment, parts: int) -> tuple[Segment, ...]:
    """Cut a segment holding ``parts`` touching digits at its column-profile minima."""
    box = seg.box
    layer = ink.layer(box, seg.ids)
    _, mask = cv2.threshold(layer, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    cuts = _cut_columns(mask.sum(axis=0), parts)
    out = []
    for c0, c1 in zip(cuts[:-1], cuts[1:]):
        rows = np.flatnonzero(mask[:, c0:c1].any(axis=1))
        if len(rows) == 0:
            continue
        out.append(Segment(Box(box.x + c0, box.y + int(rows[0]), c1 - c0, int(rows[-1] - rows[0] + 1)), seg.ids))
    return tuple(out)


@dataclass(frozen=True)
class Slot:
    """A place in the number: one segment, and for a wide one also its cut into touching digits.
    ``must_cut``: too wide for one digit; otherwise the reader keeps whichever reading of the
    two the classifier is surer of (see reader.choose)."""

    whole: Segment
    parts: tuple[Segment, ...] = ()
    must_cut: bool = False


def find_digits(ink: Ink) -> list[Slot]:
    """The digits of a picture as slots, left to right (empty when only noise is left)."""
    if not ink.boxes:
        return []
    if ink.labels is not None:
        areas = np.bincount(ink.labels.ravel(), minlength=max(ink.ids) + 1)
        area_of = [int(areas[i]) for i in ink.ids]
    else:
        area_of = [b.w * b.h for b in ink.boxes]
    height = writing_height(ink.boxes, area_of)
    segs = merge_pieces([Segment(b, (i,)) for b, i in zip(ink.boxes, ink.ids)], height)
    slots = []
    for s in segs:
        if max(s.box.w, s.box.h) < NOISE_SIDE * height:
            continue
        ref = max(s.box.h, height)
        width = s.box.w / ref
        if width <= MAYBE_PAIR:
            slots.append(Slot(s))
            continue
        parts = split_wide(ink, s, min(MAX_SPLIT, max(2, round(width / DIGIT_WIDTH))))
        slots.append(Slot(s, parts, must_cut=width > SURELY_PAIR and len(parts) > 1))
    return sorted(slots, key=lambda s: s.whole.box.x + s.whole.box.w / 2)
