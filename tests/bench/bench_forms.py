"""Digits written into forms, read by the library: one digit inside a printed box, circled, on
an answer line (apart from the digit or touching it, level or askew), between ruled lines as
dark as the ink or lighter, beside a notebook's margin line, in a 400x300 photo-like picture; and
4-digit numbers in a box per digit, a comb of boxes with shared walls, a frame, on a line or
between ruled lines,
with a separator between the second and third digit (a dash, a slash, a full stop, a comma,
a colon), and beside a margin line.

    python tests/bench/bench_forms.py [--data ../shared/data/mnist.npz] [--count 40]

Prints, per kind of mark, how many MNIST test digits (numbers) were read right.
"""

from __future__ import annotations

import cv2
import numpy as np

import mnist_cli
from edge_digit import Classifier, read_number

SIDE, X0, Y0 = 110, 145, 95  # the digit's size and place in the picture


def draw_mark(pic: np.ndarray, mark: str) -> None:
    x1, y1 = X0 + SIDE, Y0 + SIDE
    if mark == "box":
        cv2.rectangle(pic, (X0 - 20, Y0 - 20), (x1 + 20, y1 + 20), (60, 60, 60), 2)
    elif mark == "box touching":
        cv2.rectangle(pic, (X0 + 5, Y0 + 5), (x1 - 5, y1 - 5), (60, 60, 60), 2)
    elif mark == "circle":
        cv2.ellipse(pic, (X0 + SIDE // 2, Y0 + SIDE // 2), (SIDE // 2 + 30, SIDE // 2 + 25), 0, 0, 360, (60, 60, 60), 3)
    elif mark == "underline":
        cv2.line(pic, (X0 - 30, y1 + 15), (x1 + 30, y1 + 15), (60, 60, 60), 2)
    elif mark == "underline touching":
        cv2.line(pic, (X0 - 30, y1 - 12), (x1 + 30, y1 - 12), (60, 60, 60), 2)
    elif mark == "underline touching, askew":  # about 3 degrees
        cv2.line(pic, (X0 - 30, y1 - 8), (x1 + 30, y1 - 16), (60, 60, 60), 2)
    elif mark == "margin line":  # a notebook's margin line, red, a quarter of the digit's size to its left
        cv2.line(pic, (X0 - 25, 0), (X0 - 27, pic.shape[0] - 1), (80, 80, 200), 2)
    elif mark.startswith("ruled lines"):  # a page's lines across the picture, touching the digit above and below
        level = int(mark.split()[-1])
        for y in (Y0 + 18, y1 - 12):
            cv2.line(pic, (0, y), (pic.shape[1] - 1, y), (level, level, level), 2)


def number_form(pic: np.ndarray, form: str, x0s: list[int]) -> None:
    if form == "boxes":
        for x in x0s:
            cv2.rectangle(pic, (x - 12, 68), (x + 92, 172), 70, 2)
    elif form == "comb":
        for j in range(len(x0s) + 1):
            cv2.line(pic, (45 + j * 110, 65), (45 + j * 110, 175), 70, 2)
        cv2.line(pic, (45, 175), (45 + len(x0s) * 110, 175), 70, 2)
    elif form == "frame":
        cv2.rectangle(pic, (35, 55), (505, 185), 70, 2)
    elif form == "line":
        cv2.line(pic, (40, 175), (510, 175), 70, 2)
    elif form == "ruled lines":  # a page's lines as dark as the ink, touching the digits above and below
        for y in (93, 150):
            cv2.line(pic, (0, y), (pic.shape[1] - 1, y), 60, 2)
    elif form == "margin line":  # a notebook's margin line left of the number (grey as red ink is)
        cv2.line(pic, (x0s[0] - 20, 0), (x0s[0] - 22, pic.shape[0] - 1), 110, 2)


def draw_separator(pic: np.ndarray, mark: str) -> None:
    if mark == "-":
        cv2.line(pic, (265, 105), (300, 103), 40, 6)
    elif mark == "/":
        cv2.line(pic, (295, 60), (265, 140), 40, 6)
    elif mark == ".":
        cv2.circle(pic, (285, 132), 5, 40, -1)
    elif mark == ",":
        cv2.line(pic, (288, 128), (280, 146), 40, 6)
    elif mark == ":":
        cv2.circle(pic, (285, 85), 5, 40, -1)
        cv2.circle(pic, (285, 125), 5, 40, -1)


def digit_read_right(clf: Classifier, digits, rng: np.random.Generator, i: int, mark: str) -> bool:
    """Test digit ``i`` written SIDE px tall on BGR paper with ``mark``: is it read right?"""
    pic = np.full((300, 400, 3), (235, 240, 242), np.float32)
    ink = cv2.resize(digits["x_test"][i], (SIDE, SIDE), interpolation=cv2.INTER_CUBIC)[..., None] / 255
    region = pic[Y0 : Y0 + SIDE, X0 : X0 + SIDE]
    region[:] = region * (1 - ink) + 40 * ink
    draw_mark(pic, mark)
    pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
    return clf.predict(pic).label == digits["y_test"][i]


def number_read_right(clf: Classifier, digits, rng: np.random.Generator, shape: tuple[int, int], x0s: list[int],
                      y0: int, draw) -> bool:
    """Random test digits written 80 px tall at ``x0s`` (top at ``y0``) on paper, ``draw`` adding
    the marks: is the number read right?"""
    idx = rng.integers(0, len(digits["x_test"]), len(x0s))
    pic = np.full(shape, 232, np.float32)
    for x, k in zip(x0s, idx):
        ink = cv2.resize(digits["x_test"][k], (80, 80), interpolation=cv2.INTER_CUBIC) / 255
        pic[y0 : y0 + 80, x : x + 80] = pic[y0 : y0 + 80, x : x + 80] * (1 - ink) + 40 * ink
    draw(pic)
    pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
    return read_number(clf, pic).number == "".join(str(digits["y_test"][k]) for k in idx)


def main() -> None:
    digits, count = mnist_cli.parse(__doc__, 40, "digits or numbers per row")
    clf, rng = Classifier(), np.random.default_rng(1)
    for mark in ("none", "box", "circle", "underline", "box touching", "underline touching", "underline touching, askew",
                 "ruled lines at level 60", "ruled lines at level 120"):
        right = sum(digit_read_right(clf, digits, rng, i, mark) for i in range(count))
        print(f"one digit, {mark}: {right}/{count} read right")
    x0s = [60 + j * 110 for j in range(4)]
    for form in ("none", "boxes", "comb", "frame", "line", "ruled lines"):
        right = sum(number_read_right(clf, digits, rng, (240, 560), x0s, 80, lambda pic: number_form(pic, form, x0s))
                    for _ in range(count))
        print(f"4-digit number, {form}: {right}/{count} read right")
    for mark in ("-", "/", ".", ",", ":"):
        right = sum(number_read_right(clf, digits, rng, (200, 620), [40, 150, 330, 440], 60,
                                      lambda pic: draw_separator(pic, mark)) for _ in range(count))
        print(f"4-digit number with {mark!r} in the middle: {right}/{count} read right")
    # (rows added later come last, so that the rows above keep their random draws)
    right = sum(digit_read_right(clf, digits, rng, i, "margin line") for i in range(count))
    print(f"one digit, margin line: {right}/{count} read right")
    right = sum(number_read_right(clf, digits, rng, (240, 560), x0s, 80, lambda pic: number_form(pic, "margin line", x0s))
                for _ in range(count))
    print(f"4-digit number, margin line: {right}/{count} read right")

if __name__ == "__main__":
    main()
