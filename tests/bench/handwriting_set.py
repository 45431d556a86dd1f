"""Build the real-world evaluation set: one folder of image files per condition, plus labels.csv.

    python tests/bench/handwriting_set.py --out /tmp/realworld --count 1000

Digits come only from the MNIST *test* split and from this folder's own renderings (Hershey
fonts, a synthetic hand): never from training digits, and never through train/augment.py, so
the model is not graded on its own augmentation. Each condition draws its own digits and
parameters from a seed derived from --seed and the condition's name.

``--digits validation`` draws the MNIST digits from the validation split that ``edge-digit
train`` carves out of the training data instead (for a given --train-seed): a set to choose
between trained models with, so that the test digits are only used to report the chosen one.

labels.csv: condition, file (relative to --out), label (a digit; a digit string for numbers;
empty for "no digit"), source (which writer drew it).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import glyphs  # noqa: E402
import scenes  # noqa: E402

DEFAULT_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist.npz"


@dataclass
class Sample:
    image: np.ndarray  # BGR or gray uint8
    label: str
    source: str
    fmt: str


@dataclass
class Ctx:
    """What every condition draws from."""

    rng: np.random.Generator
    x_test: np.ndarray
    y_test: np.ndarray
    order: np.ndarray  # this condition's own permutation of the MNIST test digits
    index: int
    small: bool = False  # pictures a few KB each, for the sample committed with the tests

    def digit_height(self, lo: float = 30, hi: float = 120) -> float:
        """Digit height in a photo: 30-120 px; 30-55 px in small pictures."""
        return self.rng.uniform(lo, min(hi, 55) if self.small else hi)

    def scan_height(self) -> float:
        return self.rng.uniform(24, 48 if self.small else 100)

    def photo_size(self) -> tuple[int, int]:
        w = int(self.rng.uniform(150, 210) if self.small else self.rng.uniform(420, 1000))
        return (w, int(w * self.rng.uniform(0.62, 0.8))) if self.rng.random() < 0.7 else (int(w * self.rng.uniform(0.62, 0.8)), w)

    def mnist(self, k: int = 0) -> tuple[np.ndarray, int]:
        j = int(self.order[(self.index * 4 + k) % len(self.order)])
        return self.x_test[j], int(self.y_test[j])


def _photo_fmt(rng: np.random.Generator, small: bool = False) -> str:
    """Mostly JPEG, as phones save; PNG too, except in small pictures (noisy PNGs are large)."""
    return "jpeg-rgb" if small or rng.random() < 0.75 else "png-rgb"


def _scan_fmt(rng: np.random.Generator) -> str:
    return ["png-gray", "png-gray", "png-gray16", "jpeg-gray", "png-rgb"][int(rng.integers(5))]


def _single_photo(c: Ctx, cover: np.ndarray, height: float, shadow: float = 0.0, ink: str | None = None,
                  ruling: tuple[float, bool] | None = None) -> np.ndarray:
    digit = scenes.scale_to_height(cover, height)
    size = c.photo_size()
    x, y = scenes.place(*size, digit, c.rng)
    return scenes.photo([(digit, x, y)], size, c.rng, shadow=shadow, ink=ink, ruling=ruling)


def _mnist_pen(c: Ctx, digit: np.ndarray) -> tuple[np.ndarray, str]:
    """The writer's own stroke, or re-inked with a ballpoint to felt-tip pen."""
    if c.rng.random() < 0.4:
        return glyphs.mnist_shape(digit, None), "mnist-own-pen"
    return glyphs.mnist_shape(digit, c.rng.uniform(0.05, 0.13)), "mnist-pen"


def _other_writer(c: Ctx, pen: float) -> tuple[np.ndarray, int, str]:
    """A digit by someone the model never saw: MNIST test writers, the synthetic hand, or a font."""
    r = c.rng.random()
    if r < 0.5:
        d, label = c.mnist()
        return glyphs.mnist_shape(d, pen if c.rng.random() < 0.5 else None), label, "mnist"
    label = int(c.rng.integers(10))
    if r < 0.75:
        return glyphs.hand_shape(label, pen, c.rng), label, "hand"
    font = list(glyphs.FONTS)[int(c.rng.integers(len(glyphs.FONTS)))]
    return glyphs.font_shape(str(label), font, pen * 0.7, c.rng.random() < 0.3), label, f"font-{font}"


# -- the conditions ---------------------------------------------------------------------------


def photo_paper(c: Ctx) -> Sample:
    d, label = c.mnist()
    cover, source = _mnist_pen(c, d)
    img = _single_photo(c, glyphs.bend(cover, c.rng), c.digit_height())
    return Sample(img, str(label), source, _photo_fmt(c.rng, c.small))


def photo_shadow(c: Ctx) -> Sample:
    d, label = c.mnist()
    cover, source = _mnist_pen(c, d)
    img = _single_photo(c, glyphs.bend(cover, c.rng), c.digit_height(), shadow=c.rng.uniform(0.25, 0.55))
    return Sample(img, str(label), source, _photo_fmt(c.rng, c.small))


def photo_thick(c: Ctx) -> Sample:
    d, label = c.mnist()
    line = glyphs.mnist_centre_line(d)
    cover = glyphs.draw_line(line, glyphs.marker_pen(line, c.rng.uniform(0.25, 0.35)))
    img = _single_photo(c, glyphs.bend(cover, c.rng), c.digit_height())
    return Sample(img, str(label), "mnist-marker", _photo_fmt(c.rng, c.small))


def photo_fine(c: Ctx) -> Sample:
    d, label = c.mnist()
    height = c.digit_height(60, 120) if not c.small else c.rng.uniform(45, 60)
    pen_px = c.rng.uniform(1.0, 2.0)
    cover = glyphs.mnist_shape(d, pen_px / height)
    img = _single_photo(c, glyphs.bend(cover, c.rng), height)
    return Sample(img, str(label), "mnist-fine-pen", _photo_fmt(c.rng, c.small))


def photo_notebook(c: Ctx) -> Sample:
    """On ruled paper the digit fills most of a line's height; on squared paper one to two squares."""
    d, label = c.mnist()
    cover, source = _mnist_pen(c, d)
    height = c.digit_height()
    squared = bool(c.rng.random() < 0.5)
    spacing = height / (c.rng.uniform(1.0, 2.2) if squared else c.rng.uniform(0.6, 0.95))
    img = _single_photo(c, glyphs.bend(cover, c.rng), height, ruling=(spacing, squared))
    return Sample(img, str(label), source + ("-squared" if squared else "-ruled"), _photo_fmt(c.rng, c.small))


def photo_board(c: Ctx) -> Sample:
    d, label = c.mnist()
    cover, source = _mnist_pen(c, d)
    digit = scenes.scale_to_height(glyphs.bend(cover, c.rng), c.digit_height())
    img = scenes.board(digit, c.photo_size(), c.rng)
    return Sample(img, str(label), source, _photo_fmt(c.rng, c.small))


def scan_lowres(c: Ctx) -> Sample:
    cover, label, source = _other_writer(c, c.rng.uniform(0.06, 0.14))
    img = scenes.upscaled_scan(glyphs.bend(cover, c.rng, rotate=5, wobble=0.0), c.rng)
    return Sample(img, str(label), source, _scan_fmt(c.rng))


def scan_stretched(c: Ctx) -> Sample:
    cover, label, source = _other_writer(c, c.rng.uniform(0.06, 0.14))
    img, light_ink = scenes.stretched_scan(glyphs.bend(cover, c.rng, rotate=5, wobble=0.0), c.rng)
    return Sample(img, str(label), f"{source}-{'light' if light_ink else 'dark'}-ink", "png-gray")


def writers_hand(c: Ctx) -> Sample:
    label = int(c.rng.integers(10))
    cover = glyphs.bend(glyphs.hand_shape(label, c.rng.uniform(0.03, 0.16), c.rng), c.rng)
    if c.rng.random() < 0.5:
        return Sample(_single_photo(c, cover, c.digit_height()), str(label), "hand", _photo_fmt(c.rng, c.small))
    img = scenes.scan(scenes.scale_to_height(cover, c.scan_height()), c.rng)
    return Sample(img, str(label), "hand", _scan_fmt(c.rng))


def writers_fonts(c: Ctx) -> Sample:
    label = int(c.rng.integers(10))
    font = list(glyphs.FONTS)[int(c.rng.integers(len(glyphs.FONTS)))]
    cover = glyphs.font_shape(str(label), font, c.rng.uniform(0.02, 0.1), c.rng.random() < 0.3)
    cover = glyphs.bend(cover, c.rng, rotate=6, shear=0.15, wobble=0.015)
    if c.rng.random() < 0.5:
        return Sample(_single_photo(c, cover, c.digit_height()), str(label), f"font-{font}", _photo_fmt(c.rng, c.small))
    img = scenes.scan(scenes.scale_to_height(cover, c.scan_height()), c.rng)
    return Sample(img, str(label), f"font-{font}", _scan_fmt(c.rng))


def file_formats(c: Ctx) -> Sample:
    d, label = c.mnist()
    cover, source = _mnist_pen(c, d)
    cover = glyphs.bend(cover, c.rng)
    fmt = scenes.FORMATS[c.index % len(scenes.FORMATS)]
    if c.rng.random() < 0.5 and not (c.small and not fmt.startswith("jpeg")):
        img = _single_photo(c, cover, c.digit_height())
    else:
        img = scenes.scan(scenes.scale_to_height(cover, c.scan_height()), c.rng)
    return Sample(img, str(label), source, fmt)


def mnist_plain(c: Ctx) -> Sample:
    j = c.index % len(c.x_test)  # in order: the first N test digits, unchanged
    return Sample(c.x_test[j], str(int(c.y_test[j])), "mnist-test", "png-gray")


def no_digit(c: Ctx) -> Sample:
    kind = c.index % 5
    size = c.photo_size()
    if kind == 0:  # an empty page, photographed (shadows and all)
        w, h = size
        _, paper = scenes._colour(scenes.PAPERS, c.rng)
        sheet = scenes.Sheet.blank(w, h, paper, c.rng, texture=c.rng.uniform(0, 5))
        sheet.light(c.rng, gradient=c.rng.uniform(0, 0.4), vignette=c.rng.uniform(0, 0.4), shadow=c.rng.uniform(0, 0.5))
        sheet.camera(c.rng, blur=c.rng.uniform(0, 1), noise=c.rng.uniform(1, 8))
        return Sample(sheet.bgr(), "", "blank-photo", "jpeg-rgb")
    if kind == 1:  # an empty scan
        pic = np.clip(c.rng.normal(c.rng.uniform(200, 255), c.rng.uniform(0, 4), (size[1] // 3, size[0] // 3)), 0, 255)
        return Sample(pic.astype(np.uint8), "", "blank-scan", "png-gray")
    pen = c.rng.uniform(0.04, 0.12)
    if kind in (2, 3):  # a letter or symbol
        ch = glyphs.NON_DIGITS[int(c.rng.integers(len(glyphs.NON_DIGITS)))]
        font = list(glyphs.FONTS)[int(c.rng.integers(len(glyphs.FONTS)))]
        cover, source = glyphs.font_shape(ch, font, pen * 0.7, False), f"symbol-{ch}"
    else:
        cover, source = glyphs.scribble_shape(pen, c.rng), "scribble"
    return Sample(_single_photo(c, glyphs.bend(cover, c.rng), c.digit_height()), "", source, "jpeg-rgb")


def numbers_4(c: Ctx) -> Sample:
    """Four MNIST test digits written in a row with gaps, photographed."""
    height = c.digit_height(35, 110)
    r = c.rng.random()
    covers, labels = [], []
    for k in range(4):
        d, label = c.mnist(k)
        if r < 0.5:
            shape = glyphs.mnist_shape(d, None)
        elif r < 0.85:
            shape = glyphs.mnist_shape(d, c.rng.uniform(0.05, 0.12))
        else:
            shape = glyphs.mnist_shape(d, c.rng.uniform(0.15, 0.22))
        covers.append(scenes.scale_to_height(glyphs.bend(shape, c.rng, rotate=5), height * c.rng.uniform(0.92, 1.08)))
        labels.append(str(label))
    gaps = [int(c.rng.uniform(0.2, 0.7) * height) for _ in range(3)]
    total_w = sum(cv.shape[1] for cv in covers) + sum(gaps)
    tallest = max(cv.shape[0] for cv in covers)
    if c.small:
        w, h = int(total_w * c.rng.uniform(1.15, 1.3)), int(tallest * c.rng.uniform(1.4, 2.0))
    else:
        w = int(max(total_w * c.rng.uniform(1.15, 1.8), 320))
        h = int(max(tallest * c.rng.uniform(1.6, 4.0), w * 0.3))
    x = int(c.rng.integers(int(0.05 * w), max(int(0.05 * w) + 1, int(0.95 * w) - total_w)))
    y0 = int(c.rng.integers(int(0.05 * h), max(int(0.05 * h) + 1, int(0.95 * h) - tallest)))
    placed = []
    for cv, gap in zip(covers, gaps + [0]):
        dy = int(c.rng.uniform(-0.06, 0.06) * height) + (tallest - cv.shape[0]) // 2
        placed.append((cv, x, min(max(0, y0 + dy), h - cv.shape[0])))
        x += cv.shape[1] + gap
    img = scenes.photo(placed, (w, h), c.rng, shadow=c.rng.uniform(0, 0.4) if c.rng.random() < 0.3 else 0.0)
    return Sample(img, "".join(labels), "mnist-number", _photo_fmt(c.rng, c.small))


CONDITIONS: dict[str, tuple[Callable[[Ctx], Sample], str]] = {
    "photo-paper": (photo_paper, "dark ink on white or tinted paper, phone photo (lighting, perspective, noise, JPEG)"),
    "photo-shadow": (photo_shadow, "as photo-paper, with a soft cast shadow across the page"),
    "photo-thick": (photo_thick, "thick marker: stroke 25-35 % of the digit's width"),
    "photo-fine": (photo_fine, "fine pen: a 1-2 px line, digits 60-120 px tall"),
    "photo-board": (photo_board, "chalk or white ink on a dark surface, photographed"),
    "photo-notebook": (photo_notebook, "as photo-paper, on ruled or squared notebook paper (printed lines lighter than the ink)"),
    "formats": (file_formats, "photos and scans saved as JPEG, PNG gray/RGB/RGBA/alpha-only/16-bit, BMP, TIFF, WebP"),
    "scan-lowres": (scan_lowres, "other writers, scanned with the digit 9-16 px tall, blown up 3-8x and blurred"),
    "scan-stretched": (scan_stretched, "other writers, cropped and stretched to fill a 16-28 px box (Semeion/USPS-like)"),
    "writers-hand": (writers_hand, "a synthetic hand (stroke templates, several variants per digit), photos and scans"),
    "writers-fonts": (writers_fonts, "Hershey fonts incl. script and italic, any stroke width, photos and scans"),
    "mnist": (mnist_plain, "the MNIST test digits themselves, 28x28 PNG"),
    "no-digit": (no_digit, "blank pages, letters, symbols and scribbles: the right answer is 'no digit'"),
    "numbers-4": (numbers_4, "four-digit numbers, digits spaced, photographed: read with 'edge-digit read'"),
}


def condition_seed(seed: int, name: str) -> int:
    return seed * 1_000_003 + zlib.crc32(name.encode())


def build(out: Path, count: int, seed: int, mnist: Path, conditions: list[str], mnist_count: int | None,
          small: bool = False, digits: str = "test", train_seed: int = 0) -> list[dict]:
    with np.load(mnist) as d:
        if digits == "validation":
            from edge_digit.train.fit import TrainConfig, split_indices

            val_idx, _ = split_indices(len(d["y_train"]), train_seed, TrainConfig.val_size)
            x_test, y_test = d["x_train"][val_idx], d["y_train"][val_idx]
        else:
            x_test, y_test = d["x_test"], d["y_test"]
    rows = []
    for name in conditions:
        make, _ = CONDITIONS[name]
        rng = np.random.default_rng(condition_seed(seed, name))
        order = rng.permutation(len(x_test))
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        n = (mnist_count or len(x_test)) if name == "mnist" else count
        for i in range(n):
            s = make(Ctx(rng, x_test, y_test, order, i, small))
            suffix, data = scenes.encode(s.image, s.fmt, rng)
            rel = f"{name}/{i:05d}{suffix}"
            (out / rel).write_bytes(data)
            rows.append({"condition": name, "file": rel, "label": s.label, "source": s.source})
    with open(out / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["condition", "file", "label", "source"])
        w.writeheader()
        w.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="Output folder (labels.csv and one folder per condition).")
    ap.add_argument("--count", type=int, default=1000, help="Images per condition (default 1000).")
    ap.add_argument("--mnist-count", type=int, default=None, help="MNIST test digits for the 'mnist' condition (default all).")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--mnist", type=Path, default=DEFAULT_MNIST, help="A keras-layout mnist.npz.")
    ap.add_argument("--digits", choices=("test", "validation"), default="test",
                    help="MNIST digits from the test split (to report), or from the training run's validation split "
                    "(to choose between models).")
    ap.add_argument("--train-seed", type=int, default=0, help="With --digits validation: the --seed of the training runs.")
    ap.add_argument("--conditions", default=",".join(CONDITIONS), help="Comma-separated subset of: " + ", ".join(CONDITIONS))
    ap.add_argument("--small", action="store_true", help="Small pictures (photos 150-210 px wide, digits 30-55 px): "
                    "the sample committed with the tests.")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.conditions.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONDITIONS]
    if unknown:
        ap.error(f"unknown conditions: {', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = build(args.out, args.count, args.seed, args.mnist, names, args.mnist_count, args.small, args.digits, args.train_seed)
    (args.out / "set.json").write_text(json.dumps({
        "command": " ".join(["python", "tests/bench/handwriting_set.py", *(argv if argv is not None else sys.argv[1:])]),
        "seed": args.seed, "count": args.count, "small": args.small, "digits": args.digits, "conditions": {n: CONDITIONS[n][1] for n in names},
    }, indent=2))
    print(f"wrote {len(rows)} images in {len(names)} conditions to {args.out}")


if __name__ == "__main__":
    main()
