"""Bad, odd and hostile image files. Each bad one ends in one line naming the file and the cause
(exit code 1 for the run, never a traceback); each odd but valid one is classified; a folder run
goes past all of them. The corpus is generated here: nothing binary is committed."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from edge_digit import ImageError
from edge_digit.runtime import decode
from edge_digit.runtime.decode import read_image
from edge_digit.runtime.preprocess import to_gray

LIMIT = "pixel limit (refused before decoding)"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# -- building the corpus ------------------------------------------------------------------------

def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = 30000) -> bytes:
    """A valid side x side 1-bit PNG, ~0.5 MB on disk, 900 MP once decoded."""
    row = b"\x00" * (1 + (side + 7) // 8)
    z = zlib.compressobj(1)
    body = b"".join(z.compress(row * 1000) for _ in range(side // 1000)) + z.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def tiff_bomb() -> bytes:
    """A TIFF header claiming one 30000x30000 strip."""
    tags = [(256, 4, 1, 30000), (257, 4, 1, 30000), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
            (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 30000), (279, 4, 1, 900_000_000)]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *t) for t in tags) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def gif_frame_bomb() -> bytes:
    """A 1x1 GIF screen whose first frame claims 20000x20000 pixels."""
    return (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0, 0, 0) + b"\x2c" + struct.pack("<HHHHB", 0, 0, 20000, 20000, 0)
            + b"\x08\x02\x4c\x01\x00\x3b")


def jpeg_bomb() -> bytes:
    """A 30000x30000 JPEG frame header behind 120 KB of APP1 segments."""
    app = b"\xff\xe1" + struct.pack(">H", 60002) + bytes(60000)
    return b"\xff\xd8" + app + app + b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 30000, 30000, 1) + b"\x01\x11\x00\xff\xd9"


def webp_canvas_bomb() -> bytes:
    """A valid animated WebP of 2x2 frames on a canvas patched to 16000x16000."""
    out = io.BytesIO()
    Image.new("L", (2, 2)).save(out, "WEBP", save_all=True, append_images=[Image.new("L", (2, 2), 255)], lossless=True)
    data = bytearray(out.getvalue())
    assert data[12:16] == b"VP8X"
    data[24:27] = data[27:30] = (16000 - 1).to_bytes(3, "little")
    return bytes(data)


def encode(image: np.ndarray, ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


# Bad files: name -> cause expected after "<path>: ". Built by make_corpus.
BAD = {
    "zero-bytes.png": "empty file",
    "truncated.png": "damaged or truncated PNG",
    "truncated.jpg": "cannot decode",
    "huge-chunk.png": "damaged or truncated PNG (chunk 'IDAT' claims 1795162372 bytes",  # ~2 GB if believed
    "text.png": "not an image file",
    "bomb.png": f"30000x30000 pixels is over the 50,000,000-{LIMIT}",
    "bomb.tif": LIMIT,
    "bomb.gif": f"20000x20000 pixels is over the 50,000,000-{LIMIT}",
    "bomb.jpg": f"30000x30000 pixels is over the 50,000,000-{LIMIT}",
    "bomb.webp": LIMIT,
    "broken-link.png": "broken symbolic link",
    "loop-a.png": "symbolic link loop",
    "loop-b.png": "symbolic link loop",
}
# Odd but valid files: name -> "same" (same prediction as the plain PNG), "no ink", or "ok" (classified).
ODD = {
    "deep-16bit.png": "same",
    "rgba.png": "same",
    "palette.png": "same",
    "cmyk.jpg": "ok",
    "animated.gif": "same",  # first frame is the digit, the second a different one
    "digit.tif": "same",
    "digit.webp": "same",
    "gray-alpha.png": "same",
    "ünïcödé ziffer 7.png": "same",
    "link-to-digit.png": "same",
    "one-pixel.png": "no ink",
    "wide-10000x1.png": "no ink",
}


def make_corpus(folder: Path, digit: np.ndarray, other: np.ndarray) -> None:
    big = cv2.resize(digit, (112, 112), interpolation=cv2.INTER_LINEAR)
    (folder / "reference.png").write_bytes(encode(digit, ".png"))
    (folder / "zero-bytes.png").write_bytes(b"")
    png, jpg = encode(big, ".png"), encode(big, ".jpg")
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    (folder / "truncated.jpg").write_bytes(jpg[: len(jpg) // 2])
    at = png.index(b"IDAT") - 4
    (folder / "huge-chunk.png").write_bytes(png[:at] + (0x6B000104).to_bytes(4, "big") + png[at + 4 :])
    (folder / "text.png").write_text("this is a text file, not a picture\n")
    (folder / "bomb.png").write_bytes(png_bomb())
    (folder / "bomb.tif").write_bytes(tiff_bomb())
    (folder / "bomb.gif").write_bytes(gif_frame_bomb())
    (folder / "bomb.jpg").write_bytes(jpeg_bomb())
    (folder / "bomb.webp").write_bytes(webp_canvas_bomb())
    os.symlink("no-such-target.png", folder / "broken-link.png")
    os.symlink("loop-b.png", folder / "loop-a.png")
    os.symlink("loop-a.png", folder / "loop-b.png")

    (folder / "deep-16bit.png").write_bytes(encode(digit.astype(np.uint16) * 257, ".png"))
    rgba = np.zeros((*digit.shape, 4), np.uint8)
    rgba[..., 3] = digit  # black ink whose strokes are only in the alpha channel
    (folder / "rgba.png").write_bytes(encode(rgba, ".png"))
    Image.fromarray(digit).convert("P").save(folder / "palette.png")
    Image.fromarray(255 - big).convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    Image.fromarray(digit).save(folder / "animated.gif", save_all=True, append_images=[Image.fromarray(other)], duration=100)
    Image.fromarray(digit).save(folder / "digit.tif")
    Image.fromarray(digit).save(folder / "digit.webp", lossless=True)
    Image.fromarray(np.dstack([digit, np.full_like(digit, 255)])).save(folder / "gray-alpha.png")
    (folder / "ünïcödé ziffer 7.png").write_bytes(encode(digit, ".png"))
    os.symlink("reference.png", folder / "link-to-digit.png")
    (folder / "one-pixel.png").write_bytes(encode(np.zeros((1, 1), np.uint8), ".png"))
    (folder / "wide-10000x1.png").write_bytes(encode(np.zeros((1, 10000), np.uint8), ".png"))
    (folder / "x.png").mkdir()  # a folder with an image's name: walked as a (empty) folder
    (folder / "notes.txt").write_text("not an image name: skipped by the folder walk\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, mnist_subset) -> Path:
    folder = tmp_path_factory.mktemp("bad-images")
    make_corpus(folder, mnist_subset["x_test"][0], mnist_subset["x_test"][1])
    return folder


@pytest.fixture(scope="module")
def reference(corpus, classifier):
    return classifier.predict(corpus / "reference.png")


# -- the library --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BAD))
def test_library_raises_one_line_naming_file_and_cause(corpus, name):
    path = corpus / name
    with pytest.raises(ImageError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and BAD[name] in message, message
    assert "\n" not in message


@pytest.mark.parametrize("name", sorted(ODD))
def test_library_classifies_odd_but_valid_files(corpus, name, classifier, reference):
    got = classifier.predict(corpus / name)
    if ODD[name] == "no ink":
        assert got.label is None and got.reason == "no ink found"
    elif ODD[name] == "same":
        assert got.label == reference.label and got.confidence == pytest.approx(reference.confidence, abs=1e-3), name
    else:
        assert got.top, name


@pytest.mark.parametrize("name", ["deep-16bit.png", "palette.png", "animated.gif", "digit.tif", "digit.webp",
                                  "gray-alpha.png", "rgba.png"])
def test_lossless_variants_decode_to_the_same_pixels(corpus, mnist_subset, name):
    digit = mnist_subset["x_test"][0]
    expected = 255 - digit if name == "rgba.png" else digit  # rgba: black ink drawn through alpha, on white
    np.testing.assert_array_equal(to_gray(read_image(corpus / name)), expected)  # the GIF: its first frame


def test_a_header_over_pillows_limit_is_refused_without_a_warning(tmp_path):
    import warnings

    path = tmp_path / "huge.pgm"  # a format whose size only Pillow reads: 160 megapixels claimed
    path.write_bytes(b"P5\n20000 8000\n255\n" + bytes(1000))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageError, match="over the 50,000,000-pixel limit"):
            read_image(path)
    assert not caught, [str(w.message) for w in caught]


def test_jpeg_gray_decode_matches_colour_then_converted(mnist_subset, tmp_path):
    # classify decodes a JPEG's brightness alone (libjpeg skips the colour planes): the same gray
    # pixels as decoding the colours and converting, give or take rounding
    digit = mnist_subset["x_test"][1]
    colour = cv2.merge([cv2.resize(255 - digit, (160, 160)), np.full((160, 160), 200, np.uint8), np.full((160, 160), 90, np.uint8)])
    path = tmp_path / "tinted.jpg"
    cv2.imwrite(str(path), colour, [cv2.IMWRITE_JPEG_QUALITY, 90])
    gray = read_image(path, gray=True)
    assert gray.ndim == 2
    assert np.abs(gray.astype(int) - to_gray(read_image(path)).astype(int)).max() <= 1


def test_jpeg_is_turned_upright_by_its_exif_orientation(mnist_subset, classifier, tmp_path):
    # a phone stores a portrait photo sideways with an EXIF orientation that says how to turn it
    digit, label = mnist_subset["x_test"][0], int(mnist_subset["y_test"][0])
    page = cv2.resize(255 - digit, (120, 120), interpolation=cv2.INTER_CUBIC)
    stored = cv2.rotate(page, cv2.ROTATE_90_COUNTERCLOCKWISE)  # orientation 6: turn 90 degrees clockwise to view
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "portrait.jpg"
    Image.fromarray(stored).save(path, "JPEG", quality=95, exif=exif.tobytes())
    for image in (read_image(path, gray=True), to_gray(read_image(path))):
        assert np.abs(image.astype(int) - page.astype(int)).mean() < 3
    assert classifier.predict(path).label == label


def test_avif_is_read_and_heic_is_named(mnist_subset, classifier, tmp_path):
    # AVIF (phones and browsers save it) decodes; HEIC, an iPhone's photos, has no decoder here
    # and says so, and a folder walk reports both kinds rather than skipping them
    Image.init()
    if "AVIF" not in Image.OPEN:
        pytest.skip("this Pillow reads no AVIF")
    digit, label = mnist_subset["x_test"][0], int(mnist_subset["y_test"][0])
    Image.fromarray(cv2.resize(255 - digit, (112, 112))).save(tmp_path / "digit.avif", quality=90)
    (tmp_path / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(500))
    assert classifier.predict(tmp_path / "digit.avif").label == label
    with pytest.raises(ImageError, match=r"photo.heic: HEIC picture .* save it as JPEG or PNG"):
        read_image(tmp_path / "photo.heic")
    res = run_cli("classify", str(tmp_path), "--format", "jsonl")
    rows = {Path(r["path"]).name: r for r in map(json.loads, res.stdout.splitlines())}
    assert rows["digit.avif"]["label"] == label and "HEIC picture" in rows["photo.heic"]["error"]


def test_bombs_are_refused_without_decoding(corpus, monkeypatch):
    def no_decoding(*args):
        raise AssertionError("a decoder ran")

    monkeypatch.setattr(decode.cv2, "imdecode", no_decoding)
    for name in ("bomb.png", "bomb.tif", "bomb.gif", "bomb.jpg", "bomb.webp", "huge-chunk.png"):
        with pytest.raises(ImageError, match="pixel limit|claims"):
            read_image(corpus / name)


def test_permission_denied_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(decode, "open", denied, raising=False)  # works as root too
    with pytest.raises(ImageError, match=r"locked\.png: permission denied$"):
        read_image(path)


def test_unreadable_folder_is_reported(tmp_path, monkeypatch):
    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(decode.os, "scandir", denied)  # works as root too
    with pytest.raises(ImageError, match="folder cannot be read \\(permission denied\\)$"):
        read_image(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        read_image(fifo)


def test_folder_given_as_an_image(corpus):
    with pytest.raises(ImageError, match=r"x\.png: folder holds no image files"):
        read_image(corpus / "x.png")


@pytest.mark.parametrize(
    "array, cause",
    [
        (np.zeros((0, 0), np.uint8), "no pixels"),
        (np.zeros((5,), np.uint8), "is not an image"),
        (np.zeros((4, 4, 4, 4), np.uint8), "is not an image"),
        (np.zeros((4, 4, 5), np.uint8), "is not an image"),
        (np.zeros((4, 4), np.complex64), "not an image"),
        (np.array([["a"]]), "not an image"),
    ],
)
def test_library_refuses_arrays_that_are_not_pictures(classifier, array, cause):
    with pytest.raises(ImageError, match=cause):
        classifier.predict(array)


def test_library_reports_a_damaged_pil_image(corpus, classifier):
    with Image.open(corpus / "truncated.png") as im, pytest.raises(ImageError, match="truncated.png: cannot decode"):
        classifier.predict(im)


# -- the command line ---------------------------------------------------------------------------

def _expected_paths(corpus: Path) -> set[str]:
    """What a folder run reports: every image-named entry except the folder x.png."""
    return {str(corpus / n) for n in [*BAD, *ODD, "reference.png"]}


def test_folder_run_jsonl_goes_past_every_bad_file(corpus):
    res = run_cli("classify", str(corpus), "--format", "jsonl")
    assert res.returncode == 1, res.stderr
    rows = {r["path"]: r for r in map(json.loads, res.stdout.splitlines())}
    assert set(rows) == _expected_paths(corpus)
    for name, cause in BAD.items():
        row = rows[str(corpus / name)]
        assert set(row) == {"path", "error"} and row["error"].startswith(f"{corpus / name}: ") and cause in row["error"], row
    reference = rows[str(corpus / "reference.png")]
    for name, kind in ODD.items():
        row = rows[str(corpus / name)]
        assert "error" not in row, row
        if kind == "same":
            assert row["label"] == reference["label"], row
    summary = res.stderr.strip().splitlines()
    assert len(summary) == 1 and f"{len(ODD) + 1} classified" in summary[0] and f"{len(BAD)} failed" in summary[0], res.stderr
    assert "Traceback" not in res.stderr


def test_folder_run_csv_and_table_report_errors_readably(corpus):
    res = run_cli("classify", str(corpus), "--format", "csv", "--quiet")
    assert res.returncode == 1 and res.stderr == ""
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert {r["path"] for r in rows} == _expected_paths(corpus)
    errors = {r["path"]: r["error"] for r in rows if r["error"]}
    assert set(errors) == {str(corpus / n) for n in BAD}
    assert all(r["label"] == "" and r["confidence"] == "" for r in rows if r["error"])

    res = run_cli("classify", str(corpus))
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert len(lines) == len(_expected_paths(corpus))
    for name, cause in BAD.items():
        line = next(x for x in lines if x.startswith(f"{corpus / name}  "))
        assert line.startswith(f"{corpus / name}  ERROR  {corpus / name}: ") and cause in line, line


def test_single_bad_files_exit_1_with_one_line_each(corpus):
    res = run_cli("classify", str(corpus / "zero-bytes.png"), str(corpus / "x.png"), str(corpus / "no-such.png"),
                  str(corpus / "reference.png"), "--format", "jsonl")
    assert res.returncode == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r.get("error") for r in rows] == [
        f"{corpus / 'zero-bytes.png'}: empty file",
        f"{corpus / 'x.png'}: folder holds no image files",
        f"{corpus / 'no-such.png'}: no such file",
        None,
    ]
    assert "1 classified" in res.stderr and "3 failed" in res.stderr and "Traceback" not in res.stderr
    ok = run_cli("classify", str(corpus / "ünïcödé ziffer 7.png"), str(corpus / "animated.gif"), "--format", "jsonl")
    assert ok.returncode == 0, ok.stderr


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their permissions")
def test_unreadable_file_through_the_cli(tmp_path, corpus):
    locked = tmp_path / "locked.png"
    locked.write_bytes((corpus / "reference.png").read_bytes())
    locked.chmod(0)
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0)
    res = run_cli("classify", str(locked), str(closed), "--format", "jsonl")
    assert res.returncode == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["error"] for r in rows] == [f"{locked}: permission denied", f"{closed}: folder cannot be read (permission denied)"]


def test_file_names_that_are_not_utf8_or_hold_newlines(tmp_path, corpus):
    data = (corpus / "reference.png").read_bytes()
    try:
        odd = os.fsencode(tmp_path) + b"/bad-\xff-name.png"
        with open(odd, "wb") as f:
            f.write(data)
    except (OSError, UnicodeError):
        pytest.skip("file system refuses names that are not UTF-8")
    (tmp_path / "new\nline.png").write_bytes(data)
    res = run_cli("classify", str(tmp_path), "--format", "jsonl")
    assert res.returncode == 0, res.stderr
    paths = sorted(os.fsencode(json.loads(line)["path"]) for line in res.stdout.splitlines())
    assert paths == sorted([odd, os.fsencode(tmp_path / "new\nline.png")])
    table = run_cli("classify", str(tmp_path), "--quiet")
    assert table.returncode == 0 and len(table.stdout.splitlines()) == 2  # one line per image, whatever the name


def test_ctrl_c_leaves_complete_lines_and_exits_130(tmp_path, mnist_subset):
    for i in range(1500):  # ~200 KB of jsonl: more than a pipe holds, so the run cannot end before the signal
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), mnist_subset["x_test"][i % 600])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, "-m", "edge_digit.cli", "classify", str(tmp_path), "--format", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            # a shell starts background jobs with Ctrl-C ignored, which the child would inherit
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = os.read(proc.stdout.fileno(), 1)  # output has started: the run is under way
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    out = (first + rest).decode()
    assert proc.returncode == 130, err
    assert out.endswith("\n")
    rows = [json.loads(line) for line in out.splitlines()]  # every line is whole JSON
    assert 0 < len(rows) < 1500 and all("label" in r for r in rows)
    message = err.decode().strip().splitlines()
    assert len(message) == 1 and message[0].startswith(f"edge-digit: interrupted after {len(rows)} image"), message


def test_read_command_goes_past_every_bad_file(corpus):
    res = run_cli("read", str(corpus), "--format", "jsonl")
    assert res.returncode == 1, res.stderr
    rows = {r["path"]: r for r in map(json.loads, res.stdout.splitlines())}
    assert set(rows) == _expected_paths(corpus)
    for name, cause in BAD.items():
        assert rows[str(corpus / name)]["error"].startswith(f"{corpus / name}: ") and cause in rows[str(corpus / name)]["error"]
    assert f"{len(BAD)} failed" in res.stderr and "Traceback" not in res.stderr
