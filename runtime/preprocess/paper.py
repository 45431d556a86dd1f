"""The paper's brightness under the ink: one level, a smooth surface (gradients, vignetting), or
the paper seen locally (a cast shadow's edge)."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from .pixels import KERNEL3, STATS_SIDE, shrink

EVEN_PAPER = 4.0  # paper whose levels spread less (std) is one level
PAPER_RESIDUAL = 6.0  # paper this far (robust std) from the best quadratic: lighting with edges
MAX_STROKE = 0.12  # ... or ink left by the quadratic holds a disc wider than this share of the picture
LOCAL_SIDE = 128  # ... on a copy this large
LOCAL_KERNEL = 0.15  # ... then paper is seen through strokes narrower than this share of the picture


@functools.lru_cache(maxsize=32)
def _quadratic_basis(h: int, w: int) -> np.ndarray:
    """float64 [h * w, 6]: 1, u, v, u*u, u*v, v*v on a grid spanning [-1, 1] both ways."""
    u, v = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
    basis = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=-1).reshape(-1, 6)
    basis.flags.writeable = False  # shared between calls
    return basis


def paper_level(work: np.ndarray, med: int, hi: int) -> np.ndarray | int | None:
    """Paper brightness of an (ink-bright) working copy: one level when the paper is even, else
    a least-squares quadratic through the paper pixels (gradients, vignetting), rendered at the
    working size; None when the paper strays from every quadratic (a cast shadow's edge: then
    it is seen locally, ``local_paper``). ``med``: a typical paper level."""
    small, _ = shrink(work, STATS_SIDE)
    _, paper = cv2.threshold(small, med + (hi - med) // 2, 255, cv2.THRESH_BINARY_INV)
    paper = cv2.erode(paper, KERNEL3)  # stay clear of stroke edges
    if cv2.countNonZero(paper) < 16:
        return med
    mean, std = cv2.meanStdDev(small, mask=paper)
    if std[0, 0] < EVEN_PAPER:
        return round(float(mean[0, 0]))
    # Further from the strokes: blurred stroke edges (a blown-up scan) pass for paper next to them.
    far = cv2.erode(paper, KERNEL3, iterations=2)
    if cv2.countNonZero(far) >= 16:
        mean, std = cv2.meanStdDev(small, mask=far)
        if std[0, 0] < EVEN_PAPER:
            return round(float(mean[0, 0]))
        paper = far
    sh, sw = small.shape
    basis = _quadratic_basis(sh, sw)
    at = np.flatnonzero(paper)
    design, values = basis.take(at, axis=0), small.ravel()[at].astype(np.float64)  # take: basis[at]'s rows, cheaper
    # normal equations through OpenCV: numpy's lstsq calls a threaded BLAS that can take
    # milliseconds on a busy machine for this 6-unknown fit
    _, coef = cv2.solve(design, values[:, None], flags=cv2.DECOMP_CHOLESKY | cv2.DECOMP_NORMAL)
    residual = np.abs(values - design @ coef[:, 0])
    surface = None
    if 1.4826 * float(np.partition(residual, len(residual) // 2)[len(residual) // 2]) <= PAPER_RESIDUAL:
        surface = np.clip(basis @ coef[:, 0], 0, 255).astype(np.uint8).reshape(sh, sw)
        # What the quadratic leaves must be strokes. A region far wider than any stroke is lighting
        # it missed: a shadow over much of the page, which the paper threshold took for ink.
        _, left = cv2.threshold(cv2.subtract(small, surface), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        if cv2.distanceTransform(left, cv2.DIST_L2, 3).max() > MAX_STROKE * max(sh, sw):
            surface = None
    if surface is None:
        return None
    return cv2.resize(surface, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_LINEAR)


def local_paper(work: np.ndarray) -> np.ndarray:
    """Paper seen locally, for lighting no quadratic follows (a shadow's edge moves whole
    regions): an opening removes every stroke narrower than its kernel and keeps the shadows'
    edges. Only where needed, because a marker stroke wider than the kernel would be taken for
    paper."""
    small, _ = shrink(work, LOCAL_SIDE)
    side = int(LOCAL_KERNEL * max(small.shape)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    surface = cv2.morphologyEx(small, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(surface, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_LINEAR)
