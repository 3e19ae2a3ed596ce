"""The paper's experiments as commands: seed statistics, ..."""
import json
import os
import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import seed_statistics  # noqa: E402


def fake_results(student, rl, sl, target_only, adaptseg=20.0):
    return {'metric': 'mIoU-19', 'baselines': {'target_only': target_only, 'source_only': 10.0,
                                               'adaptseg': adaptseg},
            'rounds': [{'round': 1, 'teacher_rl': rl, 'teacher_sl': sl, 'ensemble': rl,
                        'student': student}]}


def test_seed_statistics_mean_std_and_paired_intervals():
    results = [fake_results(30.0, 29.0, 31.0, 25.0, 21.0), fake_results(32.0, 30.0, 31.5, 26.0),
               fake_results(31.0, 29.5, 30.0, 27.0, 19.0)]
    table = seed_statistics.aggregate(results)
    entry = table['rounds'][0]
    assert entry['student'] == {'mean': 31.0, 'std': 1.0, 'n': 3}
    over_rl = entry['student_margin']['teacher_rl']      # differences 1.0, 2.0, 1.5
    half = 4.302652729749462 * 0.5 / np.sqrt(3)           # t(0.975, 2) * std / sqrt(3)
    assert over_rl['mean'] == pytest.approx(1.5)
    assert (over_rl['low'], over_rl['high']) == pytest.approx((1.5 - half, 1.5 + half))
    over_sl = entry['student_margin']['teacher_sl']      # -1.0, 0.5, 1.0: holds 0
    assert over_sl['low'] < 0 < over_sl['high']
    assert table['baselines']['target_only']['mean'] == pytest.approx(26.0)
    # the paper's Baseline (AdaptSeg) is a column of its own, with its mean ± std, and the
    # student's paired margin over it
    assert table['baselines']['adaptseg'] == pytest.approx({'mean': 20.0, 'std': 1.0, 'n': 3})
    over_adaptseg = entry['student_margin']['adaptseg']  # differences 9.0, 12.0, 12.0
    assert over_adaptseg['mean'] == pytest.approx(11.0) and over_adaptseg['low'] > 0
    runs = [(0, seed, res) for seed, res in zip((1, 2, 3), results)]
    text = seed_statistics.markdown(table, runs, 'mIoU-19')
    assert 'mean ± std over seeds 1, 2, 3' in text
    assert '| 1 | 29.50 ± 0.50 |' in text and '31.00 ± 1.00 |' in text
    assert f'| 1 | +1.50 [{1.5 - half:+.2f}, {1.5 + half:+.2f}] |' in text
    assert 'over target-only | over the AdaptSeg Baseline |' in text
    assert '| 0 | 2 | 1 | 30.00 | 31.50 | 30.00 | 32.00 | 26.00 | 10.00 | 20.00 |' in text
    assert [line for line in text.splitlines() if line.startswith('| adaptseg baseline |')
            and line.endswith(' 20.00 ± 1.00 |')]


def test_seed_statistics_over_splits_and_seeds(tmp_path, monkeypatch):
    """Splits x seeds: a run each, split K > 0 with --split K in a folder of its own (split 0
    keeps seed_S), one table over all of them."""
    calls = []

    def fake_run_pipeline(pipeline_args, exp_dir, *opts):
        calls.append((pipeline_args, os.path.basename(exp_dir), opts))
        return fake_results(30.0 + len(calls), 29.0, 31.0, 25.0)

    monkeypatch.setattr(seed_statistics, 'run_pipeline', fake_run_pipeline)
    args = seed_statistics.parse_args(['--splits', '0', '2', '--seeds', '1234', '1',
                                       '--exp_root', str(tmp_path), '--', '--num_labeled', '10'])
    seed_statistics.main(args)
    assert calls == [(['--num_labeled', '10'], 'seed_1234', ('TRAIN.RANDOM_SEED=1234',)),
                     (['--num_labeled', '10'], 'seed_1', ('TRAIN.RANDOM_SEED=1',)),
                     (['--num_labeled', '10', '--split', '2'], 'seed_1234_split2',
                      ('TRAIN.RANDOM_SEED=1234',)),
                     (['--num_labeled', '10', '--split', '2'], 'seed_1_split2',
                      ('TRAIN.RANDOM_SEED=1',))]
    table = json.loads((tmp_path / 'seeds.json').read_text())
    assert table['rounds'][0]['student'] == pytest.approx(
        {'mean': 32.5, 'std': np.std([31, 32, 33, 34], ddof=1), 'n': 4})
    assert [(run['split'], run['seed']) for run in table['runs']] == [
        (0, 1234), (0, 1), (2, 1234), (2, 1)]
    text = (tmp_path / 'seeds.md').read_text()
    assert 'mean ± std over splits 0, 2 x seeds 1234, 1' in text
    assert '| 2 | 1 | 1 | 29.00 | 31.00 | 29.00 | 34.00 | 25.00 | 10.00 | 20.00 |' in text


@pytest.mark.parametrize('argv,needle', [
    (['--seeds', '1'], 'at least two runs'),
    (['--seeds', '1', '1'], '--seeds: a value given twice'),
    (['--seeds', '1', '--splits', '0', '3'], 'invalid choice: 3'),
    (['--seeds', '1', '--splits', '0', '1', '--', '--labeled_list', 'x.txt'], '--num_labeled N'),
    (['--seeds', '1', '2', '--', '--num_labeled', '10', '--split', '1'], '--split is set per run'),
])
def test_seed_statistics_bad_arguments(argv, needle, capsys):
    with pytest.raises(SystemExit) as exit_:
        seed_statistics.parse_args(['--exp_root', 'x'] + argv)
    assert exit_.value.code == 2 and needle in capsys.readouterr().err


@pytest.mark.e2e
def test_the_experiment_commands_end_to_end(generated, labeled_4, tmp_path):
    """Seed statistics over two seeds, then on the first seed's run: the figures and Table 3;
    and Table 5. Tiny stages; the tables' numbers are those of the runs' results. (The
    baselines' columns: test_seed_statistics_mean_std_and_paired_intervals; `--baselines`
    in a pipeline: tests/test_demo.py, tests/test_self_train.py.)"""
    import json
    import subprocess
    from PIL import Image
    from conftest import TINY_CFG
    _, data_cfg = generated
    short = tmp_path / 'short.yaml'
    short.write_text('TRAIN:\n  EARLY_STOP: 2\n  MAX_ITERS: 2\n  SAVE_PRED_EVERY: 2\n'
                     '  EVAL_EVERY: 0\n')
    pipeline = ['--cfg', TINY_CFG, data_cfg, str(short), '--labeled_list', str(labeled_4)]

    def run(script, *args):
        result = subprocess.run([sys.executable, os.path.join('scripts', script), *map(str, args)],
                                cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result.stdout

    seeds = tmp_path / 'seeds'
    run('seed_statistics.py', '--seeds', 1234, 7, '--exp_root', seeds, '--',
        *pipeline, '--rounds', '1')
    table = json.loads((seeds / 'seeds.json').read_text())
    runs = [json.loads((seeds / f'seed_{s}' / 'results.json').read_text()) for s in (1234, 7)]
    students = [r['rounds'][0]['student'] for r in runs]
    assert students[0] != students[1]   # two seeds, two runs
    assert table['rounds'][0]['student']['mean'] == pytest.approx(np.mean(students))
    margin = table['rounds'][0]['student_margin']['teacher_rl']
    assert margin['mean'] == pytest.approx(np.mean(
        [r['rounds'][0]['student'] - r['rounds'][0]['teacher_rl'] for r in runs]))
    assert 'mean ± std over seeds 1234, 7' in (seeds / 'seeds.md').read_text()

    exp = seeds / 'seed_1234'
    run('qualitative_figures.py', '--exp_dir', exp, '--num_images', 2, '--panel_width', 64)
    figure = Image.open(exp / 'figures' / 'round1.png')
    assert figure.size == (6 * 64, 24 + 2 * 32)          # 6 panels, 2 images at 128x64 / 2

    out = run('complementarity.py', '--exp_dir', exp, '--seed', 7)
    table3 = json.loads((exp / 'table3_seed7' / 'table3.json').read_text())
    assert set(table3['scores']) == set(seed_statistics_paper_keys())
    round1 = json.loads((exp / 'results.json').read_text())['rounds'][0]
    assert table3['scores']['RL'] == pytest.approx(round1['teacher_rl'])
    assert table3['scores']['E(RL, SL)'] == pytest.approx(round1['ensemble'])
    assert "| E(RL', SL) |" in out

    table5 = tmp_path / 'table5'
    run('color_transfer_ablation.py', '--exp_root', table5, '--', *pipeline)
    rows = json.loads((table5 / 'table5.json').read_text())
    on = json.loads((table5 / 'color_transfer_on' / 'results.json').read_text())['rounds'][0]
    assert rows['on']['student'] == on['student'] and set(rows) == {'metric', 'on', 'off'}


def seed_statistics_paper_keys():
    import complementarity
    return complementarity.PAPER
