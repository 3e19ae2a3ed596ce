"""The generated data sets: real on-disk layouts, determinism, valid labels, a real domain gap."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from dataset import synthetic
from dataset.png16 import read_png_16bit_channel0, write_png_16bit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INFO_PATH = os.path.join(ROOT, 'dataset', 'cityscapes_list', 'info.json')
TARGET_SIZE, SOURCE_SIZE = (128, 64), (160, 90)
USED_IDS = {0, 1, 7, 8, 11, 17, 19, 20, 21, 22, 23, 24, 25, 26, 32, 33}
MAIN_CLASSES = {'road': 7, 'sidewalk': 8, 'building': 11, 'sky': 23, 'vegetation': 21,
                'car': 26, 'person': 24, 'pole': 17}


def _generate(out_dir, **kwargs):
    args = dict(seed=0, num_source=8, num_train=6, num_val=4, target_size=TARGET_SIZE,
                source_size=SOURCE_SIZE, synthia=True, gap=1.0)
    args.update(kwargs)
    return synthetic.generate(str(out_dir), **args)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return _generate(tmp_path_factory.mktemp('synthetic'))


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def _size(path):
    with Image.open(path) as img:
        return img.size


def _lut():
    with open(INFO_PATH) as f:
        info = json.load(f)
    lut = np.full(256, 255, np.uint8)
    for label_id, train_id in info['label2train']:
        if label_id >= 0:
            lut[label_id] = train_id
    return lut


def _cityscapes_pairs(root, split):
    for name in _lines(os.path.join(root, 'cityscapes_list', f'{split}.txt')):
        image = os.path.join(root, 'leftImg8bit', split, name)
        label = os.path.join(root, 'gtFine', split,
                             name.replace('_leftImg8bit.png', '_gtFine_labelIds.png'))
        yield image, label


def test_gta5_layout(data):
    root = data['gta5']
    names = _lines(os.path.join(root, 'gta5_list', 'train.txt'))
    assert names == [f'{i:05d}.png' for i in range(1, 9)]
    for i, name in enumerate(names, start=1):
        image, label = os.path.join(root, 'images', name), os.path.join(root, 'labels', name)
        assert _size(image) == SOURCE_SIZE
        with Image.open(image) as img:
            assert img.mode == 'RGB'
        with Image.open(label) as lab:
            assert lab.mode == 'L'
        # Every 7th label is sized unlike its image, as a few real GTA5 pairs are.
        assert (_size(label) != SOURCE_SIZE) == (i % 7 == 0)


def test_cityscapes_layout(data):
    root = data['cityscapes']
    list_dir = os.path.join(root, 'cityscapes_list')
    for split, num, cities in (('train', 6, synthetic.CITIES['train']),
                               ('val', 4, synthetic.CITIES['val'])):
        names = _lines(os.path.join(list_dir, f'{split}.txt'))
        assert len(names) == num and names == sorted(names)
        for name in names:
            city, stem = name.split('/')
            assert city in cities and stem.startswith(city + '_')
            assert stem.endswith('_leftImg8bit.png') and len(stem.split('_')) == 4
        for image, label in _cityscapes_pairs(root, split):
            assert _size(image) == TARGET_SIZE and _size(label) == TARGET_SIZE
            assert _size(label.replace('labelIds', 'labelTrainIds')) == TARGET_SIZE
    val = _lines(os.path.join(list_dir, 'val.txt'))
    assert _lines(os.path.join(list_dir, 'label.txt')) == [
        n.replace('_leftImg8bit.png', '_gtFine_labelIds.png') for n in val]


def test_synthia_layout_and_16bit_labels(data):
    root = data['synthia']
    names = _lines(os.path.join(root, 'synthia_list', 'train.txt'))
    assert names == [f'{i:07d}.png' for i in range(1, 9)]
    style = synthetic.blend_style(synthetic.TARGET_STYLE, synthetic.SYNTHIA_STYLE, 1.0)
    for i, name in enumerate(names, start=1):
        assert _size(os.path.join(root, 'RGB', name)) == SOURCE_SIZE
        class_ids = read_png_16bit_channel0(os.path.join(root, 'GT', 'LABELS', name))
        assert class_ids.dtype == np.uint16 and class_ids.shape == SOURCE_SIZE[::-1]
        _, _, scene = synthetic.draw_sample(0, 'synthia', i, SOURCE_SIZE, style)
        np.testing.assert_array_equal(class_ids, synthetic.synthia_label(scene)[..., 0])
        assert {3, 4, 2, 1, 8} <= set(np.unique(class_ids).tolist())


def test_png16_round_trip(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 65536, (5, 7, 3)).astype(np.uint16)
    path = str(tmp_path / 'label.png')
    write_png_16bit(path, pixels)
    np.testing.assert_array_equal(read_png_16bit_channel0(path), pixels[..., 0])


def test_list_files_name_existing_files(data):
    pairs = [(os.path.join(data['gta5'], 'images', n), os.path.join(data['gta5'], 'labels', n))
             for n in _lines(os.path.join(data['gta5'], 'gta5_list', 'train.txt'))]
    for split in ('train', 'val'):
        pairs += list(_cityscapes_pairs(data['cityscapes'], split))
    pairs += [(os.path.join(data['synthia'], 'RGB', n),
               os.path.join(data['synthia'], 'GT', 'LABELS', n))
              for n in _lines(os.path.join(data['synthia'], 'synthia_list', 'train.txt'))]
    assert len(pairs) == 8 + 6 + 4 + 8
    for image, label in pairs:
        assert os.path.isfile(image) and os.path.isfile(label)


def _all_files(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.endswith('.yaml'):  # config overlays name their own directory
                continue
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def test_deterministic(tmp_path):
    small = dict(num_source=7, num_train=3, num_val=2)
    _generate(tmp_path / 'a', **small)
    _generate(tmp_path / 'b', workers=2, **small)   # images drawn in two processes
    _generate(tmp_path / 'c', seed=1, **small)
    a, b, c = (_all_files(tmp_path / d) for d in 'abc')
    assert a == b
    assert a.keys() == c.keys()
    images = [k for k in a if k.endswith('_leftImg8bit.png') or k.startswith('gta5/images')]
    assert all(a[k] != c[k] for k in images)


def test_label_ids_valid_and_train_ids_match(data):
    lut = _lut()
    labels = [os.path.join(data['gta5'], 'labels', n) for n in os.listdir(
        os.path.join(data['gta5'], 'labels'))]
    for split in ('train', 'val'):
        for _, label in _cityscapes_pairs(data['cityscapes'], split):
            label_ids = np.asarray(Image.open(label))
            train_ids = np.asarray(Image.open(label.replace('labelIds', 'labelTrainIds')))
            np.testing.assert_array_equal(train_ids, lut[label_ids])
            labels.append(label)
    for label in labels:
        assert set(np.unique(np.asarray(Image.open(label))).tolist()) <= USED_IDS, label


@pytest.mark.parametrize('domain', ['gta5', 'cityscapes_train'])
def test_classes_appear_often_enough(domain):
    source = synthetic.GTA5_STYLE if domain == 'gta5' else synthetic.TARGET_STYLE
    style = synthetic.blend_style(synthetic.TARGET_STYLE, source, 1.0)
    present = [set(np.unique(synthetic.draw_sample(0, domain, i, TARGET_SIZE, style)[1]).tolist())
               for i in range(30)]
    frequency = {c: np.mean([c in p for p in present]) for c in USED_IDS}
    for name, label_id in MAIN_CLASSES.items():
        assert frequency[label_id] >= 0.7, (name, frequency[label_id])
    # Every other class used is still seen often enough to be learned.
    for label_id in USED_IDS - {0, 1} - set(MAIN_CLASSES.values()):
        assert frequency[label_id] >= 0.15, (label_id, frequency[label_id])


def _class_means(pairs):
    """Mean RGB of each label id over (image path, label path) pairs."""
    sums, counts = np.zeros((256, 3)), np.zeros(256)
    for image_path, label_path in pairs:
        image = np.asarray(Image.open(image_path), dtype=np.float64)
        label = np.asarray(Image.open(label_path).resize(_size(image_path), Image.NEAREST))
        np.add.at(sums, label.ravel(), image.reshape(-1, 3))
        np.add.at(counts, label.ravel(), 1)
    return sums, counts


def _source_target_distance(out_dir, gap):
    roots = _generate(out_dir, num_source=8, num_train=8, num_val=1, synthia=False, gap=gap)
    names = _lines(os.path.join(roots['gta5'], 'gta5_list', 'train.txt'))
    src_sums, src_counts = _class_means(
        (os.path.join(roots['gta5'], 'images', n), os.path.join(roots['gta5'], 'labels', n))
        for n in names)
    trg_sums, trg_counts = _class_means(_cityscapes_pairs(roots['cityscapes'], 'train'))
    both = [c for c in MAIN_CLASSES.values() if src_counts[c] and trg_counts[c]]
    assert len(both) == len(MAIN_CLASSES)
    src = src_sums[both] / src_counts[both, None]
    trg = trg_sums[both] / trg_counts[both, None]
    return np.linalg.norm(src - trg, axis=1).mean()


def test_gap_controls_colour_distance(tmp_path):
    far = _source_target_distance(tmp_path / 'gap1', 1.0)
    near = _source_target_distance(tmp_path / 'gap0', 0.0)
    assert far > 2 * near, (far, near)


def _colour_features(image, size):
    """Per-pixel RGB, a 5x5 mean RGB and the row: what a colour-and-position classifier sees."""
    image = image.astype(np.float64)
    pad = np.pad(image, ((2, 2), (2, 2), (0, 0)), mode='edge')
    mean = sum(pad[dy:dy + size[1], dx:dx + size[0]] for dy in range(5) for dx in range(5)) / 25
    rows = np.arange(size[1])[:, None, None] * 200.0 / size[1]
    rows = np.broadcast_to(rows, mean.shape[:2] + (1,))
    return np.concatenate([image, mean, rows], axis=2).reshape(-1, 7)


def _gaussian_classifier_miou(train_domain, train_style, test_sets):
    """mIoU over the main classes of a per-class Gaussian on colour features, trained on 12
    images of a domain: a model that can only use colour and position."""
    feats, labels = [], []
    for i in range(12):
        image, label, _ = synthetic.draw_sample(0, train_domain, i, TARGET_SIZE, train_style)
        feats.append(_colour_features(image, TARGET_SIZE))
        labels.append(label.ravel())
    feats, labels = np.concatenate(feats), np.concatenate(labels)
    classes = sorted(MAIN_CLASSES.values())
    scores = []
    feats_val, labels_val = test_sets
    for c in classes:
        x = feats[labels == c]
        cov = np.cov(x.T) + 4.0 * np.eye(x.shape[1])
        d = feats_val - x.mean(0)
        scores.append(-0.5 * np.einsum('ij,jk,ik->i', d, np.linalg.inv(cov), d)
                      - 0.5 * np.linalg.slogdet(cov)[1] + np.log(len(x) / len(feats)))
    pred = np.asarray(classes)[np.argmax(scores, axis=0)]
    return np.mean([((pred == c) & (labels_val == c)).sum()
                    / ((pred == c) | (labels_val == c)).sum() for c in classes])


def test_gap_hurts_a_source_trained_classifier():
    target = synthetic.blend_style(synthetic.TARGET_STYLE, synthetic.TARGET_STYLE, 0.0)
    val = [synthetic.draw_sample(0, 'cityscapes_val', i, TARGET_SIZE, target) for i in range(6)]
    test_sets = (np.concatenate([_colour_features(v[0], TARGET_SIZE) for v in val]),
                 np.concatenate([v[1].ravel() for v in val]))
    oracle = _gaussian_classifier_miou('cityscapes_train', target, test_sets)
    miou = {gap: _gaussian_classifier_miou(
        'gta5', synthetic.blend_style(synthetic.TARGET_STYLE, synthetic.GTA5_STYLE, gap),
        test_sets) for gap in (0.0, 1.0)}
    assert miou[0.0] > oracle - 0.08, (miou, oracle)
    assert miou[1.0] < oracle - 0.15, (miou, oracle)
    assert miou[1.0] > 0.1      # worse, yet still far from useless


def test_cli(tmp_path, capsys):
    args = synthetic.parse_args(['--out', str(tmp_path), '--num_source', '2', '--num_train', '2',
                                 '--num_val', '1', '--target_size', '64x32',
                                 '--source_size', '80x45', '--gap', '0.5'])
    roots = synthetic.main(args)
    assert 'wrote 2 GTA5' in capsys.readouterr().out
    assert set(roots) == {'gta5', 'cityscapes'}
    assert _size(os.path.join(roots['gta5'], 'images', '00001.png')) == (80, 45)


@pytest.mark.parametrize('option, value', [('--target_size', 'abc'), ('--source_size', '8x8'),
                                           ('--gap', '1.5'), ('--num_train', '0')])
def test_cli_rejects_bad_values(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit):
        synthetic.parse_args(['--out', str(tmp_path), option, value])
    assert repr(value) in capsys.readouterr().err


def test_a_folder_of_other_files_is_refused(tmp_path):
    # A user's gta5/images/00001.png was once drawn over.
    from conftest import one_line_error, run_script
    out = tmp_path / 'mine'
    theirs = out / 'gta5' / 'images' / '00001.png'
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b'a user\'s image')
    small = ['--num_source', '1', '--num_train', '1', '--num_val', '1', '--target_size',
             '64x32', '--source_size', '80x45', '--workers', '1']
    one_line_error(run_script('-m', 'dataset.synthetic', '--out', out, *small), str(out),
                   'not empty')
    assert theirs.read_bytes() == b'a user\'s image' and sorted(os.listdir(out)) == ['gta5']
    one_line_error(run_script('-m', 'dataset.synthetic', '--out', tmp_path / 'new', '--seed',
                              '-1', *small), 'seed must be >= 0')
    # its own earlier output is written again
    for _ in range(2):
        _generate(tmp_path / 'again', num_source=1, num_train=1, num_val=1)
    assert os.path.isfile(tmp_path / 'again' / 'gta5' / 'images' / '00001.png')
