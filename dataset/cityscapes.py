"""Cityscapes: leftImg8bit/SPLIT/CITY/*_leftImg8bit.png with gtFine/SPLIT/CITY/*_gtFine_labelIds.png."""
import os

from dataset.base_dataset import BaseDataset, load_class_info


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


def cityscapes_val(cfg, data_path, list_path=None, max_items=None):
    """The evaluation set: images at TEST.INPUT_SIZE, labels at TEST.OUTPUT_SIZE (2048x1024)."""
    return CityscapesDataset(data_path, list_path or cfg.TEST.DATA_LIST, cfg.TEST.SET,
                             cfg.TEST.INPUT_SIZE, cfg.TEST.IMG_MEAN, cfg.TEST.INFO,
                             label_size=cfg.TEST.OUTPUT_SIZE, max_items=max_items)
