"""Annotated copies of read pictures: each digit's box and label drawn on the image, written atomically."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .atomic import atomic_path
from .errors import ImageError
from .preprocess import to_gray
from .reader import Reading

SURE_COLOUR = (40, 170, 40)  # BGR
UNSURE_COLOUR = (0, 0, 230)


def draw_reading(image: np.ndarray, reading: Reading) -> np.ndarray:
    """A BGR copy of a decoded picture (any depth or channel count) with boxes and labels drawn."""
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        canvas = image.copy()
    else:  # gray, alpha or 16-bit: draw on the gray picture the reader saw
        canvas = cv2.cvtColor(to_gray(image), cv2.COLOR_GRAY2BGR)
    h, w = canvas.shape[:2]
    thick = max(1, round(max(h, w) / 400))
    for d in reading.digits:
        b = d.box
        colour = SURE_COLOUR if d.label is not None else UNSURE_COLOUR
        cv2.rectangle(canvas, (b.x, b.y), (b.x + b.w - 1, b.y + b.h - 1), colour, thick)
        text = f"{d.label if d.label is not None else '?'} {d.confidence:.2f}"
        scale = max(0.4, b.h / 90)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = b.y - base - 2 if b.y - th - base - 2 >= 0 else min(h - base - 1, b.y + b.h + th + 2)
        cv2.putText(canvas, text, (b.x, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
    return canvas


class AnnotationNames:
    """Output names in one folder: ``<stem>.png``, with ``-2``, ``-3``... when two inputs share a stem."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._taken: set[str] = set()

    def claim(self, source: str | Path) -> Path:
        stem = Path(source).stem or "image"
        name, n = f"{stem}.png", 1
        while name in self._taken:
            n += 1
            name = f"{stem}-{n}.png"
        self._taken.add(name)
        return self.folder / name


def write_annotated(image: np.ndarray, reading: Reading, target: Path) -> Path:
    """Draw and write atomically (a temporary file renamed over ``target``)."""
    canvas = draw_reading(image, reading)
    try:
        with atomic_path(target) as tmp:
            if not cv2.imwrite(tmp, canvas):
                raise ImageError(f"{target}: could not encode the annotated image")
    except OSError as exc:
        raise ImageError(f"{target}: cannot write ({exc.strerror or exc})") from None
    return target
