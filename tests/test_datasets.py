"""The list-file loaders: GTA5, SYNTHIA and Cityscapes on generated data and a photograph, label
mapping, the unlabeled pool, and one-line `DataError`s naming the file for every bad input,
also when raised inside a MindSpore data worker."""
import functools
import os
import shutil

import numpy as np
import png
import pytest
from PIL import Image

from config import get_cfg
from conftest import TINY_CFG, write_cityscapes_val
from dataset import pipeline, synthetic
from dataset.base_dataset import IGNORE_LABEL, load_class_info, map_labels, write_list
from dataset.build import source_dataset, target_unlabeled_dataset
from dataset.cityscapes import CityscapesDataset, cityscapes_val
from dataset.gta5 import GTA5Dataset
from dataset.png16 import write_png_16bit
from dataset.synthia import SYNTHIA_TO_TRAIN16, SynthiaDataset
from utils.errors import DataError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INFO = os.path.join(ROOT, 'dataset', 'cityscapes_list', 'info.json')
MEAN = (104.00698793, 116.66876762, 122.67891434)
SMALL_TARGET, SMALL_SOURCE = (64, 32), (80, 48)


def _lut():
    return load_class_info(INFO)[2]


def _read(path):
    with Image.open(path) as img:
        return np.asarray(img)


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    """GTA5, SYNTHIA and Cityscapes layouts, a few small images each (copied before changes)."""
    out = str(tmp_path_factory.mktemp('small'))
    synthetic.generate(out, seed=3, num_source=3, num_train=3, num_val=2,
                       target_size=SMALL_TARGET, source_size=SMALL_SOURCE, synthia=True)
    return out


def _make(kind, root):
    """(dataset constructor taking (root, list_path), the default list) of a layout."""
    if kind == 'gta5':
        return (lambda r, lst: GTA5Dataset(r, lst, SMALL_SOURCE, MEAN, INFO),
                os.path.join(root, 'gta5', 'gta5_list', 'train.txt'))
    if kind == 'synthia':
        return (lambda r, lst: SynthiaDataset(r, lst, SMALL_SOURCE, MEAN),
                os.path.join(root, 'synthia', 'synthia_list', 'train.txt'))
    return (lambda r, lst: CityscapesDataset(r, lst, 'train', SMALL_TARGET, MEAN, INFO),
            os.path.join(root, 'cityscapes', 'cityscapes_list', 'train.txt'))


# ---- GTA5 ----------------------------------------------------------------------------

def test_gta5_resizes_image_and_label_of_different_sizes_alike(tmp_path):
    # Quadrants at the label's own scale: a crop or pad instead of a resize would move the
    # boundaries of the label against those of the image.
    root = tmp_path / 'gta5'
    (root / 'images').mkdir(parents=True)
    (root / 'labels').mkdir()
    image = np.zeros((32, 64, 3), np.uint8)
    image[:16, :32], image[:16, 32:] = (200, 0, 0), (0, 0, 200)      # sky | building
    image[16:, :32], image[16:, 32:] = (0, 200, 0), (200, 200, 0)    # road | car
    label = np.zeros((40, 80), np.uint8)
    label[:20, :40], label[:20, 40:], label[20:, :40], label[20:, 40:] = 23, 11, 7, 26
    Image.fromarray(image).save(root / 'images' / '00001.png')
    Image.fromarray(label).save(root / 'labels' / '00001.png')
    write_list(str(root / 'list.txt'), ['00001.png'])

    dataset = GTA5Dataset(str(root), str(root / 'list.txt'), (32, 16), MEAN, INFO)
    rgb, train_ids = dataset.load(0)
    native, native_ids = dataset.load(0, resize=False)   # for colour transfer: labels as usual
    np.testing.assert_array_equal(native, image)
    np.testing.assert_array_equal(native_ids, train_ids)
    assert rgb.shape == (16, 32, 3) and rgb.dtype == np.uint8
    assert train_ids.shape == (16, 32) and train_ids.dtype == np.uint8
    expected = np.zeros((16, 32), np.uint8)
    expected[:8, :16], expected[:8, 16:], expected[8:, :16], expected[8:, 16:] = 10, 2, 0, 13
    np.testing.assert_array_equal(train_ids, expected)
    # Two pixels away from the boundaries (bicubic blends and rings there) the colours match.
    for rows, cols, colour in (((0, 6), (0, 14), (200, 0, 0)), ((0, 6), (18, 32), (0, 0, 200)),
                               ((10, 16), (0, 14), (0, 200, 0)),
                               ((10, 16), (18, 32), (200, 200, 0))):
        block = rgb[rows[0]:rows[1], cols[0]:cols[1]].reshape(-1, 3)
        assert np.abs(block.astype(int) - colour).max() <= 8, (rows, cols)


def test_gta5_generated_mismatched_label_lines_up(generated):
    out, _ = generated
    root = os.path.join(out, 'gta5')
    dataset = GTA5Dataset(root, os.path.join(root, 'gta5_list', 'train.txt'), (160, 96), MEAN,
                          INFO)
    index = dataset.names.index('00007.png')   # the generator's label of another size
    assert _read(os.path.join(root, 'labels', '00007.png')).shape != (96, 160)
    rgb, train_ids = dataset.load(index)
    assert rgb.shape == (96, 160, 3) and train_ids.shape == (96, 160)
    # The scene the generator drew, at the image's size: the resized label agrees with it.
    style = synthetic.blend_style(synthetic.TARGET_STYLE, synthetic.GTA5_STYLE, 1.0)
    _, label_ids, _ = synthetic.draw_sample(0, 'gta5', 7, (160, 96), style)
    assert np.mean(train_ids == _lut()[label_ids]) > 0.97
    np.testing.assert_array_equal(rgb, _read(os.path.join(root, 'images', '00007.png')))


def test_gta5_getitem_is_network_input(generated):
    out, _ = generated
    root = os.path.join(out, 'gta5')
    dataset = GTA5Dataset(root, os.path.join(root, 'gta5_list', 'train.txt'), (128, 72), MEAN,
                          INFO)
    image, label, index = dataset[2]
    assert image.shape == (3, 72, 128) and image.dtype == np.float32
    assert label.shape == (72, 128) and label.dtype == np.int32 and index == 2
    rgb, train_ids = dataset.load(2)
    np.testing.assert_allclose(image, (rgb[:, :, ::-1] - np.float32(MEAN)).transpose(2, 0, 1),
                               atol=1e-4)
    np.testing.assert_array_equal(label, train_ids)


# ---- Cityscapes ----------------------------------------------------------------------

@pytest.mark.parametrize('split', ['train', 'val'])
def test_cityscapes_generated_labels_are_the_train_ids(generated, split):
    out, _ = generated
    root = os.path.join(out, 'cityscapes')
    dataset = CityscapesDataset(root, os.path.join(root, 'cityscapes_list', f'{split}.txt'),
                                split, (128, 64), MEAN, INFO)
    assert len(dataset) == {'train': 12, 'val': 4}[split]
    for i in range(len(dataset)):
        rgb, train_ids = dataset.load(i)
        name = dataset.names[i]
        assert rgb.shape == (64, 128, 3) and train_ids.shape == (64, 128)
        np.testing.assert_array_equal(rgb, _read(os.path.join(root, 'leftImg8bit', split, name)))
        trainid_file = os.path.join(root, 'gtFine', split,
                                    name.replace('leftImg8bit', 'gtFine_labelTrainIds'))
        np.testing.assert_array_equal(train_ids, _read(trainid_file))


def test_cityscapes_val_labels_at_output_size(generated, tiny_cfg):
    out, _ = generated
    root = os.path.join(out, 'cityscapes')
    tiny_cfg.TEST.OUTPUT_SIZE = (256, 128)
    dataset = cityscapes_val(tiny_cfg, root, os.path.join(root, 'cityscapes_list', 'val.txt'))
    image, label, _ = dataset[0]
    assert image.shape == (3, 64, 128) and label.shape == (128, 256)
    small_label = dataset.label_lut[_read(dataset.label_path(dataset.names[0]))]
    np.testing.assert_array_equal(label[::2, ::2], small_label)   # nearest: each pixel twice


def test_cityscapes_unlabeled_has_no_label(generated):
    out, _ = generated
    root = os.path.join(out, 'cityscapes')
    dataset = CityscapesDataset(root, os.path.join(root, 'cityscapes_list', 'train.txt'),
                                'train', (128, 64), MEAN, INFO, labeled=False, max_items=5)
    assert len(dataset) == 5
    rgb, label = dataset.load(4)
    assert rgb.shape == (64, 128, 3) and label is None
    _, label, _ = dataset[4]
    assert label.shape == (64, 128) and np.all(label == IGNORE_LABEL)


def test_cityscapes_sample(cityscapes_sample):
    root, list_path = cityscapes_sample
    dataset = CityscapesDataset(root, list_path, 'val', (256, 128), MEAN, INFO)
    image, label, index = dataset[0]
    name = dataset.names[0]
    rgb = _read(os.path.join(root, 'leftImg8bit', 'val', name))
    assert rgb.shape == (128, 256, 3) and index == 0
    # CHW, BGR, Caffe mean subtracted, no std division.
    assert image.shape == (3, 128, 256) and image.dtype == np.float32
    for channel, (rgb_channel, mean) in enumerate(zip((2, 1, 0), MEAN)):
        np.testing.assert_allclose(image[channel], rgb[:, :, rgb_channel] - np.float32(mean),
                                   atol=1e-4)
    # Every Cityscapes id, mapped as Cityscapes' labelTrainIds: the 19 classes and ignore.
    train_ids = _read(os.path.join(root, 'gtFine', 'val',
                                   name.replace('leftImg8bit', 'gtFine_labelTrainIds')))
    np.testing.assert_array_equal(label, train_ids)
    assert set(np.unique(label)) == set(range(19)) | {IGNORE_LABEL}


def test_cityscapes_sample_resized(cityscapes_sample):
    root, list_path = cityscapes_sample
    image, label, _ = CityscapesDataset(root, list_path, 'val', (128, 64), MEAN, INFO,
                                        label_size=(256, 128))[0]
    assert image.shape == (3, 64, 128) and label.shape == (128, 256)


# ---- label mapping -------------------------------------------------------------------

def test_label_ids_outside_the_table_become_ignore(tmp_path):
    all_ids = np.arange(256, dtype=np.uint8).reshape(16, 16)
    list_path = write_cityscapes_val(str(tmp_path), [all_ids], size=(16, 16))
    _, train_ids = CityscapesDataset(str(tmp_path), list_path, 'val', (16, 16), MEAN,
                                     INFO).load(0)
    expected = np.full(256, IGNORE_LABEL, np.uint8)
    for label_id, train_id in synthetic.LABEL2TRAIN.items():
        expected[label_id] = train_id
    np.testing.assert_array_equal(train_ids.ravel(), expected)
    assert set(np.unique(train_ids)) == set(range(19)) | {IGNORE_LABEL}
    # The 16-class table keeps 16 of them.
    _, train_ids = CityscapesDataset(str(tmp_path), list_path, 'val', (16, 16), MEAN,
                                     INFO.replace('info.json', 'info_16.json')).load(0)
    assert set(np.unique(train_ids)) == set(range(16)) | {IGNORE_LABEL}


def test_map_labels_wide_ids():
    lut = _lut()
    ids = np.array([[7, 26, 255, 256, 263, 1000, 65535]], np.uint16)
    np.testing.assert_array_equal(map_labels(ids, lut), [[0, 13, 255, 255, 255, 255, 255]])


# ---- SYNTHIA -------------------------------------------------------------------------

def _png16_channel0(path):
    """Channel 0 of a 16-bit PNG, read with pypng (independent of the loader's decoder)."""
    width, height, rows, info = png.Reader(filename=path).asDirect()
    planes = info['planes']
    pixels = np.vstack([np.asarray(row, np.uint16) for row in rows]).reshape(height, width,
                                                                             planes)
    assert info['bitdepth'] == 16
    return pixels[:, :, 0]


def test_synthia_generated_16_classes(small):
    root = os.path.join(small, 'synthia')
    dataset = SynthiaDataset(root, os.path.join(root, 'synthia_list', 'train.txt'), SMALL_SOURCE,
                             MEAN)
    table = np.full(65536, IGNORE_LABEL, np.uint8)
    for synthia_id, train_id in SYNTHIA_TO_TRAIN16.items():
        table[synthia_id] = train_id
    seen = set()
    for i in range(len(dataset)):
        rgb, train_ids = dataset.load(i)
        assert rgb.shape == (48, 80, 3) and train_ids.shape == (48, 80)
        class_ids = _png16_channel0(dataset.label_path(dataset.names[i]))
        np.testing.assert_array_equal(train_ids, table[class_ids])
        seen |= set(np.unique(train_ids).tolist())
    assert seen <= set(range(16)) | {IGNORE_LABEL}
    assert len(seen - {IGNORE_LABEL}) >= 8


def test_synthia_16bit_ids_above_255_become_ignore(tmp_path):
    root = tmp_path / 'synthia'
    (root / 'RGB').mkdir(parents=True)
    (root / 'GT' / 'LABELS').mkdir(parents=True)
    Image.fromarray(np.zeros((2, 8, 3), np.uint8)).save(root / 'RGB' / '0000001.png')
    label = np.zeros((2, 8, 3), np.uint16)
    # 259 = 0x0103 and 264 = 0x0108: their low bytes are road (3) and car (8).
    label[..., 0] = [[3, 8, 259, 264, 1000, 65535, 22, 16]] * 2
    label[..., 1] = 777                                     # instance ids: not classes
    write_png_16bit(str(root / 'GT' / 'LABELS' / '0000001.png'), label)
    write_list(str(root / 'list.txt'), ['0000001.png'])
    _, train_ids = SynthiaDataset(str(root), str(root / 'list.txt'), (8, 2), MEAN).load(0)
    np.testing.assert_array_equal(train_ids, [[0, 12, 255, 255, 255, 255, 255, 255]] * 2)


def test_synthia_source_dataset_from_config(small):
    synthetic.write_data_config(small, 'synthia')
    cfg = get_cfg([TINY_CFG, os.path.join(small, 'data_synthia.yaml')], ['NUM_CLASSES=16'])
    dataset = source_dataset(cfg)
    assert isinstance(dataset, SynthiaDataset) and len(dataset) == 3
    image, label, _ = dataset[0]
    assert image.shape == (3, 96, 160) and label.shape == (96, 160)


# ---- the unlabeled pool --------------------------------------------------------------

def test_exclude_labeled_from_unlabeled(generated, tmp_path):
    out, data_cfg = generated
    cfg = get_cfg([TINY_CFG, data_cfg])
    train = target_unlabeled_dataset(cfg).names
    assert len(train) == 12
    labeled = [train[5], train[0], train[9]]
    cfg.DATA_LIST_TARGET_LABELED = str(tmp_path / 'labeled.txt')
    write_list(cfg.DATA_LIST_TARGET_LABELED, labeled)
    assert target_unlabeled_dataset(cfg).names == train        # the paper keeps D_T in D_U
    cfg.EXCLUDE_LABELED_FROM_UNLABELED = True
    pool = target_unlabeled_dataset(cfg)
    assert pool.names == [n for n in train if n not in labeled] and len(pool) == 9
    assert pool.load(0)[1] is None
    write_list(cfg.DATA_LIST_TARGET_LABELED, train)
    with pytest.raises(DataError, match='no unlabeled image is left'):
        target_unlabeled_dataset(cfg)


# ---- bad input -----------------------------------------------------------------------

def _assert_one_line(error, *needles):
    message = str(error.value)
    assert '\n' not in message.strip(), message
    for needle in needles:
        assert needle in message, message


@pytest.fixture
def copied(small, tmp_path):
    root = str(tmp_path / 'data')
    shutil.copytree(small, root)
    return root


def _truncate(path):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


KINDS = ['gta5', 'cityscapes', 'synthia']


def _kind_root(root, kind):
    return os.path.join(root, kind)


@pytest.mark.parametrize('kind', KINDS)
def test_missing_root(copied, kind):
    make, list_path = _make(kind, copied)
    missing = os.path.join(copied, 'no_such_root')
    with pytest.raises(DataError) as error:
        make(missing, list_path)
    _assert_one_line(error, missing)


@pytest.mark.parametrize('kind', KINDS)
def test_missing_and_empty_list(copied, kind):
    make, list_path = _make(kind, copied)
    missing = list_path + '.missing'
    with pytest.raises(DataError) as error:
        make(_kind_root(copied, kind), missing)
    _assert_one_line(error, missing)
    with open(list_path, 'w') as f:
        f.write('\n  \n')
    with pytest.raises(DataError) as error:
        make(_kind_root(copied, kind), list_path)
    _assert_one_line(error, list_path, 'empty')


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('what', ['image', 'label'])
def test_missing_file_named_at_construction(copied, kind, what):
    make, list_path = _make(kind, copied)
    dataset = make(_kind_root(copied, kind), list_path)
    path = getattr(dataset, f'{what}_path')(dataset.names[1])
    os.remove(path)
    with pytest.raises(DataError) as error:
        make(_kind_root(copied, kind), list_path)
    _assert_one_line(error, path, list_path)


@pytest.mark.parametrize('kind', KINDS)
def test_list_naming_a_missing_image(copied, kind):
    make, list_path = _make(kind, copied)
    dataset = make(_kind_root(copied, kind), list_path)
    name = dataset.names[0].replace('0', '9')
    with open(list_path, 'a') as f:
        f.write(name + '\n')
    with pytest.raises(DataError) as error:
        make(_kind_root(copied, kind), list_path)
    _assert_one_line(error, dataset.image_path(name))


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('what', ['image', 'label'])
def test_corrupt_png(copied, kind, what):
    make, list_path = _make(kind, copied)
    dataset = make(_kind_root(copied, kind), list_path)
    path = getattr(dataset, f'{what}_path')(dataset.names[1])
    _truncate(path)
    dataset.load(0)
    with pytest.raises(DataError) as error:
        dataset.load(1)
    _assert_one_line(error, path)


@pytest.mark.parametrize('num_workers', [1, 2])
@pytest.mark.parametrize('kind,what', [('gta5', 'image'), ('cityscapes', 'label'),
                                       ('synthia', 'label')])
def test_corrupt_png_inside_a_worker(copied, kind, what, num_workers):
    make, list_path = _make(kind, copied)
    dataset = make(_kind_root(copied, kind), list_path)
    path = getattr(dataset, f'{what}_path')(dataset.names[1])
    _truncate(path)
    build = functools.partial(pipeline.labeled_sample, mean=MEAN, stream='data')
    loader = pipeline.train_loader({'data': dataset}, build, batch_size=1, start_step=0, num_steps=len(dataset), seed=0,
                                   num_workers=num_workers)
    with pytest.raises(DataError) as error:
        for _ in pipeline.iterate(loader):
            pass
    _assert_one_line(error, path)


# ---- inputs that once passed silently ------------------------------------------------

@pytest.mark.parametrize('kind', KINDS)
def test_16bit_greyscale_image_is_refused(copied, kind):
    # Pillow would convert it to RGB as all white.
    make, list_path = _make(kind, copied)
    dataset = make(_kind_root(copied, kind), list_path)
    path = dataset.image_path(dataset.names[1])
    width, height = Image.open(path).size
    Image.fromarray(np.full((height, width), 3000, np.uint16)).save(path)
    with Image.open(path) as img:
        assert img.mode.startswith('I;16')
    with pytest.raises(DataError) as error:
        dataset.load(1)
    _assert_one_line(error, path, 'I;16', '8-bit')


@pytest.mark.parametrize('kind', ['gta5', 'cityscapes'])
def test_colour_label_is_refused(copied, kind):
    # Once trained on as 3x wider pixels, and an IndexError in eval.py.
    make, list_path = _make(kind, copied)
    dataset = make(_kind_root(copied, kind), list_path)
    path = dataset.label_path(dataset.names[1])
    ids = _read(path)
    Image.fromarray(np.stack([ids] * 3, axis=-1)).save(path)
    with pytest.raises(DataError) as error:
        dataset.load(1)
    _assert_one_line(error, path, 'has 3')


@pytest.mark.parametrize('kind', ['cityscapes', 'synthia'])
def test_label_of_another_size_than_its_image_is_refused(copied, kind):
    # Their layouts ship each label at its image's size (GTA5's may differ: resized above).
    make, list_path = _make(kind, copied)
    dataset = make(_kind_root(copied, kind), list_path)
    name = dataset.names[1]
    image = Image.open(dataset.image_path(name))
    width, height = image.size
    smaller = Image.new('RGB', (width // 2, height // 2))
    smaller.save(dataset.image_path(name))
    dataset.load(0)
    with pytest.raises(DataError) as error:
        dataset.load(1)
    _assert_one_line(error, dataset.label_path(name), dataset.image_path(name),
                     f'{width}x{height}', f'{width // 2}x{height // 2}')


@pytest.mark.parametrize('kind', KINDS)
def test_label_of_no_class_warns_once_per_file(copied, kind, capsys):
    make, list_path = _make(kind, copied)
    dataset = make(_kind_root(copied, kind), list_path)
    path = dataset.label_path(dataset.names[1])
    shape = _read(path).shape
    if kind == 'synthia':
        write_png_16bit(path, np.full(shape, 300, np.uint16))
    else:
        Image.fromarray(np.full(shape, 250, np.uint8)).save(path)
    for _ in range(3):
        dataset.load(0)
        _, train_ids = dataset.load(1)
    assert np.all(train_ids == IGNORE_LABEL)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'warning: {path}: ') and \
        ('300' if kind == 'synthia' else '250') in lines[0], lines


def test_list_encodings_and_an_unreadable_list(copied, deny_reading):
    # A UTF-8 byte-order mark once made the first name "not found"; UTF-16 or a list the
    # user may not read was a traceback.
    make, list_path = _make('cityscapes', copied)
    root = _kind_root(copied, 'cityscapes')
    names = make(root, list_path).names
    text = '\r\n'.join(names) + '\r\n'
    with open(list_path, 'wb') as f:
        f.write(b'\xef\xbb\xbf' + text.encode())
    assert make(root, list_path).names == names
    with open(list_path, 'wb') as f:
        f.write(text.encode('utf-16'))
    with pytest.raises(DataError) as error:
        make(root, list_path)
    _assert_one_line(error, list_path, 'UTF-16', 'UTF-8')
    deny_reading(list_path)
    with pytest.raises(DataError) as error:
        make(root, list_path)
    _assert_one_line(error, list_path, 'Permission denied')


def test_a_folder_where_a_file_belongs_says_so(copied, tmp_path):
    from dataset.base_dataset import read_image
    from utils.checkpoint import read_checkpoint
    from utils.errors import CheckpointError
    make, list_path = _make('cityscapes', copied)
    root = _kind_root(copied, 'cityscapes')
    folder = str(tmp_path)
    for read, error_type in ((lambda: make(root, folder), DataError),
                             (lambda: read_image(folder), DataError),
                             (lambda: read_checkpoint(folder), CheckpointError)):
        with pytest.raises(error_type) as error:
            read()
        _assert_one_line(error, f'{folder} is a folder, not a file')
    name = make(root, list_path).names[0]
    with open(list_path, 'a') as f:
        f.write(os.path.dirname(name) + '\n')        # a city's folder, listed as an image
    with pytest.raises(DataError) as error:
        make(root, list_path)
    _assert_one_line(error, list_path, 'a folder, not a file', os.path.dirname(name))


def test_a_name_listed_twice_is_refused(copied):
    # D_T with a duplicate once counted it twice in the label budget (the run's folder name).
    make, list_path = _make('cityscapes', copied)
    names = make(_kind_root(copied, 'cityscapes'), list_path).names
    write_list(list_path, names + [names[1]])
    with pytest.raises(DataError) as error:
        make(_kind_root(copied, 'cityscapes'), list_path)
    _assert_one_line(error, list_path, f'line {len(names) + 1}', names[1], 'line 2')


def test_a_labeled_list_outside_the_train_list_is_a_warning(generated, tmp_path, capsys):
    from dataset.build import check_inputs
    _, data_cfg = generated
    cfg = get_cfg([TINY_CFG, data_cfg])
    train = target_unlabeled_dataset(cfg).names
    cfg.DATA_LIST_TARGET = str(tmp_path / 'd_u.txt')
    write_list(cfg.DATA_LIST_TARGET, train[2:])
    check_inputs(cfg)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('warning: 2 of the 12 images of '
                                                   'DATA_LIST_TARGET_LABELED'), lines
    assert cfg.DATA_LIST_TARGET in lines[0] and train[0] in lines[0]
