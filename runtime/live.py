"""Live recognition: frames from a camera, a video file or an image sequence -> numbers read.

    from edge_digit import Classifier
    from edge_digit.runtime.live import open_source, run_live
    with open_source(camera=0) as frames:
        for result, frame in run_live(Classifier(), frames):
            print(result.number, result.t_ms)

A camera is read by its own thread that keeps only the newest frame, so a slow machine drops
stale frames instead of falling behind. Video files are read frame by frame (every frame is
processed) unless ``realtime`` is set, which drops frames to keep pace with the video's clock.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .classifier import Classifier
from .decode import read_image
from .errors import ImageError, VideoError
from .opencv_threads import one_opencv_thread
from .preprocess import Box, to_gray
from .reader import DigitReading, Reading, number_of, read_gray
from .segment import in_lines

STALL_SECONDS = 3.0  # a camera that delivers no frame for this long has stopped


@dataclass(frozen=True)
class FrameResult:
    frame: int  # index of the frame in its source (dropped frames leave gaps)
    t_ms: float  # processing time of this frame: preprocessing, inference, grouping
    digits: list[DigitReading]
    number: str

    def to_dict(self) -> dict:
        return {"frame": self.frame, "t_ms": round(self.t_ms, 3), "digits": [d.to_dict() for d in self.digits],
                "number": self.number}


class FrameSource:
    """Iterates (index, BGR frame). Use as a context manager so devices are always released."""

    name = "source"
    fps: float = 0.0

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def _opening_quietly() -> Iterator[None]:
    """OpenCV, FFmpeg and OpenCV's own AVI parser print warnings straight to the process's stderr
    when a device or file fails to open; we report one line instead, so the C-level stderr is
    pointed at /dev/null while a source opens. EDGE_DIGIT_DEBUG=1 (set by --debug) keeps it."""
    if os.environ.get("EDGE_DIGIT_DEBUG"):
        yield
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # read when OpenCV first loads FFmpeg
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


def is_stream(video: str) -> bool:
    """A network camera's address (an IP camera's RTSP stream, an ESP32-CAM's MJPEG over HTTP)."""
    return video.lower().startswith(STREAM_SCHEMES)


class CameraSource(FrameSource):
    """The newest frame of a camera, grabbed continuously by a background thread. ``index`` is
    a device number or a network camera's address (see ``is_stream``)."""

    def __init__(self, index: int | str, capture: cv2.VideoCapture | None = None) -> None:
        """``capture``: an already opened capture object (anything with OpenCV's read/get/set/
        isOpened/release), for devices opened elsewhere."""
        self.name = f"camera {index}" if isinstance(index, int) else index
        if capture is not None:
            self.cap = capture
        else:
            with _opening_quietly():
                self.cap = cv2.VideoCapture(index)
        if not self.cap.isOpened():
            self.cap.release()
            why = "no such device, or it is busy" if isinstance(index, int) else "unreachable, or not a stream OpenCV reads"
            raise VideoError(f"{self.name}: cannot be opened ({why})")
        self.cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._index = -1
        self._failed = False
        self._stop = False
        self._thread = threading.Thread(target=self._grab, name="edge-digit-camera", daemon=True)
        self._thread.start()

    def _grab(self) -> None:
        index = 0
        while not self._stop:
            ok, frame = self.cap.read()
            with self._cond:
                if not ok:
                    self._failed = True
                    self._cond.notify_all()
                    return
                self._frame, self._index = frame, index  # an unread older frame is dropped here
                self._cond.notify_all()
            index += 1

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        last = -1
        while True:
            with self._cond:
                deadline = time.monotonic() + STALL_SECONDS
                while self._index == last and not self._failed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise VideoError(f"{self.name}: delivered no frame for {STALL_SECONDS:.0f} s")
                    self._cond.wait(left)
                if self._index == last:  # failed and nothing new
                    raise VideoError(f"{self.name}: stopped delivering frames")
                frame, last = self._frame, self._index
            yield last, frame

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2.0)
        self.cap.release()


class VideoFileSource(FrameSource):
    """Every frame of a video file; with ``realtime``, frames the processing could not keep up
    with (by the video's own clock) are skipped."""

    def __init__(self, path: str | os.PathLike, realtime: bool = False) -> None:
        self.name = str(path)
        p = Path(path)
        if not p.is_file():
            raise VideoError(f"{p}: no such video file")
        with _opening_quietly():
            self.cap = cv2.VideoCapture(str(p))
        if not self.cap.isOpened():
            self.cap.release()
            raise VideoError(f"{p}: not a video OpenCV can read")
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.realtime = realtime and self.fps > 0

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        start, index = time.monotonic(), 0
        while True:
            if self.realtime:
                due = int((time.monotonic() - start) * self.fps)
                while index < due and self.cap.grab():  # skip without decoding
                    index += 1
            ok, frame = self.cap.read()
            if not ok:
                if index == 0:
                    raise VideoError(f"{self.name}: no frame could be decoded (corrupt or empty video)")
                return
            yield index, frame
            index += 1

    def close(self) -> None:
        self.cap.release()


class ImageSequenceSource(FrameSource):
    """Image files matched by a glob pattern (or a folder's images), in name order."""

    def __init__(self, pattern: str) -> None:
        self.name = pattern
        from .files import iter_inputs

        self.paths = [str(p) for p in iter_inputs([pattern])]
        if not self.paths or not os.path.isfile(self.paths[0]):
            raise VideoError(f"{pattern}: no images match")

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for i, path in enumerate(self.paths):
            try:
                yield i, read_image(path)
            except ImageError as exc:
                raise VideoError(str(exc)) from None


def open_source(camera: int | None = None, video: str | os.PathLike | None = None, realtime: bool = False) -> FrameSource:
    """Exactly one of ``camera`` (an index) or ``video`` (a file, a folder or a glob of images,
    or a network camera's address, read like a camera)."""
    if (camera is None) == (video is None):
        raise VideoError("give either a camera index or a video")
    if camera is not None:
        return CameraSource(camera)
    text = os.fspath(video)
    if is_stream(text):
        return CameraSource(text)
    if os.path.isdir(text) or (not os.path.exists(text) and set("*?[") & set(text)):
        return ImageSequenceSource(text)
    return VideoFileSource(text, realtime=realtime)


@dataclass
class _Track:
    box: Box
    shown: DigitReading
    candidate: int | None = None
    streak: int = 0
    missed: int = 0


@dataclass
class Smoother:
    """Hysteresis per digit: a digit's shown label changes only after the new label has been read
    in ``frames`` consecutive frames; a digit that vanishes is kept for ``frames - 1`` frames.
    Digits are matched between frames by box overlap."""

    frames: int = 3
    tracks: list[_Track] = field(default_factory=list)

    @staticmethod
    def _overlap(a: Box, b: Box) -> float:
        ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
        iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
        inter = ix * iy
        return inter / float(a.w * a.h + b.w * b.h - inter or 1)

    def update(self, digits: list[DigitReading]) -> list[DigitReading]:
        free = list(self.tracks)
        kept: list[_Track] = []
        for d in digits:
            best = max(free, key=lambda t: self._overlap(t.box, d.box), default=None)
            if best is None or self._overlap(best.box, d.box) < 0.3:
                kept.append(_Track(d.box, d))  # a new digit shows at once
                continue
            free.remove(best)
            best.box, best.missed = d.box, 0
            if d.label == best.shown.label:
                best.shown, best.candidate, best.streak = d, None, 0
            elif d.label == best.candidate:
                best.streak += 1
            else:
                best.candidate, best.streak = d.label, 1
            if best.candidate is not None and best.streak >= self.frames:
                best.shown, best.candidate, best.streak = d, None, 0
            else:  # keep the shown label, at the digit's current place
                best.shown = DigitReading(best.shown.label, best.shown.confidence, d.box, best.shown.reason)
            kept.append(best)
        for t in free:
            t.missed += 1
            if t.missed < self.frames:
                kept.append(t)
        self.tracks = kept
        return [t.shown for t in self.tracks]


def run_live(classifier: Classifier, source: FrameSource, *, smooth_frames: int = 0,
             max_frames: int | None = None) -> Iterator[tuple[FrameResult, np.ndarray]]:
    """(result, frame) for each frame of ``source``; ``smooth_frames`` > 1 turns on hysteresis."""
    smoother = Smoother(smooth_frames) if smooth_frames > 1 else None
    with one_opencv_thread():  # the same latency, a quarter less CPU per frame
        for count, (index, frame) in enumerate(source):
            if max_frames is not None and count >= max_frames:
                return
            t0 = time.perf_counter()
            reading: Reading = read_gray(classifier, to_gray(frame))
            digits, number = reading.digits, reading.number
            if smoother is not None:  # the digits shown, put back in reading order
                shown = smoother.update(reading.digits)
                lines = in_lines([d.box for d in shown])
                digits = [shown[i] for line in lines for i in line]
                number = number_of(digits, [n for n, line in enumerate(lines) for _ in line])
            yield FrameResult(index, (time.perf_counter() - t0) * 1e3, digits, number), frame
