"""16-bit PNG files, as SYNTHIA-RAND-CITYSCAPES stores its labels.

A SYNTHIA label is a 16-bit RGB PNG whose first channel (R) holds the class id and whose
second holds the instance id. Pillow opens such a file as 8-bit RGB keeping only the high
byte of each sample, so every class id (< 256) would read as 0: it cannot be used here.
Reading goes through MindSpore's own decoder (OpenCV inside; `ImageReadMode.UNCHANGED`
keeps the 16 bits and returns the channels in RGB order), so training needs no extra package.
MindSpore cannot encode 16-bit PNGs, so writing (only the synthetic-data generator writes
them) uses pypng, a small pure-Python PNG codec.
"""
import os

import numpy as np

from utils.errors import DataError


def read_png_16bit_channel0(path):
    """Channel 0 (R) of an 8- or 16-bit PNG as an (H, W) uint16 array, values unchanged."""
    if not os.path.isfile(path):
        raise DataError(f'label not found: {path}')
    # Imported here: the decoder pulls in mindspore.dataset, which the generator never needs.
    from mindspore.dataset import vision
    try:
        pixels = vision.read_image(path, vision.ImageReadMode.UNCHANGED)
    except RuntimeError as e:
        # MindSpore's message spans a dozen lines (banners, C++ call stack): keep the line
        # saying what failed, so the error stays one line.
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith('[ERROR]')),
                      lines[0] if lines else 'unreadable')
        raise DataError(f'cannot read 16-bit PNG {path}: {reason}') from None
    pixels = np.asarray(pixels)
    if pixels.dtype not in (np.uint8, np.uint16):
        raise DataError(f'{path}: expected an 8- or 16-bit PNG, decoded as {pixels.dtype}')
    channel0 = pixels if pixels.ndim == 2 else pixels[:, :, 0]
    return channel0.astype(np.uint16)


def write_png_16bit(path, pixels):
    """Write an (H, W) or (H, W, 3) uint16 array as a 16-bit greyscale or RGB PNG."""
    # Imported here: only the synthetic-data generator writes 16-bit PNGs.
    import png

    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint16 or pixels.ndim not in (2, 3) or (
            pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f'expected uint16 (H, W) or (H, W, 3), got {pixels.dtype} '
                         f'{pixels.shape}')
    height, width = pixels.shape[:2]
    writer = png.Writer(width, height, bitdepth=16, greyscale=pixels.ndim == 2)
    with open(path, 'wb') as f:
        writer.write(f, pixels.reshape(height, -1))
