"""Table 5, the colour-transfer ablation: round 1 (both teachers, their ensemble and the
student) with and without TRAIN.COLOR_TRANSFER, in one command.

    python scripts/color_transfer_ablation.py --exp_root experiments/table5 -- \
        --cfg configs/gta2cityscapes.yaml --num_labeled 100

Runs `self_train.py ARGS --rounds 1 --exp_dir EXP_ROOT/color_transfer_{on,off}` with
TRAIN.COLOR_TRANSFER True / False (each resumable), then writes EXP_ROOT/table5.md and .json.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from seed_statistics import run_pipeline  # noqa: E402
from self_train import table_columns  # noqa: E402
from utils.serialization import atomic_write_json, atomic_write_text  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--exp_root', required=True)
    parser.add_argument('pipeline_args', nargs=argparse.REMAINDER,
                        help='-- then the arguments of self_train.py (not --exp_dir, --rounds)')
    args = parser.parse_args(argv)
    args.pipeline_args = [a for a in args.pipeline_args if a != '--']
    for own in ('--exp_dir', '--rounds'):
        if own in args.pipeline_args:
            parser.error(f'{own} is set by this script')
    return args


def main(args):
    rows = {}
    for setting in ('on', 'off'):
        results = run_pipeline(args.pipeline_args + ['--rounds', '1'],
                               os.path.join(args.exp_root, f'color_transfer_{setting}'),
                               f'TRAIN.COLOR_TRANSFER={setting == "on"}')
        rows[setting] = results['rounds'][0]
    metric, columns = results['metric'], table_columns(results)
    lines = [f'Table 5, round 1, {metric}: colour transfer of the source images', '',
             '| colour transfer | ' + ' | '.join(columns.values()) + ' |',
             '|---' * (len(columns) + 1) + '|']
    for setting, row in rows.items():
        lines.append(f'| {setting} | ' + ' | '.join(
            '--' if row.get(c) is None else f'{row[c]:.2f}' for c in columns) + ' |')
    text = '\n'.join(lines) + '\n'
    atomic_write_json(os.path.join(args.exp_root, 'table5.json'), {'metric': metric, **rows})
    atomic_write_text(os.path.join(args.exp_root, 'table5.md'), text)
    print(text)


if __name__ == '__main__':
    main(parse_args())
