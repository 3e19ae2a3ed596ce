"""scripts/reproduce_table.sh: its arguments, the commands it runs, the table it writes."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, TINY_CFG
from utils.checkpoint import read_checkpoint


def run(*args, **env):
    return subprocess.run(['bash', 'scripts/reproduce_table.sh', *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **env))


def test_bad_arguments_and_help():
    assert run('--help').returncode == 0
    bad = run('foo')
    assert bad.returncode == 2 and "got 'foo'" in bad.stderr
    bad = run('gta', '300')
    assert bad.returncode == 2 and "got '300'" in bad.stderr


def test_runs_each_budget_and_writes_the_table(tmp_path):
    exp = tmp_path / 'exp'
    done = exp / 'gta2cityscapes_100'
    done.mkdir(parents=True)
    (done / 'results.json').write_text(json.dumps({'metric': 'mIoU-19', 'rounds': [
        {'round': 1, 'teacher_rl': 50.0, 'teacher_sl': 51.0, 'student': 55.5},
        {'round': 2, 'teacher_rl': 56.0, 'teacher_sl': 55.0, 'student': 58.25}],
        'baselines': {'target_only': 40.0, 'source_only': 35.5}}))
    result = run('gta', '100', '200', '--', '--opts', 'TRAIN.EARLY_STOP=10',
                 DDM_DRY_RUN='1', EXP_ROOT=str(exp), DDM_DEVICE_IDS='0,1,2,3,4,5,6,7')
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines()
                if line.startswith('[reproduce_table] budget')]
    # every budget in one command: their steps are one set over the devices' workers
    assert commands == [
        '[reproduce_table] budgets 100 200: python self_train.py --cfg '
        f'configs/gta2cityscapes.yaml --num_labeled 100 200 --exp_root {exp} --baselines '
        '--opts TRAIN.EARLY_STOP=10 --opts PIPELINE_DEVICE_IDS=[0,1,2,3,4,5,6,7]']
    # data parallelism: one budget after another over every device
    launcher = 'bash scripts/run_distribute_train_ascend.sh pipeline CFG msrun'
    parallel = run('gta', '100', '200', DDM_DRY_RUN='1', EXP_ROOT=str(tmp_path / 'other'),
                   DDM_PIPELINE_CMD=launcher)
    commands = [line for line in parallel.stdout.splitlines()
                if line.startswith('[reproduce_table] budget')]
    assert len(commands) == 2
    assert (f'{launcher} --num_labeled 200 --exp_dir {tmp_path}/other/gta2cityscapes_200 '
            '--baselines --opts TRAIN.MULTI_DEVICE=same_steps') in commands[1]
    assert 'multi-device recipe: TRAIN.MULTI_DEVICE=same_steps' in parallel.stdout
    other = run('gta', '100', DDM_DRY_RUN='1', EXP_ROOT=str(tmp_path / 'other'),
                DDM_MULTI_DEVICE='same_images', DDM_PIPELINE_CMD=launcher)
    assert '--opts TRAIN.MULTI_DEVICE=same_images' in other.stdout
    for bad in (dict(DDM_MULTI_DEVICE='half'), dict(DDM_DEVICE_IDS='0;1')):
        refused = run('gta', '100', DDM_DRY_RUN='1', EXP_ROOT=str(tmp_path / 'other'), **bad)
        assert refused.returncode == 2 and f"got '{list(bad.values())[0]}'" in refused.stderr
    table = (exp / 'table_gta.md').read_text()
    # Table 1: the best round and the baselines beside the paper's, with the differences
    assert '| 100 | 58.25 (61.2, -2.95) | 2 | 40.00 (41.9, -1.90) | 35.50 |' in table
    assert '| 200 | -- (60.5) | -- | -- (47.7) | -- |' in table
    # Table 4: every round of the paper, ours where it ran
    assert '| 100 | 1 | 50.00 (53.5, -3.50) | 51.00 (53.9, -2.90) | 55.50 (57.1, -1.60) |' in table
    assert '| 100 | 4 | -- (60.4) | -- (59.3) | -- (61.2) |' in table
    assert table.count('| 200 |') == 1 + 4


def test_synthia_table_has_table_1_only(tmp_path):
    import sys
    result = subprocess.run([sys.executable, 'scripts/paper_table.py', '--source', 'synthia',
                             '--exp_root', str(tmp_path), '--budgets', '2975'], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '| 2975 | -- (77.2) | -- | -- (72.2) | -- |' in result.stdout
    assert 'mIoU-13' in result.stdout and 'Table 4' not in result.stdout


@pytest.mark.e2e
def test_two_budgets_over_two_devices_equal_them_one_after_another(generated, tmp_path):
    """The table's trainings spread over workers with a device each (DDM_DEVICE_IDS): each
    step records the device it ran on, and every weight, confusion matrix and table cell
    equals those of the same budgets run in one process, one step after another."""
    _, data_cfg = generated
    lists = tmp_path / 'lists'
    lists.mkdir()
    train = Path(generated[0], 'cityscapes', 'cityscapes_list', 'train.txt').read_text().split()
    (lists / 'train.txt').write_text('\n'.join(train) + '\n')
    for budget, count in (('100', 4), ('200', 6)):  # small D_T under the budgets' names
        (lists / f'train_labeled_{budget}.txt').write_text('\n'.join(train[:count]) + '\n')
    overlay = tmp_path / 'lists.yaml'
    overlay.write_text(f'DATA_LIST_TARGET: {lists / "train.txt"}\n'
                       'TRAIN:\n  EARLY_STOP: 2\n  MAX_ITERS: 4\n  SAVE_PRED_EVERY: 2\n'
                       '  EVAL_EVERY: 0\n')
    args = ['gta', '100', '200', '--', '--cfg', TINY_CFG, data_cfg, str(overlay), '--rounds', '1']
    spread, serial = tmp_path / 'spread', tmp_path / 'serial'
    for exp_root, env in ((spread, {'DDM_DEVICE_IDS': '3,5'}), (serial, {})):
        result = run(*args, EXP_ROOT=str(exp_root), **env)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]

    trained = sorted(p.relative_to(serial) for p in serial.rglob('final.ckpt'))
    assert len(trained) == 2 * 5  # per budget: two teachers, the student, two baselines
    for budget in ('gta2cityscapes_100', 'gta2cityscapes_200'):
        manifest = json.loads((spread / budget / 'manifest.json').read_text())
        devices = {name: step['device'] for name, step in manifest['steps'].items()}
        assert set(devices.values()) == {'CPU 3', 'CPU 5'}, devices
        started = {e['step']: e['device'] for e in manifest['events'] if e['event'] == 'started'}
        assert started == devices  # each step ran on the device of the worker it went to
        single = json.loads((serial / budget / 'manifest.json').read_text())
        assert {step['device'] for step in single['steps'].values()} == {'CPU 0'}
    for path in trained:
        a, b = read_checkpoint(str(spread / path)), read_checkpoint(str(serial / path))
        for name in (k for k in a if not k.startswith('meta.')):
            np.testing.assert_array_equal(a[name].asnumpy(), b[name].asnumpy(),
                                          err_msg=f'{path}: {name}')
    for path in sorted(p.relative_to(serial) for p in serial.rglob('eval_*.json')):
        a, b = (json.loads((root / path).read_text()) for root in (spread, serial))
        assert a['confusion_matrix'] == b['confusion_matrix'], path
    assert (spread / 'table_gta.md').read_text() == (serial / 'table_gta.md').read_text()
