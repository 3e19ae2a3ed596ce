"""Labeled subsets: the released draw, list properties, and the list-writing CLI."""
import os
import random
import subprocess
import sys

import pytest

from dataset.base_dataset import read_list
from dataset.subsets import labeled_subset, subset_filename, unlabeled_pool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST_DIR = os.path.join(ROOT, "dataset", "cityscapes_list")
TRAIN_LIST = os.path.join(LIST_DIR, "train.txt")


@pytest.fixture(scope="module")
def train_lines():
    return read_list(TRAIN_LIST)


def test_same_draws_as_the_released_global_random(train_lines):
    state = random.getstate()
    try:
        random.seed(1234)
        released = random.sample(sorted(train_lines), 100)
    finally:
        random.setstate(state)
    assert labeled_subset(train_lines, 100, seed=1234) == released


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


@pytest.mark.parametrize("num", [100, 200, 500, 1000, 2975])
def test_shipped_lists_match_the_seed(train_lines, num):
    shipped = read_list(os.path.join(LIST_DIR, subset_filename(num)))
    assert shipped == labeled_subset(train_lines, num, seed=1234)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dataset.subsets", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_writes_lists(tmp_path, train_lines):
    done = run_cli("--train_list", TRAIN_LIST, "--num", "100", "200",
                   "--seed", "7", "--out_dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path)) == ["train_labeled_100_seed7.txt",
                                            "train_labeled_200_seed7.txt"]
    written = read_list(tmp_path / "train_labeled_200_seed7.txt")
    assert written == labeled_subset(train_lines, 200, seed=7)
    assert subset_filename(100) == "train_labeled_100.txt"


def test_cli_fails_cleanly_on_missing_list(tmp_path):
    missing = str(tmp_path / "no_such_train.txt")
    done = run_cli("--train_list", missing, "--num", "100", "--out_dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: list file not found: {missing}"]
    assert os.listdir(tmp_path) == []
