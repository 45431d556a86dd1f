"""Which side is ink: darker or brighter than the paper (MNIST's ink is bright)."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from .pixels import SMALL_PICTURE, STATS_SIDE, shrink

# how near an end of the range (0: mid-range, 1: at an end) a level must be
SURE_BORDER = 0.8  # ... for the border's median to name the paper on its own
SURE_MEDIAN = 0.5  # ... for the border's median, if the border is even, or else the picture's median
EVEN_BORDER = 0.25  # an even border: its quartiles this close, as a share of the range
MEDIAN_FAR_SHARE = 0.05  # the median names the paper while its far side holds no more of the picture (ink)
FAR_SAMPLE = 4  # ... counted on every this many pixels each way
LIT_BORDER = 0.5  # a border whose quartiles spread this far: lighting spans the range (the median may be shadowed paper)
NO_BLACK = 0.15  # ... light and shade, if the darkest level keeps this share of the brightest's light (ink keeps less)
DETAIL_BLUR = 0.05  # blur (share of the picture) whose residual are the details that give stroke polarity
FEW_PIXELS = 4  # ... compared first in the furthest few pixels: a small digit in a large photo is a few work pixels
THIN_TAIL = 1 / 2000  # ... then in tails this share of the work copy: a small thin digit fills it
ONE_SIDED = 1.3  # ... a tail is one-sided (strokes) when one side reaches this many times as far as the other
THICK_TAIL = 1 / 100  # ... else this share answers: a marker's strokes fill it, not its holes (small bright details too)


def levels(work: np.ndarray) -> tuple[int, int, int]:
    """The (near-)lowest, median and (near-)highest level: a few pixels in from either extreme,
    robust to specks, yet a thin small digit counts."""
    n = work.size
    k = n // 2000 + 1
    if n <= SMALL_PICTURE:  # a partial sort is cheaper here, and gives the same levels
        if k == 1:  # the extremes themselves; a picture mostly at 0 (MNIST) has its median there
            lo, hi = cv2.minMaxLoc(work)[:2]
            if lo == 0 and cv2.countNonZero(work) < n - n // 2:
                return 0, 0, int(hi)
        v = np.partition(work.ravel(), (k - 1, n // 2, n - k))
        return int(v[k - 1]), int(v[n // 2]), int(v[n - k])
    # float32 counts are exact here (a work copy has at most MAX_WORK_SIDE**2 pixels)
    cdf = cv2.calcHist([work], [0], None, [256], (0, 256)).ravel().cumsum()
    lo, med, hi = np.searchsorted(cdf, (k, n // 2 + 1, n - k + 1)).tolist()
    return lo, med, hi


def dark_ink_side(work: np.ndarray, lo: int, med: int, hi: int,
                  border: tuple[int, int, int]) -> tuple[bool, int, bool]:
    """Is the ink darker than the paper, a typical paper level, and is the border one exact
    level? ``lo``, ``med``, ``hi``: the picture's (near-)extreme and median levels; ``border``:
    its ``border_quartiles``. Three
    witnesses, the first that is sure answers:

    1. the border: paper surrounds a digit, even one stretched to fill its box, whose ink can be
       most of the picture (then the median is ink); unless the border spans the range and
       nothing in the picture is near black: then light and shade span it, and the border may
       be mostly shadowed paper;
    2. the median: paper is most of a picture, so the median sits on the paper's side, unless
       the far side holds more than ink covers (a shadow over most of the page holds the
       median, and the lit paper is the far side);
    3. the strokes: when lighting spans the range (a shadow across the page), the median is
       mid-range and the border may be in shadow; strokes are then the one-sided details.
    """
    span = hi - lo
    q1, bm, q3 = border
    spanning = q3 - q1 >= LIT_BORDER * span  # the border spans the range (light and shade, or ink reaching it)
    sure = abs((bm - lo) - (hi - bm)) / span
    shade = spanning and lo >= NO_BLACK * hi
    if (sure >= SURE_BORDER and not shade) or (sure >= SURE_MEDIAN and q3 - q1 < EVEN_BORDER * span):
        return bm - lo > hi - bm, bm, q1 == q3
    if abs((med - lo) - (hi - med)) >= SURE_MEDIAN * span and not spanning:
        dark = med - lo > hi - med
        mid = (med + (lo if dark else hi)) / 2  # the far side: beyond halfway to the other end
        sample = work[::FAR_SAMPLE, ::FAR_SAMPLE]  # (a share: every 4th pixel each way tells it, cheaper)
        if np.count_nonzero(sample < mid if dark else sample > mid) <= MEDIAN_FAR_SHARE * sample.size:
            return dark, med, False
    return _dark_strokes(work), med, False


def border_quartiles(work: np.ndarray) -> tuple[int, int, int]:
    """The first quartile, median and third quartile of the picture's outermost pixels."""
    h, w = work.shape
    if work.size <= SMALL_PICTURE:  # a border at one level (MNIST, a clean crop) needs no sort
        lo, hi = cv2.minMaxLoc(work, border_mask(h, w))[:2]
        if lo == hi:
            return int(lo), int(lo), int(lo)
    edge = np.concatenate((work[0], work[h - 1], work[1 : h - 1, 0], work[1 : h - 1, w - 1]))
    n = len(edge)
    return tuple(np.partition(edge, (n // 4, n // 2, 3 * n // 4))[[n // 4, n // 2, 3 * n // 4]].tolist())


@functools.lru_cache(maxsize=32)
def border_mask(h: int, w: int) -> np.ndarray:
    """uint8 mask of the outermost pixels of an h x w picture."""
    mask = np.full((h, w), 255, np.uint8)
    mask[1 : h - 1, 1 : w - 1] = 0
    mask.flags.writeable = False  # shared between calls
    return mask


def _log_table(floor: float) -> np.ndarray:
    """uint8 levels -> log(level + floor), spread over 0-255. A shadow multiplies ink and paper
    alike: on log levels, ink in a shadow stands as far from its paper as ink in full light.
    ``floor`` keeps the darkest pixels' noise from being stretched without end."""
    logs = np.log(np.arange(256) + floor)
    return np.round(255 * (logs - logs[0]) / (logs[-1] - logs[0])).astype(np.uint8)


LOG_LEVELS = _log_table(16.0)


def _dark_strokes(work: np.ndarray) -> bool:
    """Polarity from strokes: do the picture's details (what a blur over a few stroke widths does
    not explain) reach further below their surroundings or above? Strokes are one-sided details;
    shadows, gradients and noise are about as much above as below.

    Looked at on the work copy, where a small digit's thin strokes still stand out (a 64-px copy
    averages them away, and a shadow's edge then decides), with the blur made on a small copy and
    stretched back up (cheap; it is smooth anyway). The furthest few pixels answer if they are
    one-sided (a digit of a few work pixels in a large photo fills no more); else the tail that
    the strokes of a small thin digit fill; if that is not one-sided either, a thick marker may be
    drawn (its enclosed holes are small bright details that rival its strokes there): a larger
    share, which its strokes fill, answers."""
    work = cv2.LUT(work, LOG_LEVELS)  # a stroke in a shadow is as one-sided as one in full light
    small, _ = shrink(work, STATS_SIDE)
    blur = cv2.GaussianBlur(small, (0, 0), DETAIL_BLUR * max(small.shape))
    blur = cv2.resize(blur, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_LINEAR)
    # histograms of the details below and above (saturated differences): cheaper than sorting
    hists = [cv2.calcHist([d], [0], None, [256], (0, 256)).ravel()[::-1].cumsum()
             for d in (cv2.subtract(blur, work), cv2.subtract(work, blur))]
    n = work.size
    for k in (FEW_PIXELS, int(n * THIN_TAIL) + 1, int(n * THICK_TAIL) + 1):
        # how far below and above their surroundings the k-th furthest pixels reach (at least 1)
        below, above = (max(1, 255 - int(np.searchsorted(h, k))) for h in hists)
        if max(below, above) >= ONE_SIDED * min(below, above):
            break
    return below > above
