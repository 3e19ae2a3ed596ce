"""This run's best-round student mIoU per label budget, beside the paper's (DESIGN.md §1).

    python scripts/paper_table.py --source gta --exp_root experiments [--budgets 100 200]

Reads EXP_ROOT/{gta,synthia}2cityscapes_N/results.json (written by self_train.py) and
writes EXP_ROOT/table_{gta,synthia}.md; a budget not run yet shows `--`.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from utils.serialization import atomic_write_text  # noqa: E402

BUDGETS = (100, 200, 500, 1000, 2975)
PAPER = {'gta': {100: 61.2, 200: 60.5, 500: 64.3, 1000: 66.6, 2975: 69.8},       # mIoU-19
         'synthia': {100: 68.4, 200: 69.8, 500: 71.7, 1000: 74.2, 2975: 77.2}}  # mIoU-13
METRIC = {'gta': 'mIoU-19', 'synthia': 'mIoU-13'}


def best_student(results_path):
    """(best student mIoU over the rounds, its round), or None before the run finished."""
    if not os.path.isfile(results_path):
        return None
    with open(results_path) as f:
        rounds = json.load(f)['rounds']
    best = max(rounds, key=lambda row: row['student'] if row['student'] is not None else -1)
    return best['student'], best['round']


def table(source, exp_root, budgets):
    lines = ['GTA5 -> Cityscapes' if source == 'gta' else 'SYNTHIA -> Cityscapes',
             '', f'| labeled images | paper {METRIC[source]} | this run (best round) |',
             '|---|---|---|']
    for n in budgets:
        found = best_student(os.path.join(exp_root, f'{source}2cityscapes_{n}', 'results.json'))
        ours = '--' if found is None else f'{found[0]:.2f} (round {found[1]})'
        lines.append(f'| {n} | {PAPER[source][n]} | {ours} |')
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
