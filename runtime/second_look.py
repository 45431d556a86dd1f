"""A second look at the digits the model is unsure of: the same model input turned a little
each way and zoomed a little in and out, and the answers averaged with the first. A model file
may carry a second network (``SECOND_OPINION_KEY``, exported with ``--second-opinion``): its
answers for the digit and the same views join the average.

A handful of digits are read unsurely (1-2 % of MNIST digits below 0.9), and most of the
model's mistakes are among them; an average over slightly changed views corrects some of those
mistakes, the gain of an ensemble for the cost of a few extra inferences on a few pictures.
The views, the threshold and the second network were chosen on the training run's validation
digits (BENCHMARKS.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# numpy and OpenCV are imported where used: the command line reads BELOW, its default, and
# `edge-digit --help` should not pay for loading them
BELOW = 0.9  # a top probability below this gets a second look
VIEWS = ((6.0, 1.0), (-6.0, 1.0), (0.0, 0.9), (0.0, 1.1))  # (degrees, zoom) about the input's centre


def views_of(digits: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W] model inputs -> uint8 [len(VIEWS) * N, H, W]: every view of every input."""
    import cv2
    import numpy as np

    n, h, w = digits.shape
    out = np.empty((len(VIEWS), n, h, w), np.uint8)
    for v, (angle, zoom) in enumerate(VIEWS):
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, zoom)
        for i, digit in enumerate(digits):
            out[v, i] = cv2.warpAffine(digit, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    return out.reshape(-1, h, w)


def unsure_rows(probs: np.ndarray, below: float) -> np.ndarray:
    import numpy as np

    return np.flatnonzero(probs.max(axis=1) < below)


def averaged(answers: list[np.ndarray]) -> np.ndarray:
    """Answers [k * N, L] for the same N inputs (the first answers, their views', a second
    network's) -> their mean per input [N, L]."""
    import numpy as np

    n, labels = answers[0].shape
    return np.concatenate(answers).reshape(-1, n, labels).mean(axis=0)
