"""Ruled lines as dark as the writing (a notebook's lines in a dark photo, a form's printed
lines): the digit touches them and would be one blob with them. Found in the work copy's ink,
they are painted over with the paper beside them, and the picture is looked at again."""

from __future__ import annotations

import cv2
import numpy as np

from .pixels import SMALL_PICTURE, at_full_scale

RULED_SPAN = 0.8  # a ruled line runs straight across this share of the picture's width ...
RULED_SLANT = 3  # ... within a band this many work pixels tall (a page a little askew) ...
RULED_THIN = 0.04  # ... spans at most this share of the picture's height ...
RULED_COUNT = 2  # ... comes with another one at least (a page's lines; a digit's bar is alone) ...
RULED_PAST = 0.25  # ... and the rest of the ink keeps this share of its height clear of both ends
RULED_INK = 15  # ink this much darker than the lines (brighter, for bright ink) is writing on them
_SLANT = np.ones((RULED_SLANT, 1), np.uint8)


def ruled_lines(ink: np.ndarray) -> np.ndarray | None:
    """uint8 mask over the work copy of the ruled lines across it (see above), or None. ``ink``:
    the work copy's ink mask (255 = ink)."""
    h, w = ink.shape
    if ink.size <= SMALL_PICTURE:
        return None
    length = round(RULED_SPAN * w)
    # Cheap first: rows that may hold that much ink within the band (a row's ink and its
    # neighbours' together), in groups as thin as a line, two at least. Most pictures have none;
    # a vignetted photo's dark edge is a thick group.
    counts = cv2.reduce(ink, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
    if RULED_SLANT * int(counts.max()) < 255 * length:
        return None
    near = np.convolve(counts, np.ones(RULED_SLANT, np.int32), mode="same")
    rows = (near >= 255 * length).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(rows, prepend=0) == 1), np.flatnonzero(np.diff(rows, append=0) == -1)
    thin = max(RULED_SLANT, RULED_THIN * h) + RULED_SLANT - 1  # (the band adds rows)
    if np.count_nonzero(ends - starts + 1 <= thin) < RULED_COUNT:
        return None
    band = cv2.dilate(ink, _SLANT)
    runs = cv2.morphologyEx(band, cv2.MORPH_OPEN, np.ones((1, length), np.uint8)) & ink
    count, labels, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    lines = [i for i in range(1, count) if stats[i, cv2.CC_STAT_HEIGHT] <= max(RULED_SLANT, RULED_THIN * h)]
    if len(lines) < RULED_COUNT:
        return None
    ruled = np.isin(labels, lines).astype(np.uint8) * 255
    rest = cv2.bitwise_and(ink, cv2.bitwise_not(cv2.dilate(ruled, _SLANT)))
    if cv2.countNonZero(rest):
        x, _, rw, rh = cv2.boundingRect(rest)
        left = min(stats[i, cv2.CC_STAT_LEFT] for i in lines)
        right = max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in lines)
        if x - left < RULED_PAST * rh or right - (x + rw) < RULED_PAST * rh:
            return None
    return ruled


def lines_painted(gray: np.ndarray, ruled: np.ndarray, f: float, dark_ink: bool) -> np.ndarray:
    """A copy of ``gray`` with the ``ruled`` lines (a work-copy mask, ``f`` the factor back)
    painted with the paper just above and below them. Ink on a line that is clearly darker than
    the line (brighter, for bright ink) stays: a 2's foot written on it."""
    ruled = at_full_scale(ruled, f, gray.shape, replicate=True)
    # the lines' own level (their inkier quarter), at full resolution: on the work copy a thin
    # line is averaged with the paper beside it
    level = float(np.percentile(gray[ruled > 0], 25 if dark_ink else 75))
    ruled = cv2.dilate(ruled, np.ones((int(2 * f) + 1, 1), np.uint8))  # and their blurred edges
    # the paper over and under a line: the brightest (or, for bright ink, darkest) pixel within
    # a column span taller than the line
    span = np.ones((int(4 * f) + 3, 1), np.uint8)
    paper = cv2.dilate(gray, span) if dark_ink else cv2.erode(gray, span)
    line_like = gray >= level - RULED_INK if dark_ink else gray <= level + RULED_INK
    out = gray.copy()
    np.copyto(out, paper, where=(ruled > 0) & line_like)
    return out
