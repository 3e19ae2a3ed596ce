"""This run's results beside the paper's: Table 1 (GTA5) or Table 2 (SYNTHIA), the best round
per label budget with the baselines, and, for GTA5, Table 4 (every round's teachers and
student).

    python scripts/paper_table.py --source gta --exp_root experiments [--budgets 100 200] \
        [--splits 0 1 2] [--seeds 1234 1]

Reads the results.json of every run, EXP_ROOT/{gta,synthia}2cityscapes_N[_splitK][_seedS]
(written by self_train.py; config.run_folder_name; with --baselines it holds the target-only
and source-only models too), and writes EXP_ROOT/table_{gta,synthia}.md. With one run per
budget a cell reads `ours (paper, ours - paper)`; with several (labeled splits x seeds) `mean ±
std (n=runs found) (paper, mean - paper)`, and the round column lists the runs' best rounds.
Then DDM's difference from each baseline, paired per run (the runs of one split and seed share
their labeled images): mean [95% t-interval] (n), beside the paper's difference. A value not
run yet shows `--`.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import get_cfg, run_folder_name  # noqa: E402
from dataset.pipeline import MIXINGS  # noqa: E402
from dataset.subsets import SPLIT_SEEDS  # noqa: E402
from utils.serialization import atomic_write_text  # noqa: E402
from utils.statistics import difference, interval, paired_interval, summary  # noqa: E402

BUDGETS = (100, 200, 500, 1000, 2975)
METRIC = {'gta': 'mIoU-19', 'synthia': 'mIoU-13'}
TABLE = {'gta': 1, 'synthia': 2}
# The paper's Tables 1 (GTA5) and 2 (SYNTHIA): DDM's best round, and "supervised DeepLab-v2"
# on the labeled images alone. (The released MindSpore README, research/cv/DDM in
# mindspore-ai/models, gives DDM's GTA5 row to two decimals: 61.15 60.46 64.25 66.55 69.77.)
PAPER_DDM = {'gta': {100: 61.2, 200: 60.5, 500: 64.3, 1000: 66.6, 2975: 69.8},
             'synthia': {100: 68.4, 200: 69.8, 500: 71.7, 1000: 74.2, 2975: 77.2}}
PAPER_TARGET_ONLY = {'gta': {100: 41.9, 200: 47.7, 500: 55.5, 1000: 58.6, 2975: 65.3},
                     'synthia': {100: 53.0, 200: 58.9, 500: 61.0, 1000: 67.5, 2975: 72.2}}
# The models DDM is set against, each a column of Table 1 and a paired difference DDM - it:
# (its key in results.json's 'baselines', its title, the paper's values per source or None).
BASELINES = (
    ('target_only', 'target-only', PAPER_TARGET_ONLY),
    ('source_only', 'source-only', None),
    # The paper's SSDA Baseline, AdaptSeg with D_T's labels (train_teacher.py --mix adaptseg).
    # Its values in Tables 1 and 2 are not given here: no source of them could be cited.
    ('adaptseg', 'Baseline', None),
)
# Table 4, GTA5 -> Cityscapes: per round, (region-level teacher, sample-level teacher, student).
PAPER_ROUNDS = {
    100: [(53.5, 53.9, 57.1), (59.6, 57.8, 59.8), (59.9, 59.7, 61.0), (60.4, 59.3, 61.2)],
    200: [(56.6, 54.4, 58.3), (59.2, 57.3, 60.2), (59.8, 58.9, 60.3), (59.1, 58.5, 60.5)],
    500: [(61.7, 58.4, 62.5), (62.7, 61.0, 63.7), (63.1, 61.1, 64.1), (63.6, 61.4, 64.3)],
    1000: [(65.4, 61.7, 65.5), (65.3, 63.1, 66.0), (65.4, 63.7, 66.6), (64.7, 63.3, 66.0)],
    2975: [(68.2, 65.8, 69.8)],
}
MODELS = (MIXINGS['region'].stage, MIXINGS['sample'].stage, 'student')  # the paper's
CONFIG_SEED = get_cfg().TRAIN.RANDOM_SEED  # a run's seed when self_train.py had no --seed


def read_results(exp_root, source, budget, split=0, seed=CONFIG_SEED):
    """A run's results.json, or None before it finished."""
    path = os.path.join(exp_root, run_folder_name(source, budget, split, seed), 'results.json')
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


def paper_value(paper, source, budget):
    """The paper's value of a row (None for a row or budget it does not give)."""
    return paper[source].get(budget) if paper else None


def cell(values, paper):
    """One run's value, or the mean ± std of several runs' (the n found), beside the paper's."""
    if len(values) == 1:
        ours = values[0]
        text = None if ours is None else f'{ours:.2f}'
    else:
        s = summary(values)
        ours = s and s['mean']
        text = s and (f"{s['mean']:.2f} (n=1)" if s['n'] == 1 else
                      f"{s['mean']:.2f} ± {s['std']:.2f} (n={s['n']})")
    if ours is None:
        return '--' if paper is None else f'-- ({paper})'
    if paper is None:
        return text
    return f'{text} ({paper}, {ours - paper:+.2f})'


def best_rounds(runs):
    """DDM in each run: (the student's best mIoU, its round), None before a student."""
    return [best_round(results) for results in runs]


def baseline_of(runs, key):
    return [((results or {}).get('baselines') or {}).get(key) for results in runs]


def table_1(source, runs):
    """`runs`: {budget: [results.json or None, one per split and seed]}."""
    lines = [f'Table {TABLE[source]}, {METRIC[source]}: DDM (best round) and the baselines, '
             'ours (paper, difference)', '',
             '| labeled images | DDM | round | '
             + ' | '.join(title for _, title, _ in BASELINES) + ' |',
             '|---' * (len(BASELINES) + 3) + '|']
    for n, results in runs.items():
        found = best_rounds(results)
        rounds = sorted({best[1] for best in found if best})
        lines.append(f'| {n} | {cell([best and best[0] for best in found], PAPER_DDM[source][n])}'
                     f' | {", ".join(map(str, rounds)) or "--"} | '
                     + ' | '.join(cell(baseline_of(results, key), paper_value(paper, source, n))
                                  for key, _, paper in BASELINES) + ' |')
    return lines


def paired_cell(differences, paper):
    """DDM - a baseline: one run's difference, or the mean [95% interval] (n) of several."""
    found = [d for d in differences if d is not None]
    m = paired_interval(found)
    if m:
        ours = f"{interval(m)} (n={m['n']})"
    elif found:
        ours = f'{found[0]:+.2f}' + (' (n=1)' if len(differences) > 1 else '')
    else:
        ours = '--'
    return ours if paper is None else f'{ours} ({paper:+.1f})'


def differences(source, runs):
    lines = ['DDM - each baseline, paired per run: ours (paper)', '',
             '| labeled images | ' + ' | '.join(f'DDM - {title}' for _, title, _ in BASELINES)
             + ' |', '|---' * (len(BASELINES) + 1) + '|']
    for n, results in runs.items():
        ddm = [best and best[0] for best in best_rounds(results)]
        cells = []
        for key, _, paper in BASELINES:
            paper_difference = difference(PAPER_DDM[source][n], paper_value(paper, source, n))
            cells.append(paired_cell(list(map(difference, ddm, baseline_of(results, key))),
                                     paper_difference))
        lines.append(f'| {n} | ' + ' | '.join(cells) + ' |')
    return lines


def table_4(runs):
    lines = ['Table 4, mIoU-19 per round: ours (paper, difference)', '',
             '| labeled images | round | region-level teacher | sample-level teacher | student |',
             '|---|---|---|---|---|']
    for n, results in runs.items():
        ours = [{row['round']: row for row in (res or {}).get('rounds', [])} for res in results]
        for r, paper in enumerate(PAPER_ROUNDS[n], start=1):
            lines.append(f'| {n} | {r} | ' + ' | '.join(
                cell([rows.get(r, {}).get(model) for rows in ours], value)
                for model, value in zip(MODELS, paper)) + ' |')
    return lines


def table(source, exp_root, budgets, splits=(0,), seeds=(CONFIG_SEED,)):
    runs = {n: [read_results(exp_root, source, n, k, s) for k in splits for s in seeds]
            for n in budgets}
    title = 'GTA5 -> Cityscapes' if source == 'gta' else 'SYNTHIA -> Cityscapes'
    if len(splits) * len(seeds) > 1:
        title += (f', {len(splits) * len(seeds)} runs per budget: labeled splits '
                  f'{", ".join(map(str, splits))} x seeds {", ".join(map(str, seeds))}')
    lines = [title, ''] + table_1(source, runs) + [''] + differences(source, runs)
    if source == 'gta':  # the paper gives per-round values for GTA5 only
        lines += [''] + table_4(runs)
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--source', choices=('gta', 'synthia'), required=True)
    parser.add_argument('--exp_root', default='experiments')
    parser.add_argument('--budgets', type=int, nargs='+', default=list(BUDGETS),
                        choices=BUDGETS)
    parser.add_argument('--splits', type=int, nargs='+', default=[0],
                        choices=range(len(SPLIT_SEEDS)),
                        help='the labeled splits run (self_train.py --split; default: 0)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[CONFIG_SEED],
                        help='the seeds run (self_train.py --seed; default: the config\'s)')
    args = parser.parse_args()
    text = table(args.source, args.exp_root, args.budgets, args.splits, args.seeds)
    atomic_write_text(os.path.join(args.exp_root, f'table_{args.source}.md'), text)
    print(text)


if __name__ == '__main__':
    main()
