"""List-file datasets of images and labels; Cityscapes, GTA5 and SYNTHIA add only what differs.

A dataset maps an index to an RGB uint8 image and a train-id label (uint8, 255 = ignore),
both resized to the configured sizes (`load`), or to the network's input: CHW float32, BGR,
mean subtracted (`__getitem__`). Mixing works on the `load` form; colour transfer on the
image at its native size (`load(index, resize=False)`), resized after it (`resize_image`).
"""
import codecs
import json
import os
import sys
from abc import ABC, abstractmethod

import numpy as np
from PIL import Image
from tqdm import tqdm

from utils.errors import DataError, check_file
from utils.func import IGNORE_LABEL
from utils.serialization import atomic_write_text



def load_class_info(info_path):
    """(class names, palette, label-id -> train-id lookup table of 256 entries)."""
    check_file(info_path, 'class table')
    with open(info_path) as f:
        info = json.load(f)
    lut = np.full(256, IGNORE_LABEL, dtype=np.uint8)
    for label_id, train_id in info['label2train']:
        if 0 <= label_id < 256:
            lut[label_id] = train_id
    return info['label'], [tuple(c) for c in info['palette'][:info['classes']]], lut


def map_labels(label_ids, lut):
    """Label ids -> train ids; ids outside the table (any id >= len(lut)) become 255."""
    label_ids = np.asarray(label_ids)
    inside = label_ids < len(lut)
    return np.where(inside, lut[np.where(inside, label_ids, 0)], IGNORE_LABEL).astype(np.uint8)


def read_image(path, mode='RGB'):
    """Decode an image file fully, so a truncated or corrupt file fails here, naming itself.

    A 16- or 32-bit greyscale image is refused rather than converted: Pillow clips it to 255,
    all white (16-bit RGB PNGs open as 8-bit RGB and are kept)."""
    check_file(path, 'image')
    try:
        with Image.open(path) as img:
            img.load()
            if mode and img.mode.startswith(('I', 'F')):
                raise DataError(f'{path}: {img.mode} pixels (16 or 32 bits of grey); expected '
                                f'an 8-bit image')
            return img.convert(mode) if mode and img.mode != mode else img.copy()
    except (OSError, SyntaxError, ValueError) as e:
        raise DataError(f'cannot read image {path}: {e}') from None


def read_label_ids(path):
    """The ids of a one-channel (8- or 16-bit) label file, at its own size."""
    label_ids = np.asarray(read_image(path, mode=None))
    if label_ids.ndim != 2:
        raise DataError(f'{path}: a label has one channel of ids, this one has '
                        f'{label_ids.shape[2]} (a colour image?)')
    return label_ids


def resize_image(rgb, size):
    """HWC uint8 RGB at `size` (w, h), bicubic as released; returned as is if already that size."""
    if rgb.shape[1::-1] == tuple(size):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize(tuple(size), Image.BICUBIC))


def to_network_input(rgb, mean):
    """HWC RGB uint8 -> CHW BGR float32 with the Caffe mean subtracted (no std division)."""
    bgr = rgb[:, :, ::-1].astype(np.float32) - np.asarray(mean, dtype=np.float32)
    return np.ascontiguousarray(bgr.transpose(2, 0, 1))


def read_lines(path, what='list file'):
    """The lines of a UTF-8 text file, stripped (a byte-order mark dropped), blank ones kept:
    their numbers are the file's."""
    check_file(path, what)
    try:
        with open(path, 'rb') as f:
            data = f.read()
        text = data.decode('utf-8-sig')
    except OSError as e:
        raise DataError(f'cannot read {what} {path}: {e.strerror}') from None
    except UnicodeDecodeError:
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        raise DataError(f'{what} {path} is not UTF-8 text{" (it is UTF-16)" if utf16 else ""}: '
                        f'save it as UTF-8') from None
    return [line.strip() for line in text.splitlines()]


def read_list(list_path, max_items=None):
    """The names of a dataset's list file: each a relative path inside the dataset's folder
    (no absolute path, no `..`: what is written from a name, a pseudo label, stays inside
    its own folder too), each once."""
    names, lines_of = [], {}
    for number, name in enumerate(read_lines(list_path), 1):
        if not name:
            continue
        if os.path.isabs(name) or '..' in name.split('/'):
            raise DataError(f"{list_path}: line {number}: {name} is not a path inside the "
                            f"dataset's folder (a name is relative to it, without ..)")
        if name in lines_of:
            raise DataError(f'{list_path}: line {number}: {name} is listed twice (line '
                            f'{lines_of[name]} too)')
        lines_of[name] = number
        names.append(name)
    if not names:
        raise DataError(f'list file is empty: {list_path}')
    return names[:max_items] if max_items else names


def write_list(path, lines):
    """A list file, one name a line, written atomically."""
    atomic_write_text(path, ''.join(line + '\n' for line in lines))


class BaseDataset(ABC):
    """Images named in a list file under `root`, optionally with labels.

    Subclasses say where an image and its label live (`image_path`, `label_path`) and how a
    label file becomes train ids (`read_label`). `image_size` and `label_size` are (w, h);
    a label_size of None keeps the label at the image size.
    """

    # Cityscapes and SYNTHIA ship each label at its image's size: another size is the wrong
    # file. Subclasses whose labels may differ (GTA5) resize both to the configured sizes.
    labels_match_images = True

    def __init__(self, root, list_path, image_size, mean, label_lut=None, label_size=None,
                 labeled=True, max_items=None):
        if not os.path.isdir(root):
            raise DataError(f'dataset root not found: {root}')
        self.root = root
        self.list_path = list_path
        self.names = read_list(list_path, max_items)
        self.image_size = tuple(image_size)
        self.label_size = tuple(label_size or image_size)
        self.mean = mean
        self.label_lut = label_lut
        self.labeled = labeled
        self.warned = set()     # label files already reported as entirely ignored
        self.check_files()

    @abstractmethod
    def image_path(self, name):
        """Path of the image named `name` in the list file."""

    @abstractmethod
    def label_path(self, name):
        """Path of its label file."""

    def read_label(self, path):
        """Train ids (uint8, 255 ignore) of the label file at `path`, at its own size."""
        return self.to_train_ids(read_label_ids(path), path)

    def to_train_ids(self, label_ids, path):
        """Label ids -> train ids; a label of no class at all is reported (once per file and
        data worker: `warned` is each worker's own copy)."""
        train_ids = map_labels(label_ids, self.label_lut)
        if path not in self.warned and np.all(train_ids == IGNORE_LABEL):
            self.warned.add(path)
            ids = ', '.join(map(str, np.unique(label_ids)[:8]))
            # tqdm.write: on a line of its own, not after a progress bar's
            tqdm.write(f'warning: {path}: every pixel is ignored: its label ids ({ids}) are '
                       f'of no trained class', file=sys.stderr)
        return train_ids

    def check_label_size(self, name, image_size, label):
        if self.labels_match_images and label.shape[::-1] != image_size:
            height, width = label.shape
            raise DataError(f'label {self.label_path(name)} is {width}x{height}, its image '
                            f'{self.image_path(name)} {image_size[0]}x{image_size[1]}')

    def check_files(self):
        # Fail before any training step, naming the first missing file of the list.
        for name in self.names:
            paths = [self.image_path(name)] + ([self.label_path(name)] if self.labeled else [])
            for path in paths:
                if not os.path.isfile(path):
                    problem = 'a folder, not a file' if os.path.isdir(path) else 'file not found'
                    raise DataError(f'{self.list_path}: {name}: {problem}: {path}')

    def __len__(self):
        return len(self.names)

    def load(self, index, resize=True):
        """(RGB uint8 HWC image, uint8 train-id label or None) at the configured sizes; with
        resize=False the image keeps its native size (colour transfer works there)."""
        name = self.names[index]
        image = np.asarray(read_image(self.image_path(name)))
        own_size = image.shape[1::-1]
        if resize:
            image = resize_image(image, self.image_size)
        if not self.labeled:
            return image, None
        label = self.read_label(self.label_path(name))
        self.check_label_size(name, own_size, label)
        if label.shape[::-1] != self.label_size:
            label = np.asarray(Image.fromarray(label).resize(self.label_size, Image.NEAREST))
        return image, label

    def __getitem__(self, index):
        image, label = self.load(index)
        if label is None:
            label = np.full(self.label_size[::-1], IGNORE_LABEL, dtype=np.uint8)
        return to_network_input(image, self.mean), label.astype(np.int32), np.int32(index)

