"""Stage 1: train a domain-mixed teacher (DDM §3.1), or a single-domain baseline.

    python train_teacher.py --cfg configs/gta2cityscapes.yaml --mix region   # M_RL
    python train_teacher.py --cfg configs/gta2cityscapes.yaml --mix sample   # M_SL

--mix region: CE on a box of a source image pasted into a labeled target image (labels too).
--mix sample: CE(source) + CE(target) on one source and one labeled target image per step.
--mix class: CE on a source image's pixels of half of its classes pasted into a labeled target
image (ClassMix, beyond the paper).
--mix target / --mix source: CE on labeled target (or source) images alone: the baselines.
"""
import argparse
import functools
import os

from config import add_config_args, cfg_from_args
from dataset import pipeline
from dataset.pipeline import MIXINGS
from dataset.build import source_dataset, target_labeled_dataset, target_unlabeled_dataset
from engine.run_dir import RunDir, dataset_roots, run_settings
from engine.trainer import LossPart, Trainer, new_net, start_process
from net.loss import seg_loss
from utils.errors import run_cli


# The baselines: one domain's labeled images alone.
BASELINES = {'target': 'target_only', 'source': 'source_only'}
# The stage (checkpoint, folder, chart and table name) each --mix trains.
STAGES = {**{mix: mixing.stage for mix, mixing in MIXINGS.items()}, **BASELINES}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mix', choices=sorted(STAGES), required=True)
    parser.add_argument('--out_dir', default=None,
                        help='default: EXP_ROOT/STAGE, the stage of the mix (' +
                             ', '.join(f'{mix}: {stage}' for mix, stage in STAGES.items()) + ')')
    parser.add_argument('--restore_from', default=None,
                        help="initial weights (default: cfg.TRAIN.RESTORE_FROM; '' = random)")
    add_config_args(parser, labeled_args=True)
    return parser.parse_args(argv)


def data_streams(cfg, mix):
    """The streams a step of `mix` draws from, and how a step's sample is built from them."""
    mean = cfg.TRAIN.IMG_MEAN
    if mix in BASELINES:
        stream = mix  # 'target' | 'source'
        dataset = target_labeled_dataset(cfg) if mix == 'target' else source_dataset(cfg)
        return {stream: dataset}, functools.partial(pipeline.labeled_sample, mean=mean,
                                                   stream=stream)
    streams = {'source': source_dataset(cfg), 'target': target_labeled_dataset(cfg)}
    transfer = cfg.TRAIN.COLOR_TRANSFER
    if transfer:
        # As released, colour transfer works at the images' native sizes; the build resizes.
        streams['source'] = pipeline.NativeSizeImages(streams['source'])
        streams['reference'] = pipeline.ColorReferences(target_unlabeled_dataset(cfg))
    build = functools.partial(MIXINGS[mix].builder(cfg), mean=mean, color_transfer=transfer,
                              source_size=cfg.TRAIN.INPUT_SIZE_SOURCE)
    return streams, build


def loss_parts(cfg, net, mix):
    """The stage's loss: seg_loss on each labeled image of the step, one part each (a step on
    two images then holds one image's activations at a time)."""
    lambdas = cfg.TRAIN.LAMBDA_SEG_MAIN, cfg.TRAIN.LAMBDA_SEG_AUX

    def seg(image, label):
        loss, loss_main, loss_aux = seg_loss(*net(image), label, *lambdas)
        return loss, (loss_main, loss_aux)

    images = MIXINGS[mix].images if mix in MIXINGS else (
        ('image', 'label', {'target': 'trg', 'source': 'src'}[mix]),)
    return [LossPart(seg, (image, label), (f'loss_seg_{name}_main', f'loss_seg_{name}_aux'))
            for image, label, name in images]


def main(args):
    cfg = cfg_from_args(args)
    if args.restore_from is not None:
        cfg.TRAIN.RESTORE_FROM = args.restore_from
    out_dir = args.out_dir or os.path.join(cfg.EXP_ROOT, STAGES[args.mix])
    return train(cfg, args.mix, out_dir)


def stage_trainer(cfg, mix, out_dir=None):
    """The stage's data, model and loop (out_dir None: a trainer that only compiles)."""
    stage = STAGES[mix]
    streams, build = data_streams(cfg, mix)
    net = new_net(cfg, cfg.TRAIN.RESTORE_FROM)
    return Trainer(cfg, net, loss_parts(cfg, net, mix), streams, build, out_dir, stage)


def train(cfg, mix, out_dir, option='--out_dir'):
    """Train one teacher (or baseline) to cfg.TRAIN.EARLY_STOP; returns final.ckpt's path.
    `option`: what chose `out_dir`, for the messages (the pipeline's is --exp_dir)."""
    start_process(cfg)
    # The folder first: an unusable one fails before the data sets are read.
    with RunDir(out_dir, STAGES[mix], run_settings(cfg), dataset_roots(cfg), option):
        return stage_trainer(cfg, mix, out_dir).run()


if __name__ == '__main__':
    run_cli(main, parse_args())
