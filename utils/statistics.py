"""A result over several runs (labeled splits, seeds): mean ± std, and paired differences with
their 95% t-interval. scripts/seed_statistics.py and scripts/paper_table.py print them."""
import numpy as np
from scipy import stats


def summary(values):
    """{'mean', 'std', 'n'} of the non-missing values (sample std; 0 for one value), or None."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {'mean': float(np.mean(values)), 'std': std, 'n': len(values)}


def difference(a, b):
    return None if a is None or b is None else a - b


def paired_interval(differences):
    """Mean of paired differences (one per run; a missing one is left out) with its 95%
    t-interval, mean ± t(0.975, n-1) · std / sqrt(n): {'mean', 'low', 'high', 'n'}; None
    below two pairs."""
    d = np.array([x for x in differences if x is not None], dtype=np.float64)
    if len(d) < 2:
        return None
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return {'mean': float(d.mean()), 'low': float(d.mean() - half),
            'high': float(d.mean() + half), 'n': int(len(d))}


def mean_std(s):
    return '--' if s is None else f"{s['mean']:.2f} ± {s['std']:.2f}"


def interval(m):
    return '--' if m is None else f"{m['mean']:+.2f} [{m['low']:+.2f}, {m['high']:+.2f}]"
