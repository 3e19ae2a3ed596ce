"""Stage 1 and the shared training loop, on generated data with a tiny net."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

import mindspore as ms
import numpy as np
import pytest
from tqdm import tqdm

from conftest import ROOT, TINY_CFG, one_line_error, run_script
from dataset import pipeline
from net.deeplabv2_mindspore import build_model
from utils.checkpoint import read_checkpoint
from engine.trainer import Trainer


def teacher_args(data_cfg, out_dir, mix, *opts):
    return ['--mix', mix, '--cfg', TINY_CFG, data_cfg, '--out_dir', out_dir,
            '--opts', 'TRAIN.EVAL_EVERY=0', *opts]


def read_log(out_dir):
    with open(os.path.join(out_dir, 'log.jsonl')) as f:
        return [json.loads(line) for line in f]


@pytest.mark.e2e
@pytest.mark.parametrize('mix', ['region', 'sample'])
def test_teacher_lowers_the_loss(generated, tmp_path, mix):
    _, data_cfg = generated
    out = str(tmp_path / mix)
    result = run_script('train_teacher.py', *teacher_args(
        data_cfg, out, mix, 'TRAIN.EARLY_STOP=40', 'TRAIN.MAX_ITERS=40', 'TRAIN.LOG_EVERY=1',
        'TRAIN.SAVE_PRED_EVERY=20'))
    assert result.returncode == 0, result.stderr[-3000:]
    *records, timing = read_log(out)
    assert [r['iteration'] for r in records] == list(range(1, 41))
    # the last record says where the time went, the first (compiling) step alone
    assert timing['iteration'] == 40 and set(timing['seconds']) == {
        'first_step', 'steps', 'validation', 'checkpoints'}
    assert timing['seconds']['first_step'] > 0 and 'first step (compiling)' in result.stdout
    losses = [r['loss'] for r in records]
    assert np.mean(losses[-8:]) < 0.7 * np.mean(losses[:8]), losses
    terms = {'region': {'loss_seg_mix_main', 'loss_seg_mix_aux'},
             'sample': {'loss_seg_src_main', 'loss_seg_trg_main'}}[mix]
    assert terms <= set(records[0])
    assert all(0.0 <= r['data_wait'] < 1.0 for r in records)
    assert os.path.isfile(os.path.join(out, 'final.ckpt'))
    assert os.path.isfile(os.path.join(out, 'config.yaml'))


def test_learning_rates_of_both_groups(tiny_cfg, tmp_path):
    tiny_cfg.TRAIN.LEARNING_RATE, tiny_cfg.TRAIN.MAX_ITERS = 1e-3, 100
    net = build_model(tiny_cfg)
    trainer = Trainer(tiny_cfg, net, [], {}, pipeline.labeled_sample, str(tmp_path), 'test')
    for iteration in (0, 10, 50, 99):
        backbone, heads = trainer.learning_rates(iteration)
        expected = 1e-3 * (1 - iteration / 100) ** 0.9
        assert backbone == pytest.approx(expected, rel=1e-5)
        assert heads == pytest.approx(10 * expected, rel=1e-5)


def test_loss_parts_ask_for_columns_by_name(tiny_cfg, tmp_path):
    from engine.trainer import LossPart
    from utils.errors import ConfigError
    net = build_model(tiny_cfg)
    parts = [LossPart(lambda image, label: (image.sum(), ()), ('image', 'label'), ()),
             LossPart(lambda image: (image.sum(), ()), ('image_unl',), ())]
    with pytest.raises(ConfigError, match=r"\['image_unl'\]; the samples have \['image', "
                                           r"'label'\]"):
        Trainer(tiny_cfg, net, parts, {}, pipeline.labeled_sample, str(tmp_path), 'test')


    def label_mean(label, image):  # the columns in another order than the builder's
        return net(image)[1].mean() * 0 + label.astype(ms.float32).mean(), (image.max(),)

    trainer = Trainer(tiny_cfg, net, [LossPart(label_mean, ('label', 'image'), ('top',))], {},
                      pipeline.labeled_sample, str(tmp_path), 'test')
    assert trainer.term_names == ('top',)
    image = ms.Tensor(np.full((1, 3, 64, 128), 0.5, np.float32))
    label = ms.Tensor(np.full((1, 64, 128), 3, np.int32))
    loss, (top,), finite = trainer.train_step(image, label)
    assert float(loss.asnumpy()) == 3.0 and float(top.asnumpy()) == 0.5 and finite


def final_params(out_dir):
    params = read_checkpoint(os.path.join(out_dir, 'final.ckpt'))
    return {k: v.asnumpy() for k, v in params.items() if not k.startswith('meta.')}


@pytest.mark.e2e
def test_killed_run_resumes_to_the_same_weights(generated, tmp_path):
    _, data_cfg = generated
    opts = ['TRAIN.EARLY_STOP=16', 'TRAIN.MAX_ITERS=16', 'TRAIN.SAVE_PRED_EVERY=4',
            'TRAIN.LOG_EVERY=4']
    straight = str(tmp_path / 'straight')
    assert run_script('train_teacher.py', *teacher_args(data_cfg, straight, 'region',
                                                        *opts)).returncode == 0
    killed = str(tmp_path / 'killed')
    args = teacher_args(data_cfg, killed, 'region', *opts)
    proc = subprocess.Popen([sys.executable, 'train_teacher.py', *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = os.path.join(killed, 'checkpoints', 'iter_000004.ckpt')
    deadline = time.time() + 300
    while not os.path.isfile(first) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not os.path.isfile(os.path.join(killed, 'final.ckpt')), 'killed too late'
    # whatever was on disk at the kill is whole: every checkpoint reads
    for path in glob.glob(os.path.join(killed, 'checkpoints', 'iter_*.ckpt')):
        read_checkpoint(path)
    # resumed with MindSpore's own number of operator threads (the config's: 1) and its
    # operators sent ahead (the config's: LAUNCH_BLOCKING): settings a resume may change,
    # since they change no number
    resumed = run_script('train_teacher.py', *args, 'CPU_THREADS=0', 'LAUNCH_BLOCKING=False')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed from' in resumed.stdout
    a, b = final_params(straight), final_params(killed)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert [r['iteration'] for r in read_log(killed) if 'loss' in r] == [4, 8, 12, 16]
    assert not glob.glob(os.path.join(killed, 'checkpoints', '.*'))


@pytest.mark.e2e
def test_corrupt_newest_checkpoint_falls_back(generated, tmp_path):
    _, data_cfg = generated
    out = str(tmp_path / 'run')
    args = teacher_args(data_cfg, out, 'target', 'TRAIN.EARLY_STOP=10', 'TRAIN.MAX_ITERS=20',
                        'TRAIN.SAVE_PRED_EVERY=5', 'TRAIN.KEEP_CHECKPOINTS=2')
    assert run_script('train_teacher.py', *args).returncode == 0
    ckpts = sorted(os.listdir(os.path.join(out, 'checkpoints')))
    assert ckpts == ['iter_000005.ckpt', 'iter_000010.ckpt']
    os.remove(os.path.join(out, 'final.ckpt'))  # as if killed before it was written
    with open(os.path.join(out, 'checkpoints', 'iter_000010.ckpt'), 'r+b') as f:
        f.truncate(1000)
    result = run_script('train_teacher.py', *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'iter_000010.ckpt' in result.stdout and 'falling back' in result.stdout
    assert 'resumed from' in result.stdout and 'iteration 5' in result.stdout
    assert int(read_checkpoint(os.path.join(out, 'final.ckpt'))['meta.iteration']) == 10


def test_bad_inputs_fail_before_training(generated, tmp_path):
    root, data_cfg = generated
    out = str(tmp_path / 'bad')
    one_line_error(run_script('train_teacher.py', *teacher_args(data_cfg, out, 'region'),
                              '--restore_from', str(tmp_path / 'imagenet.ckpt')), 'imagenet.ckpt')
    bad_list = tmp_path / 'labeled.txt'
    bad_list.write_text('aachen/aachen_999999_000019_leftImg8bit.png\n')
    one_line_error(run_script('train_teacher.py', *teacher_args(data_cfg, out, 'region'),
                              '--labeled_list', str(bad_list)), 'aachen_999999_000019')
    blocker = tmp_path / 'file'
    blocker.write_text('')
    one_line_error(run_script('train_teacher.py',
                              *teacher_args(data_cfg, str(blocker / 'out'), 'region')),
                   str(blocker))
    assert not os.path.exists(os.path.join(out, 'log.jsonl'))


def test_multi_device_recipe(tiny_cfg):
    """same_steps keeps the paper's step counts on N devices; same_images divides them."""
    from engine.trainer import schedule_for_devices
    tiny_cfg.TRAIN.MAX_ITERS, tiny_cfg.TRAIN.EARLY_STOP = 250000, 120000
    tiny_cfg.TRAIN.SAVE_PRED_EVERY, tiny_cfg.TRAIN.EVAL_EVERY = 2000, 0
    assert schedule_for_devices(tiny_cfg, 1) == (tiny_cfg, None)
    same, note = schedule_for_devices(tiny_cfg, 8)
    assert same.TRAIN.EARLY_STOP == 120000 and 'same_steps' in note and '120000 steps' in note
    tiny_cfg.TRAIN.MULTI_DEVICE = 'same_images'
    fewer, note = schedule_for_devices(tiny_cfg, 8)
    assert (fewer.TRAIN.MAX_ITERS, fewer.TRAIN.EARLY_STOP, fewer.TRAIN.SAVE_PRED_EVERY,
            fewer.TRAIN.EVAL_EVERY) == (31250, 15000, 250, 0)
    assert '15000 steps' in note and tiny_cfg.TRAIN.EARLY_STOP == 120000  # not changed in place


def test_labeled_list_is_the_d_t_everything_reads(generated, labeled_4, tmp_path):
    """--labeled_list sets DATA_LIST_TARGET_LABELED: D_U less D_T leaves out the D_T in use
    (with the generated data's default D_T, every train image, nothing would be left)."""
    _, data_cfg = generated
    out = tmp_path / 'rl'
    result = run_script('train_teacher.py', *teacher_args(
        data_cfg, out, 'region', 'TRAIN.EARLY_STOP=1', 'TRAIN.MAX_ITERS=1',
        'EXCLUDE_LABELED_FROM_UNLABELED=True'), '--labeled_list', labeled_4)
    assert result.returncode == 0, result.stderr[-3000:]
    import yaml
    written = yaml.safe_load((out / 'config.yaml').read_text())
    assert written['DATA_LIST_TARGET_LABELED'] == str(labeled_4)


REUSE_SCRIPT = '''
import json, os, shutil, sys
import mindspore as ms
from config import get_cfg
from engine import compiled_steps
from net.deeplabv2_mindspore import build_model
from utils.checkpoint import save_checkpoint
import train_teacher
tiny, data_cfg, out = sys.argv[1:]
cfg = get_cfg([tiny, data_cfg], ['MODE=GRAPH', 'TRAIN.JIT_STEP=on', 'TRAIN.EARLY_STOP=4',
                                 'TRAIN.MAX_ITERS=4', 'TRAIN.SAVE_PRED_EVERY=2',
                                 'TRAIN.EVAL_EVERY=2'])
ms.set_seed(7)   # initial weights other than the random ones the step is compiled ahead with
cfg.TRAIN.RESTORE_FROM = os.path.join(out, 'init.ckpt')
save_checkpoint(cfg.TRAIN.RESTORE_FROM, build_model(cfg))
key = compiled_steps.compiled_step_key(cfg, 'teacher_rl')   # as self_train.py keeps it
compiled_steps.compile_ahead(key, cfg, train_teacher.stage_trainer, 'region')
ahead = os.path.join(out, 'ahead')
compiled_steps.with_kept_step(key, train_teacher.train, cfg, 'region', ahead)
compiled_steps._KEPT.clear()
new = os.path.join(out, 'new')
compiled_steps.with_kept_step(key, train_teacher.train, cfg, 'region', new)
# A kill after the checkpoint at step 2: the stage resumes from it on the kept step.
shutil.copy(os.path.join(new, 'final.ckpt'), os.path.join(out, 'first_final.ckpt'))
os.remove(os.path.join(new, 'final.ckpt'))
os.remove(os.path.join(new, 'checkpoints', 'iter_000004.ckpt'))
compiled_steps.with_kept_step(key, train_teacher.train, cfg, 'region', new)
'''


@pytest.mark.e2e
def test_a_kept_step_trains_as_a_new_one(generated, tmp_path):
    """In graph mode with ms.jit (whose step keeps the tensors it was compiled with), a stage
    on a step compiled ahead with other weights, and a stage resumed on a kept step, end bit
    for bit where a stage on a newly compiled step ends (engine/compiled_steps.py)."""
    _, data_cfg = generated
    result = subprocess.run([sys.executable, '-c', REUSE_SCRIPT, TINY_CFG, data_cfg,
                             str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count('the training step was compiled before in this process') == 2
    assert result.stdout.count('compiling the training step') == 1
    assert 'resumed from' in result.stdout
    for found, expected in (('ahead/final.ckpt', 'first_final.ckpt'),
                            ('new/final.ckpt', 'first_final.ckpt'),
                            ('ahead/best.ckpt', 'new/best.ckpt')):
        found, expected = (read_checkpoint(str(tmp_path / p)) for p in (found, expected))
        names = {k for k in expected if not k.startswith('meta.')}
        assert names and names == {k for k in found if not k.startswith('meta.')}
        for name in names:
            np.testing.assert_array_equal(found[name].asnumpy(), expected[name].asnumpy(),
                                          err_msg=name)


def test_a_diverging_run_stops_at_its_first_non_finite_loss(generated, tiny_cfg, tmp_path):
    # LEARNING_RATE 1e30 once trained to NaN weights, exit 0.
    from utils.checkpoint import load_net_checkpoint
    _, data_cfg = generated
    out = tmp_path / 'diverged'
    result = run_script('train_teacher.py', *teacher_args(
        data_cfg, str(out), 'target', 'TRAIN.LEARNING_RATE=1e30', 'TRAIN.EARLY_STOP=6',
        'TRAIN.MAX_ITERS=6', 'TRAIN.SAVE_PRED_EVERY=1'))
    one_line_error(result, '[target_only] the', 'TRAIN.LEARNING_RATE 1e+30')
    assert not (out / 'final.ckpt').exists()
    saved = sorted(glob.glob(str(out / 'checkpoints' / 'iter_*.ckpt')))
    assert saved and f'the last finite checkpoint is {saved[-1]}' in result.stderr
    assert f'not finite at iteration {len(saved) + 1}:' in result.stderr
    for path in saved:                  # every one written is finite (or this would raise)
        load_net_checkpoint(build_model(tiny_cfg), path)


def test_a_loss_scaler_skips_steps_but_not_a_run_of_them(tiny_cfg, tmp_path, monkeypatch):
    """With a loss scaler (AMP) a step whose gradients overflow is skipped: the first steps
    here, while the scale comes down from 2**16, are no error; SKIPPED_STEPS_LIMIT in a row
    (the weights gone non-finite) are."""
    from engine import trainer as trainer_module
    from engine.trainer import LossPart
    from utils.device import setup_device, setup_device_for
    from utils.errors import TrainingError
    monkeypatch.setattr(trainer_module, 'SKIPPED_STEPS_LIMIT', 3)
    tiny_cfg.TRAIN.AMP_LEVEL = 'O2'
    batch = {'image': np.full((1, 3, 64, 128), 0.5, np.float32),
             'label': np.full((1, 64, 128), 3, np.int32)}

    def trainer(learning_rate, out):
        tiny_cfg.TRAIN.LEARNING_RATE = learning_rate
        ms.set_seed(0)
        net = build_model(tiny_cfg)

        def mean_logit(image, label):
            return net(image)[1].mean(), ()
        made = Trainer(tiny_cfg, net, [LossPart(mean_logit, ('image', 'label'), ())], {},
                       pipeline.labeled_sample, str(out), 'test')
        step, made.finite = made.train_step, []

        def recorded(*inputs):
            outputs = step(*inputs)
            made.finite.append(bool(outputs[2].asnumpy()))
            return outputs
        made.train_step = recorded
        return made

    def train(made, steps):
        return made.train_steps(0, steps, iter([batch] * steps), tqdm(disable=True))

    setup_device_for(tiny_cfg)          # PyNative: float16 on CPU does not compile here
    try:
        good = trainer(1e-3, tmp_path / 'good')
        train(good, 5)
        assert not good.finite[0] and good.finite[-1]
        diverged = trainer(1e30, tmp_path / 'diverged')
        with pytest.raises(TrainingError, match=r'\[test\] the loss is not finite at '
                                                r'iteration \d+ \(3 steps in a row'):
            train(diverged, 20)
        assert diverged.finite[-3:] == [False] * 3 and True in diverged.finite
    finally:
        setup_device('CPU', 'GRAPH', cpu_threads=1)     # the other tests' (conftest.py)
