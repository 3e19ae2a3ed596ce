"""Seed statistics: the whole pipeline over K seeds (and labeled splits), every cell of its
per-round table as mean ± std, and the student's margin over each teacher, over target-only
and over the AdaptSeg Baseline with a 95% interval.

    python scripts/seed_statistics.py --seeds 1234 1 2 --exp_root experiments/seeds -- \
        --cfg configs/gta2cityscapes.yaml --num_labeled 100 --baselines
    python scripts/seed_statistics.py --splits 0 1 2 --seeds 1234 1 --exp_root ... -- \
        --cfg ... --num_labeled 100 --baselines

Seed S of split K runs `self_train.py ARGS --split K --exp_dir EXP_ROOT/seed_S_splitK --opts
TRAIN.RANDOM_SEED=S` (split 0, the released draw: no --split, into EXP_ROOT/seed_S), one run
after another, each resumable on its own (a finished run is skipped by its manifest); then the
tables are written to EXP_ROOT/seeds.md and seeds.json. A margin is paired per run (the
student and its teachers of one run share their labeled images and data draws): mean ±
t(0.975, n-1) · std / sqrt(n) over the n runs. A margin whose interval holds 0 is no result at
n runs.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from dataset.subsets import SPLIT_SEEDS  # noqa: E402
from self_train import table_columns  # noqa: E402
from utils.serialization import atomic_write_json, atomic_write_text  # noqa: E402
from utils.statistics import difference, interval, mean_std, paired_interval, summary  # noqa: E402

BASELINES = ('target_only', 'source_only', 'adaptseg')
# The baselines the student's margin is taken over: the supervised model on the same labels,
# and the paper's SSDA Baseline (AdaptSeg), where the runs trained it.
MARGIN_BASELINES = {'target_only': 'target-only', 'adaptseg': 'the AdaptSeg Baseline'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', required=True)
    parser.add_argument('--splits', type=int, nargs='+', default=[0],
                        choices=range(len(SPLIT_SEEDS)),
                        help='labeled splits of the budget (default: 0, the released draw; '
                             'others need --num_labeled in the pipeline\'s arguments)')
    parser.add_argument('--exp_root', required=True, help='one exp_dir per run goes here')
    parser.add_argument('pipeline_args', nargs=argparse.REMAINDER,
                        help='-- then the arguments of self_train.py (not --exp_dir, --split, '
                             '--seed)')
    args = parser.parse_args(argv)
    args.pipeline_args = [a for a in args.pipeline_args if a != '--']
    for name, values in (('--seeds', args.seeds), ('--splits', args.splits)):
        if len(set(values)) != len(values):
            parser.error(f'{name}: a value given twice')
    if len(args.seeds) * len(args.splits) < 2:
        parser.error('at least two runs are needed: several --seeds, or several --splits')
    for option in ('--exp_dir', '--split', '--seed'):
        if option in args.pipeline_args:
            parser.error(f'{option} is set per run (EXP_ROOT/seed_S_splitK)')
    if args.splits != [0] and '--num_labeled' not in args.pipeline_args:
        parser.error('--splits picks a budget\'s labeled lists: the pipeline needs '
                     '--num_labeled N')
    return args


def run_folder(split, seed):
    """A run's folder in EXP_ROOT: seed_S for the released split, seed_S_splitK else."""
    return f'seed_{seed}' + (f'_split{split}' if split else '')


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


def aggregate(results):
    """Per-round mean ± std of every column, the baselines', and the student's margins."""
    rounds = sorted({row['round'] for res in results for row in res['rounds']})
    by_round = {r: [next((row for row in res['rounds'] if row['round'] == r), {})
                    for res in results] for r in rounds}
    columns = table_columns(results[0])
    table = {'rounds': [], 'baselines': {}}
    for r, rows in by_round.items():
        entry = {'round': r}
        for column in columns:
            entry[column] = summary([row.get(column) for row in rows])
        against = {**{teacher: [row.get(teacher) for row in rows]
                      for teacher in teachers_of(columns)},
                   **{name: [(res.get('baselines') or {}).get(name) for res in results]
                      for name in MARGIN_BASELINES}}
        entry['student_margin'] = {
            name: paired_interval([difference(row.get('student'), other)
                                   for row, other in zip(rows, values)])
            for name, values in against.items()}
        table['rounds'].append(entry)
    for name in BASELINES:
        table['baselines'][name] = summary([(res.get('baselines') or {}).get(name)
                                            for res in results])
    return table


def teachers_of(columns):
    """The teachers among the per-round table's columns."""
    return [column for column in columns if column not in ('ensemble', 'student')]


def runs_text(splits, seeds):
    """Which runs a table is over: 'seeds 1234, 1' or 'splits 0, 1 x seeds 1234, 1'."""
    seeds_text = f'seeds {", ".join(map(str, seeds))}'
    return seeds_text if splits == [0] else f'splits {", ".join(map(str, splits))} x {seeds_text}'


def markdown(table, runs, metric):
    """The mean ± std table, the margins, and each run's own values (`runs`: (split, seed,
    its results.json) each)."""
    splits = list(dict.fromkeys(split for split, _, _ in runs))
    seeds = list(dict.fromkeys(seed for _, seed, _ in runs))
    columns = table_columns(runs[0][2])
    margins = {**{t: columns[t] for t in teachers_of(columns)},
               **{name: title for name, title in MARGIN_BASELINES.items()
                  if any(entry['student_margin'][name] for entry in table['rounds'])}}
    lines = [f'{metric}, mean ± std over {runs_text(splits, seeds)}', '',
             '| round | ' + ' | '.join(columns.values()) + ' |', '|---' * (len(columns) + 1) + '|']
    for entry in table['rounds']:
        lines.append(f"| {entry['round']} | "
                     + ' | '.join(mean_std(entry[c]) for c in columns) + ' |')
    for name, s in table['baselines'].items():
        if s is not None:
            lines.append(f"| {name.replace('_', '-')} baseline |" + ' |' * (len(columns) - 1)
                         + f' {mean_std(s)} |')
    lines += ['', "The student's margin, paired per run: mean [95% interval]", '',
              '| round | ' + ' | '.join(f'over {title}' for title in margins.values()) + ' |',
              '|---' * (len(margins) + 1) + '|']
    for entry in table['rounds']:
        lines.append(f"| {entry['round']} | " + ' | '.join(
            interval(entry['student_margin'][m]) for m in margins) + ' |')
    lines += ['', 'Each run', '',
              '| split | seed | round | ' + ' | '.join(columns.values()) + ' | '
              + ' | '.join(name.replace('_', '-') for name in BASELINES) + ' |',
              '|---' * (len(columns) + len(BASELINES) + 3) + '|']
    for split, seed, results in runs:
        baselines = results.get('baselines') or {}
        for row in results['rounds']:
            lines.append(f"| {split} | {seed} | {row['round']} | "
                         + ' | '.join(number(row.get(c)) for c in columns) + ' | '
                         + ' | '.join(number(baselines.get(b)) for b in BASELINES) + ' |')
    return '\n'.join(lines) + '\n'


def number(value):
    return '--' if value is None else f'{value:.2f}'


def main(args):
    runs = []
    for split in args.splits:
        for seed in args.seeds:
            pipeline_args = args.pipeline_args + (['--split', str(split)] if split else [])
            results = run_pipeline(pipeline_args, os.path.join(args.exp_root,
                                                               run_folder(split, seed)),
                                   f'TRAIN.RANDOM_SEED={seed}')
            runs.append((split, seed, results))
    table = aggregate([results for _, _, results in runs])
    metric = runs[0][2]['metric']
    text = markdown(table, runs, metric)
    atomic_write_json(os.path.join(args.exp_root, 'seeds.json'),
                      {'seeds': args.seeds, 'splits': args.splits, 'metric': metric,
                       'runs': [{'split': split, 'seed': seed,
                                 'exp_dir': os.path.join(args.exp_root, run_folder(split, seed))}
                                for split, seed, _ in runs], **table})
    atomic_write_text(os.path.join(args.exp_root, 'seeds.md'), text)
    print(text)


if __name__ == '__main__':
    main(parse_args())
