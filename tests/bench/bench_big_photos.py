"""How small a digit may be in a large photo: MNIST test digits drawn dark on paper (a gentle
gradient, sensor noise) in pictures of phone-camera and HD size, read by the library.

    python tests/bench/bench_big_photos.py [--data ../shared/data/mnist.npz] [--count 20]

Prints, per picture size and digit height, how many digits were read right.
"""

from __future__ import annotations

import cv2
import numpy as np

import mnist_cli
from edge_digit import Classifier

SIZES = ((4000, 3000), (1920, 1080))
HEIGHTS = (40, 60, 100, 200, 400)


def main() -> None:
    digits, count = mnist_cli.parse(__doc__, 20, "digits per size and height")
    clf, rng = Classifier(), np.random.default_rng(0)
    for w, h in SIZES:
        for side in HEIGHTS:
            right = 0
            for i in range(count):
                paper = 200 + rng.normal(0, 4, (h, w)) + np.linspace(-20, 20, w)[None]
                ink = cv2.resize(digits["x_test"][i], (side, side), interpolation=cv2.INTER_CUBIC) / 255
                x0, y0 = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
                paper[y0 : y0 + side, x0 : x0 + side] *= 1 - 0.75 * ink
                right += clf.predict(np.clip(paper, 0, 255).astype(np.uint8)).label == digits["y_test"][i]
            print(f"{w}x{h}, digit {side} px tall: {right}/{count} read right")


if __name__ == "__main__":
    main()
