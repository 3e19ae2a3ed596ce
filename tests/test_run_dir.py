"""Output folders: never a dataset's, one run at a time, of one stage and one config; nothing
half-written counts as done; and what a user sees when something goes wrong."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import ROOT, TINY_CFG, one_line_error, run_script, snapshot
from net.deeplabv2_mindspore import build_model
from utils.checkpoint import final_checkpoint_problem, load_net_checkpoint, save_checkpoint
from utils.errors import CheckpointError, ConfigError, OutputError
from engine.run_dir import RunDir

SHORT = ['TRAIN.EVAL_EVERY=0', 'TRAIN.EARLY_STOP=4', 'TRAIN.MAX_ITERS=8',
         'TRAIN.SAVE_PRED_EVERY=2']


def teacher_args(data_cfg, out_dir, mix, *opts):
    return ['--mix', mix, '--cfg', TINY_CFG, data_cfg, '--out_dir', str(out_dir),
            '--opts', *SHORT, *opts]


def cfg_of(*files):
    from config import get_cfg
    return get_cfg([TINY_CFG, *map(str, files)])


@pytest.fixture(scope='module')
def finished_region(generated, tmp_path_factory):
    """A finished 4-iteration region-level teacher folder, and the run's stdout."""
    _, data_cfg = generated
    out = tmp_path_factory.mktemp('finished') / 'teacher_rl'
    result = run_script('train_teacher.py', *teacher_args(data_cfg, out, 'region'))
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result.stdout


@pytest.fixture
def region_copy(finished_region, tmp_path):
    out = tmp_path / 'teacher_rl'
    shutil.copytree(finished_region[0], out)
    return out


def test_pseudo_labels_never_go_into_a_dataset(generated, tmp_path):
    root, data_cfg = generated
    source = tmp_path / 'gta5'           # a copy: today's code would delete its labels
    shutil.copytree(os.path.join(root, 'gta5'), source)
    overlay = tmp_path / 'source_copy.yaml'
    overlay.write_text(yaml.safe_dump({
        'DATA_DIRECTORY_SOURCE': str(source),
        'DATA_LIST_SOURCE': str(source / 'gta5_list' / 'train.txt')}))
    ckpt = str(tmp_path / 'student.ckpt')
    save_checkpoint(ckpt, build_model(cfg_of(data_cfg, overlay)))
    before = snapshot(source)
    for pseudo_dir in (source, source / 'labels', tmp_path):
        result = run_script('self_train.py', '--cfg', TINY_CFG, data_cfg, overlay,
                            '--pseudo_only', '--checkpoint', ckpt, '--pseudo_dir', pseudo_dir)
        one_line_error(result, str(pseudo_dir))
        assert snapshot(source) == before
    # a folder the project did not make: refused, even outside the datasets
    assert 'holds no run of this project' in result.stderr
    assert sorted(os.listdir(tmp_path)) == ['gta5', 'source_copy.yaml', 'student.ckpt']


def endless_teacher(data_cfg, out, stderr=subprocess.DEVNULL):
    """A target-only teacher training into `out` until stopped (the process)."""
    args = teacher_args(data_cfg, out, 'target', 'TRAIN.EARLY_STOP=100000',
                        'TRAIN.MAX_ITERS=100000')
    return subprocess.Popen([sys.executable, 'train_teacher.py', *args], cwd=ROOT, text=True,
                            stdout=subprocess.DEVNULL, stderr=stderr)


def test_one_run_per_folder_and_a_killed_holder_lets_go(generated, tmp_path):
    _, data_cfg = generated
    out = tmp_path / 'run'
    first = endless_teacher(data_cfg, out)
    try:
        deadline = time.time() + 300
        while not (out / 'config.yaml').exists() and time.time() < deadline:
            time.sleep(0.1)                # written when the first step is about to start
        second = run_script('train_teacher.py', *teacher_args(data_cfg, out, 'target'))
        one_line_error(second, str(out), f'pid {first.pid}')
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    record = json.loads((out / 'run.json').read_text())
    with RunDir(str(out), record['stage'], record['settings']):   # the kernel let go
        with pytest.raises(OutputError, match=f'pid {os.getpid()}'):
            RunDir(str(out), record['stage'], record['settings'])


def test_a_folder_of_another_stage_is_refused(generated, region_copy):
    _, data_cfg = generated
    before = snapshot(region_copy)
    one_line_error(run_script('train_teacher.py', *teacher_args(data_cfg, region_copy,
                                                                'target')),
                   'teacher_rl', 'target_only')
    assert snapshot(region_copy) == before


def test_a_labeled_list_edited_before_a_resume_is_refused(generated, labeled_4, tmp_path):
    # The run was once taken as the same: the teachers of the old D_T kept, the student
    # trained on the new one.
    import train_teacher
    _, data_cfg = generated
    labeled = tmp_path / 'labeled.txt'
    labeled.write_text(labeled_4.read_text())
    out = tmp_path / 'teacher'
    args = teacher_args(data_cfg, out, 'target', 'TRAIN.EARLY_STOP=2', 'TRAIN.MAX_ITERS=2',
                        'TRAIN.SAVE_PRED_EVERY=1') + ['--labeled_list', str(labeled)]
    train_teacher.main(train_teacher.parse_args(args))
    os.remove(out / 'final.ckpt')                           # killed before its end
    before = snapshot(out)
    names = labeled.read_text().split()
    labeled.write_text('\n'.join(names[1:]) + '\n')       # one image less
    one_line_error(run_script('train_teacher.py', *args), str(labeled), 'changed', str(out))
    assert snapshot(out) == before


def test_an_unreadable_list_is_left_to_its_reader(tiny_cfg, tmp_path, deny_reading):
    # Its digest once made a traceback before the list's own one-line error could come.
    from engine.run_dir import run_settings
    listed = tmp_path / 'labeled.txt'
    listed.write_text('aachen/a.png\n')
    tiny_cfg.DATA_LIST_TARGET_LABELED = str(listed)
    deny_reading(listed)
    assert run_settings(tiny_cfg)['contents'][str(listed)] is None


def test_a_changed_config_is_refused_naming_the_keys(generated, region_copy, capsys):
    import train_teacher
    _, data_cfg = generated
    before = snapshot(region_copy)
    changed = teacher_args(data_cfg, region_copy, 'region', 'TRAIN.LEARNING_RATE=0.1',
                           'TRAIN.RANDOM_SEED=7')
    with pytest.raises(ConfigError, match='TRAIN.LEARNING_RATE, cfg.TRAIN.RANDOM_SEED') as e:
        train_teacher.main(train_teacher.parse_args(changed))
    assert '--out_dir' in str(e.value)
    assert snapshot(region_copy) == before
    # the number of loading workers changes no number: the finished run stays finished
    more_workers = teacher_args(data_cfg, region_copy, 'region', 'NUM_WORKERS=3')
    train_teacher.main(train_teacher.parse_args(more_workers))
    assert 'already finished' in capsys.readouterr().out
    assert snapshot(region_copy) == before


def test_a_cut_final_checkpoint_is_not_finished_and_leftovers_go(generated, region_copy,
                                                                 capfd):
    import train_teacher
    _, data_cfg = generated
    final = region_copy / 'final.ckpt'
    with open(final, 'r+b') as f:
        f.truncate(os.path.getsize(final) // 2)
    assert final_checkpoint_problem(str(final), 'teacher_rl', 4) is not None
    leftovers = [region_copy / 'checkpoints' / '.iter_000004.ckpt.abcd_123.tmp.tmp',
                 region_copy / '.final.ckpt.x1y2z3w4.tmp.ckpt']
    for path in leftovers:
        path.write_bytes(b'half a checkpoint')
    kept = region_copy / 'checkpoints' / 'notes.tmp.tmp'   # not a name the project writes
    kept.write_text('mine\n')
    train_teacher.main(train_teacher.parse_args(teacher_args(data_cfg, region_copy, 'region')))
    out, err = capfd.readouterr()
    assert 'resumed from' in out and 'already finished' not in out
    assert final_checkpoint_problem(str(final), 'teacher_rl', 4) is None
    assert not any(path.exists() for path in leftovers) and kept.exists()
    # (7b) a resume loads the optimizer state without MindSpore's "not loaded" warning
    assert 'not loaded' not in out + err


def test_a_full_disk_leaves_no_temporary_file(tmp_path, tiny_cfg, monkeypatch):
    import mindspore.train.serialization as serialization

    def full_disk(name, value, f, *args):
        f.write(b'part of a tensor')
        raise OSError(28, 'No space left on device')

    for writer in ('_write_parameter_data', '_write_parameter_bytes_data'):
        monkeypatch.setattr(serialization, writer, full_disk)
    path = str(tmp_path / 'iter_000002.ckpt')
    with pytest.raises(OutputError, match=f'cannot write {path}: No space'):  # one line
        save_checkpoint(path, build_model(tiny_cfg))
    assert os.listdir(tmp_path) == []


def test_the_pipeline_redoes_a_step_whose_checkpoint_is_cut(tmp_path, tiny_cfg):
    from self_train import Manifest, final_checkpoint_of
    tiny_cfg.TRAIN.EARLY_STOP = 4
    ckpt = str(tmp_path / 'student' / 'final.ckpt')
    calls = []

    def train(iteration=4):
        calls.append(iteration)
        save_checkpoint(ckpt, build_model(tiny_cfg), meta={'stage': 'student',
                                                           'iteration': iteration})
        return ckpt

    finished = final_checkpoint_of('student', tiny_cfg)
    manifest = Manifest(str(tmp_path / 'manifest.json'), {})
    manifest.run('round1/student', ckpt, train, finished)
    manifest.run('round1/student', ckpt, train, finished)
    assert calls == [4]                                     # whole: skipped
    with open(ckpt, 'r+b') as f:
        f.truncate(os.path.getsize(ckpt) - 100)
    manifest.run('round1/student', ckpt, train, finished)
    assert calls == [4, 4]                                  # cut: redone
    save_checkpoint(ckpt, build_model(tiny_cfg), meta={'stage': 'student', 'iteration': 2})
    manifest.run('round1/student', ckpt, train, finished)
    assert calls == [4, 4, 4]                               # short of EARLY_STOP: redone


def test_a_checkpoint_of_another_width_says_so(tiny_cfg, tmp_path):
    tiny_cfg.MODEL.WIDTH = 16
    wide = str(tmp_path / 'wide.ckpt')
    save_checkpoint(wide, build_model(tiny_cfg))
    tiny_cfg.MODEL.WIDTH = 8
    with pytest.raises(CheckpointError) as e:
        load_net_checkpoint(build_model(tiny_cfg), wide)
    message = str(e.value)
    assert 'MODEL.WIDTH 16 (config: 8)' in message and '--opts MODEL.WIDTH=16' in message
    assert 'conv1.weight (16, 3, 7, 7) vs (8, 3, 7, 7)' in message
    assert 'classes' not in message and '--num_classes' not in message
    classes16 = str(tmp_path / 'c16.ckpt')
    save_checkpoint(classes16, build_model(tiny_cfg, num_classes=16))
    with pytest.raises(CheckpointError, match=r'NUM_CLASSES 16 \(config: 19\).*'
                                              r'--opts NUM_CLASSES=16 TEST.INFO=\S*info_16'):
        load_net_checkpoint(build_model(tiny_cfg), classes16)


def test_ctrl_c_says_how_to_resume(generated, tmp_path):
    _, data_cfg = generated
    out = tmp_path / 'run'
    proc = endless_teacher(data_cfg, out, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not (out / 'checkpoints' / 'iter_000002.ckpt').exists() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith('interrupted: [target_only] stopped at iteration'), err[-2000:]
    assert 'the same command resumes from iteration' in last and 'iter_0000' in last


def test_a_data_error_starts_on_a_line_of_its_own(generated, target_copy, tmp_path):
    _, data_cfg = generated
    target, overlay = target_copy
    names = (target / 'cityscapes_list' / 'train.txt').read_text().split()
    label = target / 'gtFine' / 'train' / names[5].replace('leftImg8bit', 'gtFine_labelIds')
    with open(label, 'r+b') as f:       # readable header, cut data: found only when read
        f.truncate(200)
    result = run_script('train_teacher.py', '--mix', 'target', '--cfg', TINY_CFG, data_cfg,
                        overlay, '--out_dir', tmp_path / 'run', '--opts', 'TRAIN.EVAL_EVERY=0',
                        'TRAIN.EARLY_STOP=24', 'TRAIN.MAX_ITERS=24')
    one_line_error(result, os.path.basename(label))
    error_line = next(line for line in result.stderr.split('\n') if 'error:' in line)
    assert error_line.startswith('error:'), repr(error_line)


def test_eval_results_go_beside_each_checkpoint(generated, finished_region, tmp_path,
                                                monkeypatch):
    import eval as eval_script
    root, data_cfg = generated
    other = tmp_path / 'teacher_sl'
    other.mkdir()
    shutil.copy(finished_region[0] / 'final.ckpt', other / 'final.ckpt')
    monkeypatch.chdir(tmp_path)     # where today's default (eval_results/) would land
    for folder in (finished_region[0], other):
        eval_script.main(eval_script.parse_args([
            '--cfg', TINY_CFG, data_cfg, '--data_path', os.path.join(root, 'cityscapes'),
            '--pretrained', str(folder / 'final.ckpt')]))
        assert json.loads((folder / 'eval_final.json').read_text())['checkpoint'] == str(
            folder / 'final.ckpt')
    assert not (tmp_path / 'eval_results').exists()
    help_text = subprocess.run([sys.executable, 'eval.py', '--help'], cwd=ROOT,
                               capture_output=True, text=True).stdout
    assert 'CKPT_DIR/eval_CKPT_NAME.json' in help_text.replace('\n', ' ').replace(' ', '')


def test_the_first_step_announces_its_compilation(finished_region):
    _, stdout = finished_region
    assert stdout.count('compiling the training step (first step)...') == 1


def test_other_ranks_create_nothing_before_rank_0_claims_the_folder(tiny_cfg, tmp_path,
                                                                    monkeypatch):
    """A data-parallel rank other than 0 writes nothing into a run's folder and waits for rank
    0's claim: had it created the pipeline's stage folders first, rank 0 would refuse its own
    --exp_dir as not this project's."""
    import engine.run_dir
    import engine.trainer
    from dataset import pipeline
    from engine.trainer import Trainer
    waited = []
    monkeypatch.setattr(engine.run_dir, 'current_rank', lambda: (1, 2))
    monkeypatch.setattr(engine.trainer, 'current_rank', lambda: (1, 2))
    monkeypatch.setattr(engine.run_dir, 'rank0_says', lambda ok: waited.append(ok) or True,
                        raising=False)
    exp = tmp_path / 'exp'
    RunDir(str(exp), 'pipeline', {'cfg': {}}, option='--exp_dir')
    assert waited == [True] and not exp.exists()
    Trainer(tiny_cfg, build_model(tiny_cfg), [], {}, pipeline.labeled_sample,
            str(exp / 'round1' / 'teacher_rl'), 'teacher_rl')
    assert not exp.exists()
    # rank 0 refused the folder: every other rank stops too, saying where to look
    monkeypatch.setattr(engine.run_dir, 'rank0_says', lambda ok: False)
    with pytest.raises(OutputError, match='rank 0 refused this --exp_dir'):
        RunDir(str(exp), 'pipeline', {'cfg': {}}, option='--exp_dir')
