"""LAB colour transfer: agreement with the released algorithm (scikit-image) on real photos and
recoloured copies of them, flat channels, and the pipeline's order (transfer, then resize)."""
import warnings

import numpy as np
import pytest
from PIL import Image
from skimage import color

from config import get_cfg
from conftest import TINY_CFG, photo
from dataset.base_dataset import resize_image, to_network_input
from dataset.build import source_dataset, target_unlabeled_dataset
from dataset.color_transfer import lab_color_transfer, lab_stats, rgb_to_lab
from dataset.pipeline import StepSamples
from train_teacher import data_streams

# scikit-image's sample photographs: an outdoor scene (640x427) and a still life (600x400).
PHOTOS = ('rocket', 'coffee')


def released_stats(rgb):
    """scikit-image's float64 LAB mean and numpy's (population) std per channel."""
    lab = color.rgb2lab(rgb)
    return lab.mean(axis=(0, 1)), lab.std(axis=(0, 1))


def released_transfer(src, ref_mean, ref_std):
    """The released rule with scikit-image: each LAB channel's mean and std moved to the
    reference's, back to RGB, times 255, clipped, truncated to uint8."""
    lab = color.rgb2lab(src)
    lab = (lab - lab.mean(axis=(0, 1))) / lab.std(axis=(0, 1)) * ref_std + ref_mean
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # lab2rgb warns of the colours it clips (Z < 0)
        rgb = color.lab2rgb(lab)
    return np.clip(rgb * 255, 0, 255).astype(np.uint8)


def colour_cast(rgb):
    return np.clip(rgb * [0.6, 0.9, 1.3] + [30, 0, -10], 0, 255).astype(np.uint8)


def warm(rgb):
    return np.clip(rgb * [1.3, 1.0, 0.5] + [0, 10, 0], 0, 255).astype(np.uint8)


def gamma(rgb):
    return (255 * (rgb / 255.0) ** 2.2).astype(np.uint8)


def hue_rotated(rgb, shift=85):
    hsv = np.asarray(Image.fromarray(rgb).convert('HSV')).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + shift) % 256
    return np.asarray(Image.fromarray(hsv, 'HSV').convert('RGB'))


RECOLOURINGS = {'colour_cast': colour_cast, 'warm': warm, 'gamma': gamma,
                'hue_rotated': hue_rotated}


@pytest.fixture(scope='module')
def photos():
    return {name: photo(name) for name in PHOTOS}


def _assert_close_to_released(result, expected):
    assert result.shape == expected.shape and result.dtype == np.uint8
    difference = np.abs(result.astype(np.int32) - expected)
    assert difference.max() <= 2 and difference.mean() < 0.5, \
        (difference.max(), difference.mean())


@pytest.mark.parametrize('recolour', sorted(RECOLOURINGS))
@pytest.mark.parametrize('name,other', [('rocket', 'coffee'), ('coffee', 'rocket')])
def test_recoloured_source_matches_released_algorithm(photos, name, other, recolour):
    # A recoloured source onto a real photograph as reference, as in training.
    source = RECOLOURINGS[recolour](photos[name])
    source_before = source.copy()
    result = lab_color_transfer(source, photos[other])
    np.testing.assert_array_equal(source, source_before)
    _assert_close_to_released(result, released_transfer(source, *released_stats(photos[other])))


@pytest.mark.parametrize('recolour', sorted(RECOLOURINGS))
@pytest.mark.parametrize('reference_photo', PHOTOS)
def test_recoloured_reference_matches_released_algorithm(photos, reference_photo, recolour):
    # A strongly coloured reference drives colours beyond the gamut, where the conversions'
    # clipping has to agree too: without the clip of b, the rocket onto the warm, gamma or
    # colour-cast coffee lands up to 32 levels from scikit-image's result.
    reference = RECOLOURINGS[recolour](photos[reference_photo])
    _assert_close_to_released(lab_color_transfer(photos['rocket'], reference),
                              released_transfer(photos['rocket'], *released_stats(reference)))


def test_lab_stats_are_the_exact_conversions(photos):
    for got, expected in zip(lab_stats(photos['coffee']), released_stats(photos['coffee'])):
        np.testing.assert_allclose(got, expected, atol=0.01)


@pytest.mark.parametrize('name', PHOTOS)
def test_transfer_onto_itself_is_nearly_unchanged(photos, name):
    # The statistics are already the reference's; only the final truncation can move a
    # pixel, by one level (the released code does the same).
    difference = np.abs(lab_color_transfer(photos[name], photos[name]).astype(np.int32)
                        - photos[name])
    assert difference.max() <= 1


def test_flat_source_only_moves_the_mean(photos):
    flat = np.full((16, 24, 3), [200, 30, 40], np.uint8)
    result = lab_color_transfer(flat, photos['coffee'])
    assert (result == result[0, 0]).all()
    reference_mean, _ = lab_stats(photos['coffee'])
    # Within the 8-bit rounding of the result's RGB (~0.5 LAB units a level here).
    np.testing.assert_allclose(rgb_to_lab(result[:1, :1])[0, 0], reference_mean, atol=1.0)


def test_rejects_non_uint8_rgb(photos):
    rgb = photos['rocket']
    with pytest.raises(ValueError, match='src_rgb'):
        lab_color_transfer(rgb.astype(np.float32), rgb)
    with pytest.raises(ValueError, match='ref_rgb'):
        lab_color_transfer(rgb, rgb[..., 0])


def test_pipeline_transfers_at_native_size_then_resizes(generated):
    # Training sizes below the generated images' (source 160x96, target 128x64), so resizing
    # before the transfer, or a reference's statistics taken after resizing, would show.
    cfg = get_cfg([TINY_CFG, generated[1]])
    cfg.TRAIN.COLOR_TRANSFER = True
    cfg.TRAIN.INPUT_SIZE_SOURCE, cfg.TRAIN.INPUT_SIZE_TARGET = [144, 80], [112, 56]
    streams, build = data_streams(cfg, 'sample')
    samples = StepSamples(streams, build, 1234, 3)
    source, references = source_dataset(cfg), target_unlabeled_dataset(cfg)
    mean = cfg.TRAIN.IMG_MEAN
    for m in range(3):
        indices = samples.item_indices(m)
        native, label = source.load(indices['source'], resize=False)
        reference = references.load(indices['reference'], resize=False)[0]
        assert native.shape == (96, 160, 3) and reference.shape == (64, 128, 3)
        expected = resize_image(lab_color_transfer(native, reference), (144, 80))
        image_src, label_src = samples[m][:2]
        np.testing.assert_array_equal(image_src, to_network_input(expected, mean))
        np.testing.assert_array_equal(label_src, label)   # labels untouched
        np.testing.assert_array_equal(label_src, source.load(indices['source'])[1])
        resized_first = lab_color_transfer(source.load(indices['source'])[0],
                                           references.load(indices['reference'])[0])
        assert not np.array_equal(image_src, to_network_input(resized_first, mean))
        # The reference's statistics are computed once and kept.
        stats = streams['reference'].load(indices['reference'])
        assert stats is streams['reference'].load(indices['reference'])
        np.testing.assert_array_equal(stats[0], lab_stats(reference)[0])
