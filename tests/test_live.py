"""`edge-digit live` on videos the tests make themselves, driven for real."""

import json

import cv2
import numpy as np
import pytest

from conftest import run_cli
from edge_digit.runtime.errors import VideoError
from edge_digit.runtime.live import Smoother, open_source, run_live
from edge_digit.runtime.preprocess import Box
from edge_digit.runtime.reader import DigitReading
from videos import pick_digits, write_video


@pytest.fixture(scope="module")
def video(tmp_path_factory, mnist_subset, classifier):
    digits = pick_digits(mnist_subset["x_test"], mnist_subset["y_test"], classifier)
    path = tmp_path_factory.mktemp("video") / "digits.avi"
    truth = write_video(path, digits)
    return path, truth


def test_cli_reads_the_video_frame_by_frame(video, tmp_path):
    path, truth = video
    saved = tmp_path / "out.avi"
    res = run_cli("live", "--video", str(path), "--no-display", "--save", str(saved))
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["frame"] for r in rows] == list(range(len(truth)))
    right = sum(r["number"] == t and len(r["digits"]) == len(t) for r, t in zip(rows, truth))
    assert right / len(truth) >= 0.95, [(r["number"], t) for r, t in zip(rows, truth) if r["number"] != t]
    first = rows[0]
    assert set(first) == {"frame", "t_ms", "digits", "number"}
    assert set(first["digits"][0]) >= {"label", "confidence", "box"} and len(first["digits"][0]["box"]) == 4
    cap = cv2.VideoCapture(str(saved))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(truth)
    cap.release()
    assert [p.name for p in tmp_path.iterdir()] == ["out.avi"]  # no temporary file left behind


def test_a_screen_that_takes_no_window_gets_json_lines_and_a_note(video, tmp_path):
    # DISPLAY names an X display nobody serves (a stale one over SSH): opening a window there
    # aborts a process with OpenCV's GUI build, and fails in a build without GUI support
    path, _ = video
    saved = tmp_path / "out.avi"
    res = run_cli("live", "--video", str(path), "--max-frames", "3", "--save", str(saved),
                  env={"DISPLAY": ":987", "WAYLAND_DISPLAY": ""})
    assert res.returncode == 0, res.stderr
    assert res.stderr.startswith("no window: ") and res.stderr.count("\n") == 1, res.stderr
    assert [json.loads(line)["frame"] for line in res.stdout.splitlines()] == [0, 1, 2]
    cap = cv2.VideoCapture(str(saved))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    cap.release()


def test_library_generator_and_image_sequences(video, tmp_path, classifier):
    path, truth = video
    cap = cv2.VideoCapture(str(path))
    for i in range(5):
        ok, frame = cap.read()
        cv2.imwrite(str(tmp_path / f"f{i:02d}.png"), frame)
    cap.release()
    with open_source(video=str(tmp_path / "*.png")) as source:
        results = [r for r, _ in run_live(classifier, source)]
    assert [r.number for r in results] == truth[:5]
    with open_source(video=str(path)) as source:
        assert len([r for r, _ in run_live(classifier, source, max_frames=3)]) == 3


def test_two_lines_in_a_frame_keep_reading_order_when_smoothed(tmp_path, mnist_subset, classifier):
    digits = pick_digits(mnist_subset["x_test"], mnist_subset["y_test"], classifier)
    frame = np.full((300, 420, 3), 230, np.uint8)
    for row, text in enumerate(("385", "1204")):
        for col, ch in enumerate(text):
            tile = cv2.resize(255 - digits[int(ch)], (60, 60), interpolation=cv2.INTER_CUBIC)
            y, x = 40 + row * 130, 30 + col * 90 + row * 40
            frame[y : y + 60, x : x + 60] = np.minimum(frame[y : y + 60, x : x + 60], tile[..., None])
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), frame)
    for smooth in (0, 3):
        with open_source(video=str(tmp_path / "*.png")) as source:
            results = [r for r, _ in run_live(classifier, source, smooth_frames=smooth)]
        assert [r.number for r in results] == ["385 1204"] * 4, smooth


def test_a_network_camera_is_read_like_a_camera(video, classifier):
    # an IP camera's stream stands in as the test video served over HTTP from this process
    import functools
    import http.server
    import threading

    from edge_digit.runtime.live import CameraSource

    path, truth = video
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(path.parent))
    handler.log_message = lambda *args: None
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
        with open_source(video=url) as source:
            assert isinstance(source, CameraSource) and source.name == url
            results = [r for r, _ in run_live(classifier, source, max_frames=5)]
        server.shutdown()
    assert len(results) == 5 and all(r.number in truth for r in results)
    res = run_cli("live", "--video", "rtsp://127.0.0.1:9/nothing-here", "--no-display")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip() == ("edge-digit: error: rtsp://127.0.0.1:9/nothing-here: cannot be opened "
                                  "(unreachable, or not a stream OpenCV reads)")


def test_the_live_loop_runs_opencv_on_one_thread_and_gives_the_pool_back(classifier):
    # its thread pool costs a fifth more CPU per frame for the same latency; the app keeps its setting
    before = cv2.getNumThreads()
    seen = []

    def frames():
        for i in range(3):
            seen.append(cv2.getNumThreads())
            yield i, np.full((120, 160, 3), 230, np.uint8)

    assert len(list(run_live(classifier, frames()))) == 3
    assert seen == [1, 1, 1] and cv2.getNumThreads() == before


def test_smoother_needs_a_stable_new_label():
    box = Box(10, 10, 50, 80)
    s = Smoother(frames=3)
    seen = [s.update([DigitReading(label, 0.9, box)])[0].label for label in (1, 1, 7, 1, 7, 7, 7, 7)]
    assert seen == [1, 1, 1, 1, 1, 1, 7, 7]
    assert s.update([])[0].label == 7  # a digit that vanishes lingers for frames - 1 frames
    assert s.update([])[0].label == 7
    assert s.update([]) == []


def test_bad_sources_end_with_one_line(tmp_path, video):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00AVI garbage" * 10)
    res = run_cli("live", "--video", str(broken), "--no-display")
    assert res.returncode == 1 and res.stderr.strip().count("\n") == 0
    assert "broken.avi" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("live", "--camera", "57", "--no-display")
    assert res.returncode == 1 and "camera 57" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("live", "--no-display")
    assert res.returncode == 2
    (tmp_path / "a-file").write_text("")
    res = run_cli("live", "--video", str(video[0]), "--no-display", "--save", str(tmp_path / "a-file" / "out.avi"))
    assert res.returncode == 1 and res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr
    assert "a-file is a file, not a folder" in res.stderr
    with pytest.raises(VideoError, match="no such video"):
        open_source(video=str(tmp_path / "missing.mp4"))


class StoppingCamera:
    """Stands in for camera hardware, which this machine has none of: it delivers a few frames,
    then fails the way a camera that is unplugged does (read() returns False)."""

    def __init__(self, frames: int) -> None:
        self.left = frames

    def isOpened(self):
        return True

    def set(self, *_):
        return True

    def get(self, *_):
        return 30.0

    def read(self):
        if self.left == 0:
            return False, None
        self.left -= 1
        return True, np.full((48, 64, 3), 255, np.uint8)

    def release(self):
        pass


def test_a_camera_that_stops_ends_with_a_clear_error():
    from edge_digit.runtime.live import CameraSource

    got = []
    with CameraSource(0, capture=StoppingCamera(5)) as cam:
        with pytest.raises(VideoError, match="camera 0: stopped delivering frames"):
            for index, frame in cam:
                got.append(index)
    assert got and got == sorted(got) and got[-1] <= 4  # the newest frames, in order, stale ones dropped
