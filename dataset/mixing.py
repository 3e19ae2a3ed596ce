"""Domain mixing of a labeled source image into a labeled target image.

Region-level (DDM stage 1a): a rectangle of the source image (and its label) is pasted into
the same place of the target image (and its label): x = M * x_t + (1 - M) * x_s, y likewise,
with the binary mask M equal to 0 inside the box (DDM, eq. for region-level mixing). The paper
does not give the box distribution; we use CutMix's (Yun et al., ICCV 2019) and make its area
range configurable.

Class-level (beyond the paper): ClassMix (Olsson et al., WACV 2021), as DACS (Tranheden et
al., WACV 2021) mixes across domains: the source pixels of half of the classes present in the
source label are pasted into the target.

Images are HWC uint8 RGB arrays, labels HxW uint8 train ids (255 = ignore). All randomness
comes from the `numpy.random.Generator` passed in, so the data pipeline can seed it per step
and a resumed run redraws the same boxes and classes.
"""
import math

import numpy as np

IGNORE_LABEL = 255


def sample_area_fraction(rng, area_range=(0.0, 1.0)):
    """Draw the unclipped box area fraction 1 - lambda, lambda ~ U(1 - hi, 1 - lo).

    With the default (0, 1) this is CutMix's lambda ~ U(0, 1); `area_range` = (lo, hi)
    restricts the fraction to [lo, hi] (uniformly, as lambda stays uniform).
    """
    lo, hi = area_range
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"area_range must satisfy 0 <= lo <= hi <= 1, got {area_range}")
    lam = rng.uniform(1.0 - hi, 1.0 - lo)
    return 1.0 - lam


def cutmix_box(rng, height, width, area_range=(0.0, 1.0)):
    """CutMix box for a `height` x `width` image, as (y0, y1, x0, x1), half-open.

    The box has the image's aspect ratio: cut_h = H * sqrt(1 - lambda), cut_w =
    W * sqrt(1 - lambda), its centre uniform over the image pixels, and it is clipped to the
    image. As in CutMix, the clipping at the border makes the realised area smaller than
    1 - lambda whenever the box sticks out; only the unclipped area follows `area_range`
    (see `sample_area_fraction`).
    """
    ratio = math.sqrt(sample_area_fraction(rng, area_range))
    cut_h, cut_w = int(round(height * ratio)), int(round(width * ratio))
    cy, cx = int(rng.integers(height)), int(rng.integers(width))
    # CutMix clips cy -/+ cut_h // 2, which loses a row for odd sizes; we keep the full
    # cut_h x cut_w box before clipping so the unclipped area is exactly the drawn one.
    y0, x0 = cy - cut_h // 2, cx - cut_w // 2
    y1, x1 = y0 + cut_h, x0 + cut_w
    return (min(max(y0, 0), height), min(max(y1, 0), height),
            min(max(x0, 0), width), min(max(x1, 0), width))


def random_crop(rng, image, label, size_hw):
    """Crop image (HWC) and label (HW) at the same random place to `size_hw` = (h, w).

    Source and target differ in size (1280x720 vs 1024x512 in the paper), so the source is
    cropped to the target size before mixing. Returns views into the inputs.
    """
    height, width = image.shape[:2]
    if label.shape[:2] != (height, width):
        raise ValueError(f"image {image.shape} and label {label.shape} differ in size")
    crop_h, crop_w = size_hw
    if crop_h > height or crop_w > width:
        raise ValueError(f"cannot crop {crop_h}x{crop_w} (HxW) from a smaller source "
                         f"of {height}x{width}")
    y0 = int(rng.integers(height - crop_h + 1))
    x0 = int(rng.integers(width - crop_w + 1))
    return image[y0:y0 + crop_h, x0:x0 + crop_w], label[y0:y0 + crop_h, x0:x0 + crop_w]


def _check_pair(src_img, src_lbl, trg_img, trg_lbl):
    if src_img.shape != trg_img.shape or src_lbl.shape != trg_lbl.shape:
        raise ValueError(f"source image {src_img.shape} / label {src_lbl.shape} must match "
                         f"target image {trg_img.shape} / label {trg_lbl.shape}")
    if trg_lbl.shape[:2] != trg_img.shape[:2]:
        raise ValueError(f"label {trg_lbl.shape} does not fit image {trg_img.shape}")


def region_mix(src_img, src_lbl, trg_img, trg_lbl, box):
    """Paste `box` = (y0, y1, x0, x1) of the source into the same place of the target.

    x = M * x_t + (1 - M) * x_s with M = 0 inside the box, and the same for the labels.
    Returns new arrays; the inputs are not modified.
    """
    _check_pair(src_img, src_lbl, trg_img, trg_lbl)
    y0, y1, x0, x1 = box
    height, width = trg_img.shape[:2]
    if not (0 <= y0 <= y1 <= height and 0 <= x0 <= x1 <= width):
        raise ValueError(f"box {box} lies outside the {height}x{width} image")
    img, lbl = trg_img.copy(), trg_lbl.copy()
    img[y0:y1, x0:x1] = src_img[y0:y1, x0:x1]
    lbl[y0:y1, x0:x1] = src_lbl[y0:y1, x0:x1]
    return img, lbl


def half_of_the_classes(rng, src_lbl):
    """ClassMix's draw: half of the classes present in the source label (rounded up, the
    ignore label never), in a random order."""
    present = np.unique(src_lbl)
    present = present[present != IGNORE_LABEL]
    return rng.permutation(present)[:(len(present) + 1) // 2]


def class_mix(src_img, src_lbl, trg_img, trg_lbl, classes):
    """Paste the source pixels labeled as one of `classes` into the same places of the
    target: x = M * x_s + (1 - M) * x_t with M = 1 where the source label is in `classes`, the
    same for the labels. Returns new arrays and M."""
    _check_pair(src_img, src_lbl, trg_img, trg_lbl)
    mask = np.isin(src_lbl, classes)
    return (np.where(mask[..., None], src_img, trg_img), np.where(mask, src_lbl, trg_lbl),
            mask)


def region_mix_pair(rng, src_img, src_lbl, trg_img, trg_lbl, area_range=(0.0, 1.0)):
    """Stage-1a input: crop the source to the target size, draw a CutMix box, mix.

    Returns (mixed image, mixed label, box). The draws are made in a fixed order (crop,
    then box) so a seeded `rng` reproduces the same pair.
    """
    size_hw = trg_img.shape[:2]
    src_img, src_lbl = random_crop(rng, src_img, src_lbl, size_hw)
    box = cutmix_box(rng, size_hw[0], size_hw[1], area_range)
    img, lbl = region_mix(src_img, src_lbl, trg_img, trg_lbl, box)
    return img, lbl, box


def class_mix_pair(rng, src_img, src_lbl, trg_img, trg_lbl):
    """The class-level mix's input: crop the source to the target size, draw half of its
    classes, mix. Returns (mixed image, mixed label, the classes pasted)."""
    src_img, src_lbl = random_crop(rng, src_img, src_lbl, trg_img.shape[:2])
    classes = half_of_the_classes(rng, src_lbl)
    img, lbl, _ = class_mix(src_img, src_lbl, trg_img, trg_lbl, classes)
    return img, lbl, classes
