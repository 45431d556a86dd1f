"""Synthetic videos for the live tests and benchmark: MNIST digits written dark on paper,
moving, appearing and disappearing, with sensor noise. Each frame's true number is known."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = (480, 640)  # height, width


def _reads_clearly(classifier, digit: np.ndarray, label: int) -> bool:
    """Read confidently as itself both as stored and drawn dark on paper, as the videos draw it."""
    paper = np.full((100, 100), 200.0, np.float32)
    draw(paper, digit, 20, 20, 60)
    return all(p.label == label and p.confidence > 0.99
               for p in classifier.predict_batch([digit, paper.astype(np.uint8)]))


def pick_digits(x: np.ndarray, y: np.ndarray, classifier, skip: int = 0) -> dict[int, np.ndarray]:
    """One clear example per class: the first (after ``skip`` others) the model reads clearly."""
    chosen: dict[int, np.ndarray] = {}
    seen = [0] * 10
    for img, label in zip(x, y):
        label = int(label)
        if label not in chosen:
            if _reads_clearly(classifier, img, label):
                seen[label] += 1
                if seen[label] > skip:
                    chosen[label] = img
        if len(chosen) == 10:
            break
    return chosen


def draw(canvas: np.ndarray, digit: np.ndarray, x: int, y: int, side: int) -> None:
    ink = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    region = canvas[y : y + side, x : x + side]
    region[:] = region * (1 - ink) + 30 * ink


def scene(digits: dict[int, np.ndarray], number: str, x0: int, y0: int, side: int = 90, gap: int = 40,
          rng: np.random.Generator | None = None) -> np.ndarray:
    h, w = SIZE
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    canvas = 170 + 40 * gx / w + 15 * gy / h  # uneven light
    for i, ch in enumerate(number):
        draw(canvas, digits[int(ch)], x0 + i * (side + gap), y0, side)
    if rng is not None:
        canvas = canvas + rng.normal(0, 4, canvas.shape)
    gray = np.clip(canvas, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def script() -> list[tuple[str, int, int]]:
    """(number, x, y) per frame: a 7 crossing, four digits drifting, nothing, then two digits."""
    frames = [("7", 20 + 20 * i, 150) for i in range(20)]
    frames += [("2019", 20 + 3 * i, 120 + 2 * i) for i in range(20)]
    frames += [("", 0, 0) for _ in range(8)]
    frames += [("35", 300 - 5 * i, 250) for i in range(12)]
    return frames


def write_video(path: Path, digits: dict[int, np.ndarray], fps: float = 15.0, seed: int = 0) -> list[str]:
    """Write the scripted video (MJPG in .avi); returns the true number of each frame."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (SIZE[1], SIZE[0]))
    assert writer.isOpened()
    truth = []
    for number, x, y in script():
        writer.write(scene(digits, number, x, y, rng=rng))
        truth.append(number)
    writer.release()
    return truth
