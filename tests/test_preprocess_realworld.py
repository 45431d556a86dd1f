"""The preprocessing steps that real pictures need beyond MNIST: polarity when ink is most of the
picture or a shadow covers the page, flattening of a cast shadow, dim rooms, two-level
(binarised) scans, hairlines, blank pages with shadows, marks drawn or ruled around the writing;
and the cheap paths giving the same answers."""

import cv2
import numpy as np
import pytest

from edge_digit import read_number
from edge_digit.runtime.preprocess import drawn_marks, find_ink, fit, normalize, union
from edge_digit.runtime.preprocess.ink import WORK_SIDE, _peak_copy, work_side
from edge_digit.runtime.preprocess.marks import without_edge_clutter, without_frame, without_line_below, without_touching_marks
from edge_digit.runtime.preprocess.pixels import shrink
from edge_digit.runtime.preprocess.polarity import border_quartiles, levels
from edge_digit.runtime.preprocess.ruled import ruled_lines
from edge_digit.runtime.preprocess.sheet import find_sheet

from .test_preprocess import paper_photo, similarity


@pytest.fixture(scope="module")
def digits(mnist_subset):
    return mnist_subset["x_test"][:30]


def shadow(shape: tuple[int, int], depth: float, angle: float, offset: float, soft: float = 0.05) -> np.ndarray:
    """A multiplicative cast shadow: a soft-edged half-plane darkening the paper by ``depth``."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = (np.cos(angle) * (xx / w - 0.5) + np.sin(angle) * (yy / h - 0.5) - offset) / soft
    return (1 - depth / (1 + np.exp(-d))).astype(np.float32)


def test_two_level_scan_is_found(digits, contract):
    """A binarised scan: Otsu splits it at its lower level, which must not read as 'no ink'."""
    for d in digits[:10]:
        binary = np.where(d > 100, 0, 255).astype(np.uint8)  # black ink, white paper, nothing between
        big = cv2.resize(binary, (84, 84), interpolation=cv2.INTER_NEAREST)
        assert similarity(normalize(big, contract), normalize(d, contract)) > 0.9


def test_ink_that_is_most_of_the_picture_keeps_its_polarity(digits, contract):
    """Stretched to fill its box and binarised (as some data sets store digits), a digit can be
    most of the pixels: the border, not the median, tells the paper."""
    majority = 0
    for d in digits:
        ys, xs = np.nonzero(d > 60)
        tight = d[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        box = np.pad(np.where(cv2.resize(tight, (16, 16), interpolation=cv2.INTER_AREA) > 20, 255, 0).astype(np.uint8), 1)
        majority += (box > 0).mean() > 0.5
        for pic, dark in ((box, False), (255 - box, True)):
            ink = find_ink(cv2.resize(pic, (54, 54), interpolation=cv2.INTER_NEAREST))
            assert ink is not None and ink.dark_ink is dark
    assert majority >= 3, "the test should hold digits that are mostly ink"


def test_dark_ink_under_a_large_shadow(digits, contract):
    """A shadow over most of the page puts the median mid-range; polarity then comes from the
    strokes, and the shadow's edge is flattened away (the digit is what is boxed)."""
    rng = np.random.default_rng(3)
    good = 0
    for d in digits[:20]:
        pic = paper_photo(d, 70, (360, 480), (150, 300), paper=225, ink=40).astype(np.float32)
        pic *= shadow(pic.shape, depth=0.45, angle=rng.uniform(0, 2 * np.pi), offset=rng.uniform(-0.2, 0.2))
        pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
        ink = find_ink(pic)
        good += ink is not None and ink.dark_ink and similarity(normalize(pic, contract), normalize(d, contract)) > 0.8
    assert good >= 18


@pytest.mark.parametrize("depth", [0.3, 0.5])
def test_blank_page_with_a_shadow_has_no_ink(depth):
    rng = np.random.default_rng(4)
    for angle in np.linspace(0, 2 * np.pi, 6, endpoint=False):
        page = np.full((360, 480), 220.0, np.float32) * shadow((360, 480), depth, angle, rng.uniform(-0.3, 0.3), soft=0.08)
        page = np.clip(page + rng.normal(0, 2, page.shape), 0, 255).astype(np.uint8)
        assert find_ink(page) is None


def test_hairline_in_a_large_photo_is_found_and_widened(contract):
    """A fine pen (one pixel) on a 100-px digit in a 640x480 photo: ink too sparse for Otsu,
    found over the noise floor, and widened towards an MNIST-like stroke."""
    rng = np.random.default_rng(5)
    for digit in "0123456789":
        pic = np.full((480, 640), 205, np.uint8)
        cv2.putText(pic, digit, (300, 300), cv2.FONT_HERSHEY_SIMPLEX, 3.4, 70, 1, cv2.LINE_AA)
        pic = np.clip(pic + rng.normal(0, 4, pic.shape), 0, 255).astype(np.uint8)
        ink = find_ink(pic)
        assert ink is not None
        box = union(ink.boxes)
        assert 280 <= box.x + box.w / 2 <= 370 and 200 <= box.y + box.h / 2 <= 310, box
        out = normalize(pic, contract)
        lit = out > 40
        assert out.sum() / 255 / lit.sum() >= fit.THIN_STROKE - 0.05


def test_small_picture_levels_match_the_histogram(contract):
    rng = np.random.default_rng(6)
    for shape in [(28, 28), (16, 16), (64, 64), (3, 50)]:
        for _ in range(20):
            a = rng.integers(0, 256, shape, dtype=np.uint8)
            n = a.size
            k = n // 2000 + 1
            cdf = np.cumsum(np.bincount(a.ravel(), minlength=256))
            want = tuple(int(v) for v in np.searchsorted(cdf, (k, n // 2 + 1, n - k + 1)))
            assert levels(a) == want


def test_shrink_uses_whole_blocks():
    img = np.zeros((480, 640), np.uint8)
    small, f = shrink(img, WORK_SIDE)
    assert f == 3.0 and small.shape == (160, 213)
    assert shrink(np.zeros((100, 90), np.uint8), WORK_SIDE)[1] == 1.0
    sliver, f = shrink(np.zeros((1, 2000), np.uint8), WORK_SIDE)
    assert sliver.shape[1] <= WORK_SIDE and f == 8.0


@pytest.mark.parametrize("size", [(480, 640), (720, 1280), (300, 700), (1080, 1920), (241, 1030)])
def test_shrink_gives_the_block_means_of_area_resampling(size):
    """Whichever way a block size is computed, the work copy is the rounded mean of each block."""
    rng = np.random.default_rng(sum(size))
    for img in (rng.integers(0, 256, size, dtype=np.uint8), np.full(size, 255, np.uint8),
                cv2.GaussianBlur(rng.integers(0, 256, size, dtype=np.uint8), (0, 0), 3)):
        small, f = shrink(img, WORK_SIDE)
        k = int(f)
        h, w = (s - s % k for s in size)
        assert np.array_equal(small, cv2.resize(img[:h, :w], (w // k, h // k), interpolation=cv2.INTER_AREA))


def test_mnist_fast_path_matches_paper_level(digits):
    """A small picture framed by one exact level takes that level as its paper, as the full
    estimate would (MNIST's paper is 0)."""
    for d in digits:
        ink = find_ink(d)
        assert ink.paper == 0 and not ink.dark_ink


def test_small_thin_digit_under_a_soft_shadow_is_dark_ink():
    """A small digit in a thin pen with a soft cast shadow across the page: the median is
    mid-range and the border spans the shadow, so the strokes decide. They must be seen at
    the work scale (a 64-px copy averages them away and the shadow's edge then decides)."""
    rng = np.random.default_rng(7)
    good = 0
    for digit in "0123456789":
        for angle in np.linspace(0, 2 * np.pi, 4, endpoint=False):
            pic = np.full((480, 640), 215, np.uint8)
            x, y = int(rng.uniform(80, 520)), int(rng.uniform(80, 420))
            cv2.putText(pic, digit, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 60, 1, cv2.LINE_AA)  # ~22 px tall
            pic = pic.astype(np.float32) * shadow(pic.shape, depth=0.45, angle=angle, offset=rng.uniform(-0.2, 0.2), soft=0.12)
            pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
            ink = find_ink(pic)
            if ink is not None and ink.dark_ink:
                box = union(ink.boxes)
                good += x - 5 <= box.x + box.w / 2 <= x + 30 and y - 30 <= box.y + box.h / 2 <= y + 5
    assert good >= 36, good  # the 64-px witness got about 7 of 40


def _large_page(digit: np.ndarray, side: int, shape: tuple[int, int], rng: np.random.Generator):
    """A page (float levels: paper 200, a gentle gradient, sensor noise) of ``shape`` with the
    digit written dark in a ``side``-px box somewhere on it, and where (x, y)."""
    h, w = shape
    page = 200 + rng.normal(0, 4, shape) + np.linspace(-20, 20, w)[None]
    ink = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC) / 255
    x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
    page[y : y + side, x : x + side] *= 1 - 0.75 * ink
    return page, x, y


def test_a_small_digit_in_a_large_photo_is_dark_ink(digits):
    """A 70-px digit in a 3000x2000 photo with a gentle gradient: its strokes are a few of the
    work copy's pixels, fewer than its thinnest tail holds, so the polarity comes from the few
    furthest details (the gradient and the noise reach about as far either way)."""
    rng = np.random.default_rng(4)
    found = 0
    for i in range(8):
        page, x, y = _large_page(digits[i], 70, (2000, 3000), rng)
        found_ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
        if found_ink is not None and found_ink.dark_ink:
            box = union(found_ink.boxes)
            found += abs(box.x - x) < 40 and abs(box.y - y) < 40
    assert found == 8, found


def _sheet_on_desk(digit: np.ndarray, desk: float, cover: float, rng: np.random.Generator) -> np.ndarray:
    """A 600x800 photo of a sheet of paper (level 215, a little askew) covering ``cover`` of it
    on a desk of level ``desk`` with a grain, the digit written dark on the sheet."""
    pic = np.full((600, 800), desk) + rng.normal(0, 5, (600, 800))
    pic += 12 * cv2.resize(rng.normal(0, 1, (40, 8)), (800, 600), interpolation=cv2.INTER_CUBIC)  # grain
    ph, pw = int(600 * cover), int(800 * cover)
    y0, x0 = int(rng.integers(0, 600 - ph + 1)), int(rng.integers(0, 800 - pw + 1))
    corners = np.array([[x0, y0], [x0 + pw, y0 + 15], [x0 + pw, y0 + ph], [x0, y0 + ph]], np.int32)
    sheet = np.zeros((600, 800), np.uint8)
    cv2.fillPoly(sheet, [corners], 255)
    pic[sheet > 0] = 215 + rng.normal(0, 3, int((sheet > 0).sum()))
    side = 100
    y, x = y0 + (ph - side) // 2, x0 + (pw - side) // 2
    ink = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC) / 255
    pic[y : y + side, x : x + side] = pic[y : y + side, x : x + side] * (1 - ink) + 40 * ink
    return np.clip(pic, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("desk", [40, 110])
@pytest.mark.parametrize("cover", [0.6, 0.9])
def test_a_sheet_on_a_darker_desk_is_read_as_the_page(mnist_subset, classifier, desk, cover):
    # the desk frames the photo, so the border named the desk the paper and the sheet the ink
    # (before: 0 of 10 read right on the dark desk, 10 and 1 of 10 on the lighter one)
    rng = np.random.default_rng(desk + int(10 * cover))
    right = sum(classifier.predict(_sheet_on_desk(d, desk, cover, rng)).label == label
                for d, label in zip(mnist_subset["x_test"][:10], mnist_subset["y_test"][:10]))
    assert right >= 9


def test_a_shadow_across_the_page_is_no_desk(digits):
    # A cast shadow with a sharp edge across the bottom of a page: the lit part is bright and
    # convex, but it runs along most of the border. Taken for a sheet, the shadowed part, and
    # the writing in it, would be painted over.
    page = np.full((300, 400), 200.0)
    page[200:] = 120  # the shadow
    ink = cv2.resize(digits[0], (120, 120), interpolation=cv2.INTER_CUBIC) / 255
    page[130:250, 140:260] *= 1 - 0.75 * ink  # the digit straddles the shadow's edge
    page = np.clip(page + np.random.default_rng(0).normal(0, 3, page.shape), 0, 255).astype(np.uint8)
    work = shrink(page, WORK_SIDE)[0]
    assert find_sheet(work, *levels(work), border_quartiles(work)[1]) is None


def test_a_small_digit_in_a_phone_photo_gets_a_second_look(digits):
    """A 60-px digit in a 4000x3000 photo is about 4 pixels of the 256-px work copy, where no ink
    stands out of the noise; the second look, on a copy of 8-px blocks, finds it. A blank page
    of that size stays blank there too."""
    rng = np.random.default_rng(5)
    second = 0
    for i in range(3):
        page, x, y = _large_page(digits[i], 60, (3000, 4000), rng)
        blank = np.clip(200 + rng.normal(0, 4, page.shape) + np.linspace(-20, 20, 4000)[None], 0, 255).astype(np.uint8)
        found_ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
        assert found_ink is not None and found_ink.dark_ink
        box = union(found_ink.boxes)
        assert abs(box.x - x) < 40 and abs(box.y - y) < 40
        second += found_ink.scale == 8.0
        assert find_ink(blank) is None
    assert second == 2  # (the first look found the other one)
    assert work_side((3000, 4000)) == 500 and work_side((1080, 1920)) == WORK_SIDE


@pytest.mark.parametrize("gradient", [0, 40])
def test_faint_hairline_on_a_large_noisy_page_is_found(gradient, contract):
    """A fine pen of low contrast (40 levels, noise 4) on a 1280x960 page: the 5x5 averaging of
    the work copy leaves the line about 8 levels, under the noise floor (or the whole page under
    the blank threshold); the blocks' darkest pixels keep it."""
    rng = np.random.default_rng(8)
    light = np.linspace(0, gradient, 1280, dtype=np.float32)[None, :]  # paper darker to the right
    for digit in "0123456789":
        pic = np.full((960, 1280), 200, np.uint8)
        x, y = int(rng.uniform(320, 770)), int(rng.uniform(380, 670))
        cv2.putText(pic, digit, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 160, 1, cv2.LINE_AA)  # ~65 px tall
        pic = np.clip(pic - light + rng.normal(0, 4, pic.shape), 0, 255).astype(np.uint8)
        ink = find_ink(pic)
        assert ink is not None and ink.dark_ink, digit
        box = union(ink.boxes)
        w, h = cv2.getTextSize(digit, cv2.FONT_HERSHEY_SIMPLEX, 3.0, 1)[0]
        assert x <= box.x + box.w / 2 <= x + w and y - h <= box.y + box.h / 2 <= y, (digit, box)
        assert normalize(pic, contract) is not None


def test_a_faint_stroke_in_heavy_noise_is_found_whole(classifier):
    """A 2-px pen 40 levels under the paper, in noise of 16: on the work copy the stroke clears
    the noise floor only in pieces, some too short to count. Each piece found is followed along
    what clears a lower floor, so the whole digit is found, not a piece of it."""
    rng = np.random.default_rng(3)
    for digit in "0123456789":
        pic = np.full((600, 800), 190, np.uint8)
        x, y = int(rng.uniform(250, 450)), int(rng.uniform(250, 400))
        cv2.putText(pic, digit, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 150, 2, cv2.LINE_AA)
        ys, xs = np.nonzero(pic < 190)
        pic = np.clip(pic + rng.normal(0, 16, pic.shape), 0, 255).astype(np.uint8)
        box = union(find_ink(pic).boxes)
        assert box.x <= xs.min() and box.x + box.w > xs.max(), digit
        assert box.y <= ys.min() and box.y + box.h > ys.max(), digit
        assert classifier.predict(pic).label == int(digit)


def test_a_hairline_30_levels_under_a_quiet_page_is_found(classifier):
    """A 1-px pen 30 levels under the paper of a quiet 1000x700 page: the work copy's averaging
    leaves the picture flatter than a blank's threshold, and the blocks' inkiest pixels reach 30
    levels from the paper. That is enough to look for ink over the noise floor."""
    rng = np.random.default_rng(5)
    for digit in "0123456789":
        pic = np.full((700, 1000), 190, np.uint8)
        x, y = int(rng.uniform(300, 600)), int(rng.uniform(250, 450))
        cv2.putText(pic, digit, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 160, 1, cv2.LINE_AA)
        pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
        assert classifier.predict(pic).label == int(digit)


def test_faint_hairline_that_find_ink_finds_is_fitted_not_dropped(classifier):
    """A 7 in a 2-px pen at 40 levels under the paper, on a quiet 800x600 page: find_ink finds it
    over the noise, and fit_digit, whose floor once asked for twice the lowest ink level, must
    not then call the crop empty."""
    pic = np.full((600, 800), 190.0)
    stroke = np.zeros((600, 800), np.uint8)
    cv2.polylines(stroke, [np.array([[380, 250], [440, 250], [400, 350]], np.int32)], False, 255, 2, cv2.LINE_AA)
    pic -= 40 * stroke.astype(float) / 255
    pic = np.clip(pic + np.random.default_rng(0).normal(0, 2, pic.shape), 0, 255).astype(np.uint8)
    assert find_ink(pic) is not None
    assert classifier.predict(pic).label == 7


@pytest.mark.parametrize("seed", [4, 5, 13, 14, 17, 21, 24, 38])
def test_digit_deep_in_a_soft_shadow_is_found(seed, mnist_subset, classifier):
    """A 60-px digit where a soft-edged shadow (darkening 50-80 %) is deepest: the quadratic leaves
    the shadow's edge, the paper seen locally gives no clear split over the whole page, and over
    the quadratic the noise floor stands above the ink; over the local paper it does not."""
    rng = np.random.default_rng(seed)
    h, w = 600, 800
    depth, soft, angle, off = rng.uniform(0.5, 0.8), rng.uniform(0.08, 0.25), rng.uniform(0, 6.28), rng.uniform(-0.2, 0.2)
    light = shadow((h, w), depth, angle, off, soft)
    y, x = np.unravel_index(np.argmin(cv2.blur(light, (61, 61))[40:-100, 40:-100]), (h - 140, w - 140))
    page = np.full((h, w), 225, np.float32)
    page[y + 40 : y + 100, x + 40 : x + 100] -= 0.6 * cv2.resize(mnist_subset["x_test"][seed], (60, 60)).astype(np.float32)
    pic = np.clip(page * light + rng.normal(0, 3, (h, w)), 0, 255).astype(np.uint8)
    assert classifier.predict(pic).label == int(mnist_subset["y_test"][seed])


def test_peak_copy_matches_shrink_blocks():
    rng = np.random.default_rng(9)
    img = rng.integers(0, 256, (481, 643), dtype=np.uint8)
    work, f = shrink(img, WORK_SIDE)
    k = int(f)
    blocks = img[: 481 - 481 % k, : 643 - 643 % k].reshape(481 // k, k, 643 // k, k)
    assert np.array_equal(_peak_copy(img, k, False), blocks.max(axis=(1, 3)))
    assert np.array_equal(_peak_copy(img, k, True), 255 - blocks.min(axis=(1, 3)))
    assert _peak_copy(img, k, False).shape == work.shape


def test_faint_ink_in_a_deep_shadow_keeps_its_contrast(digits, contract):
    """Ink darkens with the paper it is on: a grey pen (75 levels under paper 215) in a shadow
    that takes 60 % of the light is left 30 levels, under fit_digit's floor. The layer scales
    it back to the lit paper's contrast."""
    rng = np.random.default_rng(10)
    good = 0
    for d in digits[:20]:
        pic = paper_photo(d, 70, (360, 480), (60, 60), paper=215, ink=140).astype(np.float32)
        pic *= shadow(pic.shape, depth=0.6, angle=np.pi, offset=-0.1, soft=0.1)  # the left side in shadow
        pic = np.clip(pic + rng.normal(0, 2, pic.shape), 0, 255).astype(np.uint8)
        out = normalize(pic, contract)
        good += out is not None and similarity(out, normalize(d, contract)) > 0.8
    assert good >= 18, good


def test_pale_ink_beside_a_shadow_edge_the_quadratic_misses(digits, contract):
    """A quadratic can pass for the lighting yet leave a sharp shadow's edge as a broad band of
    faint "ink" that hides pale strokes from Otsu: the paper is then seen locally instead."""
    rng = np.random.default_rng(5)
    for d in digits[:20]:
        pic = paper_photo(d, 90, (460, 680), (220, 50), paper=180, ink=120).astype(np.float32)
        pic *= shadow(pic.shape, depth=0.3, angle=0.1, offset=0.05, soft=0.05)
        pic = np.clip(pic + rng.normal(0, 4, pic.shape), 0, 255).astype(np.uint8)
        assert similarity(normalize(pic, contract), normalize(d, contract)) > 0.8


def test_large_crops_are_fitted_from_their_block_means(digits, contract, monkeypatch):
    """A digit far larger than the model's box is fitted from a smaller copy (cheaper): the
    result is what fitting the full-resolution crop gives, up to resampling."""
    for d in digits[:10]:
        pic = paper_photo(d, 300, (400, 400), (50, 50), paper=210, ink=30)
        quick = normalize(pic, contract)
        monkeypatch.setattr(fit, "FIT_SIDE", 10**6)
        full = normalize(pic, contract)
        monkeypatch.undo()
        assert similarity(quick, full) > 0.97


def test_blank_noisy_pages_have_no_ink():
    """The noise floor that faint hairlines are found over stays clear of sensor noise and JPEG
    artefacts on an empty page, even or lit from one side."""
    rng = np.random.default_rng(0)
    for sigma in (2, 4, 8, 12):
        for gradient in (0, 30):
            page = 200 + gradient * np.linspace(0, 1, 640)[None, :] + rng.normal(0, sigma, (480, 640))
            page = np.clip(page, 0, 255).astype(np.uint8)
            assert find_ink(page) is None
            jpeg = cv2.imdecode(cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, 60])[1], cv2.IMREAD_GRAYSCALE)
            assert find_ink(jpeg) is None


@pytest.mark.parametrize("edge", ["left", "right", "top", "bottom", "corner"])
def test_clutter_against_the_photos_edge_is_not_part_of_the_digit(digits, contract, edge):
    """A paper edge, a ruling line darkened at the border of a photo, a dark speck of vignetting
    in a corner: left in, it would widen the crop to take in the digit and the clutter."""
    for d in digits[:10]:
        pic = paper_photo(d, 60, (480, 640), (200, 280))
        alone = normalize(pic, contract)
        if edge in ("left", "right"):
            x = 2 if edge == "left" else 637
            cv2.line(pic, (x, 40), (x, 440), 60, 5)
        elif edge in ("top", "bottom"):
            y = 2 if edge == "top" else 477
            cv2.line(pic, (40, y), (600, y), 60, 5)
        else:
            cv2.circle(pic, (0, 479), 12, 60, -1)
        ink = find_ink(pic)
        digit = without_edge_clutter(ink.boxes, pic.shape)
        assert all(200 < b.x < 360 and 150 < b.y < 280 for b in digit)  # the digit's pieces only
        assert similarity(normalize(pic, contract), alone) > 0.9


def test_a_scan_of_one_thin_stroke_against_the_edge_is_kept(contract):
    """Only beside other ink clear of the edge is such a line dropped: a tight scan of a "1"
    touching its edges is the digit."""
    one = np.full((300, 60), 255, np.uint8)
    cv2.line(one, (30, 0), (30, 299), 0, 6)
    assert normalize(one, contract) is not None


def test_small_faint_digit_on_squared_paper_is_found(digits, contract):
    """The grid of squared paper fills the blocks' inkiest pixels, so the level faint ink must
    clear there is set by the grid, not the paper's noise; on the averaged copy the digit, a
    wider and darker line than the grid's, still stands clear of it."""
    rng = np.random.default_rng(3)
    found = 0
    for d in digits[:10]:
        page = np.full((600, 800), 240.0, np.float32)
        for v in range(7, 800, 14):
            page[:, v] = 205
        for v in range(5, 600, 14):
            page[v, :] = 205
        small = cv2.resize(d, (30, 30), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        page[400:430, 100:130] -= 130 * small
        page += rng.normal(0, 3, page.shape)
        ink = find_ink(np.clip(page, 0, 255).astype(np.uint8))
        found += ink is not None and all(80 <= b.x <= 140 and 380 <= b.y <= 440 for b in ink.boxes)
    assert found >= 8


def test_a_piece_of_the_digit_against_the_edge_of_a_tight_crop_stays():
    """A 5 whose bar is lifted off, in a photo cropped to the ink: the bar touches the edge and
    is smaller than the body, but it lies next to the digit, so it is part of it."""
    five = np.full((400, 300), 235, np.uint8)
    cv2.rectangle(five, (70, 0), (299, 26), 40, -1)  # the bar, against the top edge
    cv2.line(five, (80, 60), (70, 190), 40, 26)
    cv2.ellipse(five, (150, 270), (125, 110), 0, -150, 140, 40, 26)
    ink = find_ink(five)
    assert any(b.y == 0 and b.h < 60 for b in without_edge_clutter(ink.boxes, five.shape))


@pytest.mark.parametrize("mark", ["box", "circle", "underline"])
def test_a_box_circle_or_line_drawn_around_the_digit_is_left_out(digits, contract, mark):
    # a form's field, a circled answer, an answer line: left in, the crop took them in with the digit
    for d in digits[:15]:
        pic = paper_photo(d, 110, (300, 400), (95, 145))
        if mark == "box":
            cv2.rectangle(pic, (125, 75), (275, 225), 60, 2)
        elif mark == "circle":
            cv2.ellipse(pic, (200, 150), (85, 80), 0, 0, 360, 60, 3)
        else:
            cv2.line(pic, (115, 220), (285, 220), 60, 2)
        assert similarity(normalize(pic, contract), normalize(d, contract)) > 0.9, mark


@pytest.mark.parametrize("side", ["left", "above"])
def test_a_margin_line_beside_the_digit_is_left_out(digits, contract, side):
    """A notebook's margin line (or a table's border) ruled across the page, close beside the
    digit: it is not clutter far from the digit, and the crop took it in. Straight through most
    of the picture and thin, far longer than the digit is tall, it is a ruling, not writing; cut
    short by a dark corner, it still is."""
    rng = np.random.default_rng(18)
    for d in digits[:15]:
        pic = paper_photo(d, 80, (360, 480), (140, 200), paper=230, ink=40).astype(np.float32)
        if side == "left":
            cv2.line(pic, (185, 0), (183, 300), 120, 2)  # to 300 of 360 rows: a dark corner below
        else:
            cv2.line(pic, (0, 125), (479, 128), 120, 2)
        pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
        assert similarity(normalize(pic, contract), normalize(d, contract)) > 0.85, side


def test_a_tight_crop_s_1_is_no_ruling(mnist_subset, classifier):
    """A 1 in a tight crop of a number runs from edge to edge too, but is about as tall as the
    digits beside it: it stays a digit."""
    one, seven = (mnist_subset["x_test"][np.flatnonzero(mnist_subset["y_test"] == k)[0]] for k in (1, 7))
    crops = []
    for d, zoom in ((one, 4.0), (seven, 3.0)):  # the 7 a little shorter: the 1 alone runs edge to edge
        ys, xs = np.nonzero(d > 40)
        crops.append(255 - cv2.resize(d[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], None, fx=zoom, fy=zoom))
    h = crops[0].shape[0]
    top = (h - crops[1].shape[0]) // 2
    seven = cv2.copyMakeBorder(crops[1], top, h - crops[1].shape[0] - top, 0, 0, cv2.BORDER_CONSTANT, value=255)
    row = np.hstack([crops[0], np.full((h, 30), 255, np.uint8), seven])
    assert read_number(classifier, row).number == "17"


@pytest.mark.parametrize("rise", [0, 8])
def test_a_line_the_digit_touches_is_wiped(mnist_subset, classifier, rise):
    # an answer line written on, level or a little askew: one blob with the digit, so the crop
    # was the line's width and the model saw a flat digit over a bar (before: 9-11 of 30 read right)
    touching = right = 0
    for d, label in zip(mnist_subset["x_test"][:30], mnist_subset["y_test"][:30]):
        pic = paper_photo(d, 110, (300, 400), (95, 145))
        cv2.line(pic, (115, 192 + rise // 2), (285, 192 - rise // 2), 60, 2)
        touching += len(find_ink(pic).boxes) == 1
        right += classifier.predict(pic).label == label
    assert touching >= 20 and right >= 27


def test_a_box_the_digit_touches_is_wiped(mnist_subset, classifier):
    # a form's field written to its edges: one blob with the digit, so the model saw a square
    # (before: 21 of 30 read right)
    touching = right = 0
    for d, label in zip(mnist_subset["x_test"][:30], mnist_subset["y_test"][:30]):
        pic = paper_photo(d, 110, (300, 400), (95, 145))
        cv2.rectangle(pic, (155, 105), (245, 195), 60, 2)
        touching += len(find_ink(pic).boxes) == 1
        right += classifier.predict(pic).label == label
    assert touching >= 15 and right >= 29


@pytest.mark.parametrize("thickness", [2, 6])
def test_a_square_zero_is_no_box(contract, thickness):
    # four straight sides, but nothing inside them
    pic = np.full((200, 200), 220, np.uint8)
    cv2.rectangle(pic, (60, 40), (140, 160), 40, thickness)
    ink = find_ink(pic)
    crop = ink.layer(union(ink.boxes))
    assert without_frame(crop) is crop


@pytest.mark.parametrize("level", [60, 120])
def test_ruled_lines_the_digit_touches_are_painted_over(mnist_subset, classifier, level):
    # a page's lines, as dark as the ink or lighter, touching the digit above and below: one
    # blob with them, the digit was lost in a crop as wide as the page (before: 0 and 12 of 20)
    right = 0
    for d, label in zip(mnist_subset["x_test"][:20], mnist_subset["y_test"][:20]):
        pic = paper_photo(d, 110, (300, 400), (95, 145))
        for y in (113, 193):
            cv2.line(pic, (0, y), (399, y), level, 2)
        right += classifier.predict(pic).label == label
    assert right >= 19


def test_a_z_shaped_two_filling_its_picture_has_no_ruled_lines():
    # a flat top and a flat foot across the whole picture, but the stroke between them reaches
    # as far: they are the digit's, not a page's lines
    pic = np.full((200, 200), 230, np.uint8)
    cv2.polylines(pic, [np.array([[2, 10], [197, 10], [2, 189], [197, 189]], np.int32)], False, 30, 4)
    ink = cv2.threshold(pic, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
    assert ruled_lines(ink) is None
    assert ruled_lines(np.vstack([ink, np.full((40, 200), 0, np.uint8)])) is None  # with paper below


def test_no_mnist_digit_loses_ink_as_a_line(mnist_subset, contract):
    # a 2's foot is flat and low, but the digit's top reaches over most of it
    for d in mnist_subset["x_test"]:
        ink = find_ink(d)
        crop = ink.layer(union(ink.boxes))
        assert without_line_below(crop) is crop and without_frame(crop) is crop and without_touching_marks(crop) is crop


def test_a_twos_foot_drawn_apart_stays_with_it(contract):
    # flat, low and long, but off to one side rather than under the digit: no underline
    pic = np.full((200, 260), 220, np.uint8)
    cv2.polylines(pic, [np.array([[140, 40], [185, 30], [200, 60], [160, 110]], np.int32)], False, 40, 3, cv2.LINE_AA)
    cv2.line(pic, (40, 150), (150, 125), 40, 3, cv2.LINE_AA)
    ink = find_ink(pic)
    assert len(ink.boxes) == 2 and drawn_marks(ink) == set()


@pytest.mark.parametrize("in_shadow", [False, True])
def test_an_evenly_lit_page_under_a_sharp_shadow_is_read(digits, contract, in_shadow):
    """On a page lit evenly but for a sharp cast shadow over its lower third, the paper's one
    level takes the shadow for ink: a region far wider than any stroke, reaching the picture's
    edge, that takes under three quarters of the light. Seen locally it is paper, whether the
    digit is in it or above it."""
    rng = np.random.default_rng(11)
    good = 0
    for d in digits[:20]:
        pic = paper_photo(d, 70, (360, 480), (270 if in_shadow else 40, 200), paper=225, ink=40).astype(np.float32)
        pic *= shadow(pic.shape, depth=0.55, angle=np.pi / 2 + rng.uniform(-0.3, 0.3), offset=0.2, soft=0.02)
        pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
        out = normalize(pic, contract)
        good += out is not None and similarity(out, normalize(d, contract)) > 0.8
    assert good >= 18, good


def test_a_shadow_whose_edge_runs_out_by_a_corner_is_read(digits, contract):
    """Where a cast shadow's edge meets the picture's edge at a sharp angle, the shadow is a wedge
    narrower than the local look's kernel, which leaves it as a sliver against the edge; that
    sliver is not ink under the shadow (it made the ink span the picture)."""
    angle = 4.97  # the shadow over the upper part, its edge running out near the top-left corner
    offset = -0.5 * np.cos(angle) - 0.5 * np.sin(angle) - 0.03
    rng = np.random.default_rng(15)
    good = 0
    for d in digits[:20]:
        pic = paper_photo(d, 70, (360, 480), (200, 300), paper=225, ink=40).astype(np.float32)
        pic *= shadow(pic.shape, depth=0.6, angle=angle, offset=offset, soft=0.02)
        pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
        out = normalize(pic, contract)
        good += out is not None and similarity(out, normalize(d, contract)) > 0.8
    assert good >= 18, good


def test_a_shadow_over_most_of_the_page_is_not_the_paper(digits, contract):
    """A deep shadow over four fifths of the page holds the median, and the lit paper beyond it
    is more of the picture than ink covers: the strokes, not the median, name the paper. They
    are judged on log levels, where ink in a shadow stands out as far as ink in full light."""
    rng = np.random.default_rng(12)
    good = 0
    for d in digits[:20]:
        pic = paper_photo(d, 70, (360, 480), (250, 200), paper=225, ink=40).astype(np.float32)
        pic *= shadow(pic.shape, depth=0.7, angle=np.pi / 2 + rng.uniform(-0.3, 0.3), offset=-0.3, soft=0.02)
        pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
        ink = find_ink(pic)
        good += ink is not None and ink.dark_ink and similarity(normalize(pic, contract), normalize(d, contract)) > 0.8
    assert good >= 18, good


def test_a_marker_s_filled_loop_is_ink_not_a_shadow():
    """A 9 in grey ink whose loop the marker filled: a region too wide for a stroke that takes
    two thirds of the light, as a deep shadow would. It lies inside the picture, where no cast
    shadow ends, so it stays ink (seen locally, only the tail would be left)."""
    rng = np.random.default_rng(13)
    pic = np.full((96, 108), 245.0, np.float32)
    cv2.circle(pic, (55, 38), 20, 80, -1)
    cv2.line(pic, (66, 50), (62, 86), 80, 7)
    pic = np.clip(cv2.GaussianBlur(pic, (0, 0), 1.0) + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
    ink = find_ink(pic)
    box = union(ink.boxes)
    assert box.y <= 20 and box.y + box.h >= 86, box  # the loop and the tail


def test_a_shadow_over_most_of_the_border_is_not_the_paper(digits, contract):
    """A pencil digit in the lit third of a page whose left two thirds are in shadow: most of the
    border is shadowed paper, and its median took that for the paper (the lit part for light
    ink). Nothing in the picture is near black, so the border spans light and shade, not ink and
    paper, and the strokes decide."""
    rng = np.random.default_rng(14)
    good = 0
    for d in digits[:20]:
        pic = paper_photo(d, 70, (360, 480), (150, 370), paper=225, ink=110).astype(np.float32)
        pic *= shadow(pic.shape, depth=0.6, angle=np.pi + rng.uniform(-0.3, 0.3), offset=-0.2, soft=0.03)
        pic = np.clip(pic + rng.normal(0, 3, pic.shape), 0, 255).astype(np.uint8)
        ink = find_ink(pic)
        good += ink is not None and ink.dark_ink and similarity(normalize(pic, contract), normalize(d, contract)) > 0.8
    assert good >= 18, good


@pytest.mark.parametrize("light", [0.3, 0.15])
def test_a_digit_photographed_in_a_dim_room_is_found(digits, contract, light):
    """In a dim room ink's contrast shrinks with the light (paper 225 and ink 40 become 34 and
    6 at 15 %), while the camera's noise stays: too little contrast for the levels that tell
    ink from noise, so "no ink found". A dim picture is brightened first, as far as its noise
    allows."""
    rng = np.random.default_rng(16)
    good = 0
    for d in digits[:20]:
        pic = paper_photo(d, 70, (360, 480), (150, 200), paper=225, ink=40).astype(np.float32) * light
        pic = np.clip(pic + rng.normal(0, 2, pic.shape), 0, 255).astype(np.uint8)
        out = normalize(pic, contract)
        good += out is not None and similarity(out, normalize(d, contract)) > 0.8
    assert good >= 18, good


def test_dim_blank_frames_stay_blank():
    """Brightening a dim picture must not make ink of a dark frame's noise (a covered webcam, a
    dim desk): its gain is capped by the noise it would bring up."""
    rng = np.random.default_rng(17)
    for level in (10, 30, 60, 100):
        for sigma in (1.0, 4.0, 8.0):
            for shape in ((120, 160), (480, 640)):
                h, w = shape
                yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
                page = level * (1 - 0.4 * ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2)  # vignetting
                grain = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 3)
                page += 0.02 * level * grain / grain.std()  # the paper's fibre
                pic = np.clip(page + rng.normal(0, sigma, shape), 0, 255).astype(np.uint8)
                assert find_ink(pic) is None, (level, sigma, shape)
