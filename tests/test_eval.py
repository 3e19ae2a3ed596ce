"""eval.py end to end on generated Cityscapes-layout sets, and every bad input."""
import json
import os

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, TINY_CFG, one_line_error, run_script, snapshot, write_cityscapes_val
from dataset.base_dataset import load_class_info, map_labels
from dataset.cityscapes import CityscapesDataset
from net.deeplabv2_mindspore import build_model
from utils.checkpoint import save_checkpoint

CAR_ID, CAR_TRAIN_ID = 26, 13


def constant_prediction_ckpt(cfg, path, train_id, num_classes=None, logit=1.0):
    """A tiny net whose main head predicts `train_id` everywhere (zero weights, one bias of
    `logit`: softmax e^logit / (e^logit + C - 1) there)."""
    net = build_model(cfg, num_classes)
    for name, param in net.parameters_and_names():
        if name.startswith('layer6.'):
            value = np.zeros(param.shape, np.float32)
            if name == 'layer6.conv2d_list.0.bias':
                value[train_id] = logit
            param.set_data(ms.Tensor(value))
    save_checkpoint(str(path), net)
    return str(path)


def run_eval(*args):
    return run_script('eval.py', '--cfg', TINY_CFG, *args)


@pytest.fixture
def car_world(tmp_path, tiny_cfg):
    """Two val images labelled car except a band of unlabeled (id 0) pixels."""
    labels = []
    for _ in range(2):
        label = np.full((64, 128), CAR_ID, np.uint8)
        label[:6] = 0
        labels.append(label)
    list_path = write_cityscapes_val(str(tmp_path / 'cs'), labels)
    good = constant_prediction_ckpt(tiny_cfg, tmp_path / 'good.ckpt', CAR_TRAIN_ID)
    wrong = constant_prediction_ckpt(tiny_cfg, tmp_path / 'wrong.ckpt', 0)
    return str(tmp_path / 'cs'), list_path, good, wrong


def test_perfect_checkpoint_scores_100_and_writes_predictions(car_world, tmp_path):
    data, list_path, good, _ = car_world
    pred_dir = tmp_path / 'pred'
    result = run_eval('--data_path', data, '--pretrained', good, '--list', list_path,
                      '--save_pred', str(pred_dir))
    assert result.returncode == 0, result.stderr
    assert 'mIoU-19 100.00' in result.stdout.replace('  ', ' ')
    summary = json.loads((pred_dir / 'results.json').read_text())
    assert summary['mIoU-19'] == 100.0 and summary['per_class']['car'] == 100.0
    assert summary['num_images'] == 2
    name = 'frankfurt_000000_000000_leftImg8bit.png'
    label_ids = np.asarray(Image.open(pred_dir / 'labelIds' / name))
    assert label_ids.shape == (64, 128) and (label_ids == CAR_ID).all()
    colour = Image.open(pred_dir / 'color' / name).convert('RGB')
    assert colour.getpixel((5, 5)) == (0, 0, 142)   # the Cityscapes colour of car


def test_wrong_checkpoint_scores_less(car_world, tmp_path):
    data, list_path, _, wrong = car_world
    out = tmp_path / 'wrong.json'
    result = run_eval('--data_path', data, '--pretrained', wrong, '--list', list_path,
                      '--output', str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())['mIoU-19'] == 0.0


def test_several_checkpoints_are_evaluated_as_their_ensemble(car_world, tmp_path, tiny_cfg):
    """The mean softmax decides, as in distillation's target: each pair below has one model
    for car and one for road, and the ensemble follows the more confident one."""
    data, list_path, car, road = car_world          # both with logit 1
    sure_car = constant_prediction_ckpt(tiny_cfg, tmp_path / 'sure_car.ckpt', CAR_TRAIN_ID,
                                        logit=2.0)
    sure_road = constant_prediction_ckpt(tiny_cfg, tmp_path / 'sure_road.ckpt', 0, logit=2.0)
    for pair, car_iou in (((road, sure_car), 100.0), ((car, sure_road), 0.0)):
        out = tmp_path / 'ensemble.json'
        result = run_eval('--data_path', data, '--pretrained', *pair, '--list', list_path,
                          '--output', str(out))
        assert result.returncode == 0, result.stderr
        summary = json.loads(out.read_text())
        assert summary['checkpoint'] == list(pair)
        assert summary['per_class']['car'] == car_iou, pair


def test_sixteen_class_model(car_world, tmp_path, tiny_cfg):
    data, list_path, _, _ = car_world
    ckpt = constant_prediction_ckpt(tiny_cfg, tmp_path / 'c16.ckpt', 12, num_classes=16)
    out = tmp_path / 'r16.json'
    result = run_eval('--data_path', data, '--pretrained', ckpt, '--list', list_path,
                      '--num_classes', '16', '--output', str(out))
    assert result.returncode == 0, result.stderr
    summary = json.loads(out.read_text())
    assert summary['per_class']['car'] == 100.0 and summary['mIoU-13'] == 100.0


def test_bad_inputs_give_one_line_errors(car_world, tmp_path, tiny_cfg):
    data, list_path, good, _ = car_world
    one_line_error(run_eval('--data_path', str(tmp_path / 'nope'), '--pretrained', good),
                   'nope')
    one_line_error(run_eval('--data_path', data, '--pretrained', good, '--list',
                            str(tmp_path / 'missing.txt')), 'missing.txt')
    one_line_error(run_eval('--data_path', data, '--pretrained', str(tmp_path / 'no.ckpt'),
                            '--list', list_path), 'no.ckpt')
    # a list naming an image that is not there
    bad_list = tmp_path / 'bad_list.txt'
    bad_list.write_text('frankfurt/frankfurt_000000_000009_leftImg8bit.png\n')
    one_line_error(run_eval('--data_path', data, '--pretrained', good, '--list', str(bad_list)),
                   'frankfurt_000000_000009_leftImg8bit.png')
    # a missing label
    label = os.path.join(data, 'gtFine/val/frankfurt/frankfurt_000000_000001_gtFine_labelIds.png')
    os.rename(label, label + '.bak')
    one_line_error(run_eval('--data_path', data, '--pretrained', good, '--list', list_path),
                   'frankfurt_000000_000001_gtFine_labelIds.png')
    os.rename(label + '.bak', label)
    # an empty list
    empty = tmp_path / 'empty.txt'
    empty.write_text('\n')
    one_line_error(run_eval('--data_path', data, '--pretrained', good, '--list', str(empty)),
                   'empty')


def test_corrupt_image_and_checkpoints(car_world, tmp_path, tiny_cfg):
    data, list_path, good, _ = car_world
    image = os.path.join(data, 'leftImg8bit/val/frankfurt/frankfurt_000000_000001_leftImg8bit.png')
    with open(image, 'r+b') as f:
        f.truncate(100)
    one_line_error(run_eval('--data_path', data, '--pretrained', good, '--list', list_path),
                   'frankfurt_000000_000001_leftImg8bit.png')
    corrupt = tmp_path / 'corrupt.ckpt'
    corrupt.write_bytes(b'not a checkpoint at all')
    one_line_error(run_eval('--data_path', data, '--pretrained', str(corrupt), '--list', list_path),
                   'corrupt.ckpt')
    ckpt16 = constant_prediction_ckpt(tiny_cfg, tmp_path / 'c16.ckpt', 1, num_classes=16)
    one_line_error(run_eval('--data_path', data, '--pretrained', ckpt16, '--list', list_path),
                   'NUM_CLASSES 16 (config: 19)', '--opts NUM_CLASSES=16')
    net = build_model(tiny_cfg)
    params = {n: p for n, p in net.parameters_and_names() if n != 'layer2.0.conv2.weight'}
    extra = {'layer9.weight': ms.Parameter(ms.Tensor(np.zeros(3, np.float32)), 'layer9.weight')}
    partial = tmp_path / 'partial.ckpt'
    ms.save_checkpoint([{'name': n, 'data': p} for n, p in {**params, **extra}.items()],
                       str(partial))
    one_line_error(run_eval('--data_path', data, '--pretrained', str(partial), '--list',
                            list_path), 'layer2.0.conv2.weight', 'layer9.weight')


def test_label_mapping_on_a_cityscapes_sample(cityscapes_sample):
    root, list_path = cityscapes_sample
    _, _, lut = load_class_info(os.path.join(ROOT, 'dataset/cityscapes_list/info.json'))
    dataset = CityscapesDataset(root, list_path, 'val', (256, 128), (104.0, 117.0, 123.0),
                                os.path.join(ROOT, 'dataset/cityscapes_list/info.json'))
    image, label, index = dataset[0]
    assert image.shape == (3, 128, 256) and image.dtype == np.float32
    expected = np.asarray(Image.open(os.path.join(
        root, 'gtFine/val/frankfurt/frankfurt_000000_000000_gtFine_labelTrainIds.png')))
    np.testing.assert_array_equal(label, expected)   # Cityscapes' own id -> train id table
    ids = np.array([7, 26, 0, 34, 255, 33])
    assert map_labels(ids, lut).tolist() == [0, 13, 255, 255, 255, 18]


def test_results_replace_nothing_but_earlier_results(car_world, tmp_path, monkeypatch):
    # --output naming the checkpoint once turned it into JSON; a folder failed after the
    # whole evaluation, with a traceback.
    import eval as eval_script
    from utils.errors import OutputError
    data, list_path, good, _ = car_world
    before = open(good, 'rb').read()
    one_line_error(run_eval('--data_path', data, '--pretrained', good, '--list', list_path,
                            '--output', good), good, 'never replaced')
    assert open(good, 'rb').read() == before
    monkeypatch.setattr(eval_script, 'evaluate', lambda *a, **k: pytest.fail('evaluated'))
    argv = ['--cfg', TINY_CFG, '--data_path', data, '--pretrained', good, '--list', list_path]
    for output in (str(tmp_path) + os.sep, str(tmp_path)):
        with pytest.raises(OutputError, match='is a folder'):
            eval_script.main(eval_script.parse_args(argv + ['--output', output]))
    monkeypatch.undo()
    output = tmp_path / 'r.json'
    for _ in range(2):          # an earlier evaluation's results are replaced
        eval_script.main(eval_script.parse_args(argv + ['--output', str(output)]))
        assert json.loads(output.read_text())['per_class']['car'] == 100.0


def test_a_running_run_s_folder_takes_no_results(car_world, tmp_path):
    import eval as eval_script
    from engine.run_dir import RunDir
    from utils.errors import OutputError
    data, list_path, good, _ = car_world
    run = tmp_path / 'run'
    argv = ['--cfg', TINY_CFG, '--data_path', data, '--list', list_path]
    with RunDir(str(run), 'teacher_rl', {}):
        checkpoint = run / 'final.ckpt'
        checkpoint.write_bytes(open(good, 'rb').read())
        before = snapshot(run)
        for extra in ([], ['--save_pred', str(run / 'pred')]):
            with pytest.raises(OutputError, match=f'in {run}, in use by a run'):
                eval_script.main(eval_script.parse_args(
                    argv + ['--pretrained', str(checkpoint)] + extra))
        assert snapshot(run) == before
    eval_script.main(eval_script.parse_args(argv + ['--pretrained', str(checkpoint)]))
    assert (run / 'eval_final.json').is_file()       # the run ended: its folder takes them


def test_a_checkpoint_of_non_finite_weights_is_refused(car_world, tmp_path, tiny_cfg):
    data, list_path, _, _ = car_world
    net = build_model(tiny_cfg)
    param = dict(net.parameters_and_names())['layer6.conv2d_list.0.bias']
    param.set_data(ms.Tensor(np.full(param.shape, np.nan, np.float32)))
    diverged = tmp_path / 'diverged.ckpt'
    save_checkpoint(str(diverged), net)
    one_line_error(run_eval('--data_path', data, '--pretrained', str(diverged), '--list',
                            list_path), str(diverged), 'layer6.conv2d_list.0.bias', 'NaN')
    assert not (tmp_path / 'eval_diverged.json').exists()
