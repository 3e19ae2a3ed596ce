"""scripts/reproduce_table.sh: its arguments, the commands it runs, the table it writes."""
import json
import os
import subprocess
import sys
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
    assert (f'{launcher} --num_labeled 200 --exp_root {tmp_path}/other '
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
    assert table.count('| 200 |') == 1 + 1 + 4  # Table 1, DDM - each baseline, Table 4


def test_synthia_table_has_table_2_only(tmp_path):
    result = paper_table('--source', 'synthia', '--exp_root', tmp_path, '--budgets', '2975')
    assert result.returncode == 0, result.stderr
    assert '| 2975 | -- (77.2) | -- | -- (72.2) | -- |' in result.stdout
    assert 'Table 2, mIoU-13' in result.stdout and 'Table 4' not in result.stdout


def paper_table(*args):
    return subprocess.run([sys.executable, 'scripts/paper_table.py', *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def write_results(folder, rounds, target_only=None, source_only=None):
    """A made-up results.json: `rounds` the (region-level, sample-level, student) of each."""
    folder.mkdir(parents=True)
    (folder / 'results.json').write_text(json.dumps({'metric': 'mIoU-19', 'rounds': [
        {'round': r, 'teacher_rl': rl, 'teacher_sl': sl, 'student': st}
        for r, (rl, sl, st) in enumerate(rounds, start=1)],
        'baselines': {'target_only': target_only, 'source_only': source_only}}))


def test_splits_and_seeds_run_in_one_command(tmp_path):
    exp = tmp_path / 'exp'
    result = run('gta', '100', '200', DDM_DRY_RUN='1', EXP_ROOT=str(exp), DDM_SPLITS='0,1,2',
                 DDM_SEEDS='1234,1')
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if line.startswith('[reproduce')]
    assert commands == [
        '[reproduce_table] budgets 100 200: python self_train.py --cfg '
        f'configs/gta2cityscapes.yaml --num_labeled 100 200 --split 0 1 2 --seed 1234 1 '
        f'--exp_root {exp} --baselines']
    assert '6 runs per budget: labeled splits 0, 1, 2 x seeds 1234, 1' in result.stdout
    # data parallelism: a command per budget, split and seed
    launcher = 'bash scripts/run_distribute_train_ascend.sh pipeline CFG msrun'
    parallel = run('gta', '100', '200', DDM_DRY_RUN='1', EXP_ROOT=str(exp), DDM_SPLITS='0,2',
                   DDM_SEEDS='7', DDM_PIPELINE_CMD=launcher)
    commands = [line for line in parallel.stdout.splitlines() if line.startswith('[reproduce')]
    assert len(commands) == 1 + 2 * 2
    assert commands[-1] == (f'[reproduce_table] budget 200 split 2 seed 7: {launcher} '
                            f'--num_labeled 200 --split 2 --seed 7 --exp_root {exp} '
                            '--baselines --opts TRAIN.MULTI_DEVICE=same_steps')
    for bad in (dict(DDM_SPLITS='0;1'), dict(DDM_SEEDS='1,')):
        refused = run('gta', '100', DDM_DRY_RUN='1', EXP_ROOT=str(exp), **bad)
        assert refused.returncode == 2 and f"got '{list(bad.values())[0]}'" in refused.stderr


def test_several_runs_give_mean_std_and_paired_intervals(tmp_path):
    """Four made-up runs of budget 100 (splits 0, 1 x seeds 1234, 1) and one of budget 200:
    every cell is the mean ± std over the runs found, with their number, and DDM - target-only
    is paired per run with a 95% t-interval."""
    students = {(0, 1234): 58.0, (0, 1): 60.0, (1, 1234): 55.0, (1, 1): 57.0}
    targets = {(0, 1234): 40.0, (0, 1): 41.0, (1, 1234): 38.0, (1, 1): 39.0}
    folders = {(0, 1234): 'gta2cityscapes_100', (0, 1): 'gta2cityscapes_100_seed1',
               (1, 1234): 'gta2cityscapes_100_split1', (1, 1): 'gta2cityscapes_100_split1_seed1'}
    for run_id, folder in folders.items():
        # the student's best round is the last but in one run
        last = students[run_id] - (3.0 if run_id == (1, 1) else -1.0)
        write_results(tmp_path / folder, [(50.0, 51.0, students[run_id]), (52.0, 53.0, last)],
                      targets[run_id], 30.0)
    write_results(tmp_path / 'gta2cityscapes_200_split1_seed1', [(1.0, 2.0, 3.0)], 1.0)
    result = paper_table('--source', 'gta', '--exp_root', tmp_path, '--budgets', 100, 200,
                         '--splits', 0, 1, '--seeds', 1234, 1)
    assert result.returncode == 0, result.stderr
    table = (tmp_path / 'table_gta.md').read_text()
    assert result.stdout == table + '\n'
    # best rounds 59, 61, 56, 57: mean 58.25, std 2.217
    best = np.array([59.0, 61.0, 56.0, 57.0])
    ddm = f'{best.mean():.2f} ± {best.std(ddof=1):.2f} (n=4) (61.2, {best.mean() - 61.2:+.2f})'
    assert f'| 100 | {ddm} | 1, 2 | 39.50 ± 1.29 (n=4) (41.9, -2.40) | 30.00 ± 0.00 (n=4) |' \
        in table
    assert '| 200 | 3.00 (n=1) (60.5, -57.50) | 1 | 1.00 (n=1) (47.7, -46.70) | -- |' in table
    # DDM - target-only per run: 19, 20, 18, 18; t(0.975, 3) = 3.182
    d = best - np.array([40.0, 41.0, 38.0, 39.0])
    half = 3.182446305284263 * d.std(ddof=1) / 2
    assert (f'| 100 | {d.mean():+.2f} [{d.mean() - half:+.2f}, {d.mean() + half:+.2f}] (n=4) '
            '(+19.3) |') in table
    assert '| 200 | +2.00 (n=1) (+12.8) | -- |' in table
    # Table 4: every round's cell over the runs
    assert '| 100 | 2 | 52.00 ± 0.00 (n=4) (59.6, -7.60) | 53.00 ± 0.00 (n=4) (57.8, -4.80) |' \
        in table


def test_a_baseline_is_one_entry(tmp_path, monkeypatch):
    """A baseline of paper_table.BASELINES (the AdaptSeg Baseline: here given paper values)
    is a column of Table 1 beside the paper's values and a paired difference DDM - it."""
    sys.path.insert(0, os.path.join(ROOT, 'scripts'))
    import paper_table as module
    paper = {'gta': {100: 50.0}}
    assert [key for key, _, _ in module.BASELINES][-1] == 'adaptseg'
    monkeypatch.setattr(module, 'BASELINES',
                        module.BASELINES[:-1] + (('adaptseg', 'Baseline', paper),))
    for folder, student, adaptseg in (('gta2cityscapes_100', 58.0, 55.0),
                                      ('gta2cityscapes_100_seed1', 60.0, 56.0)):
        write_results(tmp_path / folder, [(50.0, 51.0, student)], 40.0)
        results = json.loads((tmp_path / folder / 'results.json').read_text())
        results['baselines']['adaptseg'] = adaptseg
        (tmp_path / folder / 'results.json').write_text(json.dumps(results))
    text = module.table('gta', str(tmp_path), [100], seeds=(1234, 1))
    assert '| labeled images | DDM | round | target-only | source-only | Baseline |' in text
    assert '| 55.50 ± 0.71 (n=2) (50.0, +5.50) |' in text
    half = 12.706204736174707 * np.std([3.0, 4.0], ddof=1) / np.sqrt(2)
    assert f'| {3.5:+.2f} [{3.5 - half:+.2f}, {3.5 + half:+.2f}] (n=2) (+11.2) |' in text


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
    assert len(trained) == 2 * 6  # per budget: two teachers, the student, three baselines
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
