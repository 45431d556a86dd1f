"""Finding the digits of a written number: ink components -> one segment per digit, in reading order.

``find_ink`` gives the connected ink blobs of a picture. A digit is not always one blob (the
bar of a 5 or 7 drawn apart, a 4 in two strokes, a broken pen line) and one blob is not always
one digit (two digits written touching). The rules below work on blob boxes only, relative to
the height of the writing, so they hold at any resolution:

0. marks drawn around or under the writing are no digits (preprocess.drawn_marks: a form's
   boxes, a comb of boxes with shared walls, a frame, a circle, an answer line);
1. pieces that overlap strongly in x and sit close in y are one digit (broken strokes);
2. what is left much smaller than the writing is noise (specks, dust, a full stop);
   a short piece beside a digit (a bar drawn off to the side, a broken-off tail) joins it, and
   one with no digit beside it is no digit (a dash or a comma between the digits);
3. a segment wider than a digit is cut where the column profile of its ink is lowest (a few
   candidate cuts); unless it is far too wide for one digit, the classifier then decides
   whether to read it whole or cut (reader.choose_cut);
4. two close neighbours that together are no wider than a digit may be one digit broken in
   two: offered to the reader, which joins them when the join reads surely and a piece not,
   or when one of them is too short to be a digit of its own (the digits of a number share
   the writing height; a broken-off tail or stroke is shorter, yet can read surely as a 1);
5. digits are read line by line, top to bottom: a digit belongs to a line when its middle lies
   within the rows the line spans so far (so a slanted line chains from digit to digit).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from .preprocess import Box, Ink, drawn_marks, union

READ_KEEP_FRACTION = 0.005  # find_ink's noise floor for numbers: keep small pieces, judged below
MAX_PIECES = 100  # ... but at most this many, the largest (a long number in two or three pieces a digit)
TALL = 0.6  # blobs at least this share of the tallest substantial one set the writing height
MERGE_OVERLAP = 0.5  # x-overlap, as a share of the narrower piece, that makes two pieces one digit
MERGE_GAP = 0.3  # largest vertical gap between pieces of one digit, in writing heights
MERGE_MAX_HEIGHT = 1.35  # a merged digit may not be taller than this many writing heights
NOISE_SIDE = 0.3  # a segment whose longer side is below this many writing heights is noise
MIN_DIGIT_PX = 8  # ... or whose ink spans fewer pixels: no digit is legible that small (a dot, a speck)
FRAGMENT_HEIGHT = 0.5  # a piece shorter than this many writing heights is part of a digit ...
FRAGMENT_GAP = 0.3  # ... the nearest one, if no further than this (in writing heights) ...
FRAGMENT_WIDTH = 1.6  # ... and together no wider than this (a 5's bar can reach far to the right)
FRAGMENT_AREA = 0.12  # ... else, if its box covers less than this many square writing heights, no digit
JOIN_GAP = 0.25  # neighbours this close (in writing heights) ...
JOIN_WIDTH = 1.1  # ... and together no wider than this may be one digit: the classifier decides
SHORT_DIGIT = 0.7  # a segment shorter than this many writing heights is no digit of its own: a piece
# Width of a segment in writing heights (or its own height, if taller). Single digits are
# narrower than tall (99 % of MNIST below 1.43 w/h, and the wide ones are the flat, short ones),
# two touching digits are about 1.3 or more.
MAYBE_PAIR = 1.15  # wider than this: maybe touching digits, the classifier's confidence decides
SURELY_PAIR = 2.2  # wider than this: touching digits, always cut (a wide 5 or 2 can reach 1.9)
DIGIT_WIDTH = 0.75  # width of one digit in writing heights, to count the digits in a wide blob
MAX_SPLIT = 6  # never cut one blob into more pieces than this
PAIR_CUTS = 3  # candidate cuts of a blob into two digits, for the classifier to choose from


@dataclass(frozen=True)
class Segment:
    """One digit's ink: its box (full resolution) and the components of ``Ink.labels`` it owns."""

    box: Box
    ids: tuple[int, ...]


def writing_height(boxes: list[Box], areas: list[int]) -> float:
    """Typical digit height: the median height of the substantial blobs (not specks) that stand
    tall among them (a bar drawn apart from its 5 can hold as much ink as a small digit, but it
    must not pull the height down, or it stops counting as a fragment of its digit)."""
    big = max(areas)
    heights = [b.h for b, a in zip(boxes, areas) if a >= 0.25 * big]
    tallest = max(heights)
    return float(np.median([h for h in heights if h >= TALL * tallest]))


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


def _gap(a: Box, b: Box) -> int:
    """Distance between two boxes along the axis where they are furthest apart (0 if they overlap)."""
    return max(_y_gap(a, b), max(a.x, b.x) - min(a.x + a.w, b.x + b.w), 0)


def merge_fragments(segments: list[Segment], height: float) -> list[Segment]:
    """Join each fragment (a piece much shorter than the writing: a bar drawn apart and off to
    the side, a tail, a broken-off curve) to the nearest full-height segment, when it is close
    and together they stay one digit wide."""
    segs = list(segments)
    while True:
        frags = [i for i, s in enumerate(segs) if s.box.h < FRAGMENT_HEIGHT * height]
        bodies = [i for i in range(len(segs)) if i not in frags]
        best = None
        for i in frags:
            for j in bodies:
                gap = _gap(segs[i].box, segs[j].box)
                box = union([segs[i].box, segs[j].box])
                if gap <= FRAGMENT_GAP * height and box.w <= FRAGMENT_WIDTH * height and box.h <= MERGE_MAX_HEIGHT * height:
                    if best is None or gap < best[0]:
                        best = (gap, i, j, box)
        if best is None:
            return segs
        _, i, j, box = best
        segs[j] = Segment(box, segs[j].ids + segs[i].ids)
        del segs[i]


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


def _pair_cuts(profile: np.ndarray) -> list[int]:
    """Candidate columns to cut a blob into two digits: the local minima of its column profile
    in the middle 60 %, least ink first (touching digits overlap, so the best cut is not always
    the emptiest column; the classifier picks among a few)."""
    w = len(profile)
    lo, hi = int(0.2 * w), max(int(0.2 * w) + 1, int(0.8 * w))
    p = profile.astype(np.float64)
    inner = np.arange(max(lo, 1), min(hi, w - 1))
    if len(inner) == 0:
        return [w // 2]
    is_min = (p[inner] <= p[inner - 1]) & (p[inner] < p[inner + 1])  # a plateau counts once, at its end
    cands = inner[is_min] if is_min.any() else inner[[int(np.argmin(p[inner]))]]
    order = np.argsort(p[cands] + 1e-3 * np.abs(cands - w / 2), kind="stable")
    return [int(c) for c in cands[order][:PAIR_CUTS]]


def _cut(box: Box, mask: np.ndarray, cuts: list[int], ids: tuple[int, ...]) -> tuple[Segment, ...]:
    """The pieces of ``box`` between cut columns, each trimmed to its ink rows."""
    out = []
    for c0, c1 in zip(cuts[:-1], cuts[1:]):
        rows = np.flatnonzero(mask[:, c0:c1].any(axis=1))
        if len(rows) == 0 or c1 <= c0:
            return ()
        out.append(Segment(Box(box.x + c0, box.y + int(rows[0]), c1 - c0, int(rows[-1] - rows[0] + 1)), ids))
    return tuple(out)


def split_wide(ink: Ink, seg: Segment, parts: int) -> tuple[tuple[Segment, ...], ...]:
    """Ways to cut a segment holding ``parts`` touching digits, at its column-profile minima:
    a few for a pair, one for more."""
    layer = ink.layer(seg.box, seg.ids)
    _, mask = cv2.threshold(layer, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    profile = mask.sum(axis=0)
    if parts == 2:
        cuttings = [[0, c, len(profile)] for c in _pair_cuts(profile)]
    else:
        cuttings = [_cut_columns(profile, parts)]
    found = (_cut(seg.box, mask, c, seg.ids) for c in cuttings)
    return tuple(f for f in found if len(f) == parts)


@dataclass(frozen=True)
class Slot:
    """A place in the number: one segment, and for a wide one also ways to cut it into touching
    digits. ``width``: the segment's width in writing heights. ``must_cut``: too wide for one
    digit; otherwise the reader decides with the classifier (see reader.choose_cut), as it does
    for ``join_next``."""

    whole: Segment
    cuts: tuple[tuple[Segment, ...], ...] = ()
    width: float = 0.0
    must_cut: bool = False
    join_next: Segment | None = None  # this slot and the next as one digit (a digit broken in two), if they could be
    short: bool = False  # much shorter than the writing (SHORT_DIGIT): a piece of a digit rather than one
    line: int = 0  # the line of writing it stands in, counted from the top


def in_lines(boxes: list[Box]) -> list[list[int]]:
    """Indices of ``boxes`` grouped into lines of writing, top to bottom, each left to right: a
    box belongs to a line when its middle lies within the rows the line spans so far."""
    lines: list[list[int]] = []
    top = bottom = 0
    for i in sorted(range(len(boxes)), key=lambda i: boxes[i].y + boxes[i].h / 2):
        b = boxes[i]
        if lines and top <= b.y + b.h / 2 <= bottom:
            lines[-1].append(i)
            top, bottom = min(top, b.y), max(bottom, b.y + b.h)
        else:
            lines.append([i])
            top, bottom = b.y, b.y + b.h
    return [sorted(line, key=lambda i: boxes[i].x + boxes[i].w / 2) for line in lines]


def find_digits(ink: Ink) -> list[Slot]:
    """The digits of a picture as slots in reading order (empty when only noise is left)."""
    if not ink.boxes:
        return []
    marks = drawn_marks(ink)  # a form's boxes, a circle, a line under the number
    # the largest pieces only (ink.boxes is largest first): the joins below compare pieces in
    # pairs, and a picture of noise or texture holds thousands (it took 25 s)
    blobs = [(b, i) for k, (b, i) in enumerate(zip(ink.boxes, ink.ids)) if k not in marks][:MAX_PIECES]
    if ink.labels is not None:
        areas = np.bincount(ink.labels.ravel(), minlength=max(ink.ids) + 1)
        area_of = [int(areas[i]) for _, i in blobs]
    else:
        area_of = [b.w * b.h for b, _ in blobs]
    height = writing_height([b for b, _ in blobs], area_of)
    margins = 2 * ink.scale  # find_ink pads every box by one work pixel on each side
    segs = merge_pieces([Segment(b, (i,)) for b, i in blobs], height)
    segs = [s for s in segs if max(s.box.w, s.box.h) >= NOISE_SIDE * height and max(s.box.w, s.box.h) - margins >= MIN_DIGIT_PX]
    segs = merge_fragments(segs, height)
    # a small fragment far from every digit is no digit: a dash or a comma between the digits, a
    # stray mark (a short digit, such as a flat 2, covers more)
    segs = [s for s in segs if s.box.h - margins >= FRAGMENT_HEIGHT * height
            or (s.box.w - margins) * (s.box.h - margins) >= FRAGMENT_AREA * height**2]
    slots = []
    for s in segs:
        width = s.box.w / max(s.box.h, height)
        if width > MAX_SPLIT * DIGIT_WIDTH:  # wider than any run of touching digits: a page edge, a rule, a shadow
            continue
        b = s.box
        if b.at_edge(ink.gray.shape) and (b.h < FRAGMENT_HEIGHT * height or width > SURELY_PAIR):
            continue  # short, or long and low, and cut by the picture's edge: a shadow's edge, the page's
        short = b.h < SHORT_DIGIT * height
        if width <= MAYBE_PAIR:
            slots.append(Slot(s, width=width, short=short))
            continue
        cuts = split_wide(ink, s, min(MAX_SPLIT, max(2, round(width / DIGIT_WIDTH))))
        # touching digits are each as tall as the writing: a cut leaving a part as short as a
        # fragment went through one wide digit (a 5's long bar, a 2's long foot), not between two
        cuts = tuple(c for c in cuts if min(p.box.h for p in c) >= FRAGMENT_HEIGHT * height)
        slots.append(Slot(s, cuts, width, must_cut=width > SURELY_PAIR and bool(cuts), short=short))
    slots = [replace(slots[i], line=n) for n, line in enumerate(in_lines([s.whole.box for s in slots])) for i in line]
    for i in range(len(slots) - 1):  # neighbours in a line close enough to be one digit broken in two
        if slots[i].line != slots[i + 1].line:
            continue
        a, b = slots[i].whole, slots[i + 1].whole
        box = union([a.box, b.box])
        if _gap(a.box, b.box) <= JOIN_GAP * height and box.w <= JOIN_WIDTH * height and box.h <= MERGE_MAX_HEIGHT * height:
            slots[i] = replace(slots[i], join_next=Segment(box, a.ids + b.ids))
    return slots
