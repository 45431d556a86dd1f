"""The one preprocessing implementation, shared by training, export calibration and runtime.

Algorithm ``ink-fit-v1`` turns any picture of a digit into what an MNIST-style model
expects (white ink on black, the digit fitted into a ``box`` x ``box`` square and
centred by centre of mass in ``input_size``):

1. ``to_gray``      any array (gray, BGR, BGRA, 16-bit, float) -> uint8 gray;
2. ``find_ink``     polarity, background flattening, Otsu threshold, connected components
                    -> where the ink is; ``Ink.layer`` lifts a crop as ink bright on paper ~0;
3. ``fit_digit``    contrast stretch, crop to the ink, aspect-preserving fit, centring.

An MNIST digit passes through nearly unchanged (it already is white on black and
centred), which is why training runs every image through the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .contract import Contract

STATS_SIDE = 64  # polarity and background are estimated on a copy at most this large
WORK_SIDE = 256  # ink is located on a copy at most this large (photos stay fast)
MIN_CONTRAST = 40  # spread of the (near-)extreme pixel values below this: a blank picture
MIN_INK_LEVEL = 24  # Otsu threshold on the flattened layer below this: only noise
KEEP_FRACTION = 0.04  # components smaller than this share of the largest are noise
MNIST_INK_MEAN = 219.0  # mean of MNIST pixels above their Otsu threshold (stroke brightness)

_KERNEL3 = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class Box:
    """A rectangle in pixel coordinates of the original picture."""

    x: int
    y: int
    w: int
    h: int

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


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
        if a.size and float(np.nanmax(a)) <= 1.0:
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
    """A copy whose longer side is at most ``side``, and the factor back to ``img``'s scale."""
    h, w = img.shape
    longer = max(h, w)
    if longer <= side:
        return img, 1.0
    f = longer / side
    size = (max(1, round(w / f)), max(1, round(h / f)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA), f


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
            out = cv2.subtract(crop, self.paper)
        else:
            out = cv2.subtract(crop, self._at_full_scale(self.paper, box, cv2.INTER_LINEAR))
        if only is not None:
            out = cv2.bitwise_and(out, out, mask=self._component_mask(box, only))
        return out

    def _work_region(self, box: Box, shape: tuple[int, int]) -> tuple[int, int, int, int]:
        """Work-resolution rectangle (x0, y0, x1, y1) covering ``box``, clamped to ``shape``."""
        f = self.scale
        ph, pw = shape
        x0, y0 = min(int(box.x / f), pw - 1), min(int(box.y / f), ph - 1)
        x1, y1 = max(x0 + 1, min(pw, int(np.ceil((box.x + box.w) / f)))), max(y0 + 1, min(ph, int(np.ceil((box.y + box.h) / f))))
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
    Polarity: the paper is the bulk of the picture, so the median sits on the paper's side of
    the range between the (near-)extreme values. Illumination: a quadratic surface fitted to the
    paper pixels (not the ink) is subtracted, which removes the shadows and gradients of phone
    photos whatever the stroke width, since no filter kernel has to be wider than a stroke.
    """
    work, f = _shrink(gray, WORK_SIDE)
    cdf = np.cumsum(np.bincount(work.ravel(), minlength=256))
    n = int(cdf[-1])
    k = n // 2000 + 1  # a few pixels in from either extreme: robust to specks, yet a thin small digit counts
    lo, med, hi = (int(v) for v in np.searchsorted(cdf, (k, n // 2 + 1, n - k + 1)))
    if hi - lo < MIN_CONTRAST:
        return None
    dark_ink = med - lo > hi - med
    if dark_ink:  # paper is bright: flip to MNIST polarity
        work = cv2.bitwise_not(work)
        lo, med, hi = 255 - hi, 255 - med, 255 - lo
    paper = _paper_level(work, med, hi)
    flat = cv2.subtract(work, paper)
    level, mask = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if level < MIN_INK_LEVEL:
        return None
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    stats = stats[1:]
    areas = stats[:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= max(2, keep_fraction * areas.max()))
    keep = keep[np.argsort(-areas[keep], kind="stable")]
    # back to full resolution with a one-work-pixel margin (area resampling blurs edges)
    h, w = gray.shape
    x0 = np.maximum(0, ((stats[keep, 0] - 1) * f).astype(int))
    y0 = np.maximum(0, ((stats[keep, 1] - 1) * f).astype(int))
    x1 = np.minimum(w, np.ceil((stats[keep, 0] + stats[keep, 2] + 1) * f).astype(int))
    y1 = np.minimum(h, np.ceil((stats[keep, 1] + stats[keep, 3] + 1) * f).astype(int))
    boxes = [Box(int(a), int(b), int(c - a), int(d - b)) for a, b, c, d in zip(x0, y0, x1, y1)]
    return Ink(gray, dark_ink, paper, f, boxes, labels, tuple(int(i) + 1 for i in keep))


def _paper_level(work: np.ndarray, med: int, hi: int) -> np.ndarray | int:
    """Paper brightness of an (ink-bright) working copy: one level when the paper is even,
    else a least-squares quadratic through the paper pixels, rendered at the working size."""
    small, _ = _shrink(work, STATS_SIDE)
    _, paper = cv2.threshold(small, med + (hi - med) // 2, 255, cv2.THRESH_BINARY_INV)
    paper = cv2.erode(paper, _KERNEL3)  # stay clear of stroke edges
    if cv2.countNonZero(paper) < 16:
        return med
    mean, std = cv2.meanStdDev(small, mask=paper)
    if std[0, 0] < 4.0:
        return int(round(mean[0, 0]))
    sh, sw = small.shape
    ys, xs = np.nonzero(paper)
    u = xs * (2.0 / max(sw - 1, 1)) - 1.0
    v = ys * (2.0 / max(sh - 1, 1)) - 1.0
    design = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=1)
    coef, *_ = np.linalg.lstsq(design, small[ys, xs].astype(np.float64), rcond=None)
    gu, gv = np.meshgrid(np.linspace(-1, 1, sw), np.linspace(-1, 1, sh))
    surface = coef[0] + coef[1] * gu + coef[2] * gv + coef[3] * gu * gu + coef[4] * gu * gv + coef[5] * gv * gv
    surface = np.clip(surface, 0, 255).astype(np.uint8)
    return cv2.resize(surface, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_LINEAR)


def union(boxes: list[Box]) -> Box:
    x0 = min(b.x for b in boxes)
    y0 = min(b.y for b in boxes)
    x1 = max(b.x + b.w for b in boxes)
    y1 = max(b.y + b.h for b in boxes)
    return Box(x0, y0, x1 - x0, y1 - y0)


def fit_digit(crop: np.ndarray, contract: Contract) -> np.ndarray | None:
    """An ink-layer crop holding one digit -> uint8 model input (input_size), or None if empty."""
    level, mask = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if level < MIN_INK_LEVEL and crop.max() < 2 * MIN_INK_LEVEL:
        return None
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
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    m = cv2.moments(img)
    if m["m00"] <= 0:
        return None
    out_h, out_w = contract.input_size
    ox = min(max(round(out_w / 2 - m["m10"] / m["m00"]), 0), out_w - nw)
    oy = min(max(round(out_h / 2 - m["m01"] / m["m00"]), 0), out_h - nh)
    out = np.zeros((out_h, out_w), np.uint8)
    out[oy : oy + nh, ox : ox + nw] = img
    return out


def normalize(image: np.ndarray, contract: Contract, *, rgb: bool = False) -> np.ndarray | None:
    """One picture holding one digit -> uint8 model input, or None when it holds no ink."""
    ink = find_ink(to_gray(image, rgb=rgb))
    if ink is None:
        return None
    return fit_digit(ink.layer(union(ink.boxes)), contract)


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
