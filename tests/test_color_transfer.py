"""LAB colour transfer: the encoding, the matched statistics, and flat channels."""
import os

import numpy as np
import pytest
from PIL import Image

from dataset.color_transfer import lab_color_transfer, lab_to_rgb, rgb_to_lab

PHOTO = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "shared", "fixtures", "cityscapes_demo_1024x512.png")
TOLERANCE = 0.5  # LAB units, as documented in lab_color_transfer


@pytest.fixture(scope="module")
def photo():
    return np.asarray(Image.open(PHOTO).convert("RGB"))


def hue_rotated(rgb, shift=85):
    hsv = np.asarray(Image.fromarray(rgb).convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + shift) % 256
    height, width = rgb.shape[:2]
    return np.asarray(Image.frombytes("HSV", (width, height), hsv.tobytes()).convert("RGB"))


def gradient(height=360, width=640):
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 255 // (width - 1), yy * 255 // (height - 1),
                     255 - (xx + yy) * 255 // (height + width - 2)], axis=-1).astype(np.uint8)


def colour_cast(rgb):
    cast = Image.fromarray(rgb).resize((640, 360))
    return np.clip(np.asarray(cast) * [0.6, 0.9, 1.3] + [30, 0, -10], 0, 255).astype(np.uint8)


def lab_stats(rgb):
    lab = rgb_to_lab(rgb).reshape(-1, 3).astype(np.float64)
    return lab.mean(axis=0), lab.std(axis=0)


def test_lab_decoding_matches_known_colours():
    colours = np.array([[[255, 255, 255], [0, 0, 0], [128, 128, 128], [0, 0, 255]]], np.uint8)
    lab = rgb_to_lab(colours)[0]
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=0.5)
    np.testing.assert_allclose(lab[1], [0, 0, 0], atol=0.5)
    np.testing.assert_allclose(lab[2, 1:], [0, 0], atol=0.5)  # grey: a = b = 0
    np.testing.assert_allclose(lab[3], [29.6, 68.3, -112.0], atol=1.5)  # sRGB blue, D50
    # Round trip through 8-bit LAB: near-exact for greys; saturated gamut corners (blue)
    # can move much further, which is why the statistics tolerance is stated separately.
    round_trip = lab_to_rgb(lab[None]).astype(np.int32)
    np.testing.assert_allclose(round_trip[:, :3], colours[:, :3], atol=2)


@pytest.mark.parametrize("make_source", [hue_rotated, lambda p: gradient(), colour_cast],
                         ids=["hue_rotated", "gradient", "colour_cast"])
def test_result_matches_reference_lab_statistics(photo, make_source):
    source = make_source(photo)
    source_before = source.copy()
    result = lab_color_transfer(source, photo)
    assert result.shape == source.shape and result.dtype == np.uint8
    np.testing.assert_array_equal(source, source_before)
    mean_ref, std_ref = lab_stats(photo)
    mean_out, std_out = lab_stats(result)
    np.testing.assert_allclose(mean_out, mean_ref, atol=TOLERANCE)
    np.testing.assert_allclose(std_out, std_ref, atol=TOLERANCE)


def test_flat_source_only_moves_the_mean(photo):
    flat = np.full((16, 24, 3), [200, 30, 40], np.uint8)
    result = lab_color_transfer(flat, photo)
    assert (result == result[0, 0]).all()
    mean_ref, _ = lab_stats(photo)
    mean_out, std_out = lab_stats(result)
    np.testing.assert_allclose(mean_out, mean_ref, atol=1.0)  # one 8-bit LAB step
    np.testing.assert_allclose(std_out, 0, atol=1e-6)


def test_rejects_non_uint8_rgb(photo):
    with pytest.raises(ValueError, match="src_rgb"):
        lab_color_transfer(photo.astype(np.float32), photo)
    with pytest.raises(ValueError, match="ref_rgb"):
        lab_color_transfer(photo, photo[..., 0])
