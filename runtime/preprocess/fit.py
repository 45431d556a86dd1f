"""One digit's ink crop -> the model's input: MNIST's stroke brightness, the aspect-preserving fit
into the box, centring by centre of mass."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ..contract import Contract
from .pixels import KERNEL3, MIN_INK_LEVEL, shrink

FIT_SIDE = 6  # crops longer than this many box sides are fitted from their block means
THIN_STROKE = 0.55  # fitted digits whose lit pixels average less ink than this are hairlines
MNIST_INK_MEAN = 219.0  # mean of MNIST pixels above their Otsu threshold (stroke brightness)

_CROSS3 = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def fit_digit(crop: np.ndarray, contract: Contract) -> np.ndarray | None:
    """An ink-layer crop holding one digit -> uint8 model input (input_size), or None if empty."""
    if max(crop.shape) > FIT_SIDE * contract.box:
        # far larger than the box it is fitted into: its block means first (what the final area
        # resampling averages anyway), so the steps below touch a few thousand pixels, not tens of thousands
        crop, _ = shrink(crop, FIT_SIDE * contract.box)
    # Empty only if no pixel reaches the lowest level find_ink takes for ink. (Asking for more
    # here, Otsu's split or twice that level, dropped faint hairlines that find_ink had found
    # standing clear of the noise: one fine-pen photo in fifty.)
    if crop.max() < MIN_INK_LEVEL:
        return None
    _, mask = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # stretch stroke brightness to MNIST's, then wipe everything not next to a stroke (paper noise)
    ink_mean = cv2.mean(crop, mask)[0]
    img = cv2.convertScaleAbs(crop, alpha=MNIST_INK_MEAN / max(ink_mean, 1.0))
    img = cv2.bitwise_and(img, cv2.dilate(mask, KERNEL3))
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
