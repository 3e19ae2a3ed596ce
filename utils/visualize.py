"""Pictures of predictions: Cityscapes-palette PNGs and labelId PNGs for cityscapesScripts."""
import numpy as np
from PIL import Image

from utils.func import IGNORE_LABEL


def colorize(train_ids, palette):
    """A palette PNG image: class c gets palette[c], ignore (255) black."""
    image = Image.fromarray(np.asarray(train_ids, dtype=np.uint8), mode='P')
    flat = [v for colour in palette for v in colour]
    flat += [0] * (768 - len(flat))
    image.putpalette(flat)
    return image


def train_ids_to_label_ids(train_ids, label_lut):
    """Invert label2train: the Cityscapes label id of each train id (ignore -> 0, unlabeled)."""
    inverse = np.zeros(256, dtype=np.uint8)
    for label_id in range(len(label_lut) - 1, -1, -1):  # the lowest label id wins
        if label_lut[label_id] != IGNORE_LABEL:
            inverse[label_lut[label_id]] = label_id
    return Image.fromarray(inverse[np.asarray(train_ids, dtype=np.uint8)], mode='L')
