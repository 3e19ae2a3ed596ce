"""infer.py end to end with a tiny random net: a 1024x512 photograph, folders, bad input."""
import os
import shutil

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, TINY_CFG, one_line_error, photo, run_script, snapshot
from config import get_cfg
from dataset.base_dataset import load_class_info, to_network_input
from net.deeplabv2_mindspore import build_model
from utils.checkpoint import load_net_checkpoint, save_checkpoint
from net.predict import Predictor

INPUT_SIZE = (256, 128)      # small network input: the test is about the plumbing, not quality
INFO = os.path.join(ROOT, 'dataset', 'cityscapes_list', 'info.json')


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """A photograph at Cityscapes' 1024x512, saved as a palette PNG (as some photos come)."""
    path = tmp_path_factory.mktemp('photo') / 'demo_1024x512.png'
    Image.fromarray(photo('rocket', (1024, 512))).quantize(256).save(path)
    return path


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Tiny random-init checkpoints with 19 and with 16 classes."""
    folder = tmp_path_factory.mktemp('ckpt')
    cfg = get_cfg(TINY_CFG)
    paths = {}
    for num_classes in (19, 16):
        paths[num_classes] = str(folder / f'tiny_{num_classes}.ckpt')
        save_checkpoint(paths[num_classes], build_model(cfg, num_classes))
    return paths


def run_infer(checkpoint, input_path, output):
    return run_script('infer.py', '--cfg', TINY_CFG, '--input_size',
                      f'{INPUT_SIZE[0]}x{INPUT_SIZE[1]}', '--pretrained', checkpoint,
                      '--input', input_path, '--output', output)


def expected_train_ids(checkpoint, rgb):
    """The same prediction through eval's compiled Predictor (upsampling inside the graph)."""
    net = build_model(get_cfg(TINY_CFG))
    load_net_checkpoint(net, checkpoint)
    net.set_train(False)
    resized = np.asarray(rgb.resize(INPUT_SIZE, Image.BICUBIC))
    image = to_network_input(resized, get_cfg(TINY_CFG).TEST.IMG_MEAN)[None]
    return Predictor(net, (rgb.height, rgb.width))(ms.Tensor(image)).asnumpy()[0]


def test_real_photo(checkpoints, demo, tmp_path):
    out = tmp_path / 'out'
    result = run_infer(checkpoints[19], str(demo), str(out))
    assert result.returncode == 0, result.stderr
    assert '1 of 1 images segmented' in result.stdout
    rgb = Image.open(demo).convert('RGB')      # a palette PNG
    train_ids = np.asarray(Image.open(out / 'trainids' / demo.name))
    colour = Image.open(out / 'color' / demo.name).convert('RGB')
    overlay = Image.open(out / 'overlay' / demo.name)
    assert train_ids.shape == (512, 1024) and train_ids.dtype == np.uint8
    assert train_ids.max() < 19
    assert colour.size == overlay.size == rgb.size == (1024, 512)
    _, palette, _ = load_class_info(INFO)
    assert (np.asarray(colour) == np.asarray(palette, np.uint8)[train_ids]).all()
    blend = (np.asarray(rgb, np.float32) + np.asarray(colour, np.float32)) / 2
    assert np.abs(np.asarray(overlay, np.float32) - blend).max() <= 1
    agreement = (train_ids == expected_train_ids(checkpoints[19], rgb)).mean()
    assert agreement >= 0.999, agreement


@pytest.fixture
def mixed_folder(demo, tmp_path):
    """Two good images of different sizes and modes, one corrupt PNG and a text file."""
    folder = tmp_path / 'images'
    folder.mkdir()
    rgb = Image.open(demo).convert('RGB')
    rgb.resize((320, 160), Image.BICUBIC).save(folder / 'wide.jpg')
    rgb.crop((100, 50, 280, 290)).convert('RGBA').save(folder / 'tall.png')
    (folder / 'broken.png').write_bytes(demo.read_bytes()[:300])
    (folder / 'notes.txt').write_text('not an image\n')
    return folder


def test_folder_with_a_corrupt_image(checkpoints, mixed_folder, tmp_path):
    out = tmp_path / 'out'
    result = run_infer(checkpoints[19], str(mixed_folder), str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith('warning:')]
    assert len(warnings) == 1 and 'broken.png' in warnings[0], result.stderr
    assert 'Traceback' not in result.stderr
    assert '2 of 3 images segmented' in result.stdout
    for name, size in (('wide.png', (320, 160)), ('tall.png', (180, 240))):
        for kind in ('color', 'overlay', 'trainids'):
            assert Image.open(out / kind / name).size == size, (kind, name)
    assert not (out / 'color' / 'broken.png').exists()


def test_list_file(checkpoints, mixed_folder, tmp_path):
    list_path = mixed_folder / 'list.txt'
    list_path.write_text('wide.jpg\n' + str(mixed_folder / 'tall.png') + '\n')
    result = run_infer(checkpoints[19], str(list_path), str(tmp_path / 'out'))
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / 'out' / 'trainids')) == ['tall.png', 'wide.png']


def test_empty_folder_and_mismatched_checkpoint(checkpoints, mixed_folder, tmp_path):
    empty = tmp_path / 'no_images_here'
    empty.mkdir()
    (empty / 'readme.txt').write_text('only text\n')
    one_line_error(run_infer(checkpoints[19], str(empty), str(tmp_path / 'out')),
                   'no_images_here')
    one_line_error(run_infer(checkpoints[16], str(mixed_folder), str(tmp_path / 'out')),
                   'tiny_16.ckpt', 'NUM_CLASSES 16')
    assert not (tmp_path / 'out').exists()


def test_outputs_go_nowhere_near_the_inputs(checkpoints, generated, tmp_path):
    # Once written into a dataset root, and a traceback for a file as --output, after the
    # model had loaded.
    root, data_cfg = generated
    images = tmp_path / 'images'
    shutil.copytree(os.path.join(root, 'cityscapes', 'leftImg8bit', 'val', 'frankfurt'), images)
    before = snapshot(images)
    one_line_error(run_infer(checkpoints[19], str(images), str(images / 'pred')), '--output',
                   str(images))
    assert snapshot(images) == before
    inside = os.path.join(root, 'cityscapes', 'pred')
    one_line_error(run_script('infer.py', '--cfg', TINY_CFG, data_cfg, '--pretrained',
                              checkpoints[19], '--input', str(images), '--output', inside),
                   inside, 'DATA_DIRECTORY_TARGET')
    assert not os.path.exists(inside)
    blocker = tmp_path / 'file'
    blocker.write_text('')
    one_line_error(run_infer(checkpoints[19], str(images), str(blocker)), str(blocker),
                   'not writable')
    assert blocker.read_text() == ''
