"""mindspore.dataset pipelines over the list-file datasets.

Training streams are indexed by step, not epoch. Every draw (which image, which crop and box,
which colour reference) is a function of the seed and the *global* sample index
g = m * num_shards + shard_id of this shard's m-th sample, so:
- the stream is the same with any number of workers;
- a run resumed at step k continues exactly where the interrupted one was;
- across ranks each epoch of a dataset is one permutation, split disjointly and completely.
Mixing happens here, so the compiled training step always sees fixed shapes.
"""
import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import mindspore.dataset as ds
import numpy as np

from dataset.base_dataset import resize_image, to_network_input
from dataset.color_transfer import lab_stats, match_lab_stats
from dataset.mixing import class_mix_pair, region_mix_pair
from utils.errors import ConfigError, DataError

EVAL_COLUMNS = ['image', 'label', 'index']


@functools.lru_cache(maxsize=8)
def _permutation(num_items, seed, epoch, part):
    return np.random.default_rng([seed, epoch, *part]).permutation(num_items)


def epoch_index(num_items, g, seed, part=()):
    """The item of global sample `g`: each run of `num_items` samples is a new permutation."""
    epoch, position = divmod(g, num_items)
    return int(_permutation(num_items, seed, epoch, part)[position])


class GroundTruthShare:
    """D_T and the pseudo-labeled D_U as one stream, a fixed `share` of whose draws are D_T.

    The released loader draws one of its N ground-truth images (`semi_files`) beside every
    image of its main list, so ground truth is half of the target side: drawn uniformly from
    the union it would be N / (N + |D_U|), 3.4% with 100 labels. Draw g is ground truth when
    ceil((g + 1) * share) > ceil(g * share), and is then ground-truth draw number
    ceil(g * share): each part's draws count up 0, 1, 2, ... with g, so each part cycles
    through its own permutations, exactly on resume and disjointly across shards. share 0
    draws uniformly from the union.
    """

    def __init__(self, labeled, pseudo, share):
        self.labeled, self.pseudo = labeled, pseudo
        self.share = Fraction(share).limit_denominator(10 ** 6)
        self.names = labeled.names + pseudo.names

    def __len__(self):
        return len(self.names)

    def draw(self, g, seed):
        """The union's index (D_T first) of global sample `g`."""
        if not self.share or not len(self.pseudo):
            return epoch_index(len(self), g, seed)
        labeled_before = math.ceil(g * self.share)
        if math.ceil((g + 1) * self.share) > labeled_before:
            return epoch_index(len(self.labeled), labeled_before, seed, part=(0,))
        return len(self.labeled) + epoch_index(len(self.pseudo), g - labeled_before, seed,
                                               part=(1,))

    def load(self, index):
        if index < len(self.labeled):
            return self.labeled.load(index)
        return self.pseudo.load(index - len(self.labeled))


def draw(dataset, g, seed):
    """The item of `dataset` that global sample `g` loads."""
    if isinstance(dataset, GroundTruthShare):
        return dataset.draw(g, seed)
    return epoch_index(len(dataset), g, seed)


class StepSamples:
    """Random-access source: sample m of this shard, built from one item of each stream.

    `streams` maps a name to a dataset (anything with `len` and `load(index)`);
    `build(rng, items)` turns the loaded `{name: item}` into the stage's columns. Stream i
    draws its own permutation (seed + i), so streams of different lengths cycle independently.
    """

    def __init__(self, streams, build, seed, num_samples, num_shards=1, shard_id=0):
        self.streams = streams
        self.build = build
        self.seed = seed
        self.num_samples = num_samples
        self.num_shards = num_shards
        self.shard_id = shard_id

    def global_index(self, m):
        return m * self.num_shards + self.shard_id

    def item_indices(self, m):
        g = self.global_index(m)
        return {name: draw(dataset, g, self.seed + i)
                for i, (name, dataset) in enumerate(self.streams.items())}

    def __len__(self):
        return self.num_samples

    def __getitem__(self, m):
        indices = self.item_indices(m)
        items = {name: self.streams[name].load(idx) for name, idx in indices.items()}
        rng = np.random.default_rng([self.seed, self.global_index(m), 1])
        return self.build(rng, items)


def train_loader(streams, build, batch_size, start_step, num_steps, seed, num_workers=1,
                 num_shards=1, shard_id=0):
    """Batches for steps start_step .. start_step + num_steps - 1 of this shard, with the
    columns `build` declares."""
    first, last = start_step * batch_size, (start_step + num_steps) * batch_size
    source = StepSamples(streams, build, seed, last, num_shards, shard_id)
    loader = ds.GeneratorDataset(source, columns_of(build), sampler=range(first, last),
                                 num_parallel_workers=max(1, num_workers),
                                 python_multiprocessing=num_workers > 1)
    return loader.batch(batch_size, drop_remainder=True)


def eval_loader(dataset, num_workers=1, indices=None):
    """Every image once in list order (or the images at `indices`), batch 1."""
    loader = ds.GeneratorDataset(dataset, EVAL_COLUMNS, sampler=indices,
                                 shuffle=False if indices is None else None,
                                 num_parallel_workers=max(1, num_workers),
                                 python_multiprocessing=num_workers > 1)
    return loader.batch(1)


def iterate(loader):
    """Iterate a pipeline as dicts of numpy arrays; worker errors keep their one-line message.

    MindSpore re-raises an exception from a Python data worker as a RuntimeError holding the
    worker's whole traceback; a DataError inside it becomes a DataError again.
    """
    iterator = loader.create_dict_iterator(output_numpy=True, num_epochs=1)
    try:
        yield from iterator
    except RuntimeError as e:
        # With worker processes MindSpore wraps the message twice, and the first
        # 'DataError: ' opens its own traceback: the worker's message is the last one.
        found = re.findall(r'DataError: ([^\n]+)', str(e))
        if found:
            raise DataError(found[-1].strip()) from None
        raise
    finally:
        # Stop the pipeline here: an iterator left to the garbage collector (an exception's
        # traceback keeps it alive) can be collected inside a data worker forked by a later
        # pipeline, and stopping it there aborts that worker.
        iterator.stop()


# The two streams of colour transfer. As released, the source image is matched to the
# reference at both images' native sizes and resized afterwards.

class NativeSizeImages:
    """A labeled stream whose images keep their native size (labels are resized as usual)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def load(self, index):
        return self.dataset.load(index, resize=False)


class ColorReferences:
    """The `reference` stream: item i is the LAB (mean, std) of image i of `dataset` at its
    native size. They are fixed, so each process computes an image's once and keeps them (a
    data worker fills its own cache; it inherits what the main process had computed)."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.stats = {}

    def __len__(self):
        return len(self.dataset)

    def load(self, index):
        if index not in self.stats:
            self.stats[index] = lab_stats(self.dataset.load(index, resize=False)[0])
        return self.stats[index]


# What each stage's step consumes. `items` holds (RGB uint8 image, train-id label) per stream,
# and the `reference` stream's LAB (mean, std) when colour transfer is on. A builder returns a
# tuple and names its elements, the batch's columns, with @columns; the loss parts of a stage
# ask for them by these names.

def columns(*names):
    """Names the columns of a sample builder's tuple, in order."""
    def declare(build):
        build.columns = names
        return build
    return declare


def columns_of(build):
    """The column names of `build` (a builder, or a functools.partial of one)."""
    return list(getattr(build, 'func', build).columns)


class RandomCrops:
    """`build`, then a random crop of `size` (width, height) of each image of the sample and
    of its label at the same place (DAFormer's training crop, TRAIN.CROP_SIZE), drawn from the
    step's generator after `build`'s own draws, so a step's crop is the same on a resume."""

    def __init__(self, build, size):
        self.build, self.size = build, tuple(size)
        self.columns = tuple(columns_of(build))

    def __call__(self, rng, items):
        sample = list(self.build(rng, items))
        width, height = self.size
        for i, name in enumerate(self.columns):
            if not name.startswith('image'):
                continue
            image_h, image_w = sample[i].shape[-2:]
            y0 = int(rng.integers(image_h - height + 1))
            x0 = int(rng.integers(image_w - width + 1))
            label = 'label' + name[len('image'):]
            for j in [i] + [self.columns.index(label)] * (label in self.columns):
                sample[j] = np.ascontiguousarray(sample[j][..., y0:y0 + height, x0:x0 + width])
        return tuple(sample)


def _source_image(items, color_transfer, source_size):
    image, label = items['source']
    if color_transfer:  # the image is at its native size (NativeSizeImages)
        image = resize_image(match_lab_stats(image, *items['reference']), source_size)
    return image, label


@columns('image', 'label')
def labeled_sample(rng, items, mean, stream='target'):
    """One labeled image of `stream` (target-only or source-only training)."""
    image, label = items[stream]
    return to_network_input(image, mean), label.astype(np.int32)


@columns('image', 'label')
def region_mixed_sample(rng, items, mean, color_transfer, source_size, area_range):
    """Stage 1a: a box of the (colour-transferred, cropped) source pasted into the target."""
    return _mixed_sample(rng, items, mean, color_transfer, source_size,
                         functools.partial(region_mix_pair, area_range=area_range))


@columns('image', 'label')
def class_mixed_sample(rng, items, mean, color_transfer, source_size):
    """ClassMix: the (colour-transferred, cropped) source's pixels of half of its classes
    pasted into the target."""
    return _mixed_sample(rng, items, mean, color_transfer, source_size, class_mix_pair)


def _mixed_sample(rng, items, mean, color_transfer, source_size, mix_pair):
    source_image, source_label = _source_image(items, color_transfer, source_size)
    target_image, target_label = items['target']
    image, label, _ = mix_pair(rng, source_image, source_label, target_image, target_label)
    return to_network_input(image, mean), label.astype(np.int32)


@columns('image_src', 'label_src', 'image_trg', 'label_trg')
def sample_level_pair(rng, items, mean, color_transfer, source_size):
    """Stage 1b: one source and one target labeled image per step, each at its own size."""
    source_image, source_label = _source_image(items, color_transfer, source_size)
    target_image, target_label = items['target']
    return (to_network_input(source_image, mean), source_label.astype(np.int32),
            to_network_input(target_image, mean), target_label.astype(np.int32))


@columns('image_src', 'label_src', 'image_trg', 'label_trg', 'image_unl')
def adversarial_sample(rng, items, mean):
    """The Baseline (AdaptSeg with D_T's labels): a labeled source and a labeled target image,
    and an unlabeled target image (D_U) for the adversarial terms."""
    unlabeled_image, _ = items['unlabeled']
    return (*sample_level_pair(rng, items, mean, color_transfer=False, source_size=None),
            to_network_input(unlabeled_image, mean))


@columns('image_trg', 'label_trg', 'image_unl')
def distill_sample(rng, items, mean):
    """Stage 2: a labeled target image with its label, and an unlabeled target image."""
    target_image, target_label = items['target']
    unlabeled_image, _ = items['unlabeled']
    return (to_network_input(target_image, mean), target_label.astype(np.int32),
            to_network_input(unlabeled_image, mean))


@dataclass(frozen=True)
class Mixing:
    """How a teacher's samples mix the two domains."""
    stage: str           # the teacher's stage: its folder, checkpoint and table key
    title: str           # its column in the per-round table
    builder: Callable    # cfg -> the sample builder, without the mean, colour transfer and
                         # source size, which every mixing takes
    images: tuple        # (image column, label column, loss-term name) of each labeled image
                         # a step trains on: one loss part each


# The mixings a teacher can train on. A round's teachers are TRAIN.TEACHERS, names of this
# dict (the paper's two by default); the pipeline, the student, the table and the chart follow
# that list.
MIXINGS = {
    'region': Mixing('teacher_rl', 'region-level teacher',
                     lambda cfg: functools.partial(region_mixed_sample,
                                                   area_range=cfg.TRAIN.MIX_AREA_RANGE),
                     (('image', 'label', 'mix'),)),
    'sample': Mixing('teacher_sl', 'sample-level teacher', lambda cfg: sample_level_pair,
                     (('image_src', 'label_src', 'src'), ('image_trg', 'label_trg', 'trg'))),
    'class': Mixing('teacher_cl', 'class-level teacher', lambda cfg: class_mixed_sample,
                    (('image', 'label', 'mix'),)),
}


def round_teachers(cfg):
    """{mixing name: Mixing} of a round's teachers, in TRAIN.TEACHERS' order."""
    unknown = [name for name in cfg.TRAIN.TEACHERS if name not in MIXINGS]
    if unknown:
        raise ConfigError(f'TRAIN.TEACHERS: unknown mixing {", ".join(unknown)} (known: '
                          f'{", ".join(MIXINGS)})')
    return {name: MIXINGS[name] for name in cfg.TRAIN.TEACHERS}
