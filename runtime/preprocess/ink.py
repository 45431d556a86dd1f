"""Where a picture's ink is: polarity, paper flattening, threshold and connected components,
found on a small working copy; ``Ink.layer`` lifts any part of it at full resolution."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from .paper import MAX_STROKE, local_paper, paper_level
from .pixels import KERNEL3, MIN_CONTRAST, MIN_INK_LEVEL, SMALL_PICTURE, percentile, shrink
from .polarity import border_quartiles, dark_ink_side, levels
from .ruled import lines_painted, ruled_lines
from .sheet import find_sheet, surface_painted

WORK_SIDE = 256  # ink is located on a copy at most this large (photos stay fast) ...
WORK_BLOCK = 8  # ... and, if none stands out there, on one of blocks this large at most ...
MAX_WORK_SIDE = 504  # ... up to this large (a quarter of its pixels, the most blobs it can hold, fit 16-bit labels)
NOISE_Z = 4.5  # sparse ink must stand this many noise deviations above the paper
MIN_STROKE_WORK = 5  # ... and span this many work pixels (noise clusters are smaller) ...
NOISE_GROW_Z = 3.5  # ... and is then followed along what stands this many deviations above it
KEEP_FRACTION = 0.04  # components smaller than this share of the largest are noise
FEW_BLOBS = 8  # up to this many kept components get their boxes one by one (cheaper than stats of all)
FAINT_CONTRAST = 30  # a picture flatter than MIN_CONTRAST may hold a hairline whose blocks' inkiest
# pixels reach this far from the paper; the noise floor then decides (blank pages stay blank there)
DIM = 128  # a picture whose brightest level is below this is underexposed ...
DIM_GAIN = 4.0  # ... and brightened by this gain at most ...
DIM_NOISE = 6.0  # ... and no more than brings its noise and texture (robust deviation, work copy) to this
DIM_TEXTURE = 4.0  # ... measured against a blur this wide (work pixels)
SHADOW_DEPTH = 0.75  # a region too wide for a stroke, at the picture's edge, taking at most this
# share of the light may be a shadow ...
SHADOW_INK = 0.5  # ... if ink seen under a cast shadow spans at most this share of the picture each way
SHADED = 0.85  # paper under a digit darker than this share of the lit paper is in a shadow (ink contrast restored)


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


def union(boxes: list[Box]) -> Box:
    if len(boxes) == 1:  # the usual single blob
        return boxes[0]
    x0 = min(b.x for b in boxes)
    y0 = min(b.y for b in boxes)
    x1 = max(b.x + b.w for b in boxes)
    y1 = max(b.y + b.h for b in boxes)
    return Box(x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class Ink:
    """Where the ink of a picture is, and how to lift any part of it out as an ink layer."""

    gray: np.ndarray  # the full-resolution picture (a desk around a sheet, or ruled lines, painted over)
    dark_ink: bool  # ink darker than paper (flipped to MNIST polarity when lifted)
    paper: np.ndarray | int  # paper brightness (after flipping): one level, or a surface at work scale
    scale: float  # full resolution / work resolution
    boxes: list[Box]  # ink blobs that are not noise, largest first, full-resolution coordinates
    labels: np.ndarray | None = None  # uint16 component map at work resolution (0 = paper)
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
                    lit = SHADED * (255 - percentile(self.paper, 0.1))  # the lit paper, more or less
                    if here < lit:
                        out = cv2.convertScaleAbs(out, alpha=lit / max(here, 1.0))
        if only is not None:
            out = cv2.bitwise_and(out, out, mask=self._component_mask(box, only))
        return out

    def blob_mask(self, i: int) -> np.ndarray:
        """uint8 mask (1 = ink) of blob ``i`` (an index into ``boxes``) over its box, at work resolution."""
        if self.labels is None:
            raise ValueError("this Ink carries no component map")
        x0, y0, x1, y1 = self._work_region(self.boxes[i], self.labels.shape)
        return (self.labels[y0:y1, x0:x1] == self.ids[i]).view(np.uint8)

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
        mine = cv2.dilate(mine, KERNEL3)
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
    little; only the crops later lifted by ``Ink.layer`` are touched at full resolution. A very
    large photo where no ink stands out there gets a second look on a larger copy
    (``work_side``): a small digit in a phone's 12 MP photo is a few pixels of the first.
    Polarity: see ``dark_ink_side`` (the border, else the median, else the strokes' details).
    Illumination: see ``paper_level``: a quadratic surface fitted to the paper pixels (not the
    ink) removes gradients and vignetting whatever the stroke width, since no filter kernel has
    to be wider than a stroke; only lighting no quadratic follows (a cast shadow's edge) is
    seen through a local opening. Threshold: Otsu, unless the ink is too sparse for it (a fine
    pen on a large page), then a noise floor, on a copy that keeps each block's inkiest pixel
    (averaging would thin a hairline's contrast into the noise). An underexposed picture is
    brightened first (``_exposure_gain``).
    """
    ink = _find_ink(gray, keep_fraction, WORK_SIDE)
    if ink is None and work_side(gray.shape) > WORK_SIDE:
        ink = _find_ink(gray, keep_fraction, work_side(gray.shape))
    return ink


def _exposure_gain(work: np.ndarray, lo: int, med: int, hi: int) -> float:
    """How far to brighten an underexposed working copy (a dim room, a webcam; ``lo``, ``med``,
    ``hi`` its ``levels``): ink's contrast shrinks with the light, but the levels that tell ink
    from noise do not. Up to full range, by a gain capped so that the picture's noise stays as
    low as a picture in good light has (a dark frame's noise must not pass for ink); 1 for a
    picture that is not dim, or whose paper is not its bright side (chalk on a board)."""
    if hi >= DIM or med - lo <= hi - med:
        return 1.0
    # the noise and texture: robust deviation of the pixels from their surroundings
    noise = 1.4826 * percentile(cv2.absdiff(work, cv2.GaussianBlur(work, (0, 0), DIM_TEXTURE)), 0.5)
    return min(DIM_GAIN, 255 / hi, DIM_NOISE / max(noise, 1.0))


def _find_ink(gray: np.ndarray, keep_fraction: float, side: int, lined: bool = False) -> Ink | None:
    """``find_ink`` on a working copy at most ``side`` pixels large; ``lined``: ruled lines have
    been painted over already."""
    if min(gray.shape) < 2:  # a one-pixel line holds no digit (and OpenCV reads a 1-column array of <= 4 rows as a scalar)
        return None
    work, f = shrink(gray, side)
    lo, med, hi = levels(work)
    if not lined and (gain := _exposure_gain(work, lo, med, hi)) > 1:  # (lined: brightened already)
        gray, work = cv2.convertScaleAbs(gray, alpha=gain), cv2.convertScaleAbs(work, alpha=gain)
        lo, med, hi = levels(work)
    if hi - lo >= MIN_CONTRAST:
        border = border_quartiles(work)
        if (sheet := find_sheet(work, lo, med, hi, border[1])) is not None:
            mask, paper, to_work = sheet
            gray = surface_painted(gray, mask, paper, to_work * f)  # a sheet on a desk: read the sheet alone
            work, f = shrink(gray, side)
            lo, med, hi = levels(work)
            border = border_quartiles(work)
        dark_ink, med, clean_border = dark_ink_side(work, lo, med, hi, border)
    else:
        # Blank, or a hairline whose contrast the averaging took (a fine pen on a large page):
        # the blocks' darkest or brightest pixels keep it. Ink is on the side that reaches
        # further from the paper (noise reaches about as far either way).
        if f == 1.0 or min(gray.shape) < f:
            return None
        darkest = 255 - levels(_peak_copy(gray, int(f), True))[2]  # (near-)darkest block minimum
        brightest = levels(_peak_copy(gray, int(f), False))[2]  # (near-)brightest block maximum
        below, above = med - darkest, brightest - med
        if max(below, above) < FAINT_CONTRAST:
            return None
        dark_ink, clean_border = below > above, False
    if dark_ink:  # paper is bright: flip to MNIST polarity
        work = cv2.bitwise_not(work)
        lo, med, hi = 255 - hi, 255 - med, 255 - lo
    local = None  # the paper seen locally, once it has been looked at
    framed = clean_border and work.size <= SMALL_PICTURE
    if framed:
        paper = med  # a small picture framed by one exact level (MNIST, a clean crop): that is the paper
    else:
        paper = paper_level(work, med, hi)
        if paper is None:  # lighting no quadratic follows
            paper = local = local_paper(work)
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
            local = local_paper(work)
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
        if not lined and (ruled := ruled_lines(mask)) is not None:  # lined paper: read it without its lines
            return _find_ink(lines_painted(gray, ruled, f, dark_ink), keep_fraction, side, lined=True)
        # (a shadow only darkens: on dark paper it is never taken for light ink)
        shaded = dark_ink and local is None and not framed and _shadow_look(work, paper, mask, keep_fraction)
        if shaded:
            paper, labels, kept = shaded
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


def _shadow_look(work: np.ndarray, paper: np.ndarray | int, mask: np.ndarray, keep_fraction: float):
    """A cast shadow over much of an evenly lit page: over the paper's level (``paper``) it passes
    for ink (``mask``), a region far wider than any stroke. Seen locally (``local_paper``) it is
    paper again; that look is taken if it leaves a clear ink class spanning no more of the
    picture than a digit in a photo does. (Where a digit fills its picture, a scan's thick stroke
    can be the wide region, and the local look would leave only its thin parts, spread over the
    picture.) Returns the local paper, the label map and the kept blobs, or None."""
    wh, ww = work.shape
    radius = MAX_STROKE * max(wh, ww)
    if cv2.countNonZero(mask) < math.pi * radius * radius:  # no room for such a region
        return None
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    _, widest, _, (x, y) = cv2.minMaxLoc(dist)
    if widest <= radius:
        return None
    # A shadow is cast from outside the picture, so it reaches the picture's edge (a marker's
    # filled loop lies inside it) ...
    blob = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_16U)[1]
    blob = cv2.compare(blob, int(blob[y, x]), cv2.CMP_EQ)
    if not (blob[0].any() or blob[-1].any() or blob[:, 0].any() or blob[:, -1].any()):
        return None
    # ... and takes only part of the light; ink takes most (a digit's thick stroke filling a scan).
    region = cv2.compare(dist, radius, cv2.CMP_GT)
    lit = 255 - (paper if isinstance(paper, int) else cv2.mean(paper, region)[0])  # the paper's brightness, unflipped
    if cv2.mean(work, region)[0] - (255 - lit) > SHADOW_DEPTH * lit:
        return None
    local = local_paper(work)
    flat = cv2.subtract(work, local)
    level, mask = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if level < MIN_INK_LEVEL:
        if (upper := _clear_split(flat, level)) is None:
            return None
        _, mask = cv2.threshold(flat, upper, 255, cv2.THRESH_BINARY)
    labels, kept = _components(mask, keep_fraction)
    # where the shadow's edge meets the picture's at a sharp angle, its wedge is narrower than
    # the local look's kernel and is left as a sliver against the picture's edge
    kept = [(i, r) for i, r in kept if r[0] > 0 and r[1] > 0 and r[0] + r[2] < ww and r[1] + r[3] < wh]
    if not kept:
        return None
    x0, y0 = min(r[0] for _, r in kept), min(r[1] for _, r in kept)
    x1, y1 = max(r[0] + r[2] for _, r in kept), max(r[1] + r[3] for _, r in kept)
    if x1 - x0 > SHADOW_INK * ww or y1 - y0 > SHADOW_INK * wh:
        return None
    return local, labels, kept


def work_side(shape: tuple[int, int]) -> int:
    """The longest side of a working copy of a picture of ``shape`` in blocks of WORK_BLOCK
    pixels at most (up to MAX_WORK_SIDE), or WORK_SIDE if that is larger. A 60-px digit in a
    4000x3000 photo is 4 pixels of a 256-px copy, too few to stand out from the noise; 8 of this."""
    return min(MAX_WORK_SIDE, max(WORK_SIDE, -(-max(shape) // WORK_BLOCK)))


def _over_noise(work: np.ndarray, paper: np.ndarray | int, keep_fraction: float):
    """Faint or sparse ink: what stands a noise floor clear of ``paper`` in ``work`` (the picture,
    or the copy of its blocks' inkiest pixels that keeps a hairline's contrast; the noise floor
    allows for what the peaks add), as strokes long enough for a digit and clear of the picture's
    edge (where vignetting and paper edges leave what the flattening misses)."""
    flat = cv2.subtract(work, paper)
    hist = cv2.calcHist([flat], [0], None, [256], (0, 256)).ravel()
    _, mask = cv2.threshold(flat, _noise_floor(hist), 255, cv2.THRESH_BINARY)
    labels, kept = _strokes(mask, keep_fraction)
    if kept:
        # A faint stroke in noise clears the floor only in pieces, some too short to count alone.
        # Where one counts, each piece is grown along what clears a lower floor (hysteresis, as
        # edge detectors do), joining the stroke up; a blank picture's noise still has to reach
        # the high floor in a stroke-long blob first.
        _, weak = cv2.threshold(flat, _noise_floor(hist, NOISE_GROW_Z), 255, cv2.THRESH_BINARY)
        grown = cv2.connectedComponents(weak, connectivity=8, ltype=cv2.CV_16U)[1]
        seeds = np.unique(grown[mask != 0])
        labels, kept = _strokes(np.isin(grown, seeds).view(np.uint8), keep_fraction)
    return labels, kept


def _strokes(mask: np.ndarray, keep_fraction: float):
    """``_components`` of a mask, less blobs too short for a stroke or touching the picture's edge."""
    labels, kept = _components(mask, keep_fraction)
    wh, ww = mask.shape
    kept = [(i, r) for i, r in kept if max(r[2], r[3]) >= MIN_STROKE_WORK
            and r[0] > 0 and r[1] > 0 and r[0] + r[2] < ww and r[1] + r[3] < wh]
    return labels, kept


def _components(mask: np.ndarray, keep_fraction: float) -> tuple[np.ndarray, list[tuple[int, list[int]]]]:
    """8-connected blobs of a binary mask: the uint16 label map, and the blobs that are not noise
    (at least ``keep_fraction`` of the largest, and two pixels) as (label - 1, [x, y, w, h, area])
    in label order.

    Same results as cv2.connectedComponentsWithStats, cheaper: its stats cost a pass over every
    pixel (~8x a labelling alone, even for one blob), while only the few kept blobs need a box."""
    # 16-bit labels suffice on a work copy (at most MAX_WORK_SIDE**2 pixels, a quarter of them
    # blobs at most), and OpenCV labels 16-bit maps on one thread: its thread pool, woken for
    # 32-bit ones, nearly tripled the cost of an MNIST digit's labelling (2.1 -> 5.5 us)
    count, labels = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_16U)
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
    """The work copy ``shrink`` makes (same k x k blocks, same shape) from each block's inkiest
    pixel instead of its mean, ink bright: a line thinner than a block keeps its full contrast."""
    h, w = gray.shape
    block = np.ones((k, k), np.uint8)
    # anchor (0, 0): each pixel takes the extreme of the block starting at it; keep blocks' first pixels
    if dark_ink:
        peaks = cv2.bitwise_not(cv2.erode(gray, block, anchor=(0, 0)))
    else:
        peaks = cv2.dilate(gray, block, anchor=(0, 0))
    return np.ascontiguousarray(peaks[: h - h % k : k, : w - w % k : k])


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


def _noise_floor(hist: np.ndarray, z: float = NOISE_Z) -> int:
    """A level that paper noise rarely reaches in a flattened layer (its 256-bin histogram)
    where ink is sparse: the median plus ``z`` robust standard deviations (the 84th
    percentile less the median)."""
    cdf = np.cumsum(hist)
    p50, p84 = np.searchsorted(cdf, (cdf[-1] * 0.5, cdf[-1] * 0.84)).tolist()
    return int(max(MIN_INK_LEVEL, p50 + z * max(p84 - p50, 1)))
