"""The names of the labeled lists: which file holds split K of label budget N. The config
(--num_labeled N --split K) and dataset/subsets.py, which writes the files, both read them."""

DEFAULT_SEED = 1234  # the released config's seed
SPLIT_SEEDS = (DEFAULT_SEED, 1, 2)  # split K is the draw of seed SPLIT_SEEDS[K]


def subset_filename(num_labeled, seed=DEFAULT_SEED):
    """`train_labeled_{N}.txt` for split 0 (the released seed), `train_labeled_{N}_split{K}.txt`
    for split K's seed, `train_labeled_{N}_seed{S}.txt` for any other seed."""
    if seed in SPLIT_SEEDS:
        split = SPLIT_SEEDS.index(seed)
        suffix = f"_split{split}" if split else ""
    else:
        suffix = f"_seed{seed}"
    return f"train_labeled_{num_labeled}{suffix}.txt"


def split_filename(num_labeled, split):
    """The list file of split K of a budget (K = 0 the released draw)."""
    if not 0 <= split < len(SPLIT_SEEDS):
        raise ValueError(f"split must be in [0, {len(SPLIT_SEEDS) - 1}], got {split}")
    return subset_filename(num_labeled, SPLIT_SEEDS[split])
