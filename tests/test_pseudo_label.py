"""Pseudo labels against BDL's rule (SSL.py), written out here in numpy."""
import mindspore as ms
import numpy as np
import pytest

from engine.pseudo_label import (NUM_BINS, apply_thresholds, class_balanced_thresholds,
                                 confidence_histogram)
from net.predict import confidence_and_label

NUM_CLASSES = 19
LOW_RES = (17, 33)      # the logits' grid of a 129x257 image
LABEL_SIZE = (129, 257)


def upsample_align_corners(maps, size_hw):
    """Bilinear resize of (C, h, w) with align_corners=True: corner pixels stay in place."""
    _, h, w = maps.shape
    rows = np.linspace(0, h - 1, size_hw[0])
    cols = np.linspace(0, w - 1, size_hw[1])
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
    fr, fc = (rows - r0)[:, None], (cols - c0)[None, :]
    top = maps[:, r0][:, :, c0] * (1 - fc) + maps[:, r0][:, :, c1] * fc
    bottom = maps[:, r1][:, :, c0] * (1 - fc) + maps[:, r1][:, :, c1] * fc
    return top * (1 - fr) + bottom * fr


def bdl_pseudo_labels(logits):
    """BDL: softmax at 1/8, probabilities upsampled, max/argmax; per class the sorted
    confidences' element at round(n * 0.5), capped at 0.9; below it -> 255."""
    probs = []
    for image_logits in logits.astype(np.float64):
        exp = np.exp(image_logits - image_logits.max(axis=0))
        probs.append(upsample_align_corners(exp / exp.sum(axis=0), LABEL_SIZE))
    probs = np.stack(probs)
    label, prob = probs.argmax(axis=1), probs.max(axis=1)
    thresholds = np.zeros(NUM_CLASSES)
    for c in range(NUM_CLASSES):
        x = np.sort(prob[label == c])
        if len(x):
            thresholds[c] = x[int(np.round(len(x) * 0.5))]
    thresholds = np.minimum(thresholds, 0.9)
    out = label.copy()
    for c in range(NUM_CLASSES):
        out[(prob < thresholds[c]) & (label == c)] = 255
    return out


def project_pseudo_labels(logits):
    """The project's two passes: histograms of every image, then thresholds applied."""
    outputs = [tuple(t.asnumpy()[0] for t in confidence_and_label(ms.Tensor(x[None]),
                                                                   LABEL_SIZE))
               for x in logits]
    histogram = sum(confidence_histogram(conf, label, NUM_CLASSES) for conf, label in outputs)
    thresholds = class_balanced_thresholds(histogram)
    return np.stack([apply_thresholds(conf, label, thresholds) for conf, label in outputs])


def random_logits(kind, rng, num_images=6):
    if kind == 'rough':  # every 1/8 cell independent
        return rng.normal(0, 3, (num_images, NUM_CLASSES) + LOW_RES).astype(np.float32)
    coarse = rng.normal(0, 4, (num_images, NUM_CLASSES, 5, 9))
    return np.stack([upsample_align_corners(x, LOW_RES) for x in coarse]).astype(np.float32)


@pytest.mark.parametrize('kind', ['smooth', 'rough'])
def test_pseudo_labels_follow_bdl(kind):
    logits = random_logits(kind, np.random.default_rng(3))
    ours, bdl = project_pseudo_labels(logits), bdl_pseudo_labels(logits)
    differ = np.mean(ours != bdl)
    assert differ <= 1e-3, f'{differ:.4%} of the pixels differ from BDL'
    # the rule keeps about half of each class: a real comparison, not two all-255 maps
    assert 0.3 < np.mean(bdl != 255) < 0.7


def test_upsampling_logits_first_is_not_bdl():
    """The order matters: upsampled logits, then softmax, move many labels (the old rule)."""
    logits = random_logits('rough', np.random.default_rng(3))
    bdl = bdl_pseudo_labels(logits)
    old = []
    for x in logits.astype(np.float64):
        up = upsample_align_corners(x, LABEL_SIZE)
        exp = np.exp(up - up.max(axis=0))
        prob = exp / exp.sum(axis=0)
        old.append((prob.max(axis=0), prob.argmax(axis=0)))
    histogram = sum(confidence_histogram(p, lab, NUM_CLASSES) for p, lab in old)
    thresholds = class_balanced_thresholds(histogram)
    old = np.stack([apply_thresholds(p, lab, thresholds) for p, lab in old])
    assert np.mean(old != bdl) > 0.02
    assert NUM_BINS >= 1000


KEPT_SCRIPT = '''
import json, sys
import mindspore as ms
import numpy as np
from config import get_cfg
from net.deeplabv2_mindspore import build_model
from engine.compiled_steps import kept_confidence, kept_predictor
from net.predict import Confidence, Predictor
from utils.checkpoint import save_checkpoint
from utils.device import setup_device
setup_device('CPU', 'GRAPH')
cfg = get_cfg([sys.argv[1]])
out, size = sys.argv[2], (64, 128)
image = ms.Tensor(np.random.default_rng(0).normal(size=(1, 3) + size).astype(np.float32))
nets = []
for seed in (1, 2):
    ms.set_seed(seed)
    nets.append(build_model(cfg))
    nets[-1].set_train(False)
    save_checkpoint(f'{out}/{seed}.ckpt', nets[-1])
result = {}
for name, load, cell in (('confidence', kept_confidence, Confidence),
                         ('predictor', kept_predictor, Predictor)):
    first = load(cfg, f'{out}/1.ckpt', size)
    first(image)                                   # compiled for the first weights
    second = load(cfg, f'{out}/2.ckpt', size)
    new = [t.asnumpy() for t in cell(nets[1], size)(image)] if name == 'confidence' else \\
        [cell(nets[1], size)(image).asnumpy()]
    kept = second(image)
    kept = [t.asnumpy() for t in kept] if name == 'confidence' else [kept.asnumpy()]
    result[name] = {'same_cell': second is first,
                    'equal': all(np.array_equal(a, b) for a, b in zip(kept, new))}
print(json.dumps(result))
'''


def test_kept_prediction_cells_take_new_weights(tmp_path):
    """Pseudo-labelling and evaluation compile once per process: a second checkpoint is loaded
    into the kept, compiled cell, which then computes what a new cell of it computes."""
    import json
    import subprocess
    import sys
    from conftest import ROOT, TINY_CFG
    result = subprocess.run([sys.executable, '-c', KEPT_SCRIPT, TINY_CFG, str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.splitlines()[-1])
    assert found == {kind: {'same_cell': True, 'equal': True}
                     for kind in ('confidence', 'predictor')}
