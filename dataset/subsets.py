"""Labeled target subsets D_T and the unlabeled pool D_U, written as list files.

The released code drew N labeled Cityscapes train images with the module-level
`random.seed(1234); random.sample(lines, N)`. A private `random.Random(seed)` gives the same
draws without touching global state (tests/test_subsets.py checks the equivalence), and the
lines are written in the sampled order, as the released code used them.

Each budget has three committed splits, drawn by the same rule from the same sorted train list:
split 0 is the released draw (seed 1234), splits 1 and 2 use seeds 1 and 2 (SPLIT_SEEDS). The
split's spread is what the choice of labeled images moves a result by. GTA5 and SYNTHIA share
them: the target is Cityscapes for both. The committed lists are written by

    python -m dataset.subsets --train_list dataset/cityscapes_list/train.txt \\
        --num 100 200 500 1000 2975 --seed 1234 1 2 --out_dir dataset/cityscapes_list
"""
import argparse
import os
import random

from dataset.base_dataset import read_list, write_list
from utils.errors import DataError, run_cli
from utils.labeled_lists import (DEFAULT_SEED, SPLIT_SEEDS,  # noqa: F401 (dataset.subsets.*)
                                 split_filename, subset_filename)


def labeled_subset(train_list_lines, num_labeled, seed=DEFAULT_SEED):
    """Draw `num_labeled` distinct lines from the sorted train list, in sampled order."""
    # Sorting first makes the draw independent of the list file's line order.
    lines = sorted(train_list_lines)
    if not 1 <= num_labeled <= len(lines):
        raise ValueError(f"num_labeled must be in [1, {len(lines)}], got {num_labeled}")
    return random.Random(seed).sample(lines, num_labeled)


def unlabeled_pool(train_lines, labeled_lines, exclude_labeled=False):
    """D_U: the whole train list (the paper's default), or without the labeled images."""
    if not exclude_labeled:
        return list(train_lines)
    labeled = set(labeled_lines)
    return [line for line in train_lines if line not in labeled]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Write labeled-subset list files.")
    parser.add_argument("--train_list", required=True, help="the 2,975-line train list")
    parser.add_argument("--num", type=int, nargs="+", required=True,
                        help="subset sizes, e.g. 100 200 500 1000 2975")
    parser.add_argument("--seed", type=int, nargs="+", default=[DEFAULT_SEED],
                        help="one list per seed and size (default: the released 1234); "
                             "seeds 1 and 2 are splits 1 and 2")
    parser.add_argument("--out_dir", default=None,
                        help="output directory (default: the train list's directory)")
    return parser.parse_args(argv)


def main(args):
    train_lines = read_list(args.train_list)
    for num in args.num:
        if not 1 <= num <= len(train_lines):
            raise DataError(f"--num {num} is outside [1, {len(train_lines)}] for "
                            f"{args.train_list}")
    out_dir = args.out_dir or os.path.dirname(os.path.abspath(args.train_list))
    os.makedirs(out_dir, exist_ok=True)
    for seed in args.seed:
        for num in args.num:
            path = os.path.join(out_dir, subset_filename(num, seed))
            write_list(path, labeled_subset(train_lines, num, seed))
            print(f"wrote {path} ({num} lines, seed {seed})")


if __name__ == "__main__":
    run_cli(main, parse_args())
