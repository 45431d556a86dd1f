"""Putting ink on paper: phone photos, scans, boards, low-resolution and stretched scans, and
the file formats people save them in. Input is ink coverage (float32 0..1) from glyphs.py."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# paper and ink colours, BGR, as (low, high) per channel
PAPERS = {
    "white": ((228, 228, 228), (252, 252, 252)),
    "cream": ((200, 228, 236), (225, 245, 252)),
    "sticky-yellow": ((110, 215, 235), (170, 245, 255)),
    "light-blue": ((225, 210, 190), (250, 232, 215)),
    "recycled-grey": ((180, 182, 184), (212, 214, 216)),
}
INKS = {
    "black": ((15, 15, 15), (55, 55, 55)),
    "blue-ballpoint": ((110, 35, 15), (170, 80, 50)),
    "red": ((30, 30, 150), (70, 70, 200)),
    "green-marker": ((40, 110, 20), (90, 150, 60)),
    "pencil": ((85, 85, 85), (125, 125, 125)),
}


def _normal(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Gaussian noise, fast: OpenCV's generator, seeded from ``rng`` so the set stays reproducible."""
    cv2.setRNGSeed(int(rng.integers(2**31 - 1)))
    out = np.empty(shape, np.float32)
    cv2.randn(out, 0.0, float(sigma))
    return out


def _colour(table: dict, rng: np.random.Generator, name: str | None = None) -> tuple[str, np.ndarray]:
    name = name or list(table)[int(rng.integers(len(table)))]
    lo, hi = table[name]
    return name, np.array([rng.uniform(a, b) for a, b in zip(lo, hi)], np.float32)


def scale_to_height(cover: np.ndarray, height: float, width_factor: float = 1.0) -> np.ndarray:
    """Resize a canonical shape so its ink is ``height`` pixels tall (anti-aliased)."""
    ys, _ = np.nonzero(cover > 0.5)
    ink_h = (ys.max() - ys.min() + 1) if len(ys) else cover.shape[0]
    f = height / ink_h
    size = (max(1, round(cover.shape[1] * f * width_factor)), max(1, round(cover.shape[0] * f)))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return np.clip(cv2.resize(cover, size, interpolation=interp), 0, 1)


@dataclass
class Sheet:
    """A picture being made: float32 BGR, 0..255."""

    pixels: np.ndarray

    @classmethod
    def blank(cls, w: int, h: int, paper: np.ndarray, rng: np.random.Generator, texture: float) -> "Sheet":
        pix = np.empty((h, w, 3), np.float32)
        pix[:] = paper
        if texture > 0:  # fibres and unevenness of the paper, a few grey levels
            grain = cv2.GaussianBlur(_normal(rng, (h, w), 1.0), (0, 0), 1.5)
            pix += (grain * texture / max(float(grain.std()), 1e-6))[..., None]
        return cls(pix)

    def ink(self, cover: np.ndarray, x: int, y: int, colour: np.ndarray, opacity: float = 1.0) -> None:
        h, w = cover.shape
        region = self.pixels[y : y + h, x : x + w]
        a = (cover[: region.shape[0], : region.shape[1]] * opacity)[..., None]
        region *= 1 - a
        region += a * colour

    def light(self, rng: np.random.Generator, gradient: float, vignette: float, shadow: float) -> None:
        """Phone-photo lighting: a gradient, a vignette and a soft cast shadow, all multiplicative."""
        h, w = self.pixels.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u, v = (xx / w - 0.5) * 2, (yy / h - 0.5) * 2
        g = rng.normal(0, 1, 2)
        g = g / max(np.linalg.norm(g), 1e-6) * rng.uniform(0, gradient)
        field = 1 + g[0] * u + g[1] * v
        cx, cy = rng.uniform(-0.5, 0.5, 2)
        field *= 1 - vignette * ((u - cx) ** 2 + (v - cy) ** 2) / 2
        if shadow > 0:  # an edge across the page (a hand, the phone), blurred by a soft light source
            ang = rng.uniform(0, 2 * np.pi)
            d = np.cos(ang) * u + np.sin(ang) * v - rng.uniform(-0.6, 0.6)
            soft = rng.uniform(0.03, 0.3)
            field *= 1 - shadow / (1 + np.exp(-d / soft))
        self.pixels *= field[..., None]

    def perspective(self, rng: np.random.Generator, amount: float) -> None:
        h, w = self.pixels.shape[:2]
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = (src + rng.uniform(-amount, amount, (4, 2)) * [w, h]).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        self.pixels = cv2.warpPerspective(self.pixels, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def camera(self, rng: np.random.Generator, blur: float, noise: float) -> None:
        if blur > 0:
            self.pixels = cv2.GaussianBlur(self.pixels, (0, 0), blur)
        if noise > 0:  # sensor noise, partly shared by the channels (luma) and partly not (chroma)
            h, w = self.pixels.shape[:2]
            self.pixels += _normal(rng, (h, w, 1), noise) + _normal(rng, (h, w, 3), noise * 0.5)
        balance = rng.uniform(0.92, 1.08, 3).astype(np.float32)  # white balance off a little
        self.pixels *= balance

    def bgr(self) -> np.ndarray:
        return np.clip(self.pixels + 0.5, 0, 255).astype(np.uint8)


def place(sheet_w: int, sheet_h: int, cover: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """A random top-left corner that keeps ``cover`` inside the sheet, clear of the edges by 4 %
    (a photo's perspective correction moves the edges)."""
    h, w = cover.shape
    mx, my = int(0.04 * sheet_w), int(0.04 * sheet_h)
    return int(rng.integers(mx, max(mx + 1, sheet_w - w - mx))), int(rng.integers(my, max(my + 1, sheet_h - h - my)))


# printed rulings of notebook paper, BGR: lighter than any ink (a writer's pen must show on them)
RULINGS = {
    "blue": ((215, 165, 120), (240, 200, 160)),
    "grey": ((165, 165, 165), (200, 200, 200)),
    "green": ((150, 200, 150), (185, 225, 185)),
}


def rule(sheet: Sheet, spacing: float, squared: bool, rng: np.random.Generator) -> None:
    """Notebook paper: horizontal lines every ``spacing`` px, and vertical ones too when squared."""
    h, w = sheet.pixels.shape[:2]
    lines = np.zeros((h, w), np.float32)
    thick = max(1, round(max(w, h) / 600))
    offset = rng.uniform(0, spacing)
    for y in np.arange(offset, h, spacing):
        cv2.line(lines, (0, int(y)), (w - 1, int(y)), 1.0, thick, cv2.LINE_AA)
    if squared:
        for x in np.arange(rng.uniform(0, spacing), w, spacing):
            cv2.line(lines, (int(x), 0), (int(x), h - 1), 1.0, thick, cv2.LINE_AA)
    sheet.ink(np.clip(lines, 0, 1), 0, 0, _colour(RULINGS, rng)[1], rng.uniform(0.6, 1.0))


def photo(covers: list[tuple[np.ndarray, int, int]], size: tuple[int, int], rng: np.random.Generator,
          shadow: float = 0.0, ink: str | None = None, ruling: tuple[float, bool] | None = None,
          even: bool = False, exposure: float = 1.0) -> np.ndarray:
    """Ink shapes at given positions on paper, photographed by a phone: BGR uint8. ``ruling``:
    (line spacing in px, squared or not) for notebook paper. ``even``: no gradient or vignette
    (a page lit evenly, but for the shadow). ``exposure``: the share of the light the camera
    gets (a dim room); its noise stays."""
    w, h = size
    _, paper = _colour(PAPERS, rng, "white" if ruling else None)
    ink_name, colour = _colour(INKS, rng, ink)
    sheet = Sheet.blank(w, h, paper, rng, texture=rng.uniform(0, 4))
    if ruling:
        rule(sheet, *ruling, rng)
    opacity = rng.uniform(0.7, 0.9) if ink_name == "pencil" else rng.uniform(0.9, 1.0)
    for cover, x, y in covers:
        sheet.ink(cover, x, y, colour, opacity)
    gradient, vignette = rng.uniform(0, 0.35), rng.uniform(0, 0.35)  # drawn either way: the sets' draws stay
    sheet.light(rng, gradient=0.0 if even else gradient, vignette=0.0 if even else vignette, shadow=shadow)
    sheet.perspective(rng, 0.03)
    sheet.pixels *= exposure
    sheet.camera(rng, blur=rng.uniform(0, 1.0) * max(w, h) / 640, noise=rng.uniform(1.5, 7))
    return sheet.bgr()


def board(cover: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Chalk or white marker on a dark board or dark paper (MNIST's polarity, but photographed)."""
    w, h = size
    surface = np.array([rng.uniform(20, 70), rng.uniform(30, 80), rng.uniform(20, 60)], np.float32)
    chalk = np.array([rng.uniform(190, 250)] * 3, np.float32)
    sheet = Sheet.blank(w, h, surface, rng, texture=rng.uniform(2, 8))
    x, y = place(w, h, cover, rng)
    sheet.ink(cover, x, y, chalk, rng.uniform(0.6, 0.95))
    sheet.light(rng, gradient=rng.uniform(0, 0.4), vignette=rng.uniform(0, 0.3), shadow=0.0)
    sheet.camera(rng, blur=rng.uniform(0, 1.0), noise=rng.uniform(2, 8))
    return sheet.bgr()


def scan(cover: np.ndarray, rng: np.random.Generator, margin: tuple[float, float] = (0.1, 0.8)) -> np.ndarray:
    """A flatbed scan: even white paper, dark ink, the digit with margins; gray uint8."""
    h, w = cover.shape
    m = [int(rng.uniform(*margin) * h) for _ in range(4)]
    paper = rng.uniform(225, 255)
    ink = rng.uniform(0, 80)
    pic = np.full((h + m[0] + m[1], w + m[2] + m[3]), paper, np.float32)
    pic[m[0] : m[0] + h, m[2] : m[2] + w] += (ink - paper) * cover
    pic += _normal(rng, pic.shape, rng.uniform(0, 3))
    return np.clip(pic + 0.5, 0, 255).astype(np.uint8)


def upscaled_scan(cover: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scanned at a low resolution (the digit 9-16 px tall), then blown up 3-8x and blurred."""
    small = scan(scale_to_height(cover, rng.uniform(9, 16)), rng, margin=(0.1, 0.5))
    f = rng.uniform(3, 8)
    interp = [cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST][int(rng.integers(3))]
    big = cv2.resize(small, None, fx=f, fy=f, interpolation=interp)
    return cv2.GaussianBlur(big, (0, 0), rng.uniform(0.5, 1.5) * f / 3)


def stretched_scan(cover: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Cropped to the ink and stretched to fill a fixed box (as some data sets store digits):
    16x16 binarised (Semeion-like) or gray (USPS-like), some inverted, some blown up.
    Returns the picture and whether its ink is the light side."""
    ys, xs = np.nonzero(cover > 0.3)
    tight = cover[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    side = int(rng.choice([16, 20, 28]))
    box = cv2.resize(tight, (side, side), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        box = (box > rng.uniform(0.3, 0.5)).astype(np.float32)
    pad = int(rng.integers(0, 3))
    box = np.pad(box, pad)
    light_ink = bool(rng.random() < 0.5)  # white ink on black, or black on white
    pic = box * 255 if light_ink else 255 - box * 255
    pic = np.clip(pic + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        f = int(rng.integers(2, 6))
        pic = cv2.resize(pic, None, fx=f, fy=f, interpolation=cv2.INTER_NEAREST)
    return pic, light_ink


# -- saving -----------------------------------------------------------------------------------
FORMATS = ("jpeg-rgb", "png-rgb", "png-gray", "png-gray16", "png-rgb16", "png-rgba", "png-alpha-only", "bmp", "tiff", "webp")


def encode(bgr_or_gray: np.ndarray, fmt: str, rng: np.random.Generator) -> tuple[str, bytes]:
    """(file suffix, encoded bytes) of a picture in one of FORMATS."""
    img = bgr_or_gray
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    bgr = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if fmt == "jpeg-rgb":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 93))])
        return ".jpg", buf.tobytes()
    if fmt == "jpeg-gray":
        ok, buf = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 93))])
        return ".jpg", buf.tobytes()
    if fmt == "png-rgb":
        return ".png", cv2.imencode(".png", bgr)[1].tobytes()
    if fmt == "png-gray":
        return ".png", cv2.imencode(".png", gray)[1].tobytes()
    if fmt == "png-gray16":
        return ".png", cv2.imencode(".png", gray.astype(np.uint16) * 257)[1].tobytes()
    if fmt == "png-rgb16":
        return ".png", cv2.imencode(".png", bgr.astype(np.uint16) * 257)[1].tobytes()
    if fmt == "png-rgba":  # opaque picture with an alpha channel
        return ".png", cv2.imencode(".png", cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))[1].tobytes()
    if fmt == "png-alpha-only":  # a drawing app's export: ink colour everywhere, the drawing in alpha
        paper_level = float(np.median(gray))
        ink_alpha = np.clip((paper_level - gray.astype(np.float32)) / max(paper_level - float(gray.min()), 1) * 255, 0, 255)
        if paper_level < 128:  # light ink on a dark ground
            ink_alpha = np.clip((gray.astype(np.float32) - paper_level) / max(float(gray.max()) - paper_level, 1) * 255, 0, 255)
        bgra = np.zeros((*gray.shape, 4), np.uint8)
        bgra[..., :3] = 0 if rng.random() < 0.5 else 255  # black strokes, or white strokes carried by alpha
        bgra[..., 3] = ink_alpha.astype(np.uint8)
        return ".png", cv2.imencode(".png", bgra)[1].tobytes()
    if fmt == "bmp":
        return ".bmp", cv2.imencode(".bmp", bgr)[1].tobytes()
    if fmt == "tiff":
        return ".tif", cv2.imencode(".tif", gray)[1].tobytes()
    if fmt == "webp":
        return ".webp", cv2.imencode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, 90])[1].tobytes()
    raise ValueError(f"unknown format {fmt}")
