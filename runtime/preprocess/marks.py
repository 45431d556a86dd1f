"""Ink that is not the digit: marks drawn around or under the writing (a form's box, a circle,
an answer line, apart from the digit or touching it) and clutter against a photo's edge."""

from __future__ import annotations

import cv2
import numpy as np

from .ink import Box, Ink, union
from .pixels import KERNEL3, at_full_scale, shrink

EDGE_CLUTTER = 0.5  # a blob at a photo's edge this far from one digit (share of its size) is clutter
MARK_CANDIDATES = 32  # marks drawn around or under the writing are looked for among this many largest blobs
# an outline drawn around a digit (a form's box, a circle) keeps out of the middle of its own box:
OUTLINE_CORE = 0.2  # ... the middle being its box less this share of each side
OUTLINE_CORE_INK = 0.03  # ... where at most this share of its ink lies
OUTLINE_INNER = 0.3  # ... and it encloses a blob whose middle is there, this share of its shorter side long or longer
OUTLINE_RUN = 0.5  # ... or it runs through the middle in straight lines as long as this share of what it encloses
OUTLINE_STRAIGHT = 0.9  # ... which hold this share of its ink
# a line drawn under a digit: flat (this many times as wide as tall) ...
UNDERLINE_FLAT = 3.0
UNDERLINE_LOW = 0.85  # ... its middle below this share of the height of the rest of the ink ...
UNDERLINE_WIDE = 1.2  # ... this many times as wide as the rest ...
UNDERLINE_UNDER = 0.9  # ... and under this share of the rest's width (a 2's foot drawn apart may reach far to one side)
# a line ruled across the page: from an edge across this share of the picture at least ...
RULING_SPAN = 0.75
RULING_LONG = 2.0  # ... this many times as long as any other blob is across it
RULING_THIN = 0.03  # ... and no thicker on average (its area over its length) than this share of its length
# marks the digit touches are looked for on a copy at most this large:
COPY_SIDE = 128
# a line the digit touches (one blob with it) ...
LINE_RUN = 0.7  # ... straight along this share of the crop's width (the line is the crop's widest part)
LINE_SLANT = 5  # ... within a band this many copy pixels tall (a page photographed a few degrees askew)
LINE_LOW = 0.8  # ... its middle below this share of the crop's height
LINE_THIN = 0.18  # ... spanning no more rows than this share of it (a 2's thick foot spans more)
LINE_PAST = 0.5  # ... and reaching past the ink above it on both sides by this share of that ink's width
_SLANT = np.ones((LINE_SLANT, 1), np.uint8)
# a box the digit touches (one blob with it): in crops at least FRAME_MIN_SIDE pixels across ...
FRAME_MIN_SIDE = 32
FRAME_RUN = 0.8  # ... each side runs straight along this share of the crop
FRAME_EDGE = 0.15  # ... within this share of the crop from its edge
FRAME_THIN = 0.06  # ... spanning at most this share of the crop across (a printed line, not a marker)
FRAME_INSIDE = 0.1  # ... and this share of the ink at least lies inside, clear of the sides


def drawn_marks(ink: Ink) -> set[int]:
    """Indices into ``ink.boxes`` of marks drawn around, beside or under the writing rather than
    written: outlines (a form's box, a circle), lines ruled across the page (a notebook's margin
    line) and a line under it (an answer line, an underline). Left in, a digit's crop takes them
    in and the model sees a square; the number reader reads them as digits. Marks that touch
    the writing are one blob with it and stay here (a digit's crop is rid of them by
    ``without_touching_marks``)."""
    if len(ink.boxes) < 2:
        return set()
    # A mark is among the largest blobs (it goes around or under all the writing): only those are
    # looked at, so a picture of noise or texture, thousands of blobs, costs no more than a form.
    candidates = range(min(len(ink.boxes), MARK_CANDIDATES))
    marks = {i for i in candidates if _is_outline(ink, i) or _is_ruling(ink, i)}
    rest = [i for i in range(len(ink.boxes)) if i not in marks]
    for i in (i for i in candidates if i not in marks):
        others = [ink.boxes[j] for j in rest if j != i]
        if others and _is_underline(ink.boxes[i], union(others)):
            marks.add(i)
            break
    return marks if len(marks) < len(ink.boxes) else set()


def _is_outline(ink: Ink, i: int) -> bool:
    """Does blob ``i`` enclose another substantial blob and keep out of the middle of its own box
    (a box, a circle), or enclose several and run in straight lines between them (a form's comb
    of boxes with shared walls, a table)? (A 0 encloses no digit; a digit's loop holding a speck
    does not count: specks are not substantial.)"""
    box = ink.boxes[i]
    if ink.labels is None:
        return False
    mx, my, inner = OUTLINE_CORE * box.w, OUTLINE_CORE * box.h, OUTLINE_INNER * min(box.w, box.h)
    enclosed = [other for other in ink.boxes if other is not box and max(other.w, other.h) >= inner
                and box.x + mx <= other.x + other.w / 2 <= box.x + box.w - mx
                and box.y + my <= other.y + other.h / 2 <= box.y + box.h - my]
    if not enclosed:
        return False
    mine = ink.blob_mask(i)
    h, w = mine.shape
    core = mine[round(h * OUTLINE_CORE) : h - round(h * OUTLINE_CORE), round(w * OUTLINE_CORE) : w - round(w * OUTLINE_CORE)]
    total = cv2.countNonZero(mine)
    if cv2.countNonZero(core) <= OUTLINE_CORE_INK * total:
        return True
    if len(enclosed) < 2:  # walls between the boxes of a comb part several digits (one digit's pieces can look so)
        return False
    # straight: what survives an opening along rows or columns as long as half an enclosed blob
    run = max(3, round(OUTLINE_RUN * max(b.h for b in enclosed) / ink.scale))
    rows = cv2.morphologyEx(mine, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
    columns = cv2.morphologyEx(mine, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8))
    return cv2.countNonZero(rows | columns) >= OUTLINE_STRAIGHT * total


def _is_ruling(ink: Ink, i: int) -> bool:
    """Is blob ``i`` a line printed or ruled across the page (a notebook's margin line, a table's
    border): through most of the picture from an edge, thin for its length, and far longer than
    the rest of the ink is across it? (A tight crop's 1 runs edge to edge too, but is about as
    tall as the digits beside it, and thick for its length.)"""
    box, (h, w) = ink.boxes[i], ink.gray.shape
    # (from one edge at least: a photo's dark corners can cut the line short at the other)
    down = box.h >= RULING_SPAN * h and (box.y <= 0 or box.y + box.h >= h)
    across = box.w >= RULING_SPAN * w and (box.x <= 0 or box.x + box.w >= w)
    if not (down or across) or ink.labels is None:
        return False
    others = [b for j, b in enumerate(ink.boxes) if j != i]
    length = box.h if down else box.w
    if not others or length < RULING_LONG * max(b.h if down else b.w for b in others):
        return False
    area = cv2.countNonZero(ink.blob_mask(i)) * ink.scale**2
    return area / length <= RULING_THIN * length


def _is_underline(line: Box, body: Box) -> bool:
    """Is ``line`` drawn under the ink ``body``: flat, low, wider than it and under most of it
    (a 2's foot drawn apart reaches off to one side)?"""
    under = min(line.x + line.w, body.x + body.w) - max(line.x, body.x)
    return (line.w >= UNDERLINE_FLAT * line.h and line.y + line.h / 2 >= body.y + UNDERLINE_LOW * body.h
            and line.w >= UNDERLINE_WIDE * body.w and under >= UNDERLINE_UNDER * body.w)


def without_edge_clutter(boxes: list[Box], shape: tuple[int, int]) -> list[Box]:
    """A photo's ink blobs (largest first) without those against its edge and well away from the
    largest blob clear of the edge: a speck of vignetting or shadow in a corner, a paper edge, a
    ruling line the border darkens. One digit in a photo stands clear of the edges; left in,
    these widen its crop to take them in. A piece next to the digit (a 5's bar in a photo cropped
    to the ink) stays. (Not for the number reader: a number framed tightly has digits at the edge.)"""
    digit = next((b for b in boxes if not b.at_edge(shape)), None)
    if digit is None:
        return boxes
    reach = EDGE_CLUTTER * max(digit.w, digit.h)  # how far from the digit's box its own pieces may lie

    def far(b: Box) -> bool:
        return (b.x > digit.x + digit.w + reach or b.x + b.w < digit.x - reach
                or b.y > digit.y + digit.h + reach or b.y + b.h < digit.y - reach)

    return [b for b in boxes if not (b.at_edge(shape) and far(b))]


def without_touching_marks(crop: np.ndarray) -> np.ndarray:
    """An ink-layer crop rid of a box and then of a line under the writing that the digit
    touches (``without_frame``, ``without_line_below``), with one ink copy for both."""
    h, w = crop.shape
    framed, lined = min(h, w) >= FRAME_MIN_SIDE, w > h
    if not (framed or lined):
        return crop
    copy = _ink_copy(crop)
    if framed and (out := without_frame(crop, copy)) is not crop:
        return without_line_below(out)  # (a copy of the crop without its box)
    return without_line_below(crop, copy) if lined else crop


def without_line_below(crop: np.ndarray, copy: tuple[np.ndarray, float] | None = None) -> np.ndarray:
    """An ink-layer crop (ink bright) with a straight line under the writing wiped out, when the
    digit touches the line and so is one blob with it: an answer line, a ruled line written
    on. Left in, the crop is the line's width and the model sees a flat digit over a bar.

    The line must run straight across most of the crop low down, and reach well past the ink
    above it on both sides: a 2's foot or a 1's base is about as wide as the digit or reaches
    off to one side (with LINE_PAST, nothing is wiped from any of MNIST's 70,000 digits).
    ``copy``: the crop's ``_ink_copy``, if made already."""
    h, w = crop.shape
    if w <= h:  # the line is the crop's width, so a crop taller than wide holds none (most digits)
        return crop
    ink, f = copy or _ink_copy(crop)
    sh, sw = ink.shape
    band = cv2.dilate(ink, _SLANT)
    length = max(3, round(LINE_RUN * sw))
    # The line's rows all lie low down (its middle low, and it is thin): below ``low``. No row
    # there holds that much ink: no line (most wide digits; cheaper than the opening).
    low = int((LINE_LOW - LINE_THIN) * sh)
    if cv2.reduce(band[low:], 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).max() < 255 * length:
        return crop
    # The ink above the line is at most half as wide as the crop (LINE_PAST on both sides), and
    # all ink above ``low`` is above the line: a digit as wide as its foot has none.
    if cv2.boundingRect(ink[:low])[2] > sw / (1 + 2 * LINE_PAST):
        return crop
    run = np.zeros_like(ink)
    run[low:] = cv2.morphologyEx(band[low:], cv2.MORPH_OPEN, np.ones((1, length), np.uint8)) & ink[low:]
    rows = np.flatnonzero(run.any(axis=1))
    if len(rows) == 0 or rows.mean() < LINE_LOW * sh or len(rows) > LINE_THIN * sh:
        return crop
    line = cv2.dilate(run, KERNEL3)  # and its blurred edges and ends
    above = cv2.bitwise_and(ink[: rows[0]], cv2.bitwise_not(line[: rows[0]]))  # the writing over it
    if not above.any():
        return crop
    ax, _, aw, _ = cv2.boundingRect(above)
    lx, _, lw, _ = cv2.boundingRect(run)
    if ax - lx < LINE_PAST * aw or (lx + lw) - (ax + aw) < LINE_PAST * aw:
        return crop
    return _wiped(crop, line, f)


def without_frame(crop: np.ndarray, copy: tuple[np.ndarray, float] | None = None) -> np.ndarray:
    """An ink-layer crop (ink bright) with a box around the writing wiped out, when the digit
    touches the box and so is one blob with it (a form's field written to its edges). Left in,
    the model sees a square.

    All four sides must run straight along most of the crop near its edges and be thin, and ink
    must lie inside them: a 0 drawn square, or stretched to fill its picture, holds none (with
    these rules nothing is wiped from any of MNIST's 70,000 digits, whose crops are smaller
    than FRAME_MIN_SIDE anyway). ``copy``: the crop's ``_ink_copy``, if made already."""
    h, w = crop.shape
    if min(h, w) < FRAME_MIN_SIDE:
        return crop
    ink, f = copy or _ink_copy(crop)
    sh, sw = ink.shape
    eh, ew = FRAME_EDGE * sh, FRAME_EDGE * sw
    # cheap first: ink across most of the columns near the top and the bottom (few digits have both)
    near = max(1, int(eh))
    covered = (cv2.countNonZero(cv2.reduce(band, 0, cv2.REDUCE_MAX)) for band in (ink[:near], ink[sh - near :]))
    if min(covered) < FRAME_RUN * sw:
        return crop
    rows = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, round(FRAME_RUN * sw)), np.uint8))
    cols = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((round(FRAME_RUN * sh), 1), np.uint8))
    r, c = np.flatnonzero(rows.any(axis=1)), np.flatnonzero(cols.any(axis=0))
    top, bottom, left, right = r[r < eh], r[r >= sh - eh], c[c < ew], c[c >= sw - ew]
    if not (len(top) and len(bottom) and len(left) and len(right)):
        return crop
    if max(len(top), len(bottom)) > FRAME_THIN * sh or max(len(left), len(right)) > FRAME_THIN * sw:
        return crop
    frame = np.zeros_like(ink)
    for side in (top, bottom):
        frame[side[0] : side[-1] + 1] = rows[side[0] : side[-1] + 1]
    for side in (left, right):
        frame[:, side[0] : side[-1] + 1] |= cols[:, side[0] : side[-1] + 1]
    frame = cv2.dilate(frame, KERNEL3)  # and its blurred edges
    # inside: clear of the frame and of the band along the edges (a hand-drawn side wobbles there)
    y0, y1 = max(top[-1] + 2, int(eh)), min(bottom[0] - 1, sh - int(eh))
    x0, x1 = max(left[-1] + 2, int(ew)), min(right[0] - 1, sw - int(ew))
    inside = cv2.bitwise_and(ink, cv2.bitwise_not(frame))[y0:y1, x0:x1]
    if cv2.countNonZero(inside) < FRAME_INSIDE * cv2.countNonZero(ink):
        return crop
    return _wiped(crop, frame, f)


def _ink_copy(crop: np.ndarray) -> tuple[np.ndarray, float]:
    """A binary ink mask of a copy of ``crop`` at most COPY_SIDE large, and the factor back."""
    small, f = shrink(crop, COPY_SIDE)
    return cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1], f


def _wiped(crop: np.ndarray, mark: np.ndarray, f: float) -> np.ndarray:
    """``crop`` with ``mark`` (a mask over its copy from ``_ink_copy``) wiped out."""
    return cv2.bitwise_and(crop, cv2.bitwise_not(at_full_scale(mark, f, crop.shape)))
