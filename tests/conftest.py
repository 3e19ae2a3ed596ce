"""Shared fixtures: the tiny config, the CPU device, and small Cityscapes-layout data sets."""
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from config import get_cfg
from utils.device import setup_device

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared')
FIXTURES = os.path.join(SHARED, 'fixtures')
TINY_CFG = os.path.join(ROOT, 'configs', 'tiny_cpu.yaml')

setup_device('CPU', 'GRAPH')


@pytest.fixture
def tiny_cfg():
    return get_cfg(TINY_CFG)


def write_cityscapes_val(root, label_ids_per_image, size=(128, 64), seed=0):
    """A Cityscapes-layout val set, one image per label-id array; returns the list file."""
    rng = np.random.default_rng(seed)
    names = []
    for i, label_ids in enumerate(label_ids_per_image):
        name = f'frankfurt/frankfurt_000000_{i:06d}_leftImg8bit.png'
        image_path = os.path.join(root, 'leftImg8bit', 'val', name)
        label_path = os.path.join(root, 'gtFine', 'val',
                                  name.replace('leftImg8bit', 'gtFine_labelIds'))
        for path in (image_path, label_path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        image = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(image).save(image_path)
        Image.fromarray(np.asarray(label_ids, dtype=np.uint8)).save(label_path)
        names.append(name)
    list_path = os.path.join(root, 'val.txt')
    with open(list_path, 'w') as f:
        f.write('\n'.join(names) + '\n')
    return list_path


@pytest.fixture
def cityscapes_sample(tmp_path):
    """A writable copy of the real Cityscapes fixture (root, list file)."""
    root = tmp_path / 'cityscapes_sample'
    shutil.copytree(os.path.join(FIXTURES, 'cityscapes_sample'), root)
    list_path = root / 'val.txt'
    list_path.write_text('frankfurt/frankfurt_000000_000294_leftImg8bit.png\n')
    return str(root), str(list_path)
