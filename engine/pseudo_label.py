"""Class-balanced pseudo labels (DDM §3.3, BDL's rule) for the unlabeled target images D_U.

threshold_c = min(median confidence of the pixels predicted as c, 0.9); a pixel whose
confidence is below its class's threshold becomes 255. The medians are global over D_U
(1.6e9 pixels for Cityscapes), so they come from per-class confidence histograms with
NUM_BINS bins (the threshold is the lower edge of the median's bin: within 1/NUM_BINS of the
exact median), and a second pass over D_U writes the labels.

    pseudo_dir/labels/CITY/NAME.png   8-bit train ids (255 = not kept)
    pseudo_dir/list.txt               the images, as in the Cityscapes list files
    pseudo_dir/stats.json             thresholds, kept fractions, the checkpoint used
"""
import json
import os

import mindspore as ms
import numpy as np
from PIL import Image
from tqdm import tqdm

from dataset.base_dataset import write_list
from dataset.pipeline import eval_loader, iterate
from utils.distributed import all_reduce_sum, barrier, current_rank
from utils.func import IGNORE_LABEL
from utils.serialization import atomic_save_image, atomic_write_json, path_inside

NUM_BINS = 10000


def confidence_histogram(confidence, label, num_classes, num_bins=NUM_BINS):
    """Counts[c, b]: pixels predicted as c whose confidence falls in bin b of [0, 1]."""
    bins = np.minimum((confidence * num_bins).astype(np.int64), num_bins - 1)
    flat = label.astype(np.int64).ravel() * num_bins + bins.ravel()
    return np.bincount(flat, minlength=num_classes * num_bins).reshape(num_classes, num_bins)


def class_balanced_thresholds(histogram, portion=0.5, cap=0.9):
    """Per class: min(the `portion` quantile of its confidences, cap); NaN if never predicted.

    The quantile is BDL's `sorted(x)[round(len(x) * portion)]`, read off the histogram as the
    lower edge of the bin holding that element.
    """
    num_classes, num_bins = histogram.shape
    thresholds = np.full(num_classes, np.nan)
    for c in range(num_classes):
        total = histogram[c].sum()
        if total == 0:
            continue
        rank = min(int(np.round(total * portion)), total - 1)
        bin_index = int(np.searchsorted(np.cumsum(histogram[c]), rank, side='right'))
        thresholds[c] = min(bin_index / num_bins, cap)
    return thresholds


def apply_thresholds(confidence, label, thresholds):
    """Train ids with every pixel below its class's threshold set to 255."""
    per_pixel = np.nan_to_num(thresholds, nan=np.inf)[label]
    return np.where(confidence >= per_pixel, label, IGNORE_LABEL).astype(np.uint8)


def pseudo_label_path(pseudo_dir, name):
    """Where the label of the image `name` goes (or is removed from): inside pseudo_dir/labels,
    whatever the name."""
    return path_inside(os.path.join(pseudo_dir, 'labels'), name)


def generate_pseudo_labels(predict, dataset, pseudo_dir, num_classes, checkpoint='',
                           portion=0.5, cap=0.9, num_workers=1, progress=True):
    """Two passes over `dataset` (D_U): class histograms, then the labels, from `predict` (a
    net.predict.Confidence at the images' size). Returns the stats.

    Re-running skips the first pass when stats.json of the same checkpoint exists, and every
    image whose label file is already written. Under data parallelism each rank takes every
    group_size-th image; the histograms are summed over ranks, rank 0 writes the stats.
    """
    rank, group_size = current_rank()
    predict.net.set_train(False)
    stats_path = os.path.join(pseudo_dir, 'stats.json')
    stats = read_stats(stats_path, checkpoint, len(dataset))
    mine = list(range(rank, len(dataset), group_size))
    show = progress and rank == 0
    if stats is None:
        if rank == 0:  # labels of an earlier pass must not pass for finished work
            remove_labels(pseudo_dir, dataset.names)
        histogram = np.zeros((num_classes, NUM_BINS), dtype=np.int64)
        # (a bar closed on an error too: the error's message then starts on a line of its own)
        with tqdm(iterate(eval_loader(dataset, num_workers, mine)), total=len(mine),
                  desc='pseudo labels 1/2', disable=not show, dynamic_ncols=True) as batches:
            for batch in batches:
                confidence, label = (t.asnumpy()[0]
                                     for t in predict(ms.Tensor(batch['image'])))
                histogram += confidence_histogram(confidence, label, num_classes)
        histogram = all_reduce_sum(histogram)
        stats = summarize(histogram, class_balanced_thresholds(histogram, portion, cap),
                          checkpoint, len(dataset))
        if rank == 0:
            atomic_write_json(stats_path, stats)
        barrier()
    thresholds = np.array([np.nan if t is None else t for t in stats['thresholds']])
    todo = [i for i in mine
            if not os.path.isfile(pseudo_label_path(pseudo_dir, dataset.names[i]))]
    batches = iterate(eval_loader(dataset, num_workers, todo)) if todo else ()  # a resume
    with tqdm(batches, total=len(todo), desc='pseudo labels 2/2', disable=not show,
              dynamic_ncols=True) as bar:
        for batch in bar:
            confidence, label = (t.asnumpy()[0] for t in predict(ms.Tensor(batch['image'])))
            name = dataset.names[int(batch['index'][0])]
            atomic_save_image(pseudo_label_path(pseudo_dir, name),
                              Image.fromarray(apply_thresholds(confidence, label, thresholds)))
    barrier()
    if rank == 0:
        write_list(os.path.join(pseudo_dir, 'list.txt'), dataset.names)
    barrier()
    return stats


def remove_labels(pseudo_dir, names):
    """Remove the label files this pass writes (those of `names`), and nothing else."""
    for name in names:
        path = pseudo_label_path(pseudo_dir, name)
        if os.path.isfile(path):
            os.remove(path)


def summarize(histogram, thresholds, checkpoint, num_images):
    """Thresholds and, per class, the share of its predicted pixels kept (JSON-ready)."""
    edges = np.arange(histogram.shape[1]) / histogram.shape[1]
    kept = []
    for c, threshold in enumerate(thresholds):
        total = histogram[c].sum()
        keep = histogram[c][edges >= threshold].sum() if total else 0
        kept.append(None if total == 0 else round(float(keep / total), 4))
    return {'checkpoint': os.path.abspath(checkpoint) if checkpoint else '',
            'num_images': num_images, 'num_bins': int(histogram.shape[1]),
            'thresholds': [None if np.isnan(t) else round(float(t), 6) for t in thresholds],
            'kept_fraction': kept,
            'predicted_pixels': [int(v) for v in histogram.sum(1)]}


def read_stats(path, checkpoint, num_images):
    """The first pass's stats of this checkpoint and D_U, if a previous run wrote them."""
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        stats = json.load(f)
    same = (stats.get('checkpoint') == (os.path.abspath(checkpoint) if checkpoint else '')
            and stats.get('num_images') == num_images)
    return stats if same else None
