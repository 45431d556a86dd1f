"""A sheet of paper photographed on a darker surface (a desk, a table): the surface, not the
paper, frames the picture, so the border would name the wrong side as paper and the whole
sheet would be taken for ink. Found here, the surface is painted over with the sheet's own
level, and the picture is then read as if the sheet filled it."""

from __future__ import annotations

import cv2
import numpy as np

from .pixels import KERNEL3, SMALL_PICTURE, at_full_scale, shrink
from .polarity import border_mask

SHEET_SIDE = 128  # looked for on a copy at most this large
SHEET_FRAMED = 0.5  # the surface around the sheet holds at least this share of the picture's border ...
SHEET_AREA = 0.08  # ... the sheet (or a sticky note) covers at least this share of the picture ...
SHEET_CONVEX = 0.9  # ... is convex (this share of its convex hull, holes filled) ...
SHEET_INK = 0.06  # ... what lies in it, darker, covers at most this share of it (a digit written
#                   on it; a thick 0's hole, bright ink around dark paper, is larger); ...
SHEET_EDGE = 40  # ... its edge is a step down this many levels at least ...
SHEET_PLAIN = 25.0  # ... to a plain surface: its levels spread less than this (std)


def find_sheet(work: np.ndarray, lo: int, med: int, hi: int, border: int) -> tuple[np.ndarray, int, float] | None:
    """A bright sheet that darker surroundings frame, looked for on a small copy of the work copy
    (the sheet is large): its mask there (holes filled, one pixel clear of its edge), its paper
    level and the factor from that copy to the work copy; None when there is none. ``lo``,
    ``med``, ``hi``: the work copy's (near-)extreme and median levels; ``border``: its border's
    median level."""
    if work.size <= SMALL_PICTURE:
        return None
    if border >= (lo + hi) / 2 and border > med - SHEET_EDGE / 2:  # a border neither dark nor darker than most
        return None
    small, f = shrink(work, SHEET_SIDE)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # the surface frames the sheet: most of the picture's border lies off it (a shadow cast over
    # part of a page leaves the lit part along much of the border)
    edge = border_mask(*small.shape)
    if cv2.countNonZero(cv2.bitwise_and(bright, edge)) > (1 - SHEET_FRAMED) * cv2.countNonZero(edge):
        return None
    # cheap before the outline: the bright side is large and ends in sharp steps (a vignetted
    # page's corners fall off gently)
    if cv2.countNonZero(bright) < SHEET_AREA * small.size or _step(small, bright) < SHEET_EDGE:
        return None
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)
    filled = np.zeros_like(bright)
    cv2.drawContours(filled, [outline], 0, 255, cv2.FILLED)
    area = cv2.countNonZero(filled)
    if area < SHEET_AREA * small.size or area < SHEET_CONVEX * cv2.contourArea(cv2.convexHull(outline)):
        return None
    inside = area - cv2.countNonZero(cv2.bitwise_and(bright, filled))
    if inside == 0 or inside > SHEET_INK * area:  # nothing written on it, or not a sheet
        return None
    # The sheet ends in a sharp step down to a plain surface: not in the smooth fall of a
    # vignetted or shadowed page, which may hold the writing.
    surface = cv2.bitwise_not(cv2.dilate(filled, KERNEL3))
    if not cv2.countNonZero(surface) or _step(small, filled) < SHEET_EDGE:
        return None
    if cv2.meanStdDev(small, mask=surface)[1][0, 0] > SHEET_PLAIN:
        return None
    sheet = cv2.erode(filled, KERNEL3)
    return sheet, int(np.median(small[sheet > 0])), f


def _step(small: np.ndarray, mask: np.ndarray) -> float:
    """How far the pixels just inside ``mask``'s edge lie above those just outside it, on average."""
    inner = cv2.subtract(mask, cv2.erode(mask, KERNEL3))
    outer = cv2.subtract(cv2.dilate(mask, KERNEL3), mask)
    if not cv2.countNonZero(outer):
        return 0.0
    return cv2.mean(small, inner)[0] - cv2.mean(small, outer)[0]


def surface_painted(gray: np.ndarray, sheet: np.ndarray, paper: int, f: float) -> np.ndarray:
    """A copy of ``gray`` with everything outside ``sheet`` (a mask over a copy of it, ``f`` the
    factor back) set to the level ``paper``."""
    out = gray.copy()
    out[at_full_scale(sheet, f, gray.shape, replicate=True) == 0] = paper
    return out
