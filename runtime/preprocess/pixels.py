"""Pixel basics shared by every preprocessing step: any image as uint8 gray, a small copy of it
for statistics, a histogram percentile, and the levels that say "blank" and "ink"."""

from __future__ import annotations

import cv2
import numpy as np

STATS_SIDE = 64  # polarity and background are estimated on a copy at most this large
BLUR_BLOCKS = (3, 5)  # block sizes whose means a box blur gives faster than area resampling (640- and 1280-px frames)
SMALL_PICTURE = 64 * 64  # pictures up to this many pixels take cheaper paths (same results)
MIN_CONTRAST = 40  # spread of the (near-)extreme pixel values below this: a blank picture
MIN_INK_LEVEL = 24  # Otsu threshold on the flattened layer below this: only noise

KERNEL3 = np.ones((3, 3), np.uint8)


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


def shrink(img: np.ndarray, side: int) -> tuple[np.ndarray, float]:
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


def percentile(img: np.ndarray, q: float) -> int:
    """The level below which a share ``q`` of a uint8 picture's pixels lie (a histogram's, cheap)."""
    cdf = cv2.calcHist([img], [0], None, [256], (0, 256)).ravel().cumsum()
    return int(np.searchsorted(cdf, q * cdf[-1]))


def at_full_scale(mask: np.ndarray, f: float, shape: tuple[int, int], *, replicate: bool = False) -> np.ndarray:
    """A mask over a ``shrink`` copy (``f`` the factor back) over the picture of ``shape`` it was
    made from: each copy pixel covers its block. The rows and columns short of a block, which
    ``shrink`` left out, are left empty, or with ``replicate`` follow their neighbours."""
    if f == 1.0:
        return mask
    h, w = shape
    k = int(f)
    up = cv2.resize(mask, (mask.shape[1] * k, mask.shape[0] * k), interpolation=cv2.INTER_NEAREST)
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    return cv2.copyMakeBorder(up, 0, h - up.shape[0], 0, w - up.shape[1], border, value=0)
