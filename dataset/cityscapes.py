"""Cityscapes: leftImg8bit/SPLIT/CITY/*_leftImg8bit.png with gtFine/SPLIT/CITY/*_gtFine_labelIds.png."""
import os

import numpy as np

from dataset.base_dataset import BaseDataset, load_class_info, read_label_ids


class CityscapesDataset(BaseDataset):
    """`split` is train or val; labels are mapped to train ids with info.json's label2train."""

    def __init__(self, root, list_path, split, image_size, mean, info_path, label_size=None,
                 labeled=True, max_items=None):
        self.split = split
        _, _, lut = load_class_info(info_path)
        super().__init__(root, list_path, image_size, mean, label_lut=lut, label_size=label_size,
                         labeled=labeled, max_items=max_items)

    def image_path(self, name):
        return os.path.join(self.root, 'leftImg8bit', self.split, name)

    def label_path(self, name):
        label_name = name.replace('leftImg8bit', 'gtFine_labelIds')
        return os.path.join(self.root, 'gtFine', self.split, label_name)


class PseudoLabeledCityscapes(CityscapesDataset):
    """Cityscapes train images with the student's pseudo labels (8-bit train ids).

    Images named in `exclude` (those of D_T, which have ground truth) are left out. The
    labels are at the network's input size (TRAIN.INPUT_SIZE_TARGET), not at the image's.
    """

    labels_match_images = False

    def __init__(self, root, pseudo_dir, image_size, mean, info_path, exclude=()):
        self.pseudo_dir = pseudo_dir
        list_path = os.path.join(pseudo_dir, 'list.txt')
        super().__init__(root, list_path, 'train', image_size, mean, info_path)
        excluded = set(exclude)
        self.names = [name for name in self.names if name not in excluded]

    def label_path(self, name):
        return os.path.join(self.pseudo_dir, 'labels', name)

    def read_label(self, path):
        return read_label_ids(path).astype(np.uint8)


def cityscapes_val(cfg, data_path, list_path=None, max_items=None):
    """The evaluation set: images at TEST.INPUT_SIZE, labels at TEST.OUTPUT_SIZE (2048x1024)."""
    return CityscapesDataset(data_path, list_path or cfg.TEST.DATA_LIST, cfg.TEST.SET,
                             cfg.TEST.INPUT_SIZE, cfg.TEST.IMG_MEAN, cfg.TEST.INFO,
                             label_size=cfg.TEST.OUTPUT_SIZE, max_items=max_items)
