"""Segmentation metrics: one confusion matrix for eval.py, validation and pseudo-label stats."""
import numpy as np

# The train id of a pixel that counts for nothing: unlabeled in the ground truth, or not kept
# among the pseudo labels. The loaders, the losses and the pictures read it from here.
IGNORE_LABEL = 255

# Class subsets of the Cityscapes benchmark tables (indices into the model's classes).
# 19-class models: mIoU-16 drops terrain, truck, train; mIoU-13 also wall, fence, pole.
# 16-class (SYNTHIA) models: the 16 classes are already those; mIoU-13 drops wall, fence, pole.
SUBSETS = {
    19: {'mIoU-19': list(range(19)),
         'mIoU-16': [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18],
         'mIoU-13': [0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]},
    16: {'mIoU-16': list(range(16)),
         'mIoU-13': [0, 1, 2, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]},
}


def fast_hist(label, pred, num_classes):
    """Confusion matrix hist[label, pred]; label values outside [0, num_classes) are ignored."""
    label = np.asarray(label).ravel().astype(np.int64)
    pred = np.asarray(pred).ravel().astype(np.int64)
    keep = (label >= 0) & (label < num_classes)
    counts = np.bincount(num_classes * label[keep] + pred[keep], minlength=num_classes ** 2)
    return counts.reshape(num_classes, num_classes)


def per_class_iu(hist):
    """IoU per class; NaN for a class absent from both label and prediction."""
    hist = np.asarray(hist, dtype=np.float64)
    union = hist.sum(0) + hist.sum(1) - np.diag(hist)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(union > 0, np.diag(hist) / union, np.nan)


def mean_ious(ious):
    """mIoU-19/16/13 (19-class models) or mIoU-16/13 (16-class models), in %, NaN-aware."""
    ious = np.asarray(ious, dtype=np.float64)
    subsets = SUBSETS.get(len(ious), {f'mIoU-{len(ious)}': list(range(len(ious)))})
    out = {}
    for name, idx in subsets.items():
        chosen = ious[idx]
        out[name] = float(np.nanmean(chosen) * 100) if np.isfinite(chosen).any() else float('nan')
    return out


class ConfusionMatrix:
    """Accumulates hist[label, pred] over images."""

    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.hist = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, label, pred):
        self.hist += fast_hist(label, pred, self.num_classes)

    def ious(self):
        return per_class_iu(self.hist)

    def summary(self, class_names=None):
        """{'mIoU-19': .., ..., 'per_class': {name: IoU %}} (JSON-ready; NaN -> None)."""
        ious = self.ious()
        names = class_names or [str(i) for i in range(self.num_classes)]
        per_class = {n: (None if np.isnan(v) else round(float(v) * 100, 2))
                     for n, v in zip(names, ious)}
        means = {k: (None if np.isnan(v) else round(v, 2)) for k, v in mean_ious(ious).items()}
        return {**means, 'per_class': per_class}


def format_table(summary):
    """The per-class IoU table and the mIoUs as printable text."""
    lines = [f'{name:>14s} {"--" if iou is None else f"{iou:6.2f}"}'
             for name, iou in summary['per_class'].items()]
    lines += [f'{key:>14s} {"--" if val is None else f"{val:6.2f}"}'
              for key, val in summary.items() if key.startswith('mIoU')]
    return '\n'.join(lines)


def primary_metric(num_classes):
    """The number a run is judged by: mIoU-19 for GTA5 models, mIoU-13 for SYNTHIA models."""
    return 'mIoU-19' if num_classes == 19 else 'mIoU-13'
