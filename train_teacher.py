"""Stage 1: train a domain-mixed teacher (DDM §3.1), or a single-domain baseline.

    python train_teacher.py --cfg configs/gta2cityscapes.yaml --mix region   # M_RL
    python train_teacher.py --cfg configs/gta2cityscapes.yaml --mix sample   # M_SL

--mix region: CE on a box of a source image pasted into a labeled target image (labels too).
--mix sample: CE(source) + CE(target) on one source and one labeled target image per step.
--mix class: CE on a source image's pixels of half of its classes pasted into a labeled target
image (ClassMix, beyond the paper).
--mix target / --mix source: CE on labeled target (or source) images alone: the baselines.
--mix adaptseg: the paper's SSDA Baseline, AdaptSeg (output-space adversarial adaptation on both
heads) with CE on the labeled target images: CE(source) + CE(target) + the adversarial terms on
an unlabeled target image, the discriminators trained in the same step.
"""
import argparse
import functools
import os

from mindspore import nn, ops

from config import add_config_args, cfg_from_args
from dataset import pipeline
from dataset.pipeline import MIXINGS
from dataset.build import source_dataset, target_labeled_dataset, target_unlabeled_dataset
from engine.run_dir import RunDir, dataset_roots, run_settings
from engine.trainer import LossPart, Trainer, new_net, poly_lr, start_process
from net.deeplabv2_mindspore import upsample
from net.discriminator import Discriminators
from net.loss import seg_loss
from utils.errors import run_cli


# The baselines: one domain's labeled images alone, and the paper's SSDA Baseline (AdaptSeg).
BASELINES = {'target': 'target_only', 'source': 'source_only', 'adaptseg': 'adaptseg'}
# The images a step of a baseline trains on (the cost of its stage in the pipeline's schedule)
IMAGES_PER_STEP = {'adaptseg': 3}
# AdaptSeg's domain labels of the discriminators' logits (ADVENT's train_advent)
SOURCE_LABEL, TARGET_LABEL = 0.0, 1.0
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
    if mix == 'adaptseg':  # AdaptSeg has no colour transfer
        return ({'source': source_dataset(cfg), 'target': target_labeled_dataset(cfg),
                 'unlabeled': target_unlabeled_dataset(cfg)},
                functools.partial(pipeline.adversarial_sample, mean=mean))
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

    if mix == 'adaptseg':
        return adaptseg_parts(cfg, net, seg)
    images = MIXINGS[mix].images if mix in MIXINGS else (
        ('image', 'label', {'target': 'trg', 'source': 'src'}[mix]),)
    return [LossPart(seg, (image, label), (f'loss_seg_{name}_main', f'loss_seg_{name}_aux'))
            for image, label, name in images]


def domain_loss(logits, label):
    """BCE-with-logits of a discriminator's logits against one domain label."""
    return ops.binary_cross_entropy_with_logits(logits, ops.full_like(logits, label))


def adaptseg_parts(cfg, net, seg):
    """The Baseline's loss, as ADVENT's train_advent has it for AdaptSeg, with D_T's CE: CE on
    the source and on the labeled target image; on the unlabeled target image, each head's
    prediction fooling its discriminator (LAMBDA_ADV_AUX, LAMBDA_ADV_MAIN times the BCE against
    the source label); and the discriminators' own part, on the softmax of the source and the
    unlabeled predictions (outputs of the first parts, without gradient), each half, with
    Adam (LEARNING_RATE_D, betas 0.9, 0.99, poly decay) on their parameters alone."""
    levels = ('aux', 'main') if cfg.MODEL.ARCH == 'deeplabv2' and cfg.MODEL.MULTI_LEVEL \
        else ('main',)
    discriminators = Discriminators(cfg.NUM_CLASSES, levels)
    adam = nn.Adam(discriminators.trainable_params(), poly_lr(cfg.TRAIN.LEARNING_RATE_D, cfg),
                   beta1=0.9, beta2=0.99)
    # One graph holds both optimizers, whose parameters' names must differ: Adam's step count
    # and betas' powers take the prefix (its moments are named after the discriminators').
    weights = {id(p) for p in discriminators.get_parameters()}
    for param in adam.get_parameters():
        if id(param) not in weights and '.' not in param.name:
            param.name = f'adam_{param.name}'
    # per level: its index in the net's (aux, main) output, discriminator, adversarial weight
    heads = [(('aux', 'main').index(level), getattr(discriminators, level),
              {'aux': cfg.TRAIN.LAMBDA_ADV_AUX, 'main': cfg.TRAIN.LAMBDA_ADV_MAIN}[level])
             for level in levels]

    lambdas = cfg.TRAIN.LAMBDA_SEG_MAIN, cfg.TRAIN.LAMBDA_SEG_AUX

    def probabilities(image, predictions):
        """Each level's softmax at the image's size: what the discriminators see."""
        probs = ()
        for index, _, _ in heads:
            probs += (ops.softmax(upsample(predictions[index], image.shape[-2:]), axis=1),)
        return probs

    def seg_source(image, label):
        predictions = net(image)
        loss, loss_main, loss_aux = seg_loss(*predictions, label, *lambdas)
        return loss, (loss_main, loss_aux), ops.stop_gradient(probabilities(image, predictions))

    def fool(image):
        probs = probabilities(image, net(image))
        loss, terms = 0.0, ()
        for (_, discriminator, lambda_adv), prob in zip(heads, probs):
            term = domain_loss(discriminator(prob), SOURCE_LABEL)
            loss, terms = loss + lambda_adv * term, terms + (term,)
        return loss, terms, ops.stop_gradient(probs)

    def discriminate(*probs):
        loss, terms = 0.0, ()
        for (_, discriminator, _), source, target in zip(heads, probs[:len(heads)],
                                                          probs[len(heads):]):
            term = (domain_loss(discriminator(source), SOURCE_LABEL) / 2
                    + domain_loss(discriminator(target), TARGET_LABEL) / 2)
            loss, terms = loss + term, terms + (term,)
        return loss, terms

    source_probs = tuple(f'prob_src_{level}' for level in levels)
    target_probs = tuple(f'prob_unl_{level}' for level in levels)
    return [LossPart(seg_source, ('image_src', 'label_src'),
                     ('loss_seg_src_main', 'loss_seg_src_aux'), outputs=source_probs),
            LossPart(seg, ('image_trg', 'label_trg'), ('loss_seg_trg_main', 'loss_seg_trg_aux')),
            LossPart(fool, ('image_unl',), tuple(f'loss_adv_unl_{level}' for level in levels),
                     outputs=target_probs),
            LossPart(discriminate, source_probs + target_probs,
                     tuple(f'loss_d_{level}' for level in levels), optimizer=adam)]


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
