"""The one preprocessing implementation, shared by training, export calibration and runtime.

Algorithm ``ink-fit-v2`` turns any picture of a digit into what an MNIST-style model
expects (white ink on black, the digit fitted into a ``box`` x ``box`` square and
centred by centre of mass in ``input_size``):

1. ``to_gray``      any array (gray, BGR, BGRA, 16-bit, float) -> uint8 gray;
2. ``find_ink``     polarity (border, median or stroke details), paper flattening (one level,
                    a quadratic, or a local opening under cast shadows), threshold (Otsu, or a
                    noise floor for sparse hairlines, seen on the blocks' inkiest pixels or, on
                    squared paper, the averaged copy), connected components -> where the ink is
                    (not specks); ``Ink.layer`` lifts a crop as ink bright on paper ~0 (ink in a
                    shadow at the lit paper's contrast);
3. ``normalize``    one digit's crop: its ink blobs less an outline or a line drawn around or
                    under it (a form's box, a circle, an answer line) and clutter against a
                    photo's edge;
4. ``fit_digit``    contrast stretch, crop to the ink, aspect-preserving fit, centring by
                    centre of mass; hairlines widened to an MNIST-like stroke.

An MNIST digit passes through nearly unchanged (it already is white on black and
centred), which is why training runs every image through the same code.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from .contract import Contract

STATS_SIDE = 64  # polarity and background are estimated on a copy at most this large
WORK_SIDE = 256  # ink is located on a copy at most this large (photos stay fast)
BLUR_BLOCKS = (3, 5)  # block sizes whose means a box blur gives faster than area resampling (640- and 1280-px frames)
SMALL_PICTURE = 64 * 64  # pictures up to this many pixels take cheaper paths (same results)
MIN_CONTRAST = 40  # spread of the (near-)extreme pixel values below this: a blank picture
MIN_INK_LEVEL = 24  # Otsu threshold on the flattened layer below this: only noise
# polarity (see _dark_ink): how near an end of the range (0: mid-range, 1: at an end) a level must be
SURE_BORDER = 0.8  # ... for the border's median to name the paper on its own
SURE_MEDIAN = 0.5  # ... for the border's median, if the border is even, or else the picture's median
EVEN_BORDER = 0.25  # an even border: its quartiles this close, as a share of the range
LIT_BORDER = 0.5  # a border whose quartiles spread this far: lighting spans the range (the median may be shadowed paper)
DETAIL_BLUR = 0.05  # blur (share of the picture) whose residual are the details that give stroke polarity
FEW_PIXELS = 4  # ... compared first in the furthest few pixels: a small digit in a large photo is a few work pixels
THIN_TAIL = 1 / 2000  # ... then in tails this share of the work copy: a small thin digit fills it
ONE_SIDED = 1.3  # ... a tail is one-sided (strokes) when one side reaches this many times as far as the other
THICK_TAIL = 1 / 100  # ... else this share answers: a marker's strokes fill it, not its holes (small bright details too)
EVEN_PAPER = 4.0  # paper whose levels spread less (std) is one level
PAPER_RESIDUAL = 6.0  # paper this far (robust std) from the best quadratic: lighting with edges
MAX_STROKE = 0.12  # ... or ink left by the quadratic holds a disc wider than this share of the picture
LOCAL_SIDE = 128  # ... on a copy this large
LOCAL_KERNEL = 0.15  # ... then paper is seen through strokes narrower than this share of the picture
NOISE_Z = 4.5  # sparse ink must stand this many noise deviations above the paper
MIN_STROKE_WORK = 5  # ... and span this many work pixels (noise clusters are smaller)
KEEP_FRACTION = 0.04  # components smaller than this share of the largest are noise
EDGE_CLUTTER = 0.5  # a blob at a photo's edge this far from one digit (share of its size) is clutter
# an outline drawn around a digit (a form's box, a circle) keeps out of the middle of its own box:
OUTLINE_CORE = 0.2  # ... the middle being its box less this share of each side
OUTLINE_CORE_INK = 0.03  # ... where at most this share of its ink lies
OUTLINE_INNER = 0.3  # ... and it encloses a blob whose middle is there, this share of its shorter side long or longer
OUTLINE_RUN = 0.5  # ... or it runs through the middle in straight lines as long as this share of what it encloses
OUTLINE_STRAIGHT = 0.9  # ... which hold this share of its ink
# a line drawn under a digit: flat (this many times as wide as tall) ...
UNDERLINE_FLAT = 3.0
UNDERLINE_LOW = 0.85  # ... its middle below this share of the height of the rest of the ink ...
UNDERLINE_WIDE = 1.2  # ... this many times as wide as the rest ...
UNDERLINE_UNDER = 0.9  # ... and under this share of the rest's width (a 2's foot drawn apart may reach far to one side)
FEW_BLOBS = 8  # up to this many kept components get their boxes one by one (cheaper than stats of all)
SHADED = 0.85  # paper under a digit darker than this share of the lit paper is in a shadow (ink contrast restored)
FIT_SIDE = 6  # crops longer than this many box sides are fitted from their block means
THIN_STROKE = 0.55  # fitted digits whose lit pixels average less ink than this are hairlines
MNIST_INK_MEAN = 219.0  # mean of MNIST pixels above their Otsu threshold (stroke brightness)

_KERNEL3 = np.ones((3, 3), np.uint8)
_CROSS3 = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


@dataclass(frozen=True)
class Box:
    """A rectangle in pixel coordinates of the original picture."""

    x: int
    y: int
    w: int
    h: int

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    def at_edge(self, shape: tuple[int, int]) -> bool:
        """Does it touch the edge of a picture of ``shape`` (height, width)?"""
        h, w = shape
        return self.x <= 0 or self.y <= 0 or self.x + self.w >= w or self.y + self.h >= h


def to_gray(image: np.ndarray, *, rgb: bool = False) -> np.ndarray:
    """Any decoded image -> contiguous uint8 gray. Arrays are BGR(A) as OpenCV decodes them
    unless ``rgb`` is set (PIL order). Transparent pixels are composited onto white paper."""
    a = np.asarray(image)
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        a = a.astype(np.float32)
        # pixels in 0..1 are scaled up; NaN and infinities are not pixels (np.nanmax would warn on an all-NaN picture)
        if float(np.max(a, where=np.isfinite(a), initial=-np.inf)) <= 1.0:
            a = a * 255.0
        a = np.clip(np.nan_to_num(a), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 4:
        color = cv2.cvtColor(a[:, :, :3], cv2.COLOR_RGB2GRAY if rgb else cv2.COLOR_BGR2GRAY)
        alpha = a[:, :, 3]
        if alpha.min() == 255:
            a = color
        else:
            # composite on white; if the colour carries no drawing (strokes only in alpha), alpha is the ink
            onto_white = (color.astype(np.uint16) * alpha + 255 * (255 - alpha.astype(np.uint16))) // 255
            a = onto_white.astype(np.uint8)
            if int(a.max()) - int(a.min()) < MIN_CONTRAST:
                a = np.ascontiguousarray(alpha)
    elif a.ndim == 3 and a.shape[2] == 3:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY if rgb else cv2.COLOR_BGR2GRAY)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D gray or 3-D colour image, got shape {a.shape}")
    return np.ascontiguousarray(a)


def _shrink(img: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """A copy whose longer side is at most ``side``, and the factor back to ``img``'s scale.
    The factor is a whole number: area averaging over whole k x k blocks is OpenCV's fast path
    (the last few rows and columns that do not fill a block are left out)."""
    h, w = img.shape
    longer = max(h, w)
    if longer <= side:
        return img, 1.0
    k = -(-longer // side)
    if h < k or w < k:  # a sliver: no whole block across it
        return cv2.resize(img, (max(1, w // k), max(1, h // k)), interpolation=cv2.INTER_AREA), float(k)
    whole = img[: h - h % k, : w - w % k]
    if k in BLUR_BLOCKS:
        # the same block means from a box blur anchored at each block's corner, kept every k-th
        # pixel: OpenCV's area resampling has a fast path for 2x only (1.4-1.7x faster at 3, 1.35-1.4x at 5)
        return np.ascontiguousarray(cv2.blur(whole, (k, k), anchor=(0, 0))[::k, ::k]), float(k)
    return cv2.resize(whole, (w // k, h // k), interpolation=cv2.INTER_AREA), float(k)


@dataclass(frozen=True)
class Ink:
    """Where the ink of a picture is, and how to lift any part of it out as an ink layer."""

    gray: np.ndarray  # the full-resolution picture
    dark_ink: bool  # ink darker than paper (flipped to MNIST polarity when lifted)
    paper: np.ndarray | int  # paper brightness (after flipping): one level, or a surface at work scale
    scale: float  # full resolution / work resolution
    boxes: list[Box]  # ink blobs that are not noise, largest first, full-resolution coordinates
    labels: np.ndarray | None = None  # int32 component map at work resolution (0 = paper)
    ids: tuple[int, ...] = ()  # the component number in ``labels`` of each box

    def layer(self, box: Box, only: tuple[int, ...] | None = None) -> np.ndarray:
        """The crop ``box`` as uint8 ink bright on a paper flattened to ~0. With ``only`` (component
        numbers from ``ids``), ink of any other component is wiped, so a neighbour reaching into
        the box (slanted handwriting, a touching pair cut apart) does not join the digit."""
        crop = self.gray[box.y : box.y + box.h, box.x : box.x + box.w]
        if self.dark_ink:
            crop = cv2.bitwise_not(crop)
        if isinstance(self.paper, int):
            out = cv2.subtract(crop, self.paper) if self.paper else crop
        else:
            paper = self._at_full_scale(self.paper, box, cv2.INTER_LINEAR)
            out = cv2.subtract(crop, paper)
            if self.dark_ink:
                # Ink on paper darkens with the light on it: in a shadow its contrast shrinks as
                # the paper's brightness does (a faint stroke there can fall under fit_digit's
                # floor). Scale it back towards the lit paper's; gentle lighting is left alone.
                here = 255 - cv2.mean(paper)[0]
                # The lit paper's percentile (a histogram of the whole surface) is only needed when
                # this paper may be in a shadow: the lit paper is no brighter than the surface's
                # brightest point (its minimum, flipped), so paper at least SHADED of that is not
                # in a shadow (same result, cheaper).
                if here < SHADED * (255 - cv2.minMaxLoc(self.paper)[0]):
                    lit = SHADED * (255 - _percentile(self.paper, 0.1))  # the lit paper, more or less
                    if here < lit:
                        out = cv2.convertScaleAbs(out, alpha=lit / max(here, 1.0))
        if only is not None:
            out = cv2.bitwise_and(out, out, mask=self._component_mask(box, only))
        return out

    def _work_region(self, box: Box, shape: tuple[int, int]) -> tuple[int, int, int, int]:
        """Work-resolution rectangle (x0, y0, x1, y1) covering ``box``, clamped to ``shape``."""
        f = self.scale
        ph, pw = shape
        x0, y0 = min(int(box.x / f), pw - 1), min(int(box.y / f), ph - 1)
        x1, y1 = max(x0 + 1, min(pw, math.ceil((box.x + box.w) / f))), max(y0 + 1, min(ph, math.ceil((box.y + box.h) / f)))
        return x0, y0, x1, y1

    def _at_full_scale(self, work_map: np.ndarray, box: Box, interpolation: int) -> np.ndarray:
        """The part of a smooth work-resolution map under ``box``, stretched to the box's size."""
        if self.scale == 1.0:
            return work_map[box.y : box.y + box.h, box.x : box.x + box.w]
        x0, y0, x1, y1 = self._work_region(box, work_map.shape)
        return cv2.resize(work_map[y0:y1, x0:x1], (box.w, box.h), interpolation=interpolation)

    def _component_mask(self, box: Box, only: tuple[int, ...]) -> np.ndarray:
        """uint8 mask over ``box`` (full resolution) of the components ``only``, one work pixel wider."""
        if self.labels is None:
            raise ValueError("this Ink carries no component map")
        f = self.scale
        x0, y0, x1, y1 = self._work_region(box, self.labels.shape)
        x0, y0 = max(0, x0 - 1), max(0, y0 - 1)  # room for the dilation below
        x1, y1 = min(self.labels.shape[1], x1 + 1), min(self.labels.shape[0], y1 + 1)
        mine = np.isin(self.labels[y0:y1, x0:x1], only).view(np.uint8)
        # one work pixel of slack: the work copy was area-resampled, so stroke edges reach further here
        mine = cv2.dilate(mine, _KERNEL3)
        if f != 1.0:  # to full resolution, keeping pixel centres aligned, then cut out the box
            size = (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f)))
            mine = cv2.resize(mine, size, interpolation=cv2.INTER_NEAREST)
        ox, oy = box.x - round(x0 * f), box.y - round(y0 * f)
        out = np.zeros((box.h, box.w), np.uint8)
        part = mine[max(0, oy) : oy + box.h, max(0, ox) : ox + box.w]
        out[max(0, -oy) : max(0, -oy) + part.shape[0], max(0, -ox) : max(0, -ox) + part.shape[1]] = part
        return out


def find_ink(gray: np.ndarray, keep_fraction: float = KEEP_FRACTION) -> Ink | None:
    """Locate the ink of a uint8 gray picture; None when it is blank or holds only noise.

    Components smaller than ``keep_fraction`` of the largest are dropped as noise; the number
    reader asks for a lower fraction and judges small pieces itself (a detached bar of a 5 is
    small next to a thick 8 elsewhere in the same picture).

    Everything here runs on a working copy of at most WORK_SIDE pixels, so a large photo costs
    little; only the crops later lifted by ``Ink.layer`` are touched at full resolution.
    Polarity: see ``_dark_ink`` (the border, else the median, else the strokes' details).
    Illumination: see ``_paper_level``: a quadratic surface fitted to the paper pixels (not the
    ink) removes gradients and vignetting whatever the stroke width, since no filter kernel has
    to be wider than a stroke; only lighting no quadratic follows (a cast shadow's edge) is
    seen through a local opening. Threshold: Otsu, unless the ink is too sparse for it (a fine
    pen on a large page), then a noise floor, on a copy that keeps each block's inkiest pixel
    (averaging would thin a hairline's contrast into the noise).
    """
    if min(gray.shape) < 2:  # a one-pixel line holds no digit (and OpenCV reads a 1-column array of <= 4 rows as a scalar)
        return None
    work, f = _shrink(gray, WORK_SIDE)
    lo, med, hi = _levels(work)
    if hi - lo >= MIN_CONTRAST:
        dark_ink, med, clean_border = _dark_ink(work, lo, med, hi)
    else:
        # Blank, or a hairline whose contrast the averaging took (a fine pen on a large page):
        # the blocks' darkest or brightest pixels keep it. Ink is on the side that reaches
        # further from the paper (noise reaches about as far either way).
        if f == 1.0 or min(gray.shape) < f:
            return None
        darkest = 255 - _levels(_peak_copy(gray, int(f), True))[2]  # (near-)darkest block minimum
        brightest = _levels(_peak_copy(gray, int(f), False))[2]  # (near-)brightest block maximum
        below, above = med - darkest, brightest - med
        if max(below, above) < MIN_CONTRAST:
            return None
        dark_ink, clean_border = below > above, False
    if dark_ink:  # paper is bright: flip to MNIST polarity
        work = cv2.bitwise_not(work)
        lo, med, hi = 255 - hi, 255 - med, 255 - lo
    local = None  # the paper seen locally, once it has been looked at
    if clean_border and work.size <= SMALL_PICTURE:
        paper = med  # a small picture framed by one exact level (MNIST, a clean crop): that is the paper
    else:
        paper = _paper_level(work, med, hi)
        if paper is None:  # lighting no quadratic follows
            paper = local = _local_paper(work)
    flat = work if isinstance(paper, int) and paper == 0 else cv2.subtract(work, paper)
    level, mask = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if level < MIN_INK_LEVEL and cv2.mean(flat, mask)[0] < 2 * MIN_INK_LEVEL:
        # No clear ink class above Otsu's split. (A two-level picture, a binarised scan, also gets
        # a low level, but bright ink above it.) Either the paper left a broad tail (the edge of
        # a shadow) that hides a clear ink class further up, or the ink is too sparse for Otsu (a
        # fine pen on a large page) and it split the noise: keep what stands well clear of it.
        upper = _clear_split(flat, level)
        if upper is None and local is None and not isinstance(paper, int):
            # or a quadratic passed for the lighting yet left a shadow's edge as a broad band of
            # faint "ink" around the strokes: the paper seen locally may leave a clear ink class
            local = _local_paper(work)
            local_flat = cv2.subtract(work, local)
            local_level = cv2.threshold(local_flat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[0]
            local_upper = _clear_split(local_flat, local_level)
            if local_upper is not None:
                paper, flat, upper = local, local_flat, local_upper
        if upper is not None:
            _, mask = cv2.threshold(flat, upper, 255, cv2.THRESH_BINARY)
            labels, kept = _components(mask, keep_fraction)
        else:
            # Faint or sparse ink over the noise; where the quadratic missed part of the lighting
            # and the paper seen locally gave no clear split either, the local paper gets a look
            # too. First on the blocks' inkiest pixels (a hairline keeps its contrast there), then
            # on the averaged copy: where a printed grid runs through most blocks, the inkiest
            # pixels are the grid's and set the noise floor, and a small digit clears it only here.
            peaks = _peak_copy(gray, int(f), dark_ink) if f > 1.0 and min(gray.shape) >= f else work
            copies = (peaks, work) if peaks is not work else (work,)
            surfaces = (paper, local) if local is not None and local is not paper else (paper,)
            for copy, surface in itertools.product(copies, surfaces):
                labels, kept = _over_noise(copy, surface, keep_fraction)
                if kept:
                    paper = surface
                    break
    else:
        labels, kept = _components(mask, keep_fraction)
    if not kept:  # no ink, or only single-pixel specks
        return None
    kept.sort(key=lambda ir: -ir[1][4])  # largest first (a stable sort: ties keep label order)
    # back to full resolution with a one-work-pixel margin (area resampling blurs edges)
    h, w = gray.shape
    boxes = []
    for _, (x, y, bw, bh, _) in kept:
        x0, y0 = max(0, int((x - 1) * f)), max(0, int((y - 1) * f))
        x1, y1 = min(w, math.ceil((x + bw + 1) * f)), min(h, math.ceil((y + bh + 1) * f))
        boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
    return Ink(gray, dark_ink, paper, f, boxes, labels, tuple(i + 1 for i, _ in kept))


def _over_noise(work: np.ndarray, paper: np.ndarray | int, keep_fraction: float):
    """Faint or sparse ink: what stands a noise floor clear of ``paper`` in ``work`` (the picture,
    or the copy of its blocks' inkiest pixels that keeps a hairline's contrast; the noise floor
    allows for what the peaks add), as strokes long enough for a digit and clear of the picture's
    edge (where vignetting and paper edges leave what the flattening misses)."""
    flat = cv2.subtract(work, paper)
    level = _noise_floor(cv2.calcHist([flat], [0], None, [256], (0, 256)).ravel())
    _, mask = cv2.threshold(flat, level, 255, cv2.THRESH_BINARY)
    labels, kept = _components(mask, keep_fraction)
    wh, ww = work.shape
    kept = [(i, r) for i, r in kept if max(r[2], r[3]) >= MIN_STROKE_WORK
            and r[0] > 0 and r[1] > 0 and r[0] + r[2] < ww and r[1] + r[3] < wh]
    return labels, kept


def _components(mask: np.ndarray, keep_fraction: float) -> tuple[np.ndarray, list[tuple[int, list[int]]]]:
    """8-connected blobs of a binary mask: the int32 label map, and the blobs that are not noise
    (at least ``keep_fraction`` of the largest, and two pixels) as (label - 1, [x, y, w, h, area])
    in label order.

    Same results as cv2.connectedComponentsWithStats, cheaper: its stats cost a pass over every
    pixel (~8x a labelling alone, even for one blob), while only the few kept blobs need a box."""
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    if count == 1:
        return labels, []
    if count == 2:  # a single blob (most digits): the mask's own stats
        area = cv2.countNonZero(mask)
        return labels, [(0, [*cv2.boundingRect(mask), area])] if area >= 2 else []
    areas = np.bincount(labels[mask != 0], minlength=count)[1:]  # exact pixel counts, label order
    keep = np.flatnonzero(areas >= max(2, keep_fraction * areas.max())).tolist()
    if len(keep) <= FEW_BLOBS:  # each box from its blob's own mask
        boxes = [cv2.boundingRect(cv2.compare(labels, i + 1, cv2.CMP_EQ)) for i in keep]
    else:  # many pieces (noisy ink, a number reader's low fraction): one pass for all boxes
        stats = cv2.connectedComponentsWithStats(mask, connectivity=8)[2]
        boxes = stats[1:][keep, :4].tolist()
    return labels, [(i, [*box, int(areas[i])]) for i, box in zip(keep, boxes)]


def _peak_copy(gray: np.ndarray, k: int, dark_ink: bool) -> np.ndarray:
    """The work copy ``_shrink`` makes (same k x k blocks, same shape) from each block's inkiest
    pixel instead of its mean, ink bright: a line thinner than a block keeps its full contrast."""
    h, w = gray.shape
    block = np.ones((k, k), np.uint8)
    # anchor (0, 0): each pixel takes the extreme of the block starting at it; keep blocks' first pixels
    if dark_ink:
        peaks = cv2.bitwise_not(cv2.erode(gray, block, anchor=(0, 0)))
    else:
        peaks = cv2.dilate(gray, block, anchor=(0, 0))
    return np.ascontiguousarray(peaks[: h - h % k : k, : w - w % k : k])


def _percentile(img: np.ndarray, q: float) -> int:
    """The level below which a share ``q`` of a uint8 picture's pixels lie (a histogram's, cheap)."""
    cdf = cv2.calcHist([img], [0], None, [256], (0, 256)).ravel().cumsum()
    return int(np.searchsorted(cdf, q * cdf[-1]))


def _levels(work: np.ndarray) -> tuple[int, int, int]:
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
    # float32 counts are exact here (a work copy has at most WORK_SIDE**2 pixels)
    cdf = cv2.calcHist([work], [0], None, [256], (0, 256)).ravel().cumsum()
    lo, med, hi = np.searchsorted(cdf, (k, n // 2 + 1, n - k + 1)).tolist()
    return lo, med, hi


def _dark_ink(work: np.ndarray, lo: int, med: int, hi: int) -> tuple[bool, int, bool]:
    """Is the ink darker than the paper, a typical paper level, and is the border one exact
    level? ``lo``, ``med``, ``hi``: the picture's (near-)extreme and median levels. Three
    witnesses, the first that is sure answers:

    1. the border: paper surrounds a digit, even one stretched to fill its box, whose ink can be
       most of the picture (then the median is ink);
    2. the median: paper is most of a picture, so the median sits on the paper's side;
    3. the strokes: when lighting spans the range (a shadow across the page), the median is
       mid-range and the border may be in shadow; strokes are then the one-sided details.
    """
    span = hi - lo
    q1, bm, q3 = _border_quartiles(work)
    sure = abs((bm - lo) - (hi - bm)) / span
    if sure >= SURE_BORDER or (sure >= SURE_MEDIAN and q3 - q1 < EVEN_BORDER * span):
        return bm - lo > hi - bm, bm, q1 == q3
    if abs((med - lo) - (hi - med)) >= SURE_MEDIAN * span and q3 - q1 < LIT_BORDER * span:
        return med - lo > hi - med, med, False
    return _dark_strokes(work), med, False


def _border_quartiles(work: np.ndarray) -> tuple[int, int, int]:
    """The first quartile, median and third quartile of the picture's outermost pixels."""
    h, w = work.shape
    if work.size <= SMALL_PICTURE:  # a border at one level (MNIST, a clean crop) needs no sort
        lo, hi = cv2.minMaxLoc(work, _border_mask(h, w))[:2]
        if lo == hi:
            return int(lo), int(lo), int(lo)
    edge = np.concatenate((work[0], work[h - 1], work[1 : h - 1, 0], work[1 : h - 1, w - 1]))
    n = len(edge)
    return tuple(np.partition(edge, (n // 4, n // 2, 3 * n // 4))[[n // 4, n // 2, 3 * n // 4]].tolist())


@functools.lru_cache(maxsize=32)
def _border_mask(h: int, w: int) -> np.ndarray:
    """uint8 mask of the outermost pixels of an h x w picture."""
    mask = np.full((h, w), 255, np.uint8)
    mask[1 : h - 1, 1 : w - 1] = 0
    mask.flags.writeable = False  # shared between calls
    return mask


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
    small, _ = _shrink(work, STATS_SIDE)
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


def _clear_split(flat: np.ndarray, level: float) -> int | None:
    """Otsu's split of a flattened layer's levels above ``level``, if it leaves a clear ink class
    (bright enough on average), else None."""
    hist = cv2.calcHist([flat], [0], None, [256], (0, 256)).ravel()
    upper, upper_mean = _otsu_above(hist, int(level) + 1)
    return upper if upper >= MIN_INK_LEVEL and upper_mean >= 2 * MIN_INK_LEVEL else None


def _otsu_above(hist: np.ndarray, start: int) -> tuple[int, float]:
    """Otsu's split of the levels from ``start`` up (of a 256-bin histogram), and the mean
    level of the upper class."""
    h = hist[start:].astype(np.float64)
    if h.sum() <= 0 or len(h) < 2:
        return 255, 0.0
    levels = np.arange(start, 256, dtype=np.float64)
    w0, m0 = np.cumsum(h), np.cumsum(h * levels)
    w1, m1 = w0[-1] - w0, m0[-1] - m0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = w0 * w1 * (m0 / w0 - m1 / w1) ** 2
    between[~np.isfinite(between)] = -1
    i = int(np.argmax(between))
    return start + i, float(m1[i] / w1[i]) if w1[i] > 0 else 0.0


def _noise_floor(hist: np.ndarray) -> int:
    """A level that paper noise rarely reaches in a flattened layer (its 256-bin histogram)
    where ink is sparse: the median plus NOISE_Z robust standard deviations (the 84th
    percentile less the median)."""
    cdf = np.cumsum(hist)
    p50, p84 = np.searchsorted(cdf, (cdf[-1] * 0.5, cdf[-1] * 0.84)).tolist()
    return int(max(MIN_INK_LEVEL, p50 + NOISE_Z * max(p84 - p50, 1)))


@functools.lru_cache(maxsize=32)
def _quadratic_basis(h: int, w: int) -> np.ndarray:
    """float64 [h * w, 6]: 1, u, v, u*u, u*v, v*v on a grid spanning [-1, 1] both ways."""
    u, v = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
    basis = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=-1).reshape(-1, 6)
    basis.flags.writeable = False  # shared between calls
    return basis


def _paper_level(work: np.ndarray, med: int, hi: int) -> np.ndarray | int | None:
    """Paper brightness of an (ink-bright) working copy: one level when the paper is even, else
    a least-squares quadratic through the paper pixels (gradients, vignetting), rendered at the
    working size; None when the paper strays from every quadratic (a cast shadow's edge: then
    it is seen locally, ``_local_paper``). ``med``: a typical paper level."""
    small, _ = _shrink(work, STATS_SIDE)
    _, paper = cv2.threshold(small, med + (hi - med) // 2, 255, cv2.THRESH_BINARY_INV)
    paper = cv2.erode(paper, _KERNEL3)  # stay clear of stroke edges
    if cv2.countNonZero(paper) < 16:
        return med
    mean, std = cv2.meanStdDev(small, mask=paper)
    if std[0, 0] < EVEN_PAPER:
        return round(float(mean[0, 0]))
    # Further from the strokes: blurred stroke edges (a blown-up scan) pass for paper next to them.
    far = cv2.erode(paper, _KERNEL3, iterations=2)
    if cv2.countNonZero(far) >= 16:
        mean, std = cv2.meanStdDev(small, mask=far)
        if std[0, 0] < EVEN_PAPER:
            return round(float(mean[0, 0]))
        paper = far
    sh, sw = small.shape
    basis = _quadratic_basis(sh, sw)
    at = np.flatnonzero(paper)
    design, values = basis.take(at, axis=0), small.ravel()[at].astype(np.float64)  # take: basis[at]'s rows, cheaper
    # normal equations through OpenCV: numpy's lstsq calls a threaded BLAS that can take
    # milliseconds on a busy machine for this 6-unknown fit
    _, coef = cv2.solve(design, values[:, None], flags=cv2.DECOMP_CHOLESKY | cv2.DECOMP_NORMAL)
    residual = np.abs(values - design @ coef[:, 0])
    surface = None
    if 1.4826 * float(np.partition(residual, len(residual) // 2)[len(residual) // 2]) <= PAPER_RESIDUAL:
        surface = np.clip(basis @ coef[:, 0], 0, 255).astype(np.uint8).reshape(sh, sw)
        # What the quadratic leaves must be strokes. A region far wider than any stroke is lighting
        # it missed: a shadow over much of the page, which the paper threshold took for ink.
        _, left = cv2.threshold(cv2.subtract(small, surface), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        if cv2.distanceTransform(left, cv2.DIST_L2, 3).max() > MAX_STROKE * max(sh, sw):
            surface = None
    if surface is None:
        return None
    return cv2.resize(surface, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_LINEAR)


def _local_paper(work: np.ndarray) -> np.ndarray:
    """Paper seen locally, for lighting no quadratic follows (a shadow's edge moves whole
    regions): an opening removes every stroke narrower than its kernel and keeps the shadows'
    edges. Only where needed, because a marker stroke wider than the kernel would be taken for
    paper."""
    small, _ = _shrink(work, LOCAL_SIDE)
    side = int(LOCAL_KERNEL * max(small.shape)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    surface = cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(surface, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_LINEAR)


def union(boxes: list[Box]) -> Box:
    if len(boxes) == 1:  # the usual single blob
        return boxes[0]
    x0 = min(b.x for b in boxes)
    y0 = min(b.y for b in boxes)
    x1 = max(b.x + b.w for b in boxes)
    y1 = max(b.y + b.h for b in boxes)
    return Box(x0, y0, x1 - x0, y1 - y0)


def fit_digit(crop: np.ndarray, contract: Contract) -> np.ndarray | None:
    """An ink-layer crop holding one digit -> uint8 model input (input_size), or None if empty."""
    if max(crop.shape) > FIT_SIDE * contract.box:
        # far larger than the box it is fitted into: its block means first (what the final area
        # resampling averages anyway), so the steps below touch a few thousand pixels, not tens of thousands
        crop, _ = _shrink(crop, FIT_SIDE * contract.box)
    # Empty only if no pixel reaches the lowest level find_ink takes for ink. (Asking for more
    # here, Otsu's split or twice that level, dropped faint hairlines that find_ink had found
    # standing clear of the noise: one fine-pen photo in fifty.)
    if crop.max() < MIN_INK_LEVEL:
        return None
    _, mask = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # stretch stroke brightness to MNIST's, then wipe everything not next to a stroke (paper noise)
    ink_mean = cv2.mean(crop, mask)[0]
    img = cv2.convertScaleAbs(crop, alpha=MNIST_INK_MEAN / max(ink_mean, 1.0))
    img = cv2.bitwise_and(img, cv2.dilate(mask, _KERNEL3))
    x, y, w, h = cv2.boundingRect(img)
    if w == 0 or h == 0:
        return None
    img = img[y : y + h, x : x + w]
    box = contract.box
    s = box / max(w, h)
    nw, nh = max(1, min(box, round(w * s))), max(1, min(box, round(h * s)))
    if (nw, nh) != (w, h):  # (a digit already box-sized, as MNIST's are, would only be copied)
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    # the moments that centre it as one integer product: the same exact sums as cv2.moments
    # takes of uint8 pixels, without the seven higher moments it also works out
    m00, m10, m01 = np.dot(img.ravel(), _moment_weights(nh, nw)).tolist()
    if m00 <= 0:
        return None
    out_h, out_w = contract.input_size
    ox = min(max(round(out_w / 2 - m10 / m00), 0), out_w - nw)
    oy = min(max(round(out_h / 2 - m01 / m00), 0), out_h - nh)
    out = np.zeros((out_h, out_w), np.uint8)
    out[oy : oy + nh, ox : ox + nw] = img
    # A hairline (a fine pen on a large digit) comes out of the fit as faint one-pixel lines:
    # no MNIST digit is that thin (their lit pixels average above 0.67 of full ink; these ~0.5).
    # Widen it by a pixel, as thin as MNIST's thinnest. (Lit pixels are no more than nonzero ones,
    # a cheaper count that already rules out most digits.)
    thin = THIN_STROKE * 255
    if m00 < thin * cv2.countNonZero(img) and m00 < thin * np.count_nonzero(img > 40):
        out = cv2.dilate(out, _CROSS3)
    return out


@functools.lru_cache(maxsize=64)
def _moment_weights(h: int, w: int) -> np.ndarray:
    """int64 [h * w, 3]: 1, x, y of each pixel of an h x w picture in raster order."""
    y, x = np.mgrid[0:h, 0:w]
    weights = np.stack([np.ones_like(x), x, y], axis=-1).reshape(-1, 3).astype(np.int64)
    weights.flags.writeable = False  # shared between calls
    return weights


def normalize(image: np.ndarray, contract: Contract, *, rgb: bool = False) -> np.ndarray | None:
    """One picture holding one digit -> uint8 model input, or None when it holds no ink."""
    ink = find_ink(to_gray(image, rgb=rgb))
    if ink is None:
        return None
    marks = drawn_marks(ink)
    boxes = [b for i, b in enumerate(ink.boxes) if i not in marks]
    if ink.scale > 1.0 and len(boxes) > 1:
        boxes = _without_edge_clutter(boxes, ink.gray.shape)
    return fit_digit(ink.layer(union(boxes)), contract)


def drawn_marks(ink: Ink) -> set[int]:
    """Indices into ``ink.boxes`` of marks drawn around or under the writing rather than written:
    outlines (a form's box, a circle) and a line under it (an answer line, an underline). Left
    in, a digit's crop takes them in and the model sees a square; the number reader reads them
    as digits. Marks that touch the writing are one blob with it and stay."""
    if len(ink.boxes) < 2:
        return set()
    marks = {i for i in range(len(ink.boxes)) if _is_outline(ink, i)}
    rest = [i for i in range(len(ink.boxes)) if i not in marks]
    for i in rest:
        others = [ink.boxes[j] for j in rest if j != i]
        if others and _is_underline(ink.boxes[i], union(others)):
            marks.add(i)
            break
    return marks if len(marks) < len(ink.boxes) else set()


def _is_outline(ink: Ink, i: int) -> bool:
    """Does blob ``i`` enclose another substantial blob and keep out of the middle of its own box
    (a box, a circle), or enclose several and run in straight lines between them (a form's comb
    of boxes with shared walls, a table)? (A 0 encloses no digit; a digit's loop holding a speck
    does not count: specks are not substantial.)"""
    box = ink.boxes[i]
    if ink.labels is None:
        return False
    mx, my, inner = OUTLINE_CORE * box.w, OUTLINE_CORE * box.h, OUTLINE_INNER * min(box.w, box.h)
    enclosed = [other for other in ink.boxes if other is not box and max(other.w, other.h) >= inner
                and box.x + mx <= other.x + other.w / 2 <= box.x + box.w - mx
                and box.y + my <= other.y + other.h / 2 <= box.y + box.h - my]
    if not enclosed:
        return False
    x0, y0, x1, y1 = ink._work_region(box, ink.labels.shape)
    mine = (ink.labels[y0:y1, x0:x1] == ink.ids[i]).view(np.uint8)
    h, w = mine.shape
    core = mine[round(h * OUTLINE_CORE) : h - round(h * OUTLINE_CORE), round(w * OUTLINE_CORE) : w - round(w * OUTLINE_CORE)]
    total = cv2.countNonZero(mine)
    if cv2.countNonZero(core) <= OUTLINE_CORE_INK * total:
        return True
    if len(enclosed) < 2:  # walls between the boxes of a comb part several digits (one digit's pieces can look so)
        return False
    # straight: what survives an opening along rows or columns as long as half an enclosed blob
    run = max(3, round(OUTLINE_RUN * max(b.h for b in enclosed) / ink.scale))
    rows = cv2.morphologyEx(mine, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
    columns = cv2.morphologyEx(mine, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8))
    return cv2.countNonZero(rows | columns) >= OUTLINE_STRAIGHT * total


def _is_underline(line: Box, body: Box) -> bool:
    """Is ``line`` drawn under the ink ``body``: flat, low, wider than it and under most of it
    (a 2's foot drawn apart reaches off to one side)?"""
    under = min(line.x + line.w, body.x + body.w) - max(line.x, body.x)
    return (line.w >= UNDERLINE_FLAT * line.h and line.y + line.h / 2 >= body.y + UNDERLINE_LOW * body.h
            and line.w >= UNDERLINE_WIDE * body.w and under >= UNDERLINE_UNDER * body.w)


def _without_edge_clutter(boxes: list[Box], shape: tuple[int, int]) -> list[Box]:
    """A photo's ink blobs (largest first) without those against its edge and well away from the
    largest blob clear of the edge: a speck of vignetting or shadow in a corner, a paper edge, a
    ruling line the border darkens. One digit in a photo stands clear of the edges; left in,
    these widen its crop to take them in. A piece next to the digit (a 5's bar in a photo cropped
    to the ink) stays. (Not for the number reader: a number framed tightly has digits at the edge.)"""
    digit = next((b for b in boxes if not b.at_edge(shape)), None)
    if digit is None:
        return boxes
    reach = EDGE_CLUTTER * max(digit.w, digit.h)  # how far from the digit's box its own pieces may lie

    def far(b: Box) -> bool:
        return (b.x > digit.x + digit.w + reach or b.x + b.w < digit.x - reach
                or b.y > digit.y + digit.h + reach or b.y + b.h < digit.y - reach)

    return [b for b in boxes if not (b.at_edge(shape) and far(b))]


def to_model_input(digits: np.ndarray, contract: Contract) -> np.ndarray:
    """uint8 [N, H, W] -> float32 [N, H, W, 1] as the model's input layout wants."""
    return np.multiply(digits, np.float32(contract.scale), dtype=np.float32)[..., None]


def normalize_batch(images: np.ndarray, contract: Contract) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [N, h, w] pictures -> (uint8 [N, H, W] model inputs, bool [N] found-ink flags).
    Pictures without ink become all-zero inputs flagged False. Used by training and calibration."""
    out = np.zeros((len(images), *contract.input_size), np.uint8)
    found = np.zeros(len(images), bool)
    for i, img in enumerate(images):
        digit = normalize(img, contract)
        if digit is not None:
            out[i] = digit
            found[i] = True
    return out, found
