"""Reading image files: size from the header first (refusing decompression bombs before any
decoding), then OpenCV, then Pillow for what OpenCV cannot decode. Every failure is an
ImageError whose message is one line: "<file>: <cause>"."""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
import sys
import warnings

import cv2
import numpy as np

from .errors import ImageError
from .files import IMAGE_SUFFIXES, as_named

MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding (a 30000x30000 PNG is 900 MP)
MAX_FILE_BYTES = 256 * 1024 * 1024
STDIN = "-"  # the path of a picture piped in on standard input (`camera-still -o - | edge-digit classify -`)
# Pillow may only open these: it knows dozens of formats, some with little-tested decoders
# (and TGA has no magic number, so random bytes could "be" one); OpenCV's list is no wider.
PILLOW_FORMATS = ("PNG", "JPEG", "MPO", "GIF", "BMP", "TIFF", "WEBP", "PPM", "JPEG2000", "AVIF")  # as far as this Pillow has them


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF87a": "GIF", b"GIF89a": "GIF", b"BM": "BMP",
               b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}


# HEIF files (an ISO media "ftyp" box first) by brand: AVIF pictures decode here, HEIC ones (an
# iPhone's photos) have no decoder in OpenCV or Pillow
_AVIF_BRANDS = (b"avif", b"avis")
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def _signature(data: bytes) -> str | None:
    """The format a file's first bytes announce (PNG, JPEG, GIF, BMP, TIFF, AVIF, HEIC), or None."""
    if data[4:8] == b"ftyp":  # box size, "ftyp", major brand, minor version, compatible brands
        end = min(int.from_bytes(data[:4], "big"), len(data), 256)
        major, compatible = data[8:12], [data[i : i + 4] for i in range(16, end - 3, 4)]
        if major in _AVIF_BRANDS or any(b in _AVIF_BRANDS for b in compatible):
            return "AVIF"
        return "HEIC" if major in _HEIC_BRANDS else None
    return next((kind for magic, kind in _SIGNATURES.items() if data.startswith(magic)), None)


def _gif_size(data: bytes) -> tuple[int, int]:
    """Logical screen grown to cover the first frame: a frame may claim more than the screen."""
    w, h = struct.unpack("<HH", data[6:10])
    flags, i = data[10], 13
    if flags & 0x80:
        i += 3 << ((flags & 7) + 1)  # global colour table
    while i < len(data):
        if data[i] == 0x21:  # extension: label, then sub-blocks up to a zero length
            i += 2
            while i < len(data) and data[i]:
                i += data[i] + 1
            i += 1
        elif data[i] == 0x2C and i + 9 <= len(data):
            fx, fy, fw, fh = struct.unpack("<HHHH", data[i + 1 : i + 9])
            return max(w, fx + fw), max(h, fy + fh)
        else:
            break
    return w, h


def _header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF or BMP header, without decoding; None if not one of those."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 13:
        return _gif_size(data)
    if data[:2] == b"BM" and len(data) >= 26:
        if int.from_bytes(data[14:18], "little") == 12:  # OS/2 core header: 16-bit sizes
            return struct.unpack("<HH", data[18:22])
        w, h = struct.unpack("<ii", data[18:26])
        return abs(w), abs(h)
    return None


def _png_damage(data: bytes) -> str | None:
    """Why a PNG's chunk list is damaged, or None. Checked before decoding: OpenCV's PNG reader
    allocates whatever a chunk length claims (a flipped byte can claim 2 GB) before noticing."""
    i = 8
    while i + 8 <= len(data):
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        if length > len(data) - i - 12:
            return f"damaged or truncated PNG (chunk {kind.decode('latin-1')!r} claims {length} bytes, the file has {max(0, len(data) - i - 12)} left)"
        if kind == b"IEND":
            return None
        i += 12 + length
    return None  # no IEND: libpng reports the truncation


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's first SOF marker (segments are skipped by their lengths,
    so large EXIF blocks before it cost nothing)."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        seg = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        if marker == 0xDA or seg < 2:  # image data before any frame header, or a broken length
            return None
        i += 2 + seg
    return None


def _open_with_pillow(data: bytes, name: str):
    """A lazily opened PIL image (only the header is read) or ImageError."""
    from PIL import Image, UnidentifiedImageError

    Image.init()
    formats = [f for f in PILLOW_FORMATS if f in Image.OPEN]  # Pillow raises KeyError for names it lacks
    try:
        with warnings.catch_warnings():
            # a header over Pillow's own limit: decode_image refuses it with a clear error (our
            # limit is lower), so Pillow's warning would only add noise on stderr
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=formats)
    except UnidentifiedImageError:
        kind = _signature(data)
        if kind:  # the start says what it is, yet no decoder takes it
            raise ImageError(f"{name}: damaged {kind} file (no decoder can read it)") from None
        raise ImageError(f"{name}: not an image file (unknown or unsupported format)") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: over the {MAX_PIXELS:,}-pixel limit (refused before decoding)") from None
    except Exception as exc:  # Pillow's header parsers raise many types on damaged files (OSError, SyntaxError, struct.error, ...)
        raise ImageError(f"{name}: damaged image header ({_one_line(exc)})") from None


def image_size(data: bytes, name: str = "<bytes>") -> tuple[int, int]:
    """(width, height) read from the header alone; ImageError if no supported format recognises it."""
    dims = _header_size(data) or _jpeg_size(data)
    if dims is None:
        with _open_with_pillow(data, name) as im:
            dims = im.size
    return dims


def as_picture(image: np.ndarray, name: str = "<array>") -> np.ndarray:
    """An array in a layout the preprocessing takes ([H, W] or [H, W, 3|4], numeric), or ImageError."""
    a = np.asarray(image)
    if a.dtype.kind not in "buif":
        raise ImageError(f"{name}: pixels of type {a.dtype} are not an image")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    elif a.ndim == 3 and a.shape[2] == 2:  # gray + alpha, as some TIFF and PNG decoders return it
        a = np.dstack([a[:, :, 0], a[:, :, 0], a[:, :, 0], a[:, :, 1]])
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ImageError(f"{name}: array of shape {a.shape} is not an image (expected [H, W] or [H, W, 1|3|4])")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ImageError(f"{name}: image has no pixels ({a.shape[1]}x{a.shape[0]})")
    return a


def read_bytes(path: str | os.PathLike) -> bytes:
    name = as_named(path)  # the file as pathlib spells it, as messages have always named it
    if name == STDIN:
        return _read_stdin()
    try:
        st = os.stat(name)
        if stat.S_ISDIR(st.st_mode):
            raise ImageError(f"{name}: {_folder_problem(name)}")
        if not stat.S_ISREG(st.st_mode):  # a pipe or device would block or never end
            raise ImageError(f"{name}: not a regular file (a device, pipe or socket)")
        if st.st_size == 0:
            raise ImageError(f"{name}: empty file")
        if st.st_size > MAX_FILE_BYTES:
            raise ImageError(f"{name}: file of {st.st_size} bytes is larger than the {MAX_FILE_BYTES}-byte limit")
        # unbuffered: one read brings in a file of the size stat gave, where a buffered reader adds
        # system calls of its own (isatty, lseek, a second read to find the end) and a copy.
        # Sized: f.read(MAX_FILE_BYTES + 1) would allocate (and free) that many bytes per call, ~40 us a file.
        with open(name, "rb", buffering=0) as f:
            data = f.read(st.st_size + 1)
            if len(data) != st.st_size:  # grew or shrank since stat: read on to the end, up to the limit as before
                data += _read_to_end(f, MAX_FILE_BYTES + 1 - len(data))
            return data
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{name}: {'broken symbolic link' if os.path.islink(name) else 'no such file'}") from None
    except PermissionError:
        raise ImageError(f"{name}: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageError(f"{name}: symbolic link loop") from None
        raise ImageError(f"{name}: cannot read ({exc.strerror or exc})") from None


def _read_stdin() -> bytes:
    if sys.stdin is None:
        raise ImageError(f"{STDIN}: this process has no standard input")
    data = _read_to_end(sys.stdin.buffer, MAX_FILE_BYTES + 1)
    if not data:
        raise ImageError(f"{STDIN}: nothing on standard input")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{STDIN}: more than the {MAX_FILE_BYTES}-byte limit on standard input")
    return data


def _read_to_end(f, limit: int) -> bytes:
    """At most ``limit`` more bytes from a binary file, to its end (one read may return fewer)."""
    parts = []
    while limit > 0 and (part := f.read(limit)):
        parts.append(part)
        limit -= len(part)
    return b"".join(parts)


def _folder_problem(folder: str) -> str:
    """Why a folder was handed to the image reader: an empty or unreadable folder named on the
    command line (files.iter_paths yields those so they are reported, not skipped)."""
    try:
        with os.scandir(folder) as it:
            if not any(os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES for e in it):
                return "folder holds no image files"
    except PermissionError:
        return "folder cannot be read (permission denied)"
    except OSError as exc:
        return f"folder cannot be read ({exc.strerror or exc})"
    return "is a folder, not an image file"


def decode_image(data: bytes, name: str = "<bytes>", *, gray: bool = False) -> np.ndarray:
    """Encoded bytes -> uint8/uint16 array as OpenCV lays it out (gray, BGR or BGRA).

    A JPEG is turned upright as its EXIF orientation says (a phone stores a portrait photo
    sideways and says so there; the digits in it would be read lying on their side), and with
    ``gray`` only its brightness is decoded: libjpeg then skips the colour planes, a third less
    time on a 640x480 photo for the same gray pixels as decoding colour and converting."""
    kind = _signature(data)
    if kind == "HEIC":
        raise ImageError(f"{name}: HEIC picture (an iPhone's photo format), which no decoder here reads; save it as JPEG or PNG")
    w, h = image_size(data, name)
    if w * h > MAX_PIXELS:
        raise ImageError(f"{name}: {w}x{h} pixels is over the {MAX_PIXELS:,}-pixel limit (refused before decoding)")
    if w == 0 or h == 0:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")
    if kind == "PNG" and (damage := _png_damage(data)):
        raise ImageError(f"{name}: {damage}")
    try:
        if kind == "JPEG":  # 8-bit, no alpha: nothing IMREAD_UNCHANGED would keep but the orientation it ignores
            flags = cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR
        else:
            flags = cv2.IMREAD_UNCHANGED
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:  # some codecs raise instead of returning None; Pillow gets its turn
        img = None
    if img is None or img.size == 0:
        img = _decode_with_pillow(data, name)
    return as_picture(img, name)


def _decode_with_pillow(data: bytes, name: str) -> np.ndarray:
    """Formats OpenCV's build may lack (some TIFF/palette files); first frame only."""
    from PIL import Image

    with _open_with_pillow(data, name) as im:
        try:
            im.seek(0)
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(im.convert("I")).clip(0, 65535).astype(np.uint16)
            im = im.convert("RGBA" if "A" in im.getbands() or im.mode in ("P", "PA") else "RGB")
            arr = np.asarray(im)
        except Image.DecompressionBombError:
            raise ImageError(f"{name}: over the {MAX_PIXELS:,}-pixel limit") from None
        except Exception as exc:  # decoders raise many types on damaged data (OSError, EOFError, struct.error, ...)
            raise ImageError(f"{name}: cannot decode ({_one_line(exc)})") from None
    return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if arr.shape[2] == 4 else cv2.COLOR_RGB2BGR)


def read_image(path: str | os.PathLike, *, gray: bool = False) -> np.ndarray:
    """A file on disk -> decoded array (see ``decode_image``). Raises ImageError naming the file and the cause."""
    return decode_image(read_bytes(path), str(path), gray=gray)
