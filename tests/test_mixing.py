"""Region-level mixing (box distribution, crop alignment, the paste itself) and class-level
mixing (ClassMix's half of the source's classes)."""
import numpy as np
import pytest

from dataset.mixing import (class_mix, class_mix_pair, cutmix_box, half_of_the_classes,
                            random_crop, region_mix, region_mix_pair, sample_area_fraction)


def coordinate_pair(height, width):
    """Image whose pixels spell their own (y, x), and a label derived from the same (y, x)."""
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.stack([yy, xx, np.full_like(yy, 7)], axis=-1).astype(np.uint8)
    label = ((yy * 31 + xx) % 19).astype(np.uint8)
    return image, label


def ks_uniform(samples, lo, hi):
    """Kolmogorov-Smirnov distance between the samples and U(lo, hi)."""
    x = np.sort((np.asarray(samples) - lo) / (hi - lo))
    n = len(x)
    upper = np.arange(1, n + 1) / n - x
    lower = x - np.arange(n) / n
    return max(upper.max(), lower.max())


@pytest.mark.parametrize("area_range", [(0.0, 1.0), (0.25, 0.5)])
def test_area_fraction_is_uniform_on_range(area_range):
    rng = np.random.default_rng(0)
    fractions = [sample_area_fraction(rng, area_range) for _ in range(5000)]
    lo, hi = area_range
    assert min(fractions) >= lo and max(fractions) <= hi
    assert abs(np.mean(fractions) - (lo + hi) / 2) < 0.01 * (hi - lo) * 2
    assert ks_uniform(fractions, lo, hi) < 1.63 / np.sqrt(len(fractions))  # 1% level


def test_area_range_is_checked():
    with pytest.raises(ValueError, match="area_range"):
        sample_area_fraction(np.random.default_rng(0), (0.6, 0.5))


@pytest.mark.parametrize("area_range", [(0.0, 1.0), (0.25, 0.5)])
def test_cutmix_box_follows_its_area_fraction(area_range):
    height, width = 512, 1024
    unclipped, interior = [], 0
    for seed in range(2000):
        fraction = sample_area_fraction(np.random.default_rng(seed), area_range)
        y0, y1, x0, x1 = cutmix_box(np.random.default_rng(seed), height, width, area_range)
        assert 0 <= y0 <= y1 <= height and 0 <= x0 <= x1 <= width
        area = (y1 - y0) * (x1 - x0) / (height * width)
        # Clipping only shrinks the box; rounding the sides to pixels costs < 0.5 px each.
        side = np.sqrt(fraction)
        assert area <= (side + 0.5 / height) * (side + 0.5 / width) + 1e-9
        if 0 < y0 and y1 < height and 0 < x0 and x1 < width:
            interior += 1
            assert abs((y1 - y0) / height - side) <= 0.5 / height + 1e-9
            assert abs((x1 - x0) / width - side) <= 0.5 / width + 1e-9
        unclipped.append(fraction)
    lo, hi = area_range
    assert abs(np.mean(unclipped) - (lo + hi) / 2) < 0.02
    assert interior > 50  # the exact-size branch above was exercised


def test_region_mix_pastes_source_inside_box_only():
    rng = np.random.default_rng(1)
    src_img = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    trg_img = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    src_lbl = rng.integers(0, 19, (32, 48), dtype=np.uint8)
    trg_lbl = np.full((32, 48), 255, np.uint8)
    inputs = [a.copy() for a in (src_img, src_lbl, trg_img, trg_lbl)]
    box = (5, 20, 10, 40)
    img, lbl = region_mix(src_img, src_lbl, trg_img, trg_lbl, box)
    inside = np.zeros((32, 48), bool)
    inside[5:20, 10:40] = True
    np.testing.assert_array_equal(img[inside], src_img[inside])
    np.testing.assert_array_equal(lbl[inside], src_lbl[inside])
    np.testing.assert_array_equal(img[~inside], trg_img[~inside])
    np.testing.assert_array_equal(lbl[~inside], trg_lbl[~inside])
    for before, after in zip(inputs, (src_img, src_lbl, trg_img, trg_lbl)):
        np.testing.assert_array_equal(before, after)


def test_region_mix_rejects_mismatched_shapes():
    img, lbl = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)
    with pytest.raises(ValueError, match=r"\(8, 9, 3\)"):
        region_mix(np.zeros((8, 9, 3), np.uint8), lbl, img, lbl, (0, 1, 0, 1))
    with pytest.raises(ValueError, match="outside"):
        region_mix(img, lbl, img, lbl, (0, 9, 0, 1))


def test_random_crop_keeps_image_and_label_aligned():
    image, label = coordinate_pair(40, 60)
    rng = np.random.default_rng(2)
    for _ in range(20):
        crop_img, crop_lbl = random_crop(rng, image, label, (16, 24))
        assert crop_img.shape == (16, 24, 3) and crop_lbl.shape == (16, 24)
        y0, x0 = int(crop_img[0, 0, 0]), int(crop_img[0, 0, 1])
        np.testing.assert_array_equal(crop_img, image[y0:y0 + 16, x0:x0 + 24])
        np.testing.assert_array_equal(crop_lbl, label[y0:y0 + 16, x0:x0 + 24])


def test_random_crop_names_sizes_when_source_is_smaller():
    image, label = coordinate_pair(20, 30)
    with pytest.raises(ValueError, match=r"32x24.*20x30"):
        random_crop(np.random.default_rng(0), image, label, (32, 24))


def test_region_mix_pair_pastes_an_aligned_source_crop():
    src_img, src_lbl = coordinate_pair(40, 60)
    trg_img = np.full((32, 48, 3), 200, np.uint8)
    trg_lbl = np.full((32, 48), 255, np.uint8)
    rng = np.random.default_rng(3)
    for _ in range(20):
        img, lbl, box = region_mix_pair(rng, src_img, src_lbl, trg_img, trg_lbl)
        y0, y1, x0, x1 = box
        inside = np.zeros((32, 48), bool)
        inside[y0:y1, x0:x1] = True
        np.testing.assert_array_equal(img[~inside], trg_img[~inside])
        np.testing.assert_array_equal(lbl[~inside], trg_lbl[~inside])
        if y1 > y0 and x1 > x0:
            # One crop offset explains every pasted pixel, in the image and the label.
            dy, dx = int(img[y0, x0, 0]) - y0, int(img[y0, x0, 1]) - x0
            np.testing.assert_array_equal(img[y0:y1, x0:x1],
                                          src_img[y0 + dy:y1 + dy, x0 + dx:x1 + dx])
            np.testing.assert_array_equal(lbl[y0:y1, x0:x1],
                                          src_lbl[y0 + dy:y1 + dy, x0 + dx:x1 + dx])


def test_region_mix_pair_is_reproducible_from_the_seed():
    src_img, src_lbl = coordinate_pair(40, 60)
    trg_img, trg_lbl = np.zeros((32, 48, 3), np.uint8), np.zeros((32, 48), np.uint8)
    first = region_mix_pair(np.random.default_rng(5), src_img, src_lbl, trg_img, trg_lbl)
    second = region_mix_pair(np.random.default_rng(5), src_img, src_lbl, trg_img, trg_lbl)
    assert first[2] == second[2]
    np.testing.assert_array_equal(first[0], second[0])


# ---- class-level mixing (ClassMix) ------------------------------------------------------

def test_half_of_the_present_classes_rounded_up_never_the_ignore_label():
    label = np.array([[0, 0, 3, 255], [5, 5, 7, 255]], np.uint8)  # classes 0, 3, 5, 7
    drawn = [tuple(sorted(half_of_the_classes(np.random.default_rng(s), label)))
             for s in range(200)]
    assert all(len(d) == 2 and set(d) <= {0, 3, 5, 7} for d in drawn)
    assert len(set(drawn)) == 6   # every pair of the four classes gets drawn
    odd = np.array([[1, 2, 4]], np.uint8)
    assert len(half_of_the_classes(np.random.default_rng(0), odd)) == 2
    assert len(half_of_the_classes(np.random.default_rng(0), np.full((2, 2), 255, np.uint8))) == 0


def test_class_mix_pastes_exactly_the_chosen_classes_pixels():
    rng = np.random.default_rng(3)
    src_img = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    trg_img = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    src_lbl = rng.integers(0, 4, (6, 8)).astype(np.uint8)
    src_lbl[0, 0] = 255
    trg_lbl = np.full((6, 8), 9, np.uint8)
    img, lbl, mask = class_mix(src_img, src_lbl, trg_img, trg_lbl, np.array([1, 3]))
    chosen = (src_lbl == 1) | (src_lbl == 3)
    np.testing.assert_array_equal(mask, chosen)
    np.testing.assert_array_equal(img[chosen], src_img[chosen])
    np.testing.assert_array_equal(img[~chosen], trg_img[~chosen])
    np.testing.assert_array_equal(lbl, np.where(chosen, src_lbl, 9))
    assert trg_lbl.max() == 9 and (trg_img != img).any()  # the inputs stay as they were
    with pytest.raises(ValueError, match="must match"):
        class_mix(src_img[:5], src_lbl[:5], trg_img, trg_lbl, [1])


def test_class_mix_pair_crops_the_source_and_replays_from_the_seed():
    src_img, src_lbl = coordinate_pair(12, 20)
    trg_img = np.zeros((6, 8, 3), np.uint8)
    trg_lbl = np.full((6, 8), 200, np.uint8)
    first = class_mix_pair(np.random.default_rng(5), src_img, src_lbl, trg_img, trg_lbl)
    again = class_mix_pair(np.random.default_rng(5), src_img, src_lbl, trg_img, trg_lbl)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    img, lbl, classes = first
    pasted = lbl != 200
    assert pasted.any() and set(np.unique(lbl[pasted])) == set(classes)
    # a pasted pixel carries its source coordinates: the crop moved image and label together
    ys, xs = img[..., 0][pasted].astype(int), img[..., 1][pasted].astype(int)
    np.testing.assert_array_equal(lbl[pasted], (ys * 31 + xs) % 19)
