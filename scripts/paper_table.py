"""This run's results beside the paper's: Table 1 (the best round per label budget, with the
target-only baseline) and, for GTA5, Table 4 (every round's teachers and student).

    python scripts/paper_table.py --source gta --exp_root experiments [--budgets 100 200]

Reads EXP_ROOT/{gta,synthia}2cityscapes_N/results.json (written by self_train.py; with
--baselines it holds the target-only and source-only models too) and writes
EXP_ROOT/table_{gta,synthia}.md. A cell reads `ours (paper, ours - paper)`; a value not
run yet shows `--`.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from utils.serialization import atomic_write_text  # noqa: E402

BUDGETS = (100, 200, 500, 1000, 2975)
METRIC = {'gta': 'mIoU-19', 'synthia': 'mIoU-13'}
# Table 1: DDM's best round, and "supervised DeepLab-v2" on the labeled images alone.
PAPER_DDM = {'gta': {100: 61.2, 200: 60.5, 500: 64.3, 1000: 66.6, 2975: 69.8},
             'synthia': {100: 68.4, 200: 69.8, 500: 71.7, 1000: 74.2, 2975: 77.2}}
PAPER_TARGET_ONLY = {'gta': {100: 41.9, 200: 47.7, 500: 55.5, 1000: 58.6, 2975: 65.3},
                     'synthia': {100: 53.0, 200: 58.9, 500: 61.0, 1000: 67.5, 2975: 72.2}}
# Table 4, GTA5 -> Cityscapes: per round, (region-level teacher, sample-level teacher, student).
PAPER_ROUNDS = {
    100: [(53.5, 53.9, 57.1), (59.6, 57.8, 59.8), (59.9, 59.7, 61.0), (60.4, 59.3, 61.2)],
    200: [(56.6, 54.4, 58.3), (59.2, 57.3, 60.2), (59.8, 58.9, 60.3), (59.1, 58.5, 60.5)],
    500: [(61.7, 58.4, 62.5), (62.7, 61.0, 63.7), (63.1, 61.1, 64.1), (63.6, 61.4, 64.3)],
    1000: [(65.4, 61.7, 65.5), (65.3, 63.1, 66.0), (65.4, 63.7, 66.6), (64.7, 63.3, 66.0)],
    2975: [(68.2, 65.8, 69.8)],
}
MODELS = ('teacher_rl', 'teacher_sl', 'student')


def read_results(exp_root, source, budget):
    """A budget's results.json, or None before its run finished."""
    path = os.path.join(exp_root, f'{source}2cityscapes_{budget}', 'results.json')
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def best_round(results):
    """(the student's best mIoU over the rounds, that round), or None."""
    rounds = [row for row in (results or {}).get('rounds', []) if row.get('student') is not None]
    if not rounds:
        return None
    best = max(rounds, key=lambda row: row['student'])
    return best['student'], best['round']


def cell(ours, paper):
    if ours is None:
        return '--' if paper is None else f'-- ({paper})'
    if paper is None:
        return f'{ours:.2f}'
    return f'{ours:.2f} ({paper}, {ours - paper:+.2f})'


def table_1(source, runs):
    lines = [f'Table 1, {METRIC[source]}: DDM (best round) and the baselines, '
             'ours (paper, difference)', '',
             '| labeled images | DDM | round | target-only | source-only |', '|---|---|---|---|---|']
    for n, results in runs.items():
        found = best_round(results)
        baselines = (results or {}).get('baselines') or {}
        lines.append(f'| {n} | {cell(found and found[0], PAPER_DDM[source][n])} | '
                     f'{found[1] if found else "--"} | '
                     f'{cell(baselines.get("target_only"), PAPER_TARGET_ONLY[source][n])} | '
                     f'{cell(baselines.get("source_only"), None)} |')
    return lines


def table_4(runs):
    lines = ['Table 4, mIoU-19 per round: ours (paper, difference)', '',
             '| labeled images | round | region-level teacher | sample-level teacher | student |',
             '|---|---|---|---|---|']
    for n, results in runs.items():
        ours = {row['round']: row for row in (results or {}).get('rounds', [])}
        for r, paper in enumerate(PAPER_ROUNDS[n], start=1):
            row = ours.get(r, {})
            lines.append(f'| {n} | {r} | ' + ' | '.join(
                cell(row.get(model), value) for model, value in zip(MODELS, paper)) + ' |')
    return lines


def table(source, exp_root, budgets):
    runs = {n: read_results(exp_root, source, n) for n in budgets}
    title = 'GTA5 -> Cityscapes' if source == 'gta' else 'SYNTHIA -> Cityscapes'
    lines = [title, ''] + table_1(source, runs)
    if source == 'gta':  # the paper gives per-round values for GTA5 only
        lines += [''] + table_4(runs)
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--source', choices=('gta', 'synthia'), required=True)
    parser.add_argument('--exp_root', default='experiments')
    parser.add_argument('--budgets', type=int, nargs='+', default=list(BUDGETS),
                        choices=BUDGETS)
    args = parser.parse_args()
    text = table(args.source, args.exp_root, args.budgets)
    atomic_write_text(os.path.join(args.exp_root, f'table_{args.source}.md'), text)
    print(text)


if __name__ == '__main__':
    main()
