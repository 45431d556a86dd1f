"""Reading image files: OpenCV first, Pillow for what OpenCV cannot decode, a pixel cap before either."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np

from .errors import ImageError

MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding (a 30000x30000 PNG is 900 MP)
MAX_FILE_BYTES = 256 * 1024 * 1024


def _header_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF or BMP header, without decoding; None if not one of those."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return struct.unpack("<HH", head[6:10])
    if head[:2] == b"BM" and len(head) >= 26:
        w, h = struct.unpack("<ii", head[18:26])
        return abs(w), abs(h)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's first SOF marker."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        seg = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + seg
    return None


def read_bytes(path: str | os.PathLike) -> bytes:
    p = Path(path)
    try:
        if p.is_dir():
            raise ImageError(f"{p}: is a directory, not an image")
        size = p.stat().st_size
        if size == 0:
            raise ImageError(f"{p}: empty file")
        if size > MAX_FILE_BYTES:
            raise ImageError(f"{p}: file of {size} bytes is larger than the {MAX_FILE_BYTES}-byte limit")
        with open(p, "rb") as f:
            return f.read()
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{p}: no such file (or a broken link)") from None
    except PermissionError:
        raise ImageError(f"{p}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"{p}: cannot read ({exc.strerror or exc})") from None


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Encoded bytes -> uint8/uint16 array as OpenCV lays it out (gray, BGR or BGRA)."""
    dims = _header_size(data[:32]) or _jpeg_size(data[:65536])
    if dims is not None and dims[0] * dims[1] > MAX_PIXELS:
        raise ImageError(f"{name}: {dims[0]}x{dims[1]} pixels is over the {MAX_PIXELS:,}-pixel limit (refused before decoding)")
    buf = np.frombuffer(data, np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        img = _decode_with_pillow(data, name)
    return img


def _decode_with_pillow(data: bytes, name: str) -> np.ndarray:
    """Formats OpenCV's build may lack (GIF, some TIFF/palette files); first frame only."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ImageError(f"{name}: {im.width}x{im.height} pixels is over the {MAX_PIXELS:,}-pixel limit")
            im.seek(0)
            if im.mode in ("I;16", "I;16B", "I"):
                return np.asarray(im.convert("I")).clip(0, 65535).astype(np.uint16)
            im = im.convert("RGBA" if "A" in im.getbands() or im.mode == "P" else "RGB")
            arr = np.asarray(im)
            return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if arr.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        reason = "not an image file" if isinstance(exc, UnidentifiedImageError) else f"cannot decode ({exc})"
        raise ImageError(f"{name}: {reason}") from None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A file on disk -> decoded array. Raises ImageError naming the file and the cause."""
    return decode_image(read_bytes(path), str(path))
