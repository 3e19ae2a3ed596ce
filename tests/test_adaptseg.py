"""The Baseline (train_teacher.py --mix adaptseg): AdaptSeg's discriminators trained in the
stage's own step, beside the segmenter, on the tiny net and generated data."""
import json
import os

import mindspore as ms
import numpy as np
import pytest

from conftest import TINY_CFG, run_script
from config import get_cfg
from dataset.pipeline import iterate, train_loader
from engine.trainer import Trainer, new_net
from train_teacher import data_streams, loss_parts
from utils.checkpoint import DISCRIMINATOR_PREFIX, read_checkpoint


def first_batch(data_cfg):
    cfg = get_cfg([TINY_CFG, data_cfg])
    streams, build = data_streams(cfg, 'adaptseg')
    return next(iterate(train_loader(streams, build, 1, 0, 1, cfg.TRAIN.RANDOM_SEED)))


def one_step(data_cfg, batch, *opts, parts_kept=None):
    """(the net's weights, the discriminators' weights) before and after one step on
    `batch` (of the loss parts [:parts_kept] if given)."""
    cfg = get_cfg([TINY_CFG, data_cfg], ['TRAIN.EVAL_EVERY=0', *opts])
    streams, build = data_streams(cfg, 'adaptseg')
    net = new_net(cfg, '')
    parts = loss_parts(cfg, net, 'adaptseg')
    discriminators = parts[-1].optimizer.parameters
    trainer = Trainer(cfg, net, parts[:parts_kept], streams, build, None, 'adaptseg')

    def weights():
        return ({p.name: p.asnumpy().copy() for p in net.trainable_params()},
                {p.name: p.asnumpy().copy() for p in discriminators})

    before = weights()
    trainer.net.set_train(True)
    loss, terms, finite = trainer.train_step(*[ms.Tensor(v) for v in batch.values()])
    assert finite.asnumpy() and len(terms) == len(trainer.term_names)
    return before, weights()


def moved(before, after):
    return [name for name in before if not np.array_equal(before[name], after[name])]


@pytest.mark.e2e
def test_each_update_moves_only_its_own_parameters(generated, pynative):
    """One step with and without the adversarial terms (LAMBDA_ADV_* 0): the discriminators'
    step is the same (the segmenter's adversarial gradients do not reach them); the
    segmenter's without them is the step of the two cross-entropies alone (the
    discriminators' loss does not reach it), and they change it."""
    _, data_cfg = generated
    batch = first_batch(data_cfg)
    (net0, d0), (net1, d1) = one_step(data_cfg, batch)
    assert sorted(moved(d0, d1)) == sorted(d0) and len(d0) == 20
    assert len(moved(net0, net1)) > 0.9 * len(net0)
    zero = ('TRAIN.LAMBDA_ADV_MAIN=0.0', 'TRAIN.LAMBDA_ADV_AUX=0.0')
    _, (without, d_without) = one_step(data_cfg, batch, *zero)
    assert moved(d1, d_without) == []
    assert moved(net1, without)
    _, (cross_entropies, _) = one_step(data_cfg, batch, *zero, parts_kept=2)
    assert moved(without, cross_entropies) == []


@pytest.mark.e2e
def test_a_resumed_run_ends_with_the_same_weights(generated, tmp_path):
    """4 steps straight, then the same run resumed from its step-2 checkpoint: the same
    segmenter, discriminators and Adam state; final.ckpt reads as any model's."""
    _, data_cfg = generated
    out = tmp_path / 'run'
    args = ['--mix', 'adaptseg', '--cfg', TINY_CFG, data_cfg, '--out_dir', str(out), '--opts',
            'TRAIN.EVAL_EVERY=0', 'TRAIN.EARLY_STOP=4', 'TRAIN.MAX_ITERS=10',
            'TRAIN.SAVE_PRED_EVERY=2']
    first = run_script('train_teacher.py', *args)
    assert first.returncode == 0, first.stderr[-3000:]
    straight = read_checkpoint(str(out / 'final.ckpt'))
    os.replace(out / 'final.ckpt', tmp_path / 'straight.ckpt')
    os.remove(out / 'checkpoints' / 'iter_000004.ckpt')
    resumed = run_script('train_teacher.py', *args)
    assert resumed.returncode == 0 and 'resumed from' in resumed.stdout, resumed.stderr[-3000:]
    again = read_checkpoint(str(out / 'final.ckpt'))
    names = [k for k in straight if not k.startswith('meta.')]
    assert set(names) == {k for k in again if not k.startswith('meta.')}
    assert sum(k.startswith(DISCRIMINATOR_PREFIX) for k in names) == 63  # 20 weights, 40 moments
    for name in names:
        np.testing.assert_array_equal(straight[name].asnumpy(), again[name].asnumpy(),
                                      err_msg=name)
    # eval.py reads it as any model: the discriminators are training state
    output = tmp_path / 'eval.json'
    evaluated = run_script('eval.py', '--data_path', os.path.join(generated[0], 'cityscapes'),
                           '--pretrained', str(out / 'final.ckpt'), '--cfg', TINY_CFG, data_cfg,
                           '--output', str(output))
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert json.loads(output.read_text())['num_images'] == 4
