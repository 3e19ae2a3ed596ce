"""The paper's experiments as commands: seed statistics, ..."""
import os
import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import seed_statistics  # noqa: E402


def fake_results(student, rl, sl, target_only):
    return {'metric': 'mIoU-19', 'baselines': {'target_only': target_only, 'source_only': 10.0},
            'rounds': [{'round': 1, 'teacher_rl': rl, 'teacher_sl': sl, 'ensemble': rl,
                        'student': student}]}


def test_seed_statistics_mean_std_and_paired_intervals():
    results = [fake_results(30.0, 29.0, 31.0, 25.0), fake_results(32.0, 30.0, 31.5, 26.0),
               fake_results(31.0, 29.5, 30.0, 27.0)]
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
    text = seed_statistics.markdown(table, [1, 2, 3], 'mIoU-19')
    assert '| 1 | 29.50 ± 0.50 |' in text and '31.00 ± 1.00 |' in text
    assert f'| 1 | +1.50 [{1.5 - half:+.2f}, {1.5 + half:+.2f}] |' in text
