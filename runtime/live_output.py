"""What `edge-digit live` shows and saves: annotated frames, a window, an atomically written video."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .annotate import draw_reading
from .errors import VideoError
from .live import FrameResult
from .reader import Reading

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".avi": "MJPG", ".mkv": "MJPG", ".mov": "mp4v"}
WINDOW = "edge-digit live"


def draw_frame(frame: np.ndarray, result: FrameResult, fps: float) -> np.ndarray:
    """Boxes, labels and confidences of the digits, plus the number, FPS and latency."""
    canvas = draw_reading(frame, Reading(result.number, result.digits))
    text = f"{result.number or '-'}   {fps:4.1f} fps   {result.t_ms:5.1f} ms"
    cv2.putText(canvas, text, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(canvas, text, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    return canvas


def display_available() -> bool:
    """A screen to open a window on: a desktop session on Linux, always elsewhere."""
    if os.name != "posix" or os.uname().sysname == "Darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# Opening a window is tried in a child process first: OpenCV's GUI build (Qt) aborts the whole
# process when the display it is given cannot be reached (a stale DISPLAY over SSH, a kiosk
# before its X server is up), and a build without GUI support raises instead of showing.
_PROBE = f"import cv2; cv2.namedWindow({WINDOW!r}); cv2.destroyAllWindows()"
PROBE_SECONDS = 15


def window_problem() -> str | None:
    """Why no window can be opened on this screen, or None when one can."""
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        return f"opening a window took over {PROBE_SECONDS} s"
    if probe.returncode == 0:
        return None
    if b"not implemented" in probe.stderr:
        return "this OpenCV has no GUI support (opencv-python-headless?)"
    screen = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "this screen"
    return f"cannot open a window on {screen}"


class Window:
    def show(self, canvas: np.ndarray) -> bool:
        """Show a frame; False when the user pressed q or Esc or closed the window."""
        cv2.imshow(WINDOW, canvas)
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27):
            return False
        return cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> None:
        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(WINDOW)


class VideoSaver:
    """Annotated frames into a video file, written beside the target and renamed over it only
    when the run ends normally: an interrupted or failed run leaves no half-written video."""

    def __init__(self, target: str | os.PathLike, fps: float) -> None:
        self.target = Path(target)
        suffix = self.target.suffix.lower()
        if suffix not in FOURCC:
            raise VideoError(f"{self.target}: unsupported video type (use {', '.join(sorted(FOURCC))})")
        self.fourcc = cv2.VideoWriter_fourcc(*FOURCC[suffix])
        self.fps = fps if fps and fps > 0 else 15.0
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=suffix, dir=self.target.parent)
        except FileExistsError as exc:  # a file where a folder on the way should be
            raise VideoError(f"{self.target}: cannot write there ({exc.filename} is a file, not a folder)") from None
        except OSError as exc:
            raise VideoError(f"{self.target}: cannot write there ({exc.strerror or exc})") from None
        os.close(fd)
        self.writer: cv2.VideoWriter | None = None

    def write(self, canvas: np.ndarray) -> None:
        if self.writer is None:
            h, w = canvas.shape[:2]
            self.writer = cv2.VideoWriter(self.tmp, self.fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                raise VideoError(f"{self.target}: cannot open a video writer for this file type")
        self.writer.write(canvas)

    def close(self, keep: bool) -> None:
        if self.writer is not None:
            self.writer.release()
        if keep and self.writer is not None:
            os.replace(self.tmp, self.target)
        else:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
