"""Photos of a sheet of paper lying on a darker desk: MNIST test digits written dark on a sheet
(a little askew, a gentle light gradient) that covers part of a 800x600 photo, on a plain or
grained desk, read by the library; and 4-digit numbers on such a sheet.

    python tests/bench/bench_desk.py [--data ../shared/data/mnist.npz] [--count 30]

Prints, per desk and share of the photo the sheet covers, how many were read right.
"""

from __future__ import annotations

import cv2
import numpy as np

import mnist_cli
from edge_digit import Classifier, read_number

H, W = 600, 800


def desk_photo(rng: np.random.Generator, desk: float, grain: float, cover: float) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A desk with a sheet on it, as float levels, and the sheet's box (x, y, w, h)."""
    pic = np.full((H, W), desk) + rng.normal(0, 5, (H, W))
    if grain:  # wood-like streaks along the desk
        streaks = cv2.resize(rng.normal(0, 1, (H // 16 + 1, W // 128 + 1)), (W, H), interpolation=cv2.INTER_CUBIC)
        pic += grain * streaks / streaks.std()
    ph, pw = int(H * cover), int(W * cover)
    y0, x0 = int(rng.integers(0, H - ph + 1)), int(rng.integers(0, W - pw + 1))
    corners = np.array([[x0, y0], [x0 + pw, y0 + int(rng.integers(-20, 20))], [x0 + pw, y0 + ph], [x0, y0 + ph]], np.int32)
    sheet = np.zeros((H, W), np.uint8)
    cv2.fillPoly(sheet, [corners], 255)
    light = np.linspace(-15, 15, W)[None] + np.zeros((H, 1))
    pic[sheet > 0] = (215 + light + rng.normal(0, 3, (H, W)))[sheet > 0]
    return pic, (x0, y0, pw, ph)


def write(pic: np.ndarray, digit: np.ndarray, x: int, y: int, side: int) -> None:
    ink = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC) / 255
    pic[y : y + side, x : x + side] = pic[y : y + side, x : x + side] * (1 - ink) + 40 * ink


def main() -> None:
    digits, count = mnist_cli.parse(__doc__, 30, "photos per row")
    x_test, y_test = digits["x_test"], digits["y_test"]
    clf, rng = Classifier(), np.random.default_rng(7)
    for desk, grain in ((40, 0), (90, 0), (140, 0), (60, 20), (110, 20)):
        for cover in (0.6, 0.8, 0.95):
            right = 0
            for i in range(count):
                pic, (x0, y0, pw, ph) = desk_photo(rng, desk, grain, cover)
                side = int(rng.uniform(60, 140))
                write(pic, x_test[i], int(rng.integers(x0 + 20, x0 + pw - side - 20)), int(rng.integers(y0 + 30, y0 + ph - side - 20)), side)
                right += clf.predict(np.clip(pic, 0, 255).astype(np.uint8)).label == y_test[i]
            print(f"one digit, desk {desk}{' grained' if grain else ''}, sheet {cover:.0%} of the photo: {right}/{count} read right")
    for desk in (40, 110):
        right = 0
        for n in range(count):
            pic, (x0, y0, pw, ph) = desk_photo(rng, desk, 0, 0.8)
            idx = rng.integers(0, len(x_test), 4)
            for j, k in enumerate(idx):
                write(pic, x_test[k], x0 + pw // 2 - 190 + 95 * j, y0 + ph // 2 - 40, 80)
            number = read_number(clf, np.clip(pic, 0, 255).astype(np.uint8)).number
            right += number == "".join(str(y_test[k]) for k in idx)
        print(f"4-digit number, desk {desk}, sheet 80% of the photo: {right}/{count} read right")


if __name__ == "__main__":
    main()
