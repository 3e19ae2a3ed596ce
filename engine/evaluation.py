"""Evaluation on a labeled set: main head, bilinear upsampling to the label size, argmax.

One function serves eval.py and the validation inside training.
"""
import os

import mindspore as ms
from tqdm import tqdm

from dataset.pipeline import eval_loader, iterate
from utils.func import ConfusionMatrix
from utils.serialization import atomic_save_image
from utils.visualize import colorize, train_ids_to_label_ids


def evaluate(predictor, dataset, num_classes, class_names=None, num_workers=1, save_pred=None,
             palette=None, label_lut=None, progress=True):
    """Confusion-matrix summary of `predictor` (a net.predict.Predictor at the labels' size)
    on `dataset` (mIoUs and per-class IoU, in %).

    With `save_pred`, also writes `color/NAME` (Cityscapes palette) and `labelIds/NAME`
    (label ids, as cityscapesScripts' evaluation reads them) for every image.
    """
    net = predictor.net
    was_training = net.training
    net.set_train(False)
    matrix = ConfusionMatrix(num_classes)
    batches = iterate(eval_loader(dataset, num_workers))
    # a bar closed on an error too: the error's message then starts on a line of its own
    with tqdm(batches, total=len(dataset), desc='eval', disable=not progress,
              dynamic_ncols=True) as bar:
        for batch in bar:
            pred = predictor(ms.Tensor(batch['image'])).asnumpy()[0]
            matrix.update(batch['label'][0], pred)
            if save_pred:
                name = os.path.basename(dataset.names[int(batch['index'][0])])
                atomic_save_image(os.path.join(save_pred, 'color', name),
                                  colorize(pred, palette))
                atomic_save_image(os.path.join(save_pred, 'labelIds', name),
                                  train_ids_to_label_ids(pred, label_lut))
    net.set_train(was_training)
    return matrix.summary(class_names), matrix.hist
