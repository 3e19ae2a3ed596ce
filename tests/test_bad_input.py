"""Bad input stops every entry point with one `error:` line and exit code 2 before any work:
a config value outside its choices, a device this MindSpore cannot run on, --rounds < 1, a
damaged manifest, an output folder that cannot be written."""
import os
import time

import pytest

import eval as eval_script
import self_train
import train_teacher
from conftest import ROOT, TINY_CFG, one_line_error, run_script
from net.deeplabv2_mindspore import build_model
from utils.checkpoint import save_checkpoint
from utils.errors import CheckpointError, ConfigError, DDMError

PAPER_CFG = os.path.join(ROOT, 'configs', 'gta2cityscapes.yaml')    # DEVICE: Ascend


def test_bad_choice_is_one_line_before_any_work(generated, tmp_path):
    _, data_cfg = generated
    out = tmp_path / 'teacher'
    start = time.time()
    result = run_script('train_teacher.py', '--mix', 'region', '--out_dir', out,
                        '--cfg', TINY_CFG, data_cfg, '--opts', 'TRAIN.JIT_STEP="yes"')
    assert time.time() - start < 10
    one_line_error(result, 'TRAIN.JIT_STEP', 'auto, on, off', "'yes'")
    assert not out.exists()


def test_unavailable_device_is_one_line(generated, tmp_path):
    # The paper's config on this CPU-only machine: once a 32-line traceback.
    _, data_cfg = generated
    exp = tmp_path / 'exp'
    result = run_script('self_train.py', '--cfg', PAPER_CFG, data_cfg, '--exp_dir', exp)
    one_line_error(result, 'DEVICE Ascend', '--device CPU')
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert not exp.exists()


@pytest.mark.parametrize('rounds', ['0', '-1'])
def test_rounds_below_one(generated, tmp_path, rounds):
    # --rounds 0 once ran the default 4 rounds, -1 wrote an empty table.
    _, data_cfg = generated
    args = self_train.parse_args(['--cfg', TINY_CFG, data_cfg, '--rounds', rounds,
                                  '--exp_dir', str(tmp_path / 'exp')])
    with pytest.raises(ConfigError, match=f'--rounds must be >= 1, got {rounds}'):
        self_train.main(args)
    assert not (tmp_path / 'exp').exists()


@pytest.mark.parametrize('text', ['{"settings": {"cfg": {', '[]', '\xff\xfe'])
def test_damaged_manifest_names_the_file(tmp_path, text):
    path = tmp_path / 'manifest.json'
    path.write_bytes(text.encode('latin-1'))
    with pytest.raises(DDMError) as error:
        self_train.Manifest(str(path), {'rounds': 1})
    assert str(path) in str(error.value) and '\n' not in str(error.value)


def test_unwritable_outputs_fail_before_the_work(generated, tmp_path, tiny_cfg, monkeypatch):
    root, data_cfg = generated
    blocker = tmp_path / 'file'
    blocker.write_text('')
    # eval.py: before the evaluation; no folder is made when the checkpoint fails.
    checkpoint = str(tmp_path / 'tiny.ckpt')
    save_checkpoint(checkpoint, build_model(tiny_cfg))
    monkeypatch.setattr(eval_script, 'evaluate', lambda *a, **k: pytest.fail('evaluated'))
    argv = ['--cfg', TINY_CFG, data_cfg, '--data_path', os.path.join(root, 'cityscapes')]
    for output, save_pred in ((blocker / 'r.json', None), (None, blocker / 'pred')):
        outputs = ['--output', str(output)] if output else ['--save_pred', str(save_pred)]
        with pytest.raises(DDMError, match=f'{blocker}.* is not writable'):
            eval_script.main(eval_script.parse_args(argv + ['--pretrained', checkpoint]
                                                    + outputs))
    with pytest.raises(CheckpointError):
        eval_script.main(eval_script.parse_args(argv + [
            '--pretrained', str(tmp_path / 'none.ckpt'), '--output', str(tmp_path / 'new/r.json')]))
    assert not (tmp_path / 'new').exists()
    # train_teacher.py: before the data sets are read (their root here does not exist).
    args = train_teacher.parse_args(['--mix', 'region', '--out_dir', str(blocker / 'out'),
                                     '--cfg', TINY_CFG, '--opts',
                                     f'DATA_DIRECTORY_SOURCE={tmp_path / "none"}'])
    with pytest.raises(DDMError, match=f'{blocker}.* is not writable'):
        train_teacher.main(args)
    # self_train.py: before the device and the manifest.
    args = self_train.parse_args(['--cfg', TINY_CFG, data_cfg, '--exp_dir',
                                  str(blocker / 'exp'), '--rounds', '1'])
    with pytest.raises(DDMError, match=f'{blocker}.* is not writable'):
        self_train.main(args)
    assert blocker.read_text() == ''
