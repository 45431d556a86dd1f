"""Digit shapes for the evaluation set, drawn at a canonical size as ink coverage (float32, 0..1).

Three kinds of writers, none of them the training renderer (train/augment.py):
- MNIST *test* digits, optionally re-inked: thinned to their centre line (Zhang-Suen) and
  redrawn with a round pen of a chosen width, from a hairline to a thick marker;
- OpenCV's Hershey fonts, script and italic included, at any stroke width;
- a synthetic hand: per-digit stroke templates (several variants per digit) with jittered
  control points, slant and proportions, drawn as smooth splines.
Shapes are then bent (affine + a smooth sinusoidal wobble) and placed on paper by scenes.py.
"""

from __future__ import annotations

import cv2
import numpy as np

CANON = 112  # canonical digit height in pixels: shapes are drawn this tall, scenes rescale them

# -- MNIST digits, re-inked -------------------------------------------------------------------


def _zhang_suen(mask: np.ndarray) -> np.ndarray:
    """Thin a binary mask (bool) to a one-pixel centre line; vectorised per iteration."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = img
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            c = p[1:-1, 1:-1]
            b = sum(v.astype(np.int16) for v in n)
            a = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int16) for i in range(8))
            if step == 0:
                cond = (n[0] * n[2] * n[4] == 0) & (n[2] * n[4] * n[6] == 0)
            else:
                cond = (n[0] * n[2] * n[6] == 0) & (n[0] * n[4] * n[6] == 0)
            remove = (c == 1) & (b >= 2) & (b <= 6) & (a == 1) & cond
            if remove.any():
                c[remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def _mnist_outline(digit: np.ndarray) -> np.ndarray:
    """A raw MNIST digit (uint8 28x28, white on black) as a smooth bool shape, CANON tall."""
    ys, xs = np.nonzero(digit > 40)
    if len(ys) == 0:
        raise ValueError("empty MNIST digit")
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    s = CANON / crop.shape[0]
    big = cv2.resize(np.pad(crop, 2), None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(big, (0, 0), 0.35 * s) > 0.3


def mnist_centre_line(digit: np.ndarray) -> np.ndarray:
    """The writer's pen path: the digit's outline thinned to a one-pixel line (bool)."""
    return _zhang_suen(_mnist_outline(digit))


def draw_line(line: np.ndarray, pen_px: float) -> np.ndarray:
    """A centre line drawn with a round pen ``pen_px`` wide, anti-aliased, on a canvas grown to fit."""
    pad = int(np.ceil(pen_px / 2)) + 2
    line = np.pad(line, pad)
    dist = cv2.distanceTransform((~line).astype(np.uint8), cv2.DIST_L2, 5)
    return _crop(np.clip(pen_px / 2 + 0.5 - dist, 0, 1).astype(np.float32))


def marker_pen(line: np.ndarray, share: float) -> float:
    """Pen width (pixels) that makes the stroke ``share`` of the finished digit's width; a 1 is as
    wide as its stroke, so narrow digits count as half as wide as tall."""
    xs = np.flatnonzero(line.any(axis=0))
    width = max(float(xs[-1] - xs[0] + 1) if len(xs) else 0.0, 0.5 * CANON)
    return share * width / (1 - share)


def mnist_shape(digit: np.ndarray, pen: float | None) -> np.ndarray:
    """A raw MNIST digit at canonical height. ``pen`` None keeps the writer's own stroke;
    otherwise the centre line is redrawn with a pen ``pen`` x CANON wide."""
    if pen is None:
        return _crop(_mnist_outline(digit).astype(np.float32))
    return draw_line(mnist_centre_line(digit), pen * CANON)


# -- Hershey fonts ----------------------------------------------------------------------------

FONTS = {
    "simplex": cv2.FONT_HERSHEY_SIMPLEX,
    "duplex": cv2.FONT_HERSHEY_DUPLEX,
    "complex": cv2.FONT_HERSHEY_COMPLEX,
    "triplex": cv2.FONT_HERSHEY_TRIPLEX,
    "plain": cv2.FONT_HERSHEY_PLAIN,
    "script-simplex": cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    "script-complex": cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
}


def font_shape(text: str, font: str, pen: float, italic: bool) -> np.ndarray:
    """``text`` in a Hershey font, its ink CANON pixels tall, drawn with a pen ``pen`` x CANON wide."""
    face = FONTS[font] | (cv2.FONT_ITALIC if italic else 0)
    thick = max(1, round(pen * CANON))
    (tw, th), base = cv2.getTextSize(text, face, 1.0, 1)
    scale = CANON / max(th, 1) * 1.05
    pad = thick + 8
    w, h = int(tw * scale * 1.4) + 2 * pad, int((th + base) * scale * 1.6) + 2 * pad
    canvas = np.zeros((h, w), np.uint8)
    cv2.putText(canvas, text, (pad, int(th * scale * 1.3) + pad), face, scale, 255, thick, cv2.LINE_AA)
    return _crop(canvas.astype(np.float32) / 255.0)


# -- a synthetic hand: stroke templates -------------------------------------------------------
# Control points in a unit box (x right, y down); each digit has variants, each variant strokes.
TEMPLATES: dict[int, list[list[list[tuple[float, float]]]]] = {
    0: [[[(0.55, 0.0), (0.2, 0.12), (0.05, 0.5), (0.25, 0.95), (0.65, 0.97), (0.93, 0.55), (0.8, 0.1), (0.5, 0.02)]]],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.15, 0.25), (0.6, 0.0), (0.6, 1.0)]],
        [[(0.2, 0.22), (0.55, 0.0), (0.55, 1.0)], [(0.2, 1.0), (0.9, 1.0)]],
    ],
    2: [
        [[(0.12, 0.25), (0.35, 0.02), (0.7, 0.02), (0.85, 0.3), (0.55, 0.65), (0.08, 1.0), (0.92, 0.98)]],
        [[(0.1, 0.3), (0.4, 0.0), (0.8, 0.1), (0.75, 0.45), (0.1, 0.95), (0.3, 0.85), (0.55, 0.95), (0.95, 0.93)]],
    ],
    3: [
        [[(0.12, 0.12), (0.5, 0.0), (0.82, 0.15), (0.72, 0.38), (0.4, 0.48), (0.8, 0.6), (0.88, 0.85), (0.5, 1.0), (0.1, 0.88)]],
        [[(0.1, 0.05), (0.85, 0.05), (0.45, 0.42), (0.85, 0.62), (0.8, 0.92), (0.45, 1.0), (0.1, 0.9)]],
    ],
    4: [
        [[(0.62, 0.0), (0.08, 0.66), (0.95, 0.66)], [(0.68, 0.25), (0.68, 1.0)]],
        [[(0.2, 0.0), (0.12, 0.58), (0.9, 0.58)], [(0.72, 0.0), (0.72, 1.0)]],
    ],
    5: [
        [[(0.85, 0.02), (0.25, 0.02), (0.18, 0.45), (0.55, 0.38), (0.88, 0.62), (0.78, 0.92), (0.42, 1.0), (0.08, 0.88)]],
        [[(0.25, 0.02), (0.18, 0.45), (0.55, 0.38), (0.88, 0.62), (0.78, 0.92), (0.42, 1.0), (0.08, 0.88)],
         [(0.28, 0.0), (0.88, 0.0)]],
    ],
    6: [[[(0.75, 0.0), (0.35, 0.22), (0.12, 0.62), (0.25, 0.95), (0.6, 1.0), (0.85, 0.75), (0.65, 0.52), (0.3, 0.55), (0.14, 0.72)]]],
    7: [
        [[(0.08, 0.02), (0.92, 0.02), (0.38, 1.0)]],
        [[(0.08, 0.05), (0.92, 0.02), (0.4, 1.0)], [(0.3, 0.52), (0.85, 0.5)]],
        [[(0.05, 0.15), (0.15, 0.0), (0.9, 0.03), (0.55, 0.55), (0.45, 1.0)]],
    ],
    8: [[[(0.5, 0.47), (0.2, 0.28), (0.32, 0.03), (0.68, 0.03), (0.8, 0.25), (0.5, 0.47), (0.15, 0.72), (0.3, 0.98),
          (0.72, 0.98), (0.87, 0.72), (0.5, 0.47)]]],
    9: [
        [[(0.82, 0.22), (0.55, 0.0), (0.2, 0.08), (0.15, 0.35), (0.42, 0.5), (0.8, 0.35), (0.82, 0.05), (0.8, 0.6), (0.72, 1.0)]],
        [[(0.82, 0.22), (0.55, 0.0), (0.2, 0.08), (0.15, 0.35), (0.42, 0.5), (0.8, 0.35), (0.82, 0.05), (0.78, 0.7),
          (0.55, 1.0), (0.25, 0.92)]],
    ],
}


def _catmull_rom(points: np.ndarray, per_segment: int = 12) -> np.ndarray:
    """A smooth curve through ``points`` (end points repeated as their own tangents)."""
    if len(points) < 3:
        return points
    p = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3))
    out.append(points[-1:])
    return np.vstack(out)


def hand_shape(digit: int, pen: float, rng: np.random.Generator) -> np.ndarray:
    """``digit`` written by the synthetic hand, CANON tall, with a round pen ``pen`` x CANON wide."""
    strokes = TEMPLATES[digit][int(rng.integers(len(TEMPLATES[digit])))]
    width = rng.uniform(0.55, 0.85) * (0.45 if digit == 1 else 1.0)
    slant = rng.uniform(-0.3, 0.1)  # negative leans right, as most hands do
    thick = max(1, round(pen * CANON))
    pad = thick + 10
    w = int(CANON * (width + abs(slant))) + 2 * pad
    canvas = np.zeros((CANON + 2 * pad, w), np.uint8)
    for stroke in strokes:
        pts = np.array(stroke, np.float64) + rng.normal(0, 0.025, (len(stroke), 2))
        curve = _catmull_rom(pts)
        x = (curve[:, 0] * width + (1 - curve[:, 1]) * max(-slant, 0) + curve[:, 1] * max(slant, 0)) * CANON + pad
        y = curve[:, 1] * CANON + pad
        cv2.polylines(canvas, [np.round(np.stack([x, y], 1) * 16).astype(np.int32)], False, 255, thick, cv2.LINE_AA, shift=4)
    return _crop(canvas.astype(np.float32) / 255.0)


# -- things that are not digits ---------------------------------------------------------------
NON_DIGITS = "AHKMNWXYkmwx#%&@*+=?"


def scribble_shape(pen: float, rng: np.random.Generator) -> np.ndarray:
    """A random curly scribble, a box, a cross or a long dash: ink, but no digit."""
    kind = int(rng.integers(4))
    thick = max(1, round(pen * CANON))
    pad = thick + 10
    canvas = np.zeros((CANON + 2 * pad, int(CANON * 1.6) + 2 * pad), np.uint8)
    if kind == 0:
        pts = rng.uniform(0, 1, (int(rng.integers(7, 13)), 2)) * [1.5, 1.0]
        curve = _catmull_rom(pts)
    elif kind == 1:
        curve = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], np.float64) + rng.normal(0, 0.02, (5, 2))
    elif kind == 2:
        cv2.line(canvas, (pad, pad), (pad + CANON, pad + CANON), 255, thick, cv2.LINE_AA)
        curve = np.array([[1.0, 0.0], [0.0, 1.0]])
    else:
        curve = np.array([[0.0, 0.5], [1.5, 0.5 + rng.uniform(-0.1, 0.1)]])
    pts = np.round((curve * CANON + pad) * 16).astype(np.int32)
    cv2.polylines(canvas, [pts], False, 255, thick, cv2.LINE_AA, shift=4)
    return _crop(canvas.astype(np.float32) / 255.0)


# -- bending ----------------------------------------------------------------------------------


def _crop(cover: np.ndarray, margin: int = 2) -> np.ndarray:
    ys, xs = np.nonzero(cover > 0.02)
    if len(ys) == 0:
        return cover
    return np.pad(cover[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], margin)


def bend(cover: np.ndarray, rng: np.random.Generator, rotate: float = 8.0, shear: float = 0.2,
         stretch: float = 0.15, wobble: float = 0.025) -> np.ndarray:
    """Rotate, shear and stretch about the centre, then wobble with a smooth sinusoidal field."""
    h, w = cover.shape
    a = np.deg2rad(rng.uniform(-rotate, rotate))
    sx = np.exp(rng.uniform(-stretch, stretch))
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ np.array([[sx, rng.uniform(-shear, shear)], [0, 1 / sx]])
    side = int(np.ceil(np.hypot(h, w) * 1.3)) + 4
    t = np.array([side / 2, side / 2]) - m @ np.array([w / 2, h / 2])
    out = cv2.warpAffine(cover, np.hstack([m, t[:, None]]), (side, side), flags=cv2.INTER_LINEAR)
    if wobble > 0:
        amp = rng.uniform(0, wobble) * CANON
        yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
        lam = rng.uniform(0.6, 1.5) * CANON
        fx, fy = rng.uniform(0, 2 * np.pi, 2)
        mx = xx + amp * np.sin(2 * np.pi * yy / lam + fx)
        my = yy + amp * np.sin(2 * np.pi * xx / lam + fy)
        out = cv2.remap(out, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR)
    return _crop(out)
