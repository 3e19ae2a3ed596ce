"""Seed statistics: the whole pipeline over K seeds, every cell of its per-round table as
mean ± std, and the student's margin over each teacher and over target-only with a 95% interval.

    python scripts/seed_statistics.py --seeds 1234 1 2 --exp_root experiments/seeds -- \
        --cfg configs/gta2cityscapes.yaml --num_labeled 100 --baselines

Seed S runs `self_train.py ARGS --exp_dir EXP_ROOT/seed_S --opts TRAIN.RANDOM_SEED=S` (each
resumable on its own; a finished seed is skipped by its manifest), then the tables are written
to EXP_ROOT/seeds.md and seeds.json. A margin is paired per seed (the student and its
teachers of one seed share their data draws): mean ± t(0.975, K-1) · std / sqrt(K). A margin
whose interval holds 0 is no result at K seeds.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from self_train import COLUMNS  # noqa: E402
from utils.serialization import atomic_write_json, atomic_write_text  # noqa: E402

BASELINES = ('target_only', 'source_only')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', required=True)
    parser.add_argument('--exp_root', required=True, help='one exp_dir per seed goes here')
    parser.add_argument('pipeline_args', nargs=argparse.REMAINDER,
                        help='-- then the arguments of self_train.py (not --exp_dir)')
    args = parser.parse_args(argv)
    args.pipeline_args = [a for a in args.pipeline_args if a != '--']
    if len(set(args.seeds)) != len(args.seeds) or len(args.seeds) < 2:
        parser.error('--seeds needs at least two different seeds')
    if '--exp_dir' in args.pipeline_args:
        parser.error('--exp_dir is set per seed (EXP_ROOT/seed_S)')
    return args


def run_pipeline(pipeline_args, exp_dir, *opts):
    """self_train.py with `pipeline_args` into `exp_dir` (skipping what its manifest finished),
    with the config overrides `opts`; returns its results.json, or exits with its exit code."""
    cmd = [sys.executable, os.path.join(ROOT, 'self_train.py'), *pipeline_args,
           '--exp_dir', exp_dir, '--opts', *opts]
    print(f'[experiments] {" ".join(cmd)}', flush=True)
    code = subprocess.run(cmd).returncode
    if code != 0:
        print(f'error: the pipeline in {exp_dir} failed (see above); the same command resumes '
              'it', file=sys.stderr)
        sys.exit(code)
    with open(os.path.join(exp_dir, 'results.json')) as f:
        return json.load(f)


def summary(values):
    """{'mean', 'std', 'n'} of the non-missing values (sample std), or None."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {'mean': float(np.mean(values)), 'std': std, 'n': len(values)}


def margin(differences):
    """Mean of paired differences with its 95% t-interval: {'mean', 'low', 'high', 'n'}."""
    d = np.array([x for x in differences if x is not None], dtype=np.float64)
    if len(d) < 2:
        return None
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return {'mean': float(d.mean()), 'low': float(d.mean() - half),
            'high': float(d.mean() + half), 'n': int(len(d))}


def diff(a, b):
    return None if a is None or b is None else a - b


def aggregate(results):
    """Per-round mean ± std of every column, the baselines', and the student's margins."""
    rounds = sorted({row['round'] for res in results for row in res['rounds']})
    by_round = {r: [next((row for row in res['rounds'] if row['round'] == r), {})
                    for res in results] for r in rounds}
    table = {'rounds': [], 'baselines': {}}
    for r, rows in by_round.items():
        entry = {'round': r}
        for column in COLUMNS:
            entry[column] = summary([row.get(column) for row in rows])
        against = {'teacher_rl': [row.get('teacher_rl') for row in rows],
                   'teacher_sl': [row.get('teacher_sl') for row in rows],
                   'target_only': [(res.get('baselines') or {}).get('target_only')
                                   for res in results]}
        entry['student_margin'] = {name: margin([diff(row.get('student'), other)
                                                 for row, other in zip(rows, values)])
                                   for name, values in against.items()}
        table['rounds'].append(entry)
    for name in BASELINES:
        table['baselines'][name] = summary([(res.get('baselines') or {}).get(name)
                                            for res in results])
    return table


def mean_std(s):
    return '--' if s is None else f"{s['mean']:.2f} ± {s['std']:.2f}"


def interval(m):
    return '--' if m is None else f"{m['mean']:+.2f} [{m['low']:+.2f}, {m['high']:+.2f}]"


def markdown(table, seeds, metric):
    lines = [f'{metric}, mean ± std over seeds {", ".join(map(str, seeds))}', '',
             '| round | ' + ' | '.join(COLUMNS.values()) + ' |', '|---' * (len(COLUMNS) + 1) + '|']
    for entry in table['rounds']:
        lines.append(f"| {entry['round']} | "
                     + ' | '.join(mean_std(entry[c]) for c in COLUMNS) + ' |')
    for name, s in table['baselines'].items():
        if s is not None:
            lines.append(f"| {name.replace('_', '-')} baseline |" + ' |' * (len(COLUMNS) - 1)
                         + f' {mean_std(s)} |')
    lines += ['', "The student's margin, paired per seed: mean [95% interval]", '',
              '| round | over region-level teacher | over sample-level teacher | '
              'over target-only |', '|---|---|---|---|']
    for entry in table['rounds']:
        m = entry['student_margin']
        lines.append(f"| {entry['round']} | {interval(m['teacher_rl'])} | "
                     f"{interval(m['teacher_sl'])} | {interval(m['target_only'])} |")
    return '\n'.join(lines) + '\n'


def main(args):
    results = [run_pipeline(args.pipeline_args, os.path.join(args.exp_root, f'seed_{seed}'),
                            f'TRAIN.RANDOM_SEED={seed}') for seed in args.seeds]
    table = aggregate(results)
    text = markdown(table, args.seeds, results[0]['metric'])
    atomic_write_json(os.path.join(args.exp_root, 'seeds.json'),
                      {'seeds': args.seeds, 'metric': results[0]['metric'], **table})
    atomic_write_text(os.path.join(args.exp_root, 'seeds.md'), text)
    print(text)


if __name__ == '__main__':
    main(parse_args())
