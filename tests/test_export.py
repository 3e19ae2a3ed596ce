"""export.py: a tiny net exported to MindIR gives the checkpoint's logits when loaded back."""
import os

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

import export
from conftest import TINY_CFG, one_line_error, run_script
from config import get_cfg
from net.predict import load_main_head
from net.deeplabv2_mindspore import build_model
from utils.checkpoint import save_checkpoint
from utils.errors import ConfigError

WIDTH, HEIGHT = 256, 128


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.ckpt')
    save_checkpoint(path, build_model(get_cfg(TINY_CFG)))
    return path


def test_mindir_export_matches_the_checkpoint(checkpoint, tmp_path):
    result = run_script('export.py', '--cfg', TINY_CFG, '--pretrained', checkpoint,
                        '--output', tmp_path / 'tiny', '--input_size', f'{WIDTH}x{HEIGHT}')
    assert result.returncode == 0, result.stderr
    assert 'max abs diff' in result.stdout
    exported = tmp_path / 'tiny.mindir'      # the extension is appended
    assert exported.is_file() and os.listdir(tmp_path) == ['tiny.mindir']
    # Parity checked again here, on another input, independently of the script's own check.
    image = ms.Tensor(np.random.default_rng(7).normal(0, 50, (1, 3, HEIGHT, WIDTH)), ms.float32)
    expected = load_main_head(get_cfg(TINY_CFG), checkpoint)(image).asnumpy()
    got = nn.GraphCell(ms.load(str(exported)))(image).asnumpy()
    assert got.shape == expected.shape == (1, 19, 17, 33)
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()


def test_failed_parity_check_writes_nothing(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(export, 'compare_with_exported', lambda *args: (1.0, 2.0))
    args = export.parse_args(['--cfg', TINY_CFG, '--pretrained', checkpoint, '--output',
                              str(tmp_path / 'bad.mindir'), '--input_size', '64x32'])
    assert export.main(args) == 1
    assert os.listdir(tmp_path) == []


def test_air_needs_ascend(checkpoint, tmp_path):
    args = export.parse_args(['--cfg', TINY_CFG, '--pretrained', checkpoint, '--output',
                              str(tmp_path / 'tiny.air'), '--format', 'AIR'])
    with pytest.raises(ConfigError, match='AIR needs --device Ascend'):
        export.main(args)


def test_never_into_a_dataset(checkpoint, generated):
    root, data_cfg = generated
    inside = os.path.join(root, 'cityscapes', 'tiny')
    result = run_script('export.py', '--cfg', TINY_CFG, data_cfg, '--pretrained', checkpoint,
                        '--output', inside)
    one_line_error(result, inside + '.mindir', 'DATA_DIRECTORY_TARGET')
    assert not os.path.exists(inside + '.mindir')
