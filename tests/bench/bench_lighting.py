"""Photos in poor light: MNIST test digits written in a pen, 40-120 px high, on a 640x480 photo of
paper, read by the library.

- A cast shadow across the page (a hand, the phone) taking 30-75 % of the light; the page lit
  evenly but for the shadow, or with the gradient and vignette of the real-world set's photos.
- A dim room: the camera gets 12-100 % of the light, and its sensor noise stays; single digits,
  and 4-digit numbers read with `read_number`.

    python tests/bench/bench_lighting.py [--data ../shared/data/mnist.npz] [--count 80]

Prints, per row, how many were read right.
"""

from __future__ import annotations

import numpy as np

import glyphs
import mnist_cli
import scenes
from edge_digit import Classifier, read_number

FIRST = 5000  # test digits from here on


def read_right(clf: Classifier, x_test: np.ndarray, y_test: np.ndarray, count: int, seed: int, **light) -> int:
    rng, right = np.random.default_rng(seed), 0
    for i in range(count):
        cover = glyphs.mnist_shape(x_test[FIRST + i], rng.uniform(0.05, 0.13))
        digit = scenes.scale_to_height(cover, rng.uniform(40, 120))
        x, y = scenes.place(640, 480, digit, rng)
        pic = scenes.photo([(digit, x, y)], (640, 480), rng, **light)
        right += clf.predict(pic).label == y_test[FIRST + i]
    return right


def numbers_read_right(clf: Classifier, x_test: np.ndarray, y_test: np.ndarray, count: int, seed: int, **light) -> int:
    """4-digit numbers (test digits from FIRST on, a pen, 50-90 px high, spaced a third of
    their height) photographed in ``light``: how many are read exactly right?"""
    rng, right = np.random.default_rng(seed), 0
    for n in range(count):
        idx = FIRST + 4 * n + np.arange(4)
        height = rng.uniform(50, 90)
        x, placed = 40, []
        for k in idx:
            digit = scenes.scale_to_height(glyphs.mnist_shape(x_test[k], rng.uniform(0.05, 0.12)), height)
            placed.append((digit, x, 100))
            x += digit.shape[1] + int(height / 3)
        pic = scenes.photo(placed, (max(x + 40, 400), 300), rng, **light)
        right += read_number(clf, pic).number == "".join(str(y_test[k]) for k in idx)
    return right


def main() -> None:
    digits, count = mnist_cli.parse(__doc__, 80, "photos per row")
    x_test, y_test = digits["x_test"], digits["y_test"]
    clf = Classifier()
    for even in (True, False):
        for depth in (0.3, 0.45, 0.6, 0.75):
            right = read_right(clf, x_test, y_test, count, int(depth * 100), shadow=depth, even=even)
            lighting = "page lit evenly" if even else "gradient and vignette"
            print(f"shadow taking {depth:.0%} of the light, {lighting}: {right}/{count} read right")
    for exposure in (1.0, 0.5, 0.3, 0.2, 0.12):
        right = read_right(clf, x_test, y_test, count, 1000 + int(exposure * 100), exposure=exposure)
        print(f"dim room, {exposure:.0%} of the light: {right}/{count} read right")
    for exposure in (1.0, 0.3, 0.2):
        right = numbers_read_right(clf, x_test, y_test, count // 2, 2000 + int(exposure * 100), exposure=exposure)
        print(f"4-digit number, dim room, {exposure:.0%} of the light: {right}/{count // 2} read right")


if __name__ == "__main__":
    main()
