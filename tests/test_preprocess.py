"""Each preprocessing step on crafted pictures: inverted, off-centre, thick, noisy, blank, odd dtypes."""

import warnings

import cv2
import numpy as np
import pytest

from edge_digit.runtime.preprocess import find_ink, fit_digit, normalize, to_gray


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two model inputs, blurred so a one-pixel shift costs little (1.0 = same)."""
    assert a is not None and b is not None, "no ink found"
    a, b = (cv2.GaussianBlur(v.astype(np.float64), (0, 0), 1.0).ravel() for v in (a, b))
    return float(np.corrcoef(a, b)[0, 1])


@pytest.fixture(scope="module")
def digits(mnist_subset):
    return mnist_subset["x_test"][:50]


def test_mnist_digit_passes_nearly_unchanged(digits, contract):
    for d in digits:
        out = normalize(d, contract)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        assert similarity(out, d) > 0.9


def test_output_is_centred_by_mass_and_fits_the_box(digits, contract):
    for d in digits:
        out = normalize(d, contract)
        m = cv2.moments(out)
        assert abs(m["m10"] / m["m00"] - 14) <= 1.0 and abs(m["m01"] / m["m00"] - 14) <= 1.0
        x, y, w, h = cv2.boundingRect(out)
        assert max(w, h) <= contract.box + 1


def test_dark_ink_on_light_paper_is_inverted(digits, contract):
    for d in digits[:20]:
        assert similarity(normalize(255 - d, contract), normalize(d, contract)) > 0.97


def paper_photo(d: np.ndarray, size: int, canvas: tuple[int, int], at: tuple[int, int], paper=200, ink=40) -> np.ndarray:
    big = cv2.resize(d, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    pic = np.full(canvas, float(paper), np.float32)
    y, x = at
    pic[y : y + size, x : x + size] = paper + (ink - paper) * big
    return np.clip(pic, 0, 255).astype(np.uint8)


def test_small_digit_off_centre_in_a_large_picture(digits, contract):
    for d in digits[:20]:
        pic = paper_photo(d, 60, (480, 640), (300, 50))
        assert similarity(normalize(pic, contract), normalize(d, contract)) > 0.85


def test_uneven_lighting_is_flattened(digits, contract):
    gy, gx = np.mgrid[0:240, 0:320]
    light = (0.55 + 0.45 * gx / 320).astype(np.float32)  # a strong shadow on the left
    for d in digits[:20]:
        pic = (paper_photo(d, 80, (240, 320), (80, 20)).astype(np.float32) * light).astype(np.uint8)
        assert similarity(normalize(pic, contract), normalize(d, contract)) > 0.85


def test_noise_and_jpeg_are_ignored(digits, contract):
    rng = np.random.default_rng(0)
    for d in digits[:20]:
        pic = paper_photo(d, 70, (160, 160), (40, 50)).astype(np.float32) + rng.normal(0, 10, (160, 160))
        ok, enc = cv2.imencode(".jpg", np.clip(pic, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 40])
        pic = cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)
        assert similarity(normalize(pic, contract), normalize(d, contract)) > 0.85


def test_thick_marker_fills_the_box(digits, contract):
    d = cv2.dilate(cv2.resize(digits[0], (112, 112)), np.ones((15, 15), np.uint8))
    out = normalize(255 - d, contract)
    x, y, w, h = cv2.boundingRect(out)
    assert max(w, h) in (contract.box, contract.box + 1)


@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_pictures_have_no_ink(value, contract):
    assert normalize(np.full((100, 100), value, np.uint8), contract) is None
    assert find_ink(np.full((28, 28), value, np.uint8)) is None


def test_faint_noise_alone_is_not_a_digit(contract):
    rng = np.random.default_rng(1)
    noise = np.clip(rng.normal(200, 3, (120, 120)), 0, 255).astype(np.uint8)
    assert normalize(noise, contract) is None


def test_to_gray_handles_dtypes_and_channels(digits):
    d = digits[0]
    assert np.array_equal(to_gray(d), d)
    assert np.array_equal(to_gray(d.astype(np.uint16) * 257), d)
    assert np.abs(to_gray(d.astype(np.float32) / 255).astype(int) - d).max() <= 1
    # NaN is no pixel (and an all-NaN picture raises no numpy warning); an infinity does not
    # stop 0..1 pixels from being scaled up
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not to_gray(np.full((28, 28), np.nan)).any()
    assert to_gray(np.array([[0.5, np.inf], [np.nan, 0.0]])).tolist() == [[127, 255], [0, 0]]
    bgr = cv2.cvtColor(d, cv2.COLOR_GRAY2BGR)
    assert np.array_equal(to_gray(bgr), d)
    # black strokes on a transparent background: composited onto white paper
    bgra = np.zeros((28, 28, 4), np.uint8)
    bgra[..., 3] = d
    assert np.array_equal(to_gray(bgra), 255 - d)
    # white strokes on transparency: the colour carries nothing, alpha is the ink
    bgra[..., :3] = 255
    assert np.array_equal(to_gray(bgra), d)


def test_fit_digit_of_an_empty_crop_is_none(contract):
    assert fit_digit(np.zeros((10, 10), np.uint8), contract) is None
