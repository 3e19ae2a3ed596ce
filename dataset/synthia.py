"""SYNTHIA-RAND-CITYSCAPES: RGB/NNNNNNN.png with 16-bit GT/LABELS/NNNNNNN.png (id in channel 0)."""
import os

import numpy as np

from dataset.base_dataset import BaseDataset
from dataset.png16 import read_png_16bit_channel0
from utils.func import IGNORE_LABEL

# SYNTHIA class id -> 16-class train id (docs/DATA.md); every other id is ignored.
SYNTHIA_TO_TRAIN16 = {3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 1: 9, 10: 10,
                      17: 11, 8: 12, 19: 13, 12: 14, 11: 15}


def synthia_lut():
    lut = np.full(256, IGNORE_LABEL, dtype=np.uint8)
    for synthia_id, train_id in SYNTHIA_TO_TRAIN16.items():
        lut[synthia_id] = train_id
    return lut


class SynthiaDataset(BaseDataset):
    """Always 16 classes: SYNTHIA has no terrain, truck or train."""

    def __init__(self, root, list_path, image_size, mean, max_items=None):
        super().__init__(root, list_path, image_size, mean, label_lut=synthia_lut(),
                         max_items=max_items)

    def image_path(self, name):
        return os.path.join(self.root, 'RGB', name)

    def label_path(self, name):
        return os.path.join(self.root, 'GT', 'LABELS', name)

    def read_label(self, path):
        return self.to_train_ids(read_png_16bit_channel0(path), path)
