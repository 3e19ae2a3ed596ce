"""The result pictures: written, of the documented size, and showing the numbers given."""
import json

import numpy as np
from PIL import Image

from test_eval import car_world, run_eval  # noqa: F401 (car_world is a fixture)
from utils.charts import (CM_CELL, IOU_BOTTOM, IOU_ROW, IOU_TOP, IOU_WIDTH, ROUND_SIZE,
                          confusion_matrix_image, iou_bar_chart, miou_per_round_chart,
                          round_series)

NAMES = ['road', 'sidewalk', 'building', 'car', 'person']


def pixels(path):
    return np.asarray(Image.open(path).convert('RGB'))


def test_iou_bar_chart(tmp_path):
    per_class = {'road': 97.5, 'sidewalk': 70.1, 'building': 85.0, 'car': 88.8, 'person': None}
    first = tmp_path / 'a.png'
    iou_bar_chart(per_class, first, 'test chart')
    assert Image.open(first).size == (IOU_WIDTH, IOU_TOP + IOU_ROW * 5 + IOU_BOTTOM)
    second = tmp_path / 'b.png'
    iou_bar_chart({**per_class, 'sidewalk': 20.0}, second, 'test chart')
    assert (pixels(first) != pixels(second)).any()
    nineteen = {f'class {i}': float(i * 5) for i in range(19)}
    iou_bar_chart(nineteen, tmp_path / 'c.png', 'nineteen')
    assert Image.open(tmp_path / 'c.png').size == (IOU_WIDTH, IOU_TOP + IOU_ROW * 19 + IOU_BOTTOM)


def test_confusion_matrix_image(tmp_path):
    hist = np.diag([500, 300, 400, 200, 100]) + 3
    hist[4] = 0          # a class without pixels: its row stays empty, no division by zero
    confusion_matrix_image(hist, NAMES, tmp_path / 'a.png')
    width, height = Image.open(tmp_path / 'a.png').size
    assert width > CM_CELL * 5 and height > CM_CELL * 5
    swapped = hist.copy()
    swapped[0, [0, 1]] = swapped[0, [1, 0]]
    confusion_matrix_image(swapped, NAMES, tmp_path / 'b.png')
    assert Image.open(tmp_path / 'b.png').size == (width, height)
    assert (pixels(tmp_path / 'a.png') != pixels(tmp_path / 'b.png')).any()


COLUMNS = {'teacher_rl': 'region-level teacher', 'teacher_sl': 'sample-level teacher',
           'ensemble': "teachers' ensemble", 'student': 'student'}


def test_miou_per_round_chart(tmp_path):
    rows = [{'round': 1, 'teacher_rl': 55.2, 'teacher_sl': 54.1, 'ensemble': 55.0,
             'student': 57.0},
            {'round': 2, 'teacher_rl': 58.0, 'teacher_sl': 57.9, 'ensemble': 58.5,
             'student': 59.6}]
    miou_per_round_chart(rows, tmp_path / 'a.png', COLUMNS)
    assert Image.open(tmp_path / 'a.png').size == ROUND_SIZE
    for key in ('student', 'ensemble'):                  # every column of the table is drawn
        changed = [rows[0], {**rows[1], key: 61.0}]
        miou_per_round_chart(changed, tmp_path / 'b.png', COLUMNS)
        assert (pixels(tmp_path / 'a.png') != pixels(tmp_path / 'b.png')).any()
    # a third teacher is a series of its own, in a colour of its own, its legend fitting
    third = {**COLUMNS, 'teacher_cl': 'class-level teacher'}
    series = round_series(third)
    assert len({colour for _, _, colour, _, _ in series}) == len(third)
    miou_per_round_chart([{**row, 'teacher_cl': 50.0} for row in rows], tmp_path / 'e.png',
                         third)
    assert (pixels(tmp_path / 'a.png') != pixels(tmp_path / 'e.png')).any()
    # a round still running (values missing or None) and no rounds at all are drawn too
    miou_per_round_chart(rows + [{'round': 3, 'teacher_rl': 60.0, 'student': None}],
                         tmp_path / 'c.png', COLUMNS)
    miou_per_round_chart([], tmp_path / 'd.png', COLUMNS)
    assert Image.open(tmp_path / 'd.png').size == ROUND_SIZE


def test_eval_writes_the_charts(car_world, tmp_path):  # noqa: F811
    data, list_path, good, _ = car_world
    output = tmp_path / 'results' / 'run.json'
    result = run_eval('--data_path', data, '--pretrained', good, '--list', list_path,
                      '--output', str(output))
    assert result.returncode == 0, result.stderr
    classes = len(json.loads(output.read_text())['per_class'])
    iou = Image.open(tmp_path / 'results' / 'run_iou.png')
    assert iou.size == (IOU_WIDTH, IOU_TOP + IOU_ROW * classes + IOU_BOTTOM)
    confusion = Image.open(tmp_path / 'results' / 'run_confusion.png')
    assert min(confusion.size) > CM_CELL * classes
