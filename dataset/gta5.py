"""GTA5: images/NNNNN.png with labels/NNNNN.png in the Cityscapes label-id space.

A few GTA5 images and their labels differ in size; `BaseDataset.load` resizes each to the
configured size on its own (bicubic image, nearest label), so they line up again.
"""
import os

from dataset.base_dataset import BaseDataset, load_class_info


class GTA5Dataset(BaseDataset):

    labels_match_images = False     # a few do not: see above

    def __init__(self, root, list_path, image_size, mean, info_path, max_items=None):
        _, _, lut = load_class_info(info_path)
        super().__init__(root, list_path, image_size, mean, label_lut=lut, max_items=max_items)

    def image_path(self, name):
        return os.path.join(self.root, 'images', name)

    def label_path(self, name):
        return os.path.join(self.root, 'labels', name)
