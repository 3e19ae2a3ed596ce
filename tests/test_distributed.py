"""Real data parallelism: 2 processes under msrun on 127.0.0.1 against one process."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, TINY_CFG
from utils.checkpoint import read_checkpoint

WORKER = os.path.join(ROOT, 'tests', 'dp_worker.py')


@pytest.mark.e2e
def test_two_ranks_equal_one_process_on_the_combined_batches(generated, tmp_path):
    """A teacher's stage on target images, then the AdaptSeg Baseline's stage (its
    discriminators' gradients averaged over the ranks too), on 2 msrun ranks of batch 1 and
    in one process of batch 2 (tests/dp_worker.py: one launch of each for both stages)."""
    _, data_cfg = generated
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA='AVX2',
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    msrun = shutil.which('msrun', path=env['PATH'])
    assert msrun, 'msrun comes with mindspore: it must be on PATH next to python'
    subprocess.run([msrun, '--worker_num=2', '--local_worker_num=2', '--master_addr=127.0.0.1',
                    '--master_port=8131', f'--log_dir={tmp_path / "logs"}', '--join=True',
                    WORKER, str(tmp_path), '1', 'target,adaptseg', TINY_CFG, data_cfg],
                   cwd=ROOT, env=env, check=True, timeout=600, capture_output=True)
    subprocess.run([sys.executable, WORKER, str(tmp_path), '2', 'target,adaptseg', TINY_CFG,
                    data_cfg], cwd=ROOT, env=env, check=True, timeout=600, capture_output=True)
    check_target_stage(tmp_path / 'target')
    check_adaptseg_stage(tmp_path / 'adaptseg')


def check_target_stage(out):
    rank0, rank1, single = (np.load(out / f'params_{tag}.npz')
                            for tag in ('rank0_of2', 'rank1_of2', 'rank0_of1'))
    assert set(rank0.files) == set(single.files) and len(rank0.files) > 100
    for name in rank0.files:
        np.testing.assert_array_equal(rank0[name], rank1[name], err_msg=name)
        np.testing.assert_allclose(rank0[name], single[name], atol=1e-6, rtol=1e-5,
                                   err_msg=name)
    # training moved the parameters (head biases start at 0): not two untouched inits
    assert np.abs(rank0['layer6.conv2d_list.0.bias']).max() > 1e-4

    items = {tag: json.loads((out / f'items_{tag}.json').read_text())
             for tag in ('rank0_of2', 'rank1_of2', 'rank0_of1')}
    shard0, shard1 = items['rank0_of2'][:4], items['rank1_of2'][:4]
    assert not set(shard0) & set(shard1)                    # disjoint
    assert sorted(shard0 + shard1) == sorted(items['rank0_of1'][:8])   # complete
    # the single process's batch k holds rank 0's and rank 1's sample k
    assert items['rank0_of1'][:8] == [v for pair in zip(shard0, shard1) for v in pair]

    # pseudo labels split across the ranks equal those of one process, byte for byte
    one, two = out / 'pseudo_1', out / 'pseudo_2'
    assert json.loads((one / 'stats.json').read_text()) == json.loads(
        (two / 'stats.json').read_text())
    names = (one / 'list.txt').read_text().split()
    assert names == (two / 'list.txt').read_text().split() and len(names) == 12
    for name in names:
        assert (one / 'labels' / name).read_bytes() == (two / 'labels' / name).read_bytes()


def check_adaptseg_stage(out):
    """The segmenter and the discriminators end as one process's on the combined batches."""
    two, one = (read_checkpoint(str(out / run / 'final.ckpt')) for run in ('run_2', 'run_1'))
    names = [k for k in two if not k.startswith(('meta.', 'optimizer.'))]
    assert sum(k.startswith('discriminator.') for k in names) == 63 and set(names) <= set(one)
    # One step (tests/dp_worker.py): the discriminators' Adam moments are their averaged
    # gradients; Adam's first step moves each weight by about LEARNING_RATE_D whatever the
    # size of its gradient, so where one is near 0 its rounding may flip that step.
    for name in names:
        a, b = two[name].asnumpy(), one[name].asnumpy()
        if name.startswith('discriminator.') and '.moment' not in name:
            assert np.isclose(a, b, atol=1e-6, rtol=0).mean() > 0.99, name
        else:
            np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-4, err_msg=name)
    assert np.abs(two['discriminator.moment1.main.8.bias'].asnumpy()).max() > 1e-6  # trained


@pytest.mark.e2e
def test_the_pipeline_under_msrun_equals_one_process(generated, labeled_4, tmp_path):
    """Two rounds of the pipeline on 2 msrun workers (the launcher users run on 8 devices), in a
    fresh --exp_dir, with the devices' settings but float32 (O2's float16 gradients round
    otherwise on two half batches than on one whole): the same weights as one process on the
    combined batches, byte-identical pseudo labels, the same confusion matrices; rank 0 alone
    evaluates."""
    _, data_cfg = generated
    settings = ['MODE=GRAPH', 'TRAIN.JIT_STEP=on', 'TRAIN.AMP_LEVEL=O0', 'MODEL.FUSED_ASPP=off',
                'TRAIN.FREEZE_BN=True', 'TRAIN.EARLY_STOP=2', 'TRAIN.MAX_ITERS=4',
                'TRAIN.SAVE_PRED_EVERY=2', 'TRAIN.EVAL_EVERY=0', 'LAUNCH_BLOCKING=False']
    args = ['--labeled_list', labeled_4, '--rounds', '2']
    two, one = tmp_path / 'two_ranks', tmp_path / 'one_process'
    env = dict(os.environ, DDM_LOG_DIR=str(tmp_path / 'logs'))
    launched = subprocess.run(
        ['bash', 'scripts/run_distribute_train_cpu.sh', 'pipeline', f'{TINY_CFG},{data_cfg}',
         '2', '--master_port', '8133', *map(str, args), '--exp_dir', str(two),
         '--opts', *settings], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert launched.returncode == 0, launched.stdout[-3000:] + launched.stderr[-3000:]
    single = subprocess.run(
        [sys.executable, 'self_train.py', '--cfg', TINY_CFG, data_cfg, *map(str, args),
         '--exp_dir', str(one), '--opts', *settings, 'TRAIN.BATCH_SIZE_SOURCE=2',
         'TRAIN.BATCH_SIZE_TARGET=2'], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert single.returncode == 0, single.stderr[-3000:]

    for r in (1, 2):
        for model in ('teacher_rl', 'teacher_sl', 'student'):
            a, b = (read_checkpoint(str(run / f'round{r}' / model / 'final.ckpt'))
                    for run in (two, one))
            weights = [k for k in a if not k.startswith(('meta.', 'optimizer.'))]
            assert len(weights) > 100 and set(weights) <= set(b)
            for name in weights:
                np.testing.assert_allclose(a[name].asnumpy(), b[name].asnumpy(), atol=1e-6,
                                           rtol=0, err_msg=f'round{r}/{model}: {name}')
        for column in ('teacher_rl', 'teacher_sl', 'ensemble', 'student'):
            a, b = (json.loads((run / f'round{r}' / f'eval_{column}.json').read_text())
                    for run in (two, one))
            assert a['confusion_matrix'] == b['confusion_matrix'], (r, column)
    labels = sorted((one / 'round1' / 'pseudo' / 'labels').rglob('*.png'))
    assert len(labels) == 12
    for path in labels:
        twin = two / path.relative_to(one)
        assert twin.read_bytes() == path.read_bytes(), path
    assert (two / 'results.md').read_text() == (one / 'results.md').read_text()
    # rank 0 alone evaluates (and logs): rank 1's log shows no evaluation
    rank0, rank1 = ((tmp_path / 'logs' / f'worker_{r}.log').read_text() for r in (0, 1))
    assert rank0.count('mIoU-19') >= 8 and 'mIoU' not in rank1
