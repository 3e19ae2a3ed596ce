"""A few data-parallel steps of the tiny net on stages' data (train_teacher.py's --mix MIX),
launched by tests/test_distributed.py: dp_worker.py OUT BATCH MIX[,MIX...] CFG...

Under msrun every rank trains on its shard (batch 1 each); without msrun one process trains
on the combined batches (batch = number of ranks). Each MIX runs in turn into OUT/MIX: its
run in OUT/MIX/run_{N}, each process's parameters and the item indices it drew in
OUT/MIX/params_rank{R}_of{N}.npz and OUT/MIX/items_rank{R}_of{N}.json; with MIX target the
pseudo labels of a fresh net in OUT/target/pseudo_{N}. One launch serves every MIX: msrun's
start and MindSpore's are paid once.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mindspore as ms  # noqa: E402
import numpy as np  # noqa: E402

from config import get_cfg  # noqa: E402
from dataset import pipeline  # noqa: E402
from dataset.build import target_unlabeled_dataset  # noqa: E402
from net.deeplabv2_mindspore import build_model  # noqa: E402
from net.predict import Confidence  # noqa: E402
from train_teacher import data_streams, loss_parts  # noqa: E402
from utils.device import setup_device  # noqa: E402
from utils.distributed import init_distributed  # noqa: E402
from engine.pseudo_label import generate_pseudo_labels  # noqa: E402
from engine.trainer import Trainer  # noqa: E402


def main(out_dir, batch_size, mixes, cfg_files):
    # PyNative, the CPU's training mode: graph mode's data parallelism, the devices', runs
    # in tests/test_distributed.py::test_the_pipeline_under_msrun_equals_one_process
    setup_device('CPU', 'PYNATIVE')
    rank, size = init_distributed()
    for mix in mixes.split(','):
        train(os.path.join(out_dir, mix), batch_size, mix, cfg_files, rank, size)


def train(out_dir, batch_size, mix, cfg_files, rank, size):
    # AdaptSeg: one step, whose Adam moments hold the gradients themselves (after more, Adam's
    # normalised steps carry rounding differences of near-zero gradients into the weights)
    steps = 1 if mix == 'adaptseg' else 4
    os.makedirs(out_dir, exist_ok=True)
    cfg = get_cfg(cfg_files, [f'TRAIN.EARLY_STOP={steps}', 'TRAIN.MAX_ITERS=10', 'TRAIN.EVAL_EVERY=0',
                              'TRAIN.FREEZE_BN=True', 'NUM_WORKERS=1',
                              'TRAIN.LEARNING_RATE=0.01', 'TRAIN.RANDOM_SEED=7',
                              f'TRAIN.BATCH_SIZE_SOURCE={batch_size}',
                              f'TRAIN.BATCH_SIZE_TARGET={batch_size}'])
    streams, build = data_streams(cfg, mix)
    ms.set_seed(0)
    net = build_model(cfg)
    Trainer(cfg, net, loss_parts(cfg, net, mix), streams, build,
            os.path.join(out_dir, f'run_{size}'), 'dp').run()
    samples = pipeline.StepSamples(streams, build, 7, steps * batch_size, size, rank)
    items = [samples.item_indices(m)['target'] for m in range(steps * batch_size)]
    tag = f'rank{rank}_of{size}'
    with open(os.path.join(out_dir, f'items_{tag}.json'), 'w') as f:
        json.dump(items, f)
    np.savez(os.path.join(out_dir, f'params_{tag}.npz'),
             **{p.name: p.asnumpy() for p in net.get_parameters()})
    if mix != 'target':
        return
    # pseudo labels of the same fresh net: split across ranks, histograms summed
    ms.set_seed(1)
    fresh = build_model(cfg)
    unlabeled = target_unlabeled_dataset(cfg)
    generate_pseudo_labels(Confidence(fresh, unlabeled.image_size[::-1]), unlabeled,
                           os.path.join(out_dir, f'pseudo_{size}'), cfg.NUM_CLASSES,
                           progress=False)


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:])
