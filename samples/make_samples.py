"""Regenerate the sample pictures in this folder (python samples/make_samples.py).

mnist/: one MNIST test digit per class, as they come (white on black, 28x28).
photos/: MNIST test digits re-drawn as phone photos of dark ink on paper: larger, off-centre,
unevenly lit, noisy, JPEG-compressed, in colour. MNIST by LeCun, Cortes and Burges, CC BY-SA 3.0.
"""

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
SUBSET = HERE.parent / "tests" / "data" / "mnist-subset.npz"


def photo(digit: np.ndarray, rng: np.random.Generator, size=(240, 320)) -> np.ndarray:
    h, w = size
    side = int(rng.integers(60, 130))
    ink = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    if rng.random() < 0.5:  # a felt marker
        ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    cover = np.zeros((h, w), np.float32)
    y, x = int(rng.integers(10, h - side - 10)), int(rng.integers(10, w - side - 10))
    cover[y : y + side, x : x + side] = ink
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.75 + 0.25 * (gx / w) + 0.1 * (gy / h)
    paper = np.array([205, 215, 225], np.float32) * rng.uniform(0.85, 1.05)  # BGR, slightly warm
    pen = np.array([90, 40, 30], np.float32) * rng.uniform(0.3, 1.0)  # dark blue ink
    pic = (paper[None, None] + (pen - paper)[None, None] * cover[..., None]) * light[..., None]
    pic += rng.normal(0, 5, pic.shape).astype(np.float32)
    pic = np.clip(pic, 0, 255).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", pic, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return cv2.imdecode(enc, cv2.IMREAD_COLOR)


def main() -> None:
    with np.load(SUBSET) as d:
        x, y = d["x_test"], d["y_test"]
    rng = np.random.default_rng(2024)
    (HERE / "mnist").mkdir(exist_ok=True)
    (HERE / "photos").mkdir(exist_ok=True)
    for label in range(10):
        i = int(np.flatnonzero(y == label)[0])
        cv2.imwrite(str(HERE / "mnist" / f"digit-{label}.png"), x[i])
        j = int(np.flatnonzero(y == label)[1])
        cv2.imwrite(str(HERE / "photos" / f"photo-{label}.jpg"), photo(x[j], rng), [cv2.IMWRITE_JPEG_QUALITY, 90])


if __name__ == "__main__":
    main()
