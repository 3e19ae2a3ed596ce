"""Shared fixtures: the tiny config, the CPU device, and small Cityscapes-layout data sets."""
import hashlib
import os
import shutil

import numpy as np
import pytest
import yaml
from PIL import Image

from config import get_cfg
from engine.run_dir import LOCK
from utils.device import setup_device

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_CFG = os.path.join(ROOT, 'configs', 'tiny_cpu.yaml')

setup_device('CPU', 'GRAPH', cpu_threads=1)  # the tiny nets' setting (configs/tiny_cpu.yaml)


def pytest_collection_modifyitems(items):
    """The end-to-end tests first: with the suite's two workers (scripts/run_tests.sh) the
    minutes-long ones then run beside the many short ones, not after them."""
    items.sort(key=lambda item: item.get_closest_marker('e2e') is None)


@pytest.fixture
def pynative():
    """PyNative for one test that trains in this process, as the tiny config's training runs:
    a few steps of a new step each, which graph mode would compile first."""
    import mindspore as ms
    ms.set_context(mode=ms.PYNATIVE_MODE)
    yield
    ms.set_context(mode=ms.GRAPH_MODE)


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


# Cityscapes' own label id -> train id (cityscapesScripts' labels.py, ids 0..33), written out
# here so that the project's table (dataset/cityscapes_list/info.json) is checked against it.
CITYSCAPES_TRAIN_IDS = ((255,) * 7 + (0, 1, 255, 255, 2, 3, 4, 255, 255, 255, 5, 255, 6, 7, 8, 9,
                                      10, 11, 12, 13, 14, 15, 255, 255, 16, 17, 18))


def photo(name, size=None):
    """One of scikit-image's sample photographs (in its wheel, free to redistribute) as HxWx3
    uint8 RGB, resized (bicubic) to `size` (w, h) if given."""
    from skimage import data
    rgb = getattr(data, name)()
    if size is None:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BICUBIC))


@pytest.fixture
def cityscapes_sample(tmp_path):
    """A Cityscapes val set of one 256x128 photograph (root, list file): its labelIds hold every
    Cityscapes id 0..33 in 16x16 blocks, its labelTrainIds the same mapped by Cityscapes' table."""
    root = str(tmp_path / 'cityscapes_sample')
    blocks = np.arange(8 * 16).reshape(8, 16) % len(CITYSCAPES_TRAIN_IDS)
    label_ids = np.kron(blocks, np.ones((16, 16), np.int64))
    list_path = write_cityscapes_val(root, [label_ids], size=(256, 128))
    name = 'frankfurt/frankfurt_000000_000000_leftImg8bit.png'   # write_cityscapes_val's first
    Image.fromarray(photo('rocket', (256, 128))).save(
        os.path.join(root, 'leftImg8bit', 'val', name))
    train_ids = np.asarray(CITYSCAPES_TRAIN_IDS, np.uint8)[label_ids]
    Image.fromarray(train_ids).save(os.path.join(
        root, 'gtFine', 'val', name.replace('leftImg8bit', 'gtFine_labelTrainIds')))
    return root, list_path


def snapshot(root):
    """{relative path: sha256} of every file below `root`, and its folders (as None); a run
    folder's lock file, which holds the pid of the last run, left out."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), root)] = None
        for name in set(files) - {LOCK}:
            path = os.path.join(folder, name)
            with open(path, 'rb') as f:
                found[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return found


def run_script(script, *args, timeout=600):
    """Run one of the project's scripts as a user would; returns the CompletedProcess."""
    import subprocess
    import sys
    cmd = [sys.executable, script, *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def one_line_error(result, *needles):
    """The script failed with exit 2 and one `error:` line naming each needle."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(lines) == 1 and 'Traceback' not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope='session')
def generated(tmp_path_factory):
    """Generated GTA5- and Cityscapes-layout data at the tiny config's sizes, and its overlay."""
    from dataset.synthetic import generate, write_data_config
    out = tmp_path_factory.mktemp('generated')
    generate(str(out), seed=0, num_source=12, num_train=12, num_val=4, target_size=(128, 64),
             source_size=(160, 96))
    return str(out), write_data_config(str(out))


@pytest.fixture(scope='session')
def labeled_4(generated, tmp_path_factory):
    """A label list of the generated data's first 4 train images: a D_T smaller than D_U."""
    with open(os.path.join(generated[0], 'cityscapes', 'cityscapes_list', 'train.txt')) as f:
        names = f.read().split()
    path = tmp_path_factory.mktemp('labeled') / 'labeled_4.txt'
    path.write_text('\n'.join(names[:4]) + '\n')
    return path


@pytest.fixture
def target_copy(generated, tmp_path):
    """A copy of the generated Cityscapes-layout data (a test may change or lose it), and a
    config overlay pointing every target key at it: (root, overlay)."""
    target = tmp_path / 'cityscapes'
    shutil.copytree(os.path.join(generated[0], 'cityscapes'), target)
    lists = target / 'cityscapes_list'
    overlay = tmp_path / 'target_copy.yaml'
    overlay.write_text(yaml.safe_dump({
        'DATA_DIRECTORY_TARGET': str(target), 'DATA_LIST_TARGET': str(lists / 'train.txt'),
        'DATA_LIST_TARGET_LABELED': str(lists / 'train.txt'),
        'TEST': {'DATA_LIST': str(lists / 'val.txt')}}))
    return target, overlay


@pytest.fixture
def deny_reading(monkeypatch):
    """`deny_reading(path)`: opening `path` fails as for a user without read permission (chmod
    does not stop root, whom tests may run as)."""
    import builtins
    denied, real_open = set(), builtins.open

    def guarded_open(path, *args, **kwargs):
        if str(path) in denied:
            raise PermissionError(13, 'Permission denied', str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(builtins, 'open', guarded_open)
    return lambda path: denied.add(str(path))
