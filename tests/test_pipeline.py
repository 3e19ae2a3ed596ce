"""The training data pipeline: what a step holds, and that the stream depends only on the seed
and the global sample index (same with any number of workers, on resume, across shards)."""
import functools
import math

import numpy as np
import pytest

from config import get_cfg
from conftest import TINY_CFG
from dataset import pipeline
from dataset.base_dataset import resize_image, to_network_input
from dataset.color_transfer import match_lab_stats
from dataset.pipeline import StepSamples, epoch_index, iterate, train_loader
from train_teacher import data_streams

SEED = 1234


class IndexImages:
    """A stand-in dataset whose item i is an image and a label filled with i: the label of a
    batch says which items the stream drew, at no loading cost."""

    def __init__(self, num_items, size=(8, 4)):
        self.num_items, self.size = num_items, size

    def __len__(self):
        return self.num_items

    def load(self, index):
        width, height = self.size
        return (np.full((height, width, 3), index, np.uint8),
                np.full((height, width), index, np.uint8))


def _labeled_stream(dataset):
    build = functools.partial(pipeline.labeled_sample, mean=(0.0, 0.0, 0.0), stream='data')
    return {'data': dataset}, build


def _drawn_items(batches):
    """The item index of every sample of `batches` of an IndexImages stream, in order."""
    return [int(label[0, 0]) for batch in batches for label in batch['label']]


def _run(streams, build, start_step, num_steps, batch_size=1, seed=SEED, num_workers=1,
         num_shards=1, shard_id=0):
    return list(iterate(train_loader(streams, build, batch_size, start_step, num_steps, seed,
                                     num_workers, num_shards, shard_id)))


def _assert_same_batches(a, b):
    assert len(a) == len(b)
    for batch_a, batch_b in zip(a, b):
        assert batch_a.keys() == batch_b.keys()
        for key in batch_a:
            np.testing.assert_array_equal(batch_a[key], batch_b[key], err_msg=key)


@pytest.fixture
def cfg(generated):
    _, data_cfg = generated
    return get_cfg([TINY_CFG, data_cfg])


# ---- what a step holds ---------------------------------------------------------------

@pytest.mark.parametrize('color_transfer', [False, True])
def test_sample_level_pairs_one_source_and_one_target(cfg, color_transfer):
    cfg.TRAIN.COLOR_TRANSFER = color_transfer
    streams, build = data_streams(cfg, 'sample')
    assert pipeline.columns_of(build) == ['image_src', 'label_src', 'image_trg', 'label_trg']
    assert set(streams) == {'source', 'target'} | ({'reference'} if color_transfer else set())
    samples = StepSamples(streams, build, SEED, 4)
    mean = cfg.TRAIN.IMG_MEAN
    (src_w, src_h), (trg_w, trg_h) = cfg.TRAIN.INPUT_SIZE_SOURCE, cfg.TRAIN.INPUT_SIZE_TARGET
    batches = _run(streams, build, 0, 4)
    assert len(batches) == 4
    for m, batch in enumerate(batches):
        # One source and one target image per step, each at its own configured size.
        assert batch['image_src'].shape == (1, 3, src_h, src_w)
        assert batch['label_src'].shape == (1, src_h, src_w)
        assert batch['image_trg'].shape == (1, 3, trg_h, trg_w)
        assert batch['label_trg'].shape == (1, trg_h, trg_w)
        indices = samples.item_indices(m)
        source_rgb, source_label = streams['source'].load(indices['source'])
        target_rgb, target_label = streams['target'].load(indices['target'])
        if color_transfer:  # at the source's native size, then resized
            source_rgb = resize_image(match_lab_stats(
                source_rgb, *streams['reference'].load(indices['reference'])), (src_w, src_h))
        np.testing.assert_array_equal(batch['image_src'][0], to_network_input(source_rgb, mean))
        np.testing.assert_array_equal(batch['label_src'][0], source_label)
        np.testing.assert_array_equal(batch['image_trg'][0], to_network_input(target_rgb, mean))
        np.testing.assert_array_equal(batch['label_trg'][0], target_label)


def _changed_box(changed):
    """(y0, y1, x0, x1) bounding the True pixels of `changed`, or None."""
    rows, cols = np.nonzero(changed.any(axis=1))[0], np.nonzero(changed.any(axis=0))[0]
    if not len(rows):
        return None
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def test_region_mixed_batches_are_target_sized_pastes_of_a_source_crop(cfg):
    cfg.TRAIN.COLOR_TRANSFER = False
    streams, build = data_streams(cfg, 'region')
    samples = StepSamples(streams, build, SEED, 8)
    mean = cfg.TRAIN.IMG_MEAN
    trg_w, trg_h = cfg.TRAIN.INPUT_SIZE_TARGET
    batches = _run(streams, build, 0, 4, batch_size=2)
    pasted = 0
    for step, batch in enumerate(batches):
        assert batch['image'].shape == (2, 3, trg_h, trg_w)
        assert batch['label'].shape == (2, trg_h, trg_w)
        for j in range(2):
            indices = samples.item_indices(2 * step + j)
            target_rgb, target_label = streams['target'].load(indices['target'])
            source_rgb, source_label = streams['source'].load(indices['source'])
            image, label = batch['image'][j], batch['label'][j]
            target = to_network_input(target_rgb, mean)
            box = _changed_box((image != target).any(axis=0) | (label != target_label))
            if box is None:
                continue
            y0, y1, x0, x1 = box
            outside = np.ones((trg_h, trg_w), bool)
            outside[y0:y1, x0:x1] = False
            assert np.all(image[:, outside] == target[:, outside])
            assert np.all(label[outside] == target_label[outside])
            # Inside: the same place of some target-sized crop of the source.
            source = to_network_input(source_rgb, mean)
            offsets = [(dy, dx) for dy in range(source.shape[1] - trg_h + 1)
                       for dx in range(source.shape[2] - trg_w + 1)
                       if np.array_equal(source[:, dy + y0:dy + y1, dx + x0:dx + x1],
                                         image[:, y0:y1, x0:x1])]
            assert offsets, (step, j, box)
            assert any(np.array_equal(source_label[dy + y0:dy + y1, dx + x0:dx + x1],
                                      label[y0:y1, x0:x1]) for dy, dx in offsets)
            pasted += 1
    assert pasted >= 4


# ---- determinism ---------------------------------------------------------------------

def test_same_stream_with_any_workers_and_on_resume(cfg):
    cfg.TRAIN.COLOR_TRANSFER = True
    streams, build = data_streams(cfg, 'region')
    full = _run(streams, build, 0, 6, batch_size=2)
    _assert_same_batches(full, _run(streams, build, 0, 6, batch_size=2, num_workers=2))
    # A run resumed at step 4 sees what the uninterrupted run saw from step 4 on.
    _assert_same_batches(full[4:], _run(streams, build, 4, 2, batch_size=2))
    _assert_same_batches(full[4:], _run(streams, build, 4, 2, batch_size=2,
                                        num_workers=2))


def test_seeded_per_step(cfg):
    streams, build = data_streams(cfg, 'region')
    first = _run(streams, build, 0, 3, seed=7)
    _assert_same_batches(first, _run(streams, build, 0, 3, seed=7))
    other = _run(streams, build, 0, 3, seed=8)
    assert all(not np.array_equal(a['image'], b['image']) for a, b in zip(first, other))
    # Random access: a sample does not depend on the run's length or the order of access.
    short, long = StepSamples(streams, build, 7, 3), StepSamples(streams, build, 7, 100)
    later = long[2]
    for got, expected in zip(long[0], short[0]):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(later, short[2]):
        np.testing.assert_array_equal(got, expected)


def test_each_stream_epoch_is_a_permutation():
    streams = {'a': IndexImages(5), 'b': IndexImages(7)}
    samples = StepSamples(streams, None, SEED, 35)
    drawn = {name: [samples.item_indices(m)[name] for m in range(35)] for name in streams}
    for name, dataset in streams.items():
        n = len(dataset)
        epochs = [drawn[name][e * n:(e + 1) * n] for e in range(35 // n)]
        assert all(sorted(epoch) == list(range(n)) for epoch in epochs)
        assert len({tuple(epoch) for epoch in epochs}) > 1      # reshuffled every epoch
    # Streams of one length still draw independently (seed + stream position).
    twins = StepSamples({'a': IndexImages(6), 'b': IndexImages(6)}, None, SEED, 6)
    assert [twins.item_indices(m)['a'] for m in range(6)] != \
        [twins.item_indices(m)['b'] for m in range(6)]


# ---- shards --------------------------------------------------------------------------

@pytest.mark.parametrize('num_items,num_shards', [(12, 2), (12, 3), (10, 3), (7, 2)])
def test_shards_split_each_epoch_disjointly_and_completely(num_items, num_shards):
    # Every shard takes ceil(N / S) samples per epoch; shard r's sample m is global sample
    # g = m * S + r. When N is not divisible by S, the last sample of shards r >= N % S has
    # g >= N: g simply continues into the next epoch's permutation, so nothing is dropped,
    # padded or duplicated; a shard's epoch boundary is merely not the global one.
    dataset = IndexImages(num_items)
    per_shard = math.ceil(num_items / num_shards)
    this_epoch, next_epoch = [], []
    for shard_id in range(num_shards):
        samples = StepSamples({'data': dataset}, None, SEED, per_shard, num_shards, shard_id)
        for m in range(per_shard):
            g = samples.global_index(m)
            assert g == m * num_shards + shard_id
            item = samples.item_indices(m)['data']
            (this_epoch if g < num_items else next_epoch).append(item)
            if g >= num_items:
                assert item == epoch_index(num_items, g, SEED)
    assert sorted(this_epoch) == list(range(num_items))          # each item exactly once
    assert len(next_epoch) == per_shard * num_shards - num_items
    # Those spill-over samples are the next epoch's first draws (g = N, N + 1, ...).
    assert next_epoch == [epoch_index(num_items, num_items + k, SEED)
                          for k in range(len(next_epoch))]


def test_sharded_loaders_split_an_epoch():
    streams, build = _labeled_stream(IndexImages(12))
    drawn = [_drawn_items(_run(streams, build, 0, 3, batch_size=2, num_shards=2,
                               shard_id=shard_id, num_workers=1 + shard_id))
             for shard_id in (0, 1)]
    assert len(drawn[0]) == len(drawn[1]) == 6
    assert not set(drawn[0]) & set(drawn[1])
    assert sorted(drawn[0] + drawn[1]) == list(range(12))
    # The two shards interleave the single-device stream of the same seed.
    single = _drawn_items(_run(streams, build, 0, 6, batch_size=2))
    assert single[0::2] == drawn[0] and single[1::2] == drawn[1]


# ---- ground truth beside pseudo labels (rounds >= 2) ---------------------------------

class Named(IndexImages):
    def __init__(self, num_items, offset=0):
        super().__init__(num_items)
        self.names = [f'img{offset + i}' for i in range(num_items)]


@pytest.mark.parametrize('share', [0.5, 0.25, 0.6])
def test_ground_truth_is_a_fixed_share_of_the_target_draws(share):
    labeled, pseudo = Named(3), Named(29, offset=3)
    stream = pipeline.GroundTruthShare(labeled, pseudo, share)
    num_draws = 3 * 29 * 20
    drawn = [stream.draw(g, SEED) for g in range(num_draws)]
    from_labeled = [i for i in drawn if i < 3]
    assert len(from_labeled) == pytest.approx(share * num_draws, abs=1)
    # each part cycles through permutations of itself, in the order of its own draws
    for part, items in ((range(3), from_labeled), (range(3, 32), [i for i in drawn if i >= 3])):
        n = len(part)
        epochs = [sorted(items[e * n:(e + 1) * n]) for e in range(len(items) // n)]
        assert all(epoch == list(part) for epoch in epochs)


def test_ground_truth_share_splits_disjointly_across_shards():
    stream = pipeline.GroundTruthShare(Named(4), Named(10, offset=4), 0.5)
    samples = [StepSamples({'target': stream}, None, SEED, 14, 2, shard_id)
               for shard_id in (0, 1)]
    per_shard = [[s.item_indices(m)['target'] for m in range(14)] for s in samples]
    single = StepSamples({'target': stream}, None, SEED, 28)
    together = [single.item_indices(m)['target'] for m in range(28)]
    assert per_shard[0] == together[0::2] and per_shard[1] == together[1::2]
    labeled = [i for i in together if i < 4]
    assert len(labeled) == 14 and sorted(labeled[:12]) == sorted(list(range(4)) * 3)
    assert sorted([i for i in together if i >= 4][:10]) == list(range(4, 14))
    # without pseudo labels (round 1) or with share 0: uniform draws from the union
    uniform = pipeline.GroundTruthShare(Named(4), Named(10, offset=4), 0.0)
    assert [uniform.draw(g, SEED) for g in range(14)] == [epoch_index(14, g, SEED)
                                                          for g in range(14)]


def test_rounds_after_the_first_draw_half_their_targets_from_ground_truth(generated, tmp_path):
    """The built D_T of round 2: 4 ground-truth images beside the other train images'
    pseudo labels; half of a teacher's target draws are the 4."""
    from PIL import Image
    from dataset.build import target_labeled_dataset
    from dataset.base_dataset import read_list
    _, data_cfg = generated
    cfg = get_cfg([TINY_CFG, data_cfg])
    names = read_list(cfg.DATA_LIST_TARGET)
    labeled_list = tmp_path / 'labeled.txt'
    labeled_list.write_text('\n'.join(names[:4]) + '\n')
    pseudo_dir = tmp_path / 'pseudo'
    for name in names:
        (pseudo_dir / 'labels' / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((64, 128), np.uint8)).save(pseudo_dir / 'labels' / name)
    (pseudo_dir / 'list.txt').write_text('\n'.join(names) + '\n')
    cfg.DATA_DIRECTORY_PSEUDO, cfg.DATA_LIST_TARGET_LABELED = str(pseudo_dir), str(labeled_list)
    stream = target_labeled_dataset(cfg)
    assert stream.names == names[:4] + names[4:]       # D_T's images have no pseudo copy
    drawn = [stream.draw(g, SEED) for g in range(400)]
    assert sum(i < 4 for i in drawn) == 200
    cfg.TRAIN.LABELED_SHARE = 0.0                      # the old rule: uniform over the union
    uniform = target_labeled_dataset(cfg)
    assert 125 <= sum(uniform.draw(g, SEED) < 4 for g in range(400)) <= 140  # 4 of 12


def test_random_crops_cut_each_image_with_its_label_and_replay_on_a_resume():
    """TRAIN.CROP_SIZE (DAFormer's crop): every image of a step cropped at a place of its own,
    its label at the same place, the same crops for the same step."""
    build = functools.partial(pipeline.sample_level_pair, mean=(0.0, 0.0, 0.0),
                              color_transfer=False, source_size=(16, 12))
    crops = pipeline.RandomCrops(build, (6, 4))
    assert pipeline.columns_of(crops) == pipeline.columns_of(build)

    class CoordinateImages(IndexImages):
        def load(self, index):  # pixel (y, x) holds y in red, x in green, and the label y*16+x
            yy, xx = np.mgrid[0:self.size[1], 0:self.size[0]]
            image = np.stack([yy, xx, np.full_like(yy, index)], -1).astype(np.uint8)
            return image, (yy * 16 + xx).astype(np.uint8)

    streams = {'source': CoordinateImages(3, (16, 12)), 'target': CoordinateImages(3, (10, 8))}
    first, again = (StepSamples(streams, crops, SEED, 4)[2] for _ in range(2))
    whole = StepSamples(streams, build, SEED, 4)[2]
    corners = []
    for (image, label), (whole_image, _) in zip(((first[0], first[1]), (first[2], first[3])),
                                                ((whole[0], whole[1]), (whole[2], whole[3]))):
        assert image.shape == (3, 4, 6) and label.shape == (4, 6)
        # BGR after to_network_input: channel 2 is red (y), channel 1 green (x)
        y0, x0 = int(image[2, 0, 0]), int(image[1, 0, 0])
        np.testing.assert_array_equal(image, whole_image[:, y0:y0 + 4, x0:x0 + 6])
        np.testing.assert_array_equal(label, (image[2] * 16 + image[1]).astype(label.dtype))
        corners.append((y0, x0))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    # the uncropped build draws as before: the crops come after its draws
    np.testing.assert_array_equal(whole[0], StepSamples(streams, build, SEED, 4)[2][0])
