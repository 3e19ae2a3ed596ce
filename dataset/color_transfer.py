"""Colour transfer in CIE LAB (Reinhard et al. 2001), as DDM's released loader does it.

A source image is matched per LAB channel to a random Cityscapes train image (the reference):
lab = (lab - mean_s) / std_s * std_t + mean_t (population std), converted back to RGB,
scaled to 0..255, clipped and truncated to uint8 (the released `astype(np.uint8)`), at the
images' native sizes; the pipeline resizes afterwards (`dataset/pipeline.py`).

The released code converts with scikit-image's float64 `rgb2lab` / `lab2rgb` (D65). We use
OpenCV's float32 `cvtColor` (D65 too), 22-26x faster at GTA5's size (docs/DATA.md), and stay
within 1 RGB level of scikit-image's result (mean difference <= 0.003 levels on the test
photos, tests/test_color_transfer.py) by following two details of scikit-image's conversions:
- sRGB is decoded exactly (`_SRGB_TO_LINEAR`) and OpenCV converts linear RGB to LAB: its own
  float sRGB -> LAB path interpolates a coarse 3-D table, up to 0.45 LAB units off, which put
  results up to 5 RGB levels from scikit-image's.
- Before LAB -> RGB, b is clipped to 200 (L + 16) / 116, i.e. f(Z) >= 0: the clip
  scikit-image's `lab2rgb` makes for colours beyond the gamut and OpenCV does not.
"""
import cv2
import numpy as np

# Below this a source channel is treated as flat: only its mean is moved (std would be 0).
_FLAT_STD = 1e-3
# The sRGB decoding (IEC 61966-2-1) of each 8-bit value, as scikit-image's rgb2lab applies it.
_LEVELS = np.arange(256) / 255.0
_SRGB_TO_LINEAR = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92,
                           ((_LEVELS + 0.055) / 1.055) ** 2.4).astype(np.float32)


def rgb_to_lab(rgb, name="rgb"):
    """HxWx3 uint8 RGB -> float32 LAB (L in 0..100, a and b around 0), D65."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{name} must be an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    return cv2.cvtColor(cv2.LUT(np.ascontiguousarray(rgb), _SRGB_TO_LINEAR), cv2.COLOR_LRGB2LAB)


def _lab_to_rgb(lab):
    """Float32 LAB (b is clipped in place) -> HxWx3 uint8 RGB, clipped and truncated as released."""
    np.minimum(lab[..., 2], (lab[..., 0] + 16) * (200 / 116), out=lab[..., 2])
    rgb = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    rgb *= 255
    return np.clip(rgb, 0, 255, out=rgb).astype(np.uint8)


def _mean_std(lab):
    mean, std = cv2.meanStdDev(lab)  # accumulated in float64; std divides by N, as numpy's
    return mean.ravel(), std.ravel()


def lab_stats(rgb):
    """(mean, std) of each LAB channel of HxWx3 uint8 RGB, float64 arrays of 3.

    A Cityscapes reference's statistics are fixed, so the pipeline computes them once per image.
    """
    return _mean_std(rgb_to_lab(rgb, "ref_rgb"))


def match_lab_stats(src_rgb, ref_mean, ref_std):
    """`src_rgb` (HxWx3 uint8) with each LAB channel's mean and std moved to the reference's.

    A flat source channel (std 0, where the released code would divide by zero) only has its
    mean moved.
    """
    lab = rgb_to_lab(src_rgb, "src_rgb")
    mean, std = _mean_std(lab)
    scale = np.where(std > _FLAT_STD, np.asarray(ref_std) / np.maximum(std, _FLAT_STD), 1.0)
    shift = np.asarray(ref_mean) - mean * scale
    # lab * scale + shift per channel, as one matrix: ~10x faster than numpy's broadcast here.
    return _lab_to_rgb(cv2.transform(lab, np.column_stack([np.diag(scale), shift])))


def lab_color_transfer(src_rgb, ref_rgb):
    """Match the LAB statistics of `src_rgb` to those of `ref_rgb` (both HxWx3 uint8, sizes
    may differ); uint8 RGB of the source's size."""
    return match_lab_stats(src_rgb, *lab_stats(ref_rgb))
