"""Bad input stops every entry point with one `error:` line and exit code 2 before any work:
a config value outside its choices, a device this MindSpore cannot run on, --rounds < 1, a
damaged manifest, an output folder that cannot be written, a list naming files outside its
dataset, a missing val image."""
import os
import time

import pytest

import eval as eval_script
import self_train
import train_teacher
from conftest import ROOT, TINY_CFG, one_line_error, run_script, snapshot
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


@pytest.mark.parametrize('kind', ['absolute', 'dotdot'])
def test_list_names_outside_their_root_leave_the_data_untouched(generated, target_copy,
                                                                tmp_path, tiny_cfg, kind):
    # D_U named by absolute paths once made the pseudo-label pass delete every train image
    # (its labels' paths were the images'), after the teachers and the student had trained;
    # names with ../ wrote pseudo labels outside --pseudo_dir.
    _, data_cfg = generated
    target, overlay = target_copy
    lists = target / 'cityscapes_list'
    prefix = {'absolute': f'{target}/leftImg8bit/train/',
              'dotdot': '../../leftImg8bit/train/'}[kind]
    names = tmp_path / 'd_u.txt'
    names.write_text(''.join(prefix + name + '\n'
                             for name in (lists / 'train.txt').read_text().split()))
    before = snapshot(target)
    args = ['--cfg', TINY_CFG, data_cfg, overlay, '--opts', f'DATA_LIST_TARGET={names}',
            'TRAIN.EARLY_STOP=1', 'TRAIN.MAX_ITERS=1']
    exp = tmp_path / 'exp'
    one_line_error(run_script('self_train.py', *args, '--rounds', '1', '--exp_dir', exp),
                   f'{names}: line 1: {prefix}', 'inside')
    assert not exp.exists()
    if kind == 'absolute':
        checkpoint = str(tmp_path / 'student.ckpt')
        save_checkpoint(checkpoint, build_model(tiny_cfg))
        one_line_error(run_script('self_train.py', *args, '--pseudo_only', '--checkpoint',
                                  checkpoint, '--pseudo_dir', tmp_path / 'pseudo'),
                       f'{names}: line 1')
        assert not (tmp_path / 'pseudo').exists()
    assert snapshot(target) == before


def test_a_name_never_takes_a_write_or_removal_out_of_its_folder(target_copy, tmp_path):
    from engine.pseudo_label import remove_labels
    from utils.errors import OutputError
    target, _ = target_copy
    image = target / 'leftImg8bit' / 'train' / 'aachen' / 'aachen_000000_000019_leftImg8bit.png'
    content = image.read_bytes()
    pseudo = tmp_path / 'pseudo'
    for name in (str(image), '../../cityscapes/leftImg8bit/train/aachen/' + image.name):
        with pytest.raises(OutputError, match='outside'):
            remove_labels(str(pseudo), [name])
    assert image.read_bytes() == content


def test_a_missing_val_image_stops_the_pipeline_before_its_first_step(generated, target_copy,
                                                                      tmp_path):
    _, data_cfg = generated
    target, overlay = target_copy
    val = target / 'leftImg8bit' / 'val'
    missing = sorted(val.rglob('*.png'))[-1]
    missing.unlink()
    exp = tmp_path / 'exp'
    one_line_error(run_script('self_train.py', '--cfg', TINY_CFG, data_cfg, overlay,
                              '--rounds', '1', '--exp_dir', exp), str(missing))
    assert not exp.exists()


def test_a_pipeline_step_names_the_pipelines_option(generated, tiny_cfg, tmp_path):
    # A stage folder of the pipeline held by another run: the way out is another --exp_dir.
    from config import get_cfg
    from engine.run_dir import RunDir
    from utils.errors import OutputError
    _, data_cfg = generated
    cfg = get_cfg([TINY_CFG, data_cfg])
    exp = tmp_path / 'exp'
    teacher = self_train.round_steps(cfg, str(exp), 1, 1, [])[0]
    assert teacher.name == 'round1/teacher_rl'
    with RunDir(str(exp / 'round1' / 'teacher_rl'), 'teacher_rl', {}):
        with pytest.raises(OutputError, match='in use by another run') as error:
            teacher.work()
    assert 'use another --exp_dir' in str(error.value) and '--out_dir' not in str(error.value)
