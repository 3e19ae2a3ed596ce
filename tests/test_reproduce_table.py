"""scripts/reproduce_table.sh: its arguments, the commands it runs, the table it writes."""
import json
import os
import subprocess

from conftest import ROOT


def run(*args, **env):
    return subprocess.run(['bash', 'scripts/reproduce_table.sh', *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
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
                 DDM_DRY_RUN='1', EXP_ROOT=str(exp))
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines()
                if line.startswith('[reproduce_table] budget')]
    assert len(commands) == 2
    assert ('self_train.py --cfg configs/gta2cityscapes.yaml --num_labeled 200 --exp_dir '
            f'{exp}/gta2cityscapes_200 --baselines --opts TRAIN.EARLY_STOP=10 '
            '--opts TRAIN.MULTI_DEVICE=same_steps') in commands[1]
    assert 'multi-device recipe: TRAIN.MULTI_DEVICE=same_steps' in result.stdout
    other = run('gta', '100', DDM_DRY_RUN='1', EXP_ROOT=str(tmp_path / 'other'),
                DDM_MULTI_DEVICE='same_images')
    assert '--opts TRAIN.MULTI_DEVICE=same_images' in other.stdout
    bad = run('gta', '100', DDM_DRY_RUN='1', EXP_ROOT=str(tmp_path / 'other'),
              DDM_MULTI_DEVICE='half')
    assert bad.returncode == 2 and "got 'half'" in bad.stderr
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
