"""Real data parallelism: 2 processes under msrun on 127.0.0.1 against one process."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, TINY_CFG

WORKER = os.path.join(ROOT, 'tests', 'dp_worker.py')


@pytest.mark.e2e
def test_two_ranks_equal_one_process_on_the_combined_batches(generated, tmp_path):
    _, data_cfg = generated
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA='AVX2',
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    msrun = shutil.which('msrun', path=env['PATH'])
    assert msrun, 'msrun comes with mindspore: it must be on PATH next to python'
    subprocess.run([msrun, '--worker_num=2', '--local_worker_num=2', '--master_addr=127.0.0.1',
                    '--master_port=8131', f'--log_dir={tmp_path / "logs"}', '--join=True',
                    WORKER, str(tmp_path), '1', TINY_CFG, data_cfg],
                   cwd=ROOT, env=env, check=True, timeout=600, capture_output=True)
    subprocess.run([sys.executable, WORKER, str(tmp_path), '2', TINY_CFG, data_cfg],
                   cwd=ROOT, env=env, check=True, timeout=600, capture_output=True)

    rank0, rank1, single = (np.load(tmp_path / f'params_{tag}.npz')
                            for tag in ('rank0_of2', 'rank1_of2', 'rank0_of1'))
    assert set(rank0.files) == set(single.files) and len(rank0.files) > 100
    for name in rank0.files:
        np.testing.assert_array_equal(rank0[name], rank1[name], err_msg=name)
        np.testing.assert_allclose(rank0[name], single[name], atol=1e-6, rtol=1e-5,
                                   err_msg=name)
    # training moved the parameters (head biases start at 0): not two untouched inits
    assert np.abs(rank0['layer6.conv2d_list.0.bias']).max() > 1e-4

    items = {tag: json.loads((tmp_path / f'items_{tag}.json').read_text())
             for tag in ('rank0_of2', 'rank1_of2', 'rank0_of1')}
    shard0, shard1 = items['rank0_of2'][:4], items['rank1_of2'][:4]
    assert not set(shard0) & set(shard1)                    # disjoint
    assert sorted(shard0 + shard1) == sorted(items['rank0_of1'][:8])   # complete
    # the single process's batch k holds rank 0's and rank 1's sample k
    assert items['rank0_of1'][:8] == [v for pair in zip(shard0, shard1) for v in pair]

    # pseudo labels split across the ranks equal those of one process, byte for byte
    one, two = tmp_path / 'pseudo_1', tmp_path / 'pseudo_2'
    assert json.loads((one / 'stats.json').read_text()) == json.loads(
        (two / 'stats.json').read_text())
    names = (one / 'list.txt').read_text().split()
    assert names == (two / 'list.txt').read_text().split() and len(names) == 12
    for name in names:
        assert (one / 'labels' / name).read_bytes() == (two / 'labels' / name).read_bytes()
