"""Evaluate a DeepLab-v2 checkpoint on Cityscapes val: mIoU-19/16/13 and per-class IoU.

    python eval.py --data_path /data/Cityscapes --pretrained weights/ddm_gta_100.ckpt

The 500 val images are fed at 1024x512; the main head's logits are upsampled bilinearly
(align_corners=True) to 2048x1024 and compared with the labels mapped by label2train.
"""
import argparse
import json
import os

import numpy as np

from config import add_config_args, cfg_from_args
from dataset.base_dataset import load_class_info
from dataset.cityscapes import cityscapes_val
from engine.compiled_steps import kept_predictor
from engine.evaluation import evaluate
from engine.run_dir import (check_not_in_use, check_output_file, check_outside, check_writable,
                            dataset_roots)
from utils.charts import confusion_matrix_image, iou_bar_chart
from utils.device import setup_device_for
from utils.errors import ConfigError, DataError, run_cli
from utils.func import format_table
from utils.serialization import atomic_write_json


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data_path', required=True, help='Cityscapes root (leftImg8bit/, gtFine/)')
    parser.add_argument('--pretrained', required=True, nargs='+',
                        help='checkpoint to evaluate (.ckpt); with several, their ensemble '
                             '(mean softmax, what distill.py distils the student towards)')
    parser.add_argument('--list', default=None, help='image list (default: the 500 val images)')
    parser.add_argument('--save_pred', default=None,
                        help='directory for colourised and labelId prediction PNGs')
    parser.add_argument('--output', default=None,
                        help='results JSON, with its charts beside it (default: '
                             'SAVE_PRED/results.json, else beside the checkpoint: '
                             'CKPT_DIR/eval_CKPT_NAME.json; for an ensemble, in the '
                             "checkpoints' common folder, named after their paths in it)")
    parser.add_argument('--num_workers', type=int, default=None)
    add_config_args(parser, model_args=True)
    return parser.parse_args(argv)


def main(args):
    cfg = cfg_from_args(args)
    pretrained = args.pretrained[0] if len(args.pretrained) == 1 else args.pretrained
    output = args.output or (os.path.join(args.save_pred, 'results.json') if args.save_pred
                             else default_output(args.pretrained))
    # A run's folder is its own while it runs (the pipeline's evaluations, in its folder, are
    # its steps and do not come here).
    for option, path in (('--save_pred', args.save_pred), ('--output', output)):
        if path:
            check_not_in_use(path, option)
    return evaluate_checkpoint(cfg, pretrained, args.data_path, args.list, args.save_pred,
                               output)


def default_output(checkpoints):
    """Results of a checkpoint beside it, `DIR/eval_NAME.json` (every stage's checkpoint is
    final.ckpt: one folder of results would keep only the last); of an ensemble, in the
    checkpoints' common folder, named after their paths in it (`eval_a_final+b_final.json`)."""
    paths = [os.path.abspath(os.path.splitext(path)[0]) for path in checkpoints]
    folder = os.path.dirname(paths[0]) if len(paths) == 1 else os.path.commonpath(
        [os.path.dirname(path) for path in paths])
    name = '+'.join(os.path.relpath(path, folder).replace(os.sep, '_') for path in paths)
    return os.path.join(folder, f'eval_{name}.json')


def earlier_results(path):
    """Whether `path` holds results this script wrote (which a new evaluation may replace)."""
    try:
        with open(path) as f:
            results = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(results, dict) and {'checkpoint', 'per_class'} <= set(results)


def chart_paths(output):
    """The charts written beside the results file `output`: (IoU per class, confusion)."""
    stem = os.path.splitext(output)[0]
    return stem + '_iou.png', stem + '_confusion.png'


def evaluate_checkpoint(cfg, pretrained, data_path, list_path=None, save_pred=None,
                        output=None):
    """mIoUs and per-class IoU of the checkpoint (or of the ensemble of a list of them) on the
    val list; printed and saved as JSON."""
    if not os.path.isdir(data_path):
        raise DataError(f'--data_path: dataset root not found: {data_path}')
    roots = {**dataset_roots(cfg), '--data_path': data_path}
    for option, path in (('--save_pred', save_pred), ('--output', output)):
        if path:
            check_outside(path, roots, option)
    if output:  # the results and their charts replace only an earlier evaluation's
        for path in (output, *chart_paths(output)):
            check_output_file(path, '--output', lambda _: earlier_results(output))
    class_names, palette, label_lut = load_class_info(cfg.TEST.INFO)
    if len(class_names) != cfg.NUM_CLASSES:
        raise ConfigError(f'TEST.INFO {cfg.TEST.INFO} has {len(class_names)} classes, '
                          f'NUM_CLASSES is {cfg.NUM_CLASSES}')
    dataset = cityscapes_val(cfg, data_path, list_path)
    setup_device_for(cfg, inference=True)
    paths = [pretrained] if isinstance(pretrained, str) else list(pretrained)
    # The predictor of the last evaluation in this process, if of the same settings and size
    # (the pipeline's), given these weights: compiled once (engine/compiled_steps.py).
    predictor = kept_predictor(cfg, paths, dataset.label_size[::-1])

    # Where the results go: after the checkpoint (a run refused for its inputs makes no
    # folder), before the whole evaluation rather than after it.
    if output:
        check_writable(os.path.dirname(output) or '.')
    if save_pred:
        check_writable(save_pred)
    summary, hist = evaluate(predictor, dataset, cfg.NUM_CLASSES, class_names, cfg.NUM_WORKERS,
                             save_pred, palette, label_lut)
    print(format_table(summary))
    if output:
        checkpoint = [os.path.abspath(path) for path in paths]
        atomic_write_json(output, {'checkpoint': checkpoint[0] if len(paths) == 1 else checkpoint,
                                   'data_path': os.path.abspath(data_path),
                                   'list': os.path.abspath(dataset.list_path),
                                   'num_images': len(dataset), **summary,
                                   'confusion_matrix': np.asarray(hist).tolist()})
        iou_chart, confusion_chart = chart_paths(output)
        iou_bar_chart(summary['per_class'], iou_chart,
                      f'{" + ".join(map(os.path.basename, paths))}: IoU per class, '
                      f'{len(dataset)} images of {os.path.basename(dataset.list_path)}')
        confusion_matrix_image(hist, class_names, confusion_chart)
        print(f'results written to {output} (charts: {iou_chart}, {confusion_chart})')
    return summary


if __name__ == '__main__':
    run_cli(main, parse_args())
