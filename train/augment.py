"""Augmentation: MNIST digits re-drawn as the pictures people actually have.

Each raw 28x28 digit (white on black) is enlarged, bent, re-stroked (fine pen to thick
marker), placed off-centre on paper of either polarity, lit unevenly, blurred, noised and
JPEG-compressed, and then passed through the *same* ``normalize`` the runtime uses. The
model thus learns on exactly what the runtime will feed it for a real photo or scan.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..runtime.contract import Contract
from ..runtime.preprocess import normalize


def _warp(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation, shear and aspect stretch (scans stretched to fill their box), about the centre."""
    h, w = img.shape
    angle = np.deg2rad(rng.uniform(-15, 15))
    shear = rng.uniform(-0.25, 0.25)
    stretch = np.exp(rng.uniform(-0.35, 0.35))
    m = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    m = m @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([stretch, 1.0 / stretch])
    side = int(np.ceil(max(h, w) * 1.6))
    centre_in = np.array([w / 2, h / 2])
    centre_out = np.array([side / 2, side / 2])
    affine = np.hstack([m, (centre_out - m @ centre_in)[:, None]])
    return cv2.warpAffine(img, affine, (side, side), flags=cv2.INTER_LINEAR, borderValue=0)


def _elastic(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Smooth random displacement (hand wobble) of up to a few percent of the size."""
    h, w = img.shape
    amp = rng.uniform(0.0, 0.04) * max(h, w)
    grid = rng.uniform(-1, 1, size=(2, 4, 4)).astype(np.float32) * amp
    dx = cv2.resize(grid[0], (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(grid[1], (w, h), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + dx, ys + dy, cv2.INTER_LINEAR, borderValue=0)


def _restroke(img: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Change the pen: erode to a fine line or dilate up to a marker a third of the digit wide."""
    r = rng.uniform(-0.04, 0.13) * size
    k = int(round(abs(r)))
    if k < 1:
        return img
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    if r > 0:
        return cv2.dilate(img, kernel)
    thinner = cv2.erode(img, kernel)
    return thinner if thinner.max() > 64 else img


def render(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A raw MNIST digit (uint8 28x28, white on black) -> a photo- or scan-like uint8 picture."""
    size = int(rng.integers(28, 97))
    img = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC)
    img = _restroke(img, rng, size)
    img = _warp(img, rng)
    if rng.random() < 0.5:
        img = _elastic(img, rng)
    alpha = img.astype(np.float32) / 255.0  # ink coverage

    # place the digit off-centre with margins on a larger sheet
    h, w = alpha.shape
    sheet_h, sheet_w = (int(s * rng.uniform(1.0, 2.2)) for s in (h, w))
    y, x = int(rng.integers(0, sheet_h - h + 1)), int(rng.integers(0, sheet_w - w + 1))
    cover = np.zeros((sheet_h, sheet_w), np.float32)
    cover[y : y + h, x : x + w] = alpha

    if rng.random() < 0.65:  # dark ink on (possibly tinted, grey) paper
        paper = rng.uniform(120, 255)
        ink = rng.uniform(0, paper - 70)
    else:  # chalk / light ink on a dark surface
        paper = rng.uniform(0, 100)
        ink = rng.uniform(paper + 70, 255)
    gy, gx = np.mgrid[0:sheet_h, 0:sheet_w].astype(np.float32)
    ramp = rng.uniform(-1, 1) * gx / sheet_w + rng.uniform(-1, 1) * gy / sheet_h
    light = 1.0 + rng.uniform(0, 0.35) * ramp  # uneven illumination
    if rng.random() < 0.3:  # a cast shadow: one side of a soft-edged line is darker
        a = rng.uniform(0, np.pi)
        side = np.cos(a) * (gx - rng.uniform(0, sheet_w)) + np.sin(a) * (gy - rng.uniform(0, sheet_h))
        soft = max(1.0, rng.uniform(0.01, 0.15) * max(sheet_h, sheet_w))
        light = light * (1.0 - rng.uniform(0.2, 0.5) / (1.0 + np.exp(-side / soft)))
    pic = (paper + (ink - paper) * cover) * light

    if rng.random() < 0.3:  # low-resolution scan blown up again
        f = rng.uniform(0.25, 0.6)
        small = cv2.resize(pic, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        pic = cv2.resize(small, (sheet_w, sheet_h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        pic = cv2.GaussianBlur(pic, (0, 0), rng.uniform(0.3, 1.5))
    pic = pic + rng.normal(0, rng.uniform(0, 12), pic.shape).astype(np.float32)
    pic = np.clip(pic, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, enc = cv2.imencode(".jpg", pic, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 96))])
        pic = cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)
    return pic


def augmented_inputs(x: np.ndarray, contract: Contract, seed: int) -> np.ndarray:
    """Render every digit of ``x`` once and normalize it; a rendering that lost its ink falls
    back to the plain digit so labels always stay valid."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(x), *contract.input_size), np.uint8)
    for i, digit in enumerate(x):
        fitted = normalize(render(digit, rng), contract)
        if fitted is None:
            fitted = normalize(digit, contract)
        out[i] = fitted if fitted is not None else 0
    return out
