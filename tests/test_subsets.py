"""Labeled subsets: the released draw, list properties, and the list-writing CLI."""
import os
import random
import subprocess
import sys

import pytest

from dataset.base_dataset import read_list
from dataset.subsets import (SPLIT_SEEDS, labeled_subset, split_filename, subset_filename,
                             unlabeled_pool)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST_DIR = os.path.join(ROOT, "dataset", "cityscapes_list")
TRAIN_LIST = os.path.join(LIST_DIR, "train.txt")
BUDGETS = [100, 200, 500, 1000, 2975]


@pytest.fixture(scope="module")
def train_lines():
    return read_list(TRAIN_LIST)


def released_draw(train_lines, num):
    """The released code's draw: the module-level random, seeded 1234."""
    state = random.getstate()
    try:
        random.seed(1234)
        return random.sample(sorted(train_lines), num)
    finally:
        random.setstate(state)


def test_same_draws_as_the_released_global_random(train_lines):
    assert labeled_subset(train_lines, 100, seed=1234) == released_draw(train_lines, 100)


@pytest.mark.parametrize("num", BUDGETS)
def test_split_0_is_the_released_list(train_lines, num):
    assert split_filename(num, 0) == f"train_labeled_{num}.txt"
    assert read_list(os.path.join(LIST_DIR, f"train_labeled_{num}.txt")) == \
        released_draw(train_lines, num)


@pytest.mark.parametrize("num", BUDGETS)
@pytest.mark.parametrize("split,seed", [(1, 1), (2, 2)])
def test_committed_splits_are_drawn_as_documented(train_lines, num, split, seed):
    """Split K of budget N: the released rule (random.sample from the sorted train list) with
    seed K, in train_labeled_N_splitK.txt; every budget below 2,975 draws other images."""
    assert SPLIT_SEEDS[split] == seed
    path = os.path.join(LIST_DIR, f"train_labeled_{num}_split{split}.txt")
    assert split_filename(num, split) == os.path.basename(path)
    committed = read_list(path)
    assert committed == labeled_subset(train_lines, num, seed=seed)
    released = read_list(os.path.join(LIST_DIR, f"train_labeled_{num}.txt"))
    if num < len(train_lines):
        assert set(committed) != set(released)
    else:  # every label: the same images in another order
        assert set(committed) == set(released) and committed != released


def test_split_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 2\], got 3"):
        split_filename(100, 3)


@pytest.mark.parametrize("num", [1, 100, 500, 2975])
def test_subset_properties(train_lines, num):
    subset = labeled_subset(train_lines, num)
    assert len(subset) == num == len(set(subset))
    assert set(subset) <= set(train_lines)
    assert subset == labeled_subset(list(reversed(train_lines)), num)  # order-independent


def test_seeds_differ(train_lines):
    assert labeled_subset(train_lines, 100, seed=1) != labeled_subset(train_lines, 100, seed=2)


@pytest.mark.parametrize("num", [0, 2976])
def test_size_out_of_range(train_lines, num):
    with pytest.raises(ValueError, match="2975"):
        labeled_subset(train_lines, num)


def test_unlabeled_pool(train_lines):
    labeled = labeled_subset(train_lines, 100)
    assert unlabeled_pool(train_lines, labeled) == train_lines
    pool = unlabeled_pool(train_lines, labeled, exclude_labeled=True)
    assert len(pool) == 2875 and not set(pool) & set(labeled)


@pytest.mark.parametrize("num", BUDGETS)
def test_shipped_lists_match_the_seed(train_lines, num):
    shipped = read_list(os.path.join(LIST_DIR, subset_filename(num)))
    assert shipped == labeled_subset(train_lines, num, seed=1234)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dataset.subsets", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_writes_lists(tmp_path, train_lines):
    done = run_cli("--train_list", TRAIN_LIST, "--num", "100", "200",
                   "--seed", "7", "1", "--out_dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path)) == ["train_labeled_100_seed7.txt",
                                            "train_labeled_100_split1.txt",
                                            "train_labeled_200_seed7.txt",
                                            "train_labeled_200_split1.txt"]
    written = read_list(tmp_path / "train_labeled_200_seed7.txt")
    assert written == labeled_subset(train_lines, 200, seed=7)
    # seed 1 is split 1: the CLI rewrites the committed list byte for byte
    with open(tmp_path / "train_labeled_200_split1.txt", "rb") as f, \
            open(os.path.join(LIST_DIR, "train_labeled_200_split1.txt"), "rb") as g:
        assert f.read() == g.read()
    assert subset_filename(100) == "train_labeled_100.txt"


def test_cli_fails_cleanly_on_missing_list(tmp_path):
    missing = str(tmp_path / "no_such_train.txt")
    done = run_cli("--train_list", missing, "--num", "100", "--out_dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: list file not found: {missing}"]
    assert os.listdir(tmp_path) == []
