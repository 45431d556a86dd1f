"""The digits a benchmark times: MNIST from a keras-style .npz, or digits rendered with OpenCV's
fonts when no data is given; and a phone-photo-like picture of one."""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Inputs:
    """Labelled 28x28 digits (white on black, uint8) and their source."""

    digits: np.ndarray
    labels: np.ndarray | None
    source: str


def load_inputs(data: str | os.PathLike | None, limit: int) -> Inputs:
    """``data``: a keras-style mnist .npz (x_test/y_test, else x_train/y_train); None renders
    digits with OpenCV's fonts (labelled, deterministic, no files needed)."""
    if data is None:
        x, y = rendered_digits()
        return Inputs(x[:limit], y[:limit], "digits rendered with OpenCV fonts")
    from ..errors import DataError

    try:
        with np.load(data) as d:
            xk, yk = ("x_test", "y_test") if "x_test" in d.files else ("x_train", "y_train")
            x, y = d[xk][:limit], d[yk][:limit] if yk in d.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{data}: not a keras-style mnist .npz ({exc})") from None
    if x.ndim != 3 or x.dtype != np.uint8:
        raise DataError(f"{data}: {xk} must be uint8 [N, H, W], not {x.dtype} {list(x.shape)}")
    return Inputs(np.ascontiguousarray(x), None if y is None else np.asarray(y).astype(np.int64), f"{data} ({xk})")


def rendered_digits() -> tuple[np.ndarray, np.ndarray]:
    """0-9 in OpenCV's Hershey fonts at a few stroke widths, drawn large and shrunk to 28x28."""
    fonts = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
             cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_PLAIN)
    xs, ys = [], []
    for font in fonts:
        for thick in (6, 9, 12):
            for digit in range(10):
                canvas = np.zeros((112, 112), np.uint8)
                scale = 3.2 if font != cv2.FONT_HERSHEY_PLAIN else 6.0
                (w, h), _ = cv2.getTextSize(str(digit), font, scale, thick)
                cv2.putText(canvas, str(digit), ((112 - w) // 2, (112 + h) // 2), font, scale, 255, thick, cv2.LINE_AA)
                xs.append(cv2.resize(canvas, (28, 28), interpolation=cv2.INTER_AREA))
                ys.append(digit)
    return np.stack(xs), np.array(ys, np.int64)


def photo_of(digit: np.ndarray, seed: int, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A phone-photo-like BGR picture of a 28x28 digit: dark ink on uneven, noisy paper."""
    rng = np.random.default_rng(seed)
    w, h = size
    side = int(min(w, h) * 0.55)
    ink = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
    gx = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    gy = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    paper = 200.0 + 22.0 * gx - 12.0 * gy + rng.normal(0.0, 3.0, (h, w)).astype(np.float32)
    x0, y0 = int(w * 0.4) - side // 2, int(h * 0.55) - side // 2
    paper[y0 : y0 + side, x0 : x0 + side] *= 1.0 - 0.75 * ink
    gray = np.clip(paper, 0, 255).astype(np.uint8)
    return cv2.merge([cv2.subtract(gray, 10), gray, cv2.add(gray, 6)])  # a warm cast, as under lamp light
