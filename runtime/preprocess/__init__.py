"""The one preprocessing implementation, shared by training, export calibration and runtime.

Algorithm ``ink-fit-v2`` turns any picture of a digit into what an MNIST-style model
expects (white ink on black, the digit fitted into a ``box`` x ``box`` square and
centred by centre of mass in ``input_size``):

1. ``to_gray``      (pixels.py) any array (gray, BGR, BGRA, 16-bit, float) -> uint8 gray;
2. ``find_ink``     (ink.py) a sheet on a darker desk taken alone (sheet.py), polarity
                    (polarity.py: border, median or stroke details), paper flattening (paper.py:
                    one level, a quadratic, or a local opening under cast shadows), threshold
                    (Otsu, or a noise floor for sparse hairlines, seen on the blocks' inkiest
                    pixels or, on squared paper, the averaged copy), ruled lines as dark as the
                    ink painted over (ruled.py), connected components -> where the ink is (not
                    specks); ``Ink.layer`` lifts a crop as ink bright on paper ~0 (ink in a
                    shadow at the lit paper's contrast);
3. ``normalize``    one digit's crop: its ink blobs less an outline or a line drawn around or
                    under it (marks.py: a form's box, a circle, an answer line, also when the
                    digit touches them) and clutter against a photo's edge;
4. ``fit_digit``    (fit.py) contrast stretch, crop to the ink, aspect-preserving fit, centring
                    by centre of mass; hairlines widened to an MNIST-like stroke.

An MNIST digit passes through nearly unchanged (it already is white on black and
centred), which is why training runs every image through the same code.
"""

from __future__ import annotations

import numpy as np

from ..contract import Contract
from .fit import fit_digit
from .ink import Box, Ink, find_ink, union
from .marks import drawn_marks, without_edge_clutter, without_touching_marks
from .pixels import to_gray

__all__ = ["Box", "Ink", "drawn_marks", "find_ink", "fit_digit", "normalize", "normalize_batch", "to_gray",
           "to_model_input", "union"]


def normalize(image: np.ndarray, contract: Contract, *, rgb: bool = False) -> np.ndarray | None:
    """One picture holding one digit -> uint8 model input, or None when it holds no ink."""
    ink = find_ink(to_gray(image, rgb=rgb))
    if ink is None:
        return None
    marks = drawn_marks(ink)
    boxes = [b for i, b in enumerate(ink.boxes) if i not in marks]
    if ink.scale > 1.0 and len(boxes) > 1:
        boxes = without_edge_clutter(boxes, ink.gray.shape)
    return fit_digit(without_touching_marks(ink.layer(union(boxes))), contract)


def to_model_input(digits: np.ndarray, contract: Contract) -> np.ndarray:
    """uint8 [N, H, W] -> float32 [N, H, W, 1] as the model's input layout wants."""
    return np.multiply(digits, np.float32(contract.scale), dtype=np.float32)[..., None]


def normalize_batch(images: np.ndarray, contract: Contract) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [N, h, w] pictures -> (uint8 [N, H, W] model inputs, bool [N] found-ink flags).
    Pictures without ink become all-zero inputs flagged False. Used by training and calibration."""
    out = np.zeros((len(images), *contract.input_size), np.uint8)
    found = np.zeros(len(images), bool)
    for i, img in enumerate(images):
        digit = normalize(img, contract)
        if digit is not None:
            out[i] = digit
            found[i] = True
    return out, found
