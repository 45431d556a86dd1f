"""Reading numbers: grouping ink into digits (broken strokes merged, touching pairs cut, specks
dropped), the reading API, and `edge-digit read`. Pictures are crafted from MNIST subset digits."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_digit.runtime.classifier import NO_INK, Prediction
from edge_digit.runtime.contract import Contract
from edge_digit.runtime.preprocess import Box, find_ink
from edge_digit.runtime.reader import NO_DIGIT, choose_cut, choose_join, read_files, read_number
from edge_digit.runtime.segment import READ_KEEP_FRACTION, Segment, _cut_columns, find_digits, merge_fragments, merge_pieces

from .conftest import run_cli


def on_paper(tiles: list[np.ndarray], gaps: list[int], size: int = 70, paper: int = 215, ink: int = 35,
             margin: int = 40) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """MNIST digits (white on black) drawn dark on light paper in a row, with a gentle shadow.
    Returns the picture and each tile's x range."""
    big = [cv2.resize(t, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255 for t in tiles]
    width = 2 * margin + size * len(big) + sum(gaps)
    pic = np.full((size + 2 * margin, width), float(paper), np.float32)
    x, spans = margin, []
    for t, gap in zip(big, gaps + [0]):
        region = pic[margin : margin + size, x : x + size]
        np.minimum(region, paper + (ink - paper) * t, out=region)
        spans.append((x, x + size))
        x += size + gap
    shade = np.linspace(0.75, 1.05, width, dtype=np.float32)[None, :]
    return np.clip(pic * shade, 0, 255).astype(np.uint8), spans


def slot_count(pic: np.ndarray) -> int:
    return len(find_digits(find_ink(pic, READ_KEEP_FRACTION)))


@pytest.fixture(scope="module")
def confident(mnist_subset, classifier):
    """Test digits the model reads right and surely on their own, by label: the reader is then
    judged on finding and cutting digits, not on the model's mistakes."""
    x, y = mnist_subset["x_test"], mnist_subset["y_test"]
    preds = classifier.predict_batch(list(x))
    by_label: dict[int, list[np.ndarray]] = {d: [] for d in range(10)}
    for img, label, p in zip(x, y, preds):
        if p.label == label and p.confidence > 0.95:
            by_label[int(label)].append(img)
    assert all(len(v) >= 5 for v in by_label.values()), "the shipped model reads too few MNIST digits surely"
    return by_label


# -- grouping, no model needed ----------------------------------------------------------------


def test_spaced_digits_are_one_slot_each_left_to_right(mnist_subset):
    x = mnist_subset["x_test"]
    for start in range(0, 40, 4):
        pic, spans = on_paper(list(x[start : start + 4]), [15, 25, 10])
        slots = find_digits(find_ink(pic, READ_KEEP_FRACTION))
        assert len(slots) == 4
        for slot, (x0, x1) in zip(slots, spans):
            cx = slot.whole.box.x + slot.whole.box.w / 2
            assert x0 <= cx <= x1


def test_broken_strokes_merge_and_rows_stay_apart():
    h = 60
    body, bar, other = Box(0, 15, 30, 45), Box(2, 0, 28, 6), Box(50, 0, 30, 60)
    merged = merge_pieces([Segment(body, (1,)), Segment(bar, (2,)), Segment(other, (3,))], h)
    assert sorted(s.ids for s in merged) == [(1, 2), (3,)]
    # the same digit one row further down is not part of it
    below = Box(0, 100, 30, 60)
    assert len(merge_pieces([Segment(body, (1,)), Segment(below, (2,))], h)) == 2


def test_five_with_a_detached_bar_is_one_digit():
    pic = np.full((140, 300), 230, np.uint8)
    # a 5 drawn in two strokes, the bar lifted off the body by a visible gap
    cv2.polylines(pic, [np.array([[60, 40], [55, 75], [80, 70], [100, 85], [98, 108], [75, 118], [52, 110]])], False, 30, 6)
    cv2.line(pic, (66, 28), (105, 28), 30, 6)
    cv2.line(pic, (170, 30), (170, 118), 30, 6)  # a 1 beside it
    ink = find_ink(pic, READ_KEEP_FRACTION)
    assert len(ink.boxes) == 3
    slots = find_digits(ink)
    assert len(slots) == 2
    assert slots[0].whole.box.y <= 28 - 3 and len(slots[0].whole.ids) == 2


def test_touching_pair_is_cut_at_the_thinnest_column(mnist_subset):
    x, y = mnist_subset["x_test"], mnist_subset["y_test"]
    a, b = x[np.flatnonzero(y == 0)[0]], x[np.flatnonzero(y == 3)[0]]
    (slot,) = find_digits(find_ink(touching(a, b), READ_KEEP_FRACTION))
    assert slot.cuts and all(len(cut) == 2 for cut in slot.cuts)
    for left, right in slot.cuts:
        assert left.box.x + left.box.w <= right.box.x + 1


def test_a_bar_drawn_off_to_the_side_joins_its_digit():
    h = 60
    body, bar, one = Box(0, 15, 30, 45), Box(22, 4, 28, 8), Box(70, 0, 12, 60)  # the bar overlaps the body by 8 px only
    merged = merge_fragments([Segment(body, (1,)), Segment(bar, (2,)), Segment(one, (3,))], h)
    assert sorted(s.ids for s in merged) == [(1, 2), (3,)]


def test_a_digit_broken_in_two_is_joined_when_the_join_reads_surely(mnist_subset):
    pic = np.full((140, 300), 225, np.uint8)
    cv2.ellipse(pic, (100, 70), (28, 40), 0, 100, 260, 30, 5)  # a 0 drawn in two arcs with gaps
    cv2.ellipse(pic, (100, 70), (28, 40), 0, -70, 70, 30, 5)
    slots = find_digits(find_ink(pic, READ_KEEP_FRACTION))
    assert len(slots) == 2 and slots[0].join_next is not None
    piece, join = Prediction(1, 0.6, [(1, 0.6)]), Prediction(0, 0.99, [(0, 0.99)])

    class ByWidth(FixedClassifier):  # the join is the wide input: answer it surely, the pieces not
        def predict_prepared(self, prepared):
            widths = [cv2.boundingRect(d)[2] for d in prepared]
            return [join if w == max(widths) else piece for w in widths]

    r = read_number(ByWidth([]), pic)
    assert r.number == "0" and len(r.digits) == 1
    r = read_number(FixedClassifier([Prediction(7, 0.99, [(7, 0.99)])]), pic)  # pieces read surely: two digits
    assert r.number == "77"


def test_a_short_broken_off_stroke_joins_its_digit_even_when_it_reads_surely():
    # a 0 with a short stroke broken off beside it (a 9's tail, a 7's stem): a short stroke reads
    # as a sure 1, but it is much shorter than the writing, so it is no digit of its own
    def picture(stroke_top: int) -> np.ndarray:
        pic = np.full((160, 300), 225, np.uint8)
        cv2.ellipse(pic, (100, 80), (28, 40), 0, 0, 360, 30, 5)
        cv2.line(pic, (138, stroke_top), (138, 118), 30, 5)
        return pic

    sure = FixedClassifier([Prediction(1, 1.0, [(1, 1.0)])])  # pieces and join all read surely
    short = picture(stroke_top=72)  # about 0.6 of the writing height
    slots = find_digits(find_ink(short, READ_KEEP_FRACTION))
    assert len(slots) == 2 and slots[1].short and slots[0].join_next is not None
    assert len(read_number(sure, short).digits) == 1
    full = picture(stroke_top=42)  # as tall as the 0: a 1 of its own, read surely, stays apart
    slots = find_digits(find_ink(full, READ_KEEP_FRACTION))
    assert len(slots) == 2 and not any(s.short for s in slots)
    assert read_number(sure, full).number == "11"


def test_choose_join():
    assert choose_join(0.99, (0.6, 0.99), short=False)  # the join reads surely, a piece not
    assert not choose_join(0.99, (0.99, 0.99), short=False)  # both pieces sure: two digits
    assert not choose_join(0.9, (0.6, 0.99), short=False)  # the join not sure enough
    assert choose_join(0.99, (0.99, 0.99), short=True)  # a short piece is no digit of its own
    assert choose_join(0.9, (0.99, 0.8), short=True)  # ... join when it reads at least as surely
    assert not choose_join(0.7, (0.99, 0.8), short=True)
    assert not choose_join(-1.0, (0.5, 0.5), short=True)  # the join could not be read


def test_a_wide_five_is_not_cut_through_its_long_bar():
    # a 5 whose top bar reaches far to the right: wider than touching digits come, but a cut
    # through the bar leaves parts far shorter than the writing, which no touching digit is
    pic = np.full((160, 400), 230, np.uint8)
    cv2.polylines(pic, [np.array([[290, 40], [60, 40], [55, 75], [80, 70], [100, 85], [98, 108], [75, 118], [52, 110]])],
                  False, 30, 6)
    (slot,) = find_digits(find_ink(pic, READ_KEEP_FRACTION))
    assert slot.width > 2.2 and not slot.must_cut and slot.cuts == ()


def test_cut_prefers_the_emptiest_column_near_the_middle():
    profile = np.array([5, 6, 7, 6, 5, 1, 5, 6, 7, 6, 5, 4], float)
    assert _cut_columns(profile, 2) == [0, 5, 12]


def test_specks_are_not_digits(mnist_subset):
    pic, _ = on_paper([mnist_subset["x_test"][0]], [])
    pic = pic.copy()
    for cx, cy in [(10, 10), (150, 20), (20, 130)]:
        cv2.circle(pic, (cx, cy), 2, 40, -1)
    assert slot_count(pic) == 1


# -- decisions, with a stand-in classifier ----------------------------------------------------


class FixedClassifier:
    """Answers every digit with the next prediction from a list (the reader needs only this)."""

    contract = Contract()

    def __init__(self, answers: list[Prediction]) -> None:
        self.answers = answers

    def predict_prepared(self, prepared):
        return [self.answers[i % len(self.answers)] for i in range(len(prepared))]


def test_unsure_digits_show_as_question_marks(mnist_subset):
    pic, _ = on_paper(list(mnist_subset["x_test"][:3]), [20, 20])
    sure, unsure = Prediction(4, 0.99, [(4, 0.99)]), Prediction(None, 0.3, [(1, 0.3)], "unsure")
    r = read_number(FixedClassifier([sure, unsure, sure]), pic)
    assert r.number == "4?4" and r.reason == "1 unsure digit"
    assert [d.label for d in r.digits] == [4, None, 4]


def test_choose_cut():
    p = lambda conf: Prediction(1, conf, [(1, conf)])  # noqa: E731
    assert choose_cut(None, [p(0.5), p(0.5)], 2.5)  # too wide for one digit: always cut
    assert not choose_cut(p(0.995), [p(0.99), p(0.99)], 1.5)  # read surely as one digit: keep it
    assert choose_cut(p(0.995), [p(0.99), p(0.99)], 1.9)  # ... unless wider than one digit comes
    assert choose_cut(p(0.6), [p(0.99), p(0.99)], 1.3)
    assert not choose_cut(p(0.6), [p(0.99), p(0.5)], 1.3)  # a part the model is unsure of: keep whole
    assert not choose_cut(p(0.6), [], 1.3)


# -- reading with the shipped model -----------------------------------------------------------


def test_blank_picture_reads_empty_with_a_reason(classifier):
    for value in (0, 255, 128):
        r = read_number(classifier, np.full((120, 300), value, np.uint8))
        assert r.number == "" and r.digits == [] and r.reason


def test_a_speck_alone_is_no_digit(classifier):
    pic = np.full((200, 300), 220, np.uint8)
    cv2.circle(pic, (100, 100), 3, 30, -1)
    r = read_number(classifier, pic)
    assert r.number == "" and r.reason in (NO_INK, NO_DIGIT)


def test_spaced_four_digit_numbers(confident, classifier):
    rng = np.random.default_rng(7)
    right = 0
    for _ in range(30):
        labels = rng.integers(0, 10, 4)
        tiles = [confident[d][int(rng.integers(len(confident[d])))] for d in labels]
        pic, _ = on_paper(tiles, [int(g) for g in rng.integers(5, 30, 3)], size=int(rng.integers(40, 100)))
        right += read_number(classifier, pic).number == "".join(map(str, labels))
    assert right >= 29


def test_lines_are_read_top_to_bottom_each_left_to_right(confident, classifier):
    # two lines of writing, each slanting down to the right by a fifth of the writing height
    # per digit: read line by line (not interleaved by x), a space between the lines
    rng = np.random.default_rng(3)
    lines = [rng.integers(0, 10, 6), rng.integers(0, 10, 5)]
    size = 60
    page = np.full((420, 620), 225, np.uint8)
    for row, labels in enumerate(lines):
        for col, d in enumerate(labels):
            tile = cv2.resize(confident[d][col % len(confident[d])], (size, size), interpolation=cv2.INTER_CUBIC)
            y, x = 60 + row * 170 + col * size // 5, 40 + col * (size + 30) + row * 25
            np.minimum(page[y : y + size, x : x + size], 255 - tile, out=page[y : y + size, x : x + size])
    reading = read_number(classifier, page)
    assert reading.number == " ".join("".join(map(str, labels)) for labels in lines)
    assert [d.box.y < 200 for d in reading.digits] == [True] * 6 + [False] * 5


@pytest.mark.parametrize("form", ["boxes", "comb", "frame", "line"])
def test_a_forms_boxes_and_lines_are_not_read_as_digits(confident, classifier, form):
    # a box per digit, a comb of boxes with shared walls, one frame around the field, an answer line
    rng = np.random.default_rng(11)
    for _ in range(5):
        labels = rng.integers(0, 10, 4)
        page = np.full((240, 560), 230, np.uint8)
        for j, d in enumerate(labels):
            tile = cv2.resize(confident[d][j % len(confident[d])], (80, 80), interpolation=cv2.INTER_CUBIC)
            x = 60 + j * 110
            np.minimum(page[80:160, x : x + 80], 255 - tile, out=page[80:160, x : x + 80])
            if form == "boxes":
                cv2.rectangle(page, (x - 12, 68), (x + 92, 172), 70, 2)
        if form == "comb":
            for j in range(5):
                cv2.line(page, (45 + j * 110, 65), (45 + j * 110, 175), 70, 2)
            cv2.line(page, (45, 175), (485, 175), 70, 2)
        elif form == "frame":
            cv2.rectangle(page, (35, 55), (505, 185), 70, 2)
        elif form == "line":
            cv2.line(page, (40, 175), (510, 175), 70, 2)
        assert read_number(classifier, page).number == "".join(map(str, labels)), form


@pytest.mark.parametrize("mark", ["dash", "comma"])
def test_a_dash_or_comma_between_the_digits_is_no_digit(confident, classifier, mark):
    # far from every digit and small: not read as a 1 (a comma) or an unsure "?" (a dash)
    rng = np.random.default_rng(12)
    for _ in range(5):
        labels = rng.integers(0, 10, 4)
        tiles = [confident[d][int(rng.integers(len(confident[d])))] for d in labels]
        pic, spans = on_paper(tiles, [30, 110, 30], size=80)
        x = spans[1][1] + 40
        if mark == "dash":
            cv2.line(pic, (x, 80), (x + 35, 78), 40, 6)
        else:
            cv2.line(pic, (x + 16, 112), (x + 10, 127), 40, 5)
        assert read_number(classifier, pic).number == "".join(map(str, labels)), mark


def touching(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two digits moved together until their strokes touch (one blob), but no further."""
    for overlap in range(16, 50, 2):
        pic, _ = on_paper([a, b], [-overlap])
        if len(find_ink(pic, READ_KEEP_FRACTION).boxes) == 1:
            return pic
    raise AssertionError("the digits never touched")


def test_touching_pairs_read_as_two_digits(confident, classifier):
    right = 0
    pairs = [(0, 3), (2, 5), (4, 7), (6, 9), (8, 0), (3, 2)]
    for a, b in pairs:
        r = read_number(classifier, touching(confident[a][0], confident[b][1]))
        right += r.number == f"{a}{b}"
    assert right >= len(pairs) - 2  # the model reads some touching pairs surely as one digit


def test_annotate_writes_images_and_jsonl(tmp_path, mnist_subset):
    pic, _ = on_paper(list(mnist_subset["x_test"][:4]), [20, 20, 20])
    cv2.imwrite(str(tmp_path / "n.png"), pic)
    cv2.imwrite(str(tmp_path / "blank.jpg"), np.full((60, 60, 3), 250, np.uint8))
    out = tmp_path / "annotated"
    res = run_cli("read", str(tmp_path / "n.png"), str(tmp_path / "blank.jpg"), "--format", "jsonl", "--annotate", str(out))
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [len(r["number"]) for r in lines] == [4, 0]
    assert lines[1]["reason"] == "no ink found"
    assert all(len(d["box"]) == 4 for d in lines[0]["digits"])
    written = cv2.imread(str(out / "n.png"))
    assert written is not None and written.shape[:2] == pic.shape
    assert (out / "blank.png").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_read_reports_unreadable_files_and_goes_on(tmp_path, classifier):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    cv2.imwrite(str(tmp_path / "ok.png"), np.full((40, 40), 255, np.uint8))
    results = list(read_files(classifier, [tmp_path / "bad.png", tmp_path / "ok.png"]))
    assert results[0].error and results[1].reading is not None
    res = run_cli("read", str(tmp_path / "bad.png"), str(tmp_path / "ok.png"), "-f", "csv")
    assert res.returncode == 1
    assert res.stdout.splitlines()[0].startswith("path,number")
    res = run_cli("read", str(tmp_path / "ok.png"), "--format", "xml")
    assert res.returncode == 2
    # an --annotate folder that cannot be one fails before anything is read, not once per picture
    res = run_cli("read", str(tmp_path / "ok.png"), "--annotate", str(tmp_path / "ok.png"))
    assert res.returncode == 2 and res.stdout == "" and "is a file, not a folder" in res.stderr


def test_reading_a_folder_in_workers_gives_the_same_results_and_pictures(tmp_path, mnist_subset, classifier):
    digits = mnist_subset["x_test"]
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(20):
        pic, _ = on_paper(list(digits[4 * i : 4 * i + 4]), [20, 20, 20])
        cv2.imwrite(str(folder / f"{i:02d}.png"), pic)
    (folder / "07b.png").write_bytes(b"not an image")
    (folder / "sub").mkdir()
    cv2.imwrite(str(folder / "sub" / "03.png"), np.full((60, 60), 250, np.uint8))  # shares a stem with 03.png

    runs = {}
    for n in (1, 2):
        out = tmp_path / f"annotated-{n}"
        results = list(read_files(classifier, [folder], annotate_dir=out, workers=n))
        rows = [{**r.to_dict(), "annotated": Path(r.annotated).name if r.annotated else None} for r in results]
        runs[n] = rows, {p.name: p.read_bytes() for p in out.iterdir()}
    assert runs[2] == runs[1]  # same order, readings, errors, names and pictures
    rows, pictures = runs[1]
    assert len(rows) == 22 and sum("error" in r for r in rows) == 1
    assert "03-2.png" in pictures and len(pictures) == 21


def test_a_picture_of_noise_is_judged_on_its_largest_pieces(classifier, monkeypatch):
    # Random noise leaves thousands of pieces of "ink". Marks are looked for among the largest
    # blobs only, and the pieces of digits are joined among the largest MAX_PIECES: comparing all
    # of them in pairs took 25 s on this picture.
    from edge_digit.runtime import segment
    from edge_digit.runtime.preprocess import marks

    noise = np.random.default_rng(0).integers(0, 256, (500, 980), dtype=np.uint8)
    ink = find_ink(noise, READ_KEEP_FRACTION)
    assert len(ink.boxes) > 5 * segment.MAX_PIECES
    outlines, pieces = [], []
    monkeypatch.setattr(marks, "_is_outline", lambda ink, i: outlines.append(i) or False)
    monkeypatch.setattr(segment, "merge_pieces", lambda segs, height: pieces.append(len(segs)) or list(segs))
    read_number(classifier, noise)
    assert max(outlines) < marks.MARK_CANDIDATES and pieces == [segment.MAX_PIECES]
