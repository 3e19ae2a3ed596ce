"""Stage 2: multi-teacher knowledge distillation into the student (DDM §3.2).

    python distill.py --cfg configs/gta2cityscapes.yaml \
        --teacher_rl experiments/teacher_rl/final.ckpt \
        --teacher_sl experiments/teacher_sl/final.ckpt
    python distill.py --cfg ... --teachers RL.ckpt SL.ckpt CL.ckpt \
        --opts "TRAIN.TEACHERS=[region,sample,class]"

loss = λ_kl · KL(mean of the teachers' softmax ‖ student softmax) on an unlabeled target image
     + λ_ce · CE(student, label) on a labeled target image; both heads, weighted 1.0 / 0.1 as in
the teachers. No source data. The teachers are frozen by construction: inference mode, no
trainable parameters, outputs behind stop_gradient, never given to the optimizer.
"""
import argparse
import filecmp
import functools
import os

from config import add_config_args, cfg_from_args
from dataset import pipeline
from dataset.pipeline import MIXINGS, round_teachers
from dataset.build import target_labeled_dataset, target_unlabeled_dataset
from engine.run_dir import RunDir, dataset_roots, run_settings
from engine.trainer import LossPart, Trainer, new_net, start_process
from net.deeplabv2_mindspore import upsample
from net.loss import aux_term, kl_distill, seg_loss
from net.predict import ensemble_prob, load_model
from utils.errors import ConfigError, run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--teachers', nargs='+', default=None, metavar='CKPT',
                        help="the round's teachers' checkpoints, in TRAIN.TEACHERS' order")
    # The paper's two teachers, by name (TRAIN.TEACHERS region, sample).
    parser.add_argument('--teacher_rl', help='region-level teacher checkpoint')
    parser.add_argument('--teacher_sl', help='sample-level teacher checkpoint')
    parser.add_argument('--student_init', default=None,
                        choices=('imagenet', *(m.stage for m in MIXINGS.values())),
                        help='imagenet = cfg.TRAIN.RESTORE_FROM, or a teacher\'s weights '
                             '(default: cfg.TRAIN.STUDENT_INIT)')
    parser.add_argument('--out_dir', default=None, help='default: EXP_ROOT/student')
    add_config_args(parser, labeled_args=True)
    return parser.parse_args(argv)


def distill_loss(student, teachers, cfg):
    """DDM's loss for M_S in two parts over the batch (image_trg, label_trg, image_unl):
    λ_ce·CE on the labeled image, then λ_kl·KL on the unlabeled one (see LossPart), whose
    teacher targets are computed before, outside the gradient computation."""
    # Plain floats: the step is compiled, and the config is no graph value.
    lambda_main, lambda_aux = cfg.TRAIN.LAMBDA_SEG_MAIN, cfg.TRAIN.LAMBDA_SEG_AUX
    lambda_ce, lambda_kl = cfg.TRAIN.LAMBDA_CE, cfg.TRAIN.LAMBDA_KL
    temperature, t_squared = cfg.TRAIN.KL_T, cfg.TRAIN.KL_T_SQUARED
    at_input_size = cfg.TRAIN.KL_RESOLUTION == 'input'

    def labeled(image_trg, label_trg):
        loss_ce, ce_main, ce_aux = seg_loss(*student(image_trg), label_trg, lambda_main,
                                            lambda_aux)
        return lambda_ce * loss_ce, (ce_main, ce_aux)

    def teacher_targets(image_unl):
        return (image_unl,) + ensemble_prob(teachers, image_unl, temperature, at_input_size)

    def kl(logits, prob, size):
        if at_input_size:  # as the CE terms: logits upsampled to the image's pixels
            logits = upsample(logits, size)
        return kl_distill(logits, prob, temperature, t_squared)

    def unlabeled(image_unl, prob_aux, prob_main):
        pred_unl_aux, pred_unl_main = student(image_unl)
        size = image_unl.shape[-2:]
        kl_main = kl(pred_unl_main, prob_main, size)
        kl_aux = aux_term(kl, pred_unl_aux, prob_aux, size)
        return lambda_kl * (lambda_main * kl_main + lambda_aux * kl_aux), (kl_main, kl_aux)

    return [LossPart(labeled, ('image_trg', 'label_trg'),
                     ('loss_seg_trg_main', 'loss_seg_trg_aux')),
            LossPart(unlabeled, ('image_unl',), ('loss_kl_unl_main', 'loss_kl_unl_aux'),
                     prepare=teacher_targets)]


def main(args):
    cfg = cfg_from_args(args)
    out_dir = args.out_dir or os.path.join(cfg.EXP_ROOT, 'student')
    cfg.TRAIN.STUDENT_INIT = args.student_init or cfg.TRAIN.STUDENT_INIT
    return train(cfg, teachers_of(cfg, args), out_dir)


def teachers_of(cfg, args):
    """{teacher stage: checkpoint} of the command line: --teachers in TRAIN.TEACHERS' order, or
    the paper's two as --teacher_rl and --teacher_sl."""
    stages = [mixing.stage for mixing in round_teachers(cfg).values()]
    if args.teachers:
        if len(args.teachers) != len(stages):
            raise ConfigError(f'--teachers: {len(args.teachers)} checkpoints for the '
                              f'{len(stages)} teachers of TRAIN.TEACHERS '
                              f'({", ".join(cfg.TRAIN.TEACHERS)})')
        return dict(zip(stages, args.teachers))
    named = {MIXINGS['region'].stage: args.teacher_rl, MIXINGS['sample'].stage: args.teacher_sl}
    if list(named) != stages or None in named.values():
        raise ConfigError(f'the student needs the teachers of TRAIN.TEACHERS '
                          f'({", ".join(cfg.TRAIN.TEACHERS)}): --teachers CKPT ... in that '
                          f'order, or for the paper\'s two, --teacher_rl CKPT --teacher_sl CKPT')
    return named


def student_init_of(cfg, teachers):
    """The student's initial weights: RESTORE_FROM, or a teacher's (TRAIN.STUDENT_INIT)."""
    choices = {'imagenet': cfg.TRAIN.RESTORE_FROM, **teachers}
    if cfg.TRAIN.STUDENT_INIT not in choices:
        raise ConfigError(f'TRAIN.STUDENT_INIT must be one of {", ".join(choices)} (the '
                          f'round\'s teachers), got {cfg.TRAIN.STUDENT_INIT!r}')
    return choices[cfg.TRAIN.STUDENT_INIT]


def stage_trainer(cfg, teachers, out_dir=None):
    """The stage's data, teachers ({stage: checkpoint}, None: untrained ones), student and
    loop (out_dir None: a trainer that only compiles)."""
    streams = {'target': target_labeled_dataset(cfg),
               'unlabeled': target_unlabeled_dataset(cfg)}
    build = functools.partial(pipeline.distill_sample, mean=cfg.TRAIN.IMG_MEAN)
    frozen = [load_model(cfg, checkpoint, frozen_as=stage)
              for stage, checkpoint in teachers.items()]
    student = new_net(cfg, student_init_of(cfg, teachers))
    return Trainer(cfg, student, distill_loss(student, frozen, cfg), streams, build, out_dir,
                   'student', frozen=frozen)


def train(cfg, teachers, out_dir, option='--out_dir'):
    """Distil the teachers ({stage: checkpoint}) into a student that starts from
    cfg.TRAIN.RESTORE_FROM ('' = random) or, as cfg.TRAIN.STUDENT_INIT says, from a
    teacher. `option`: what chose `out_dir`, for the messages (the pipeline's is --exp_dir)."""
    start_process(cfg)
    settings = run_settings(cfg, **teachers, student_init=student_init_of(cfg, teachers))
    # The folder first: an unusable one fails before the data sets are read.
    with RunDir(out_dir, 'student', settings, dataset_roots(cfg), option):
        trainer = stage_trainer(cfg, teachers, out_dir)
        paths = list(teachers.values())
        for k, a in enumerate(paths):
            for b in paths[k + 1:]:
                if os.path.samefile(a, b) or filecmp.cmp(a, b, shallow=False):
                    print(f'warning: two teachers are {a}: the ensemble weighs it twice')
        return trainer.run()


if __name__ == '__main__':
    run_cli(main, parse_args())
