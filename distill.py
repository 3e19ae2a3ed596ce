"""Stage 2: multi-teacher knowledge distillation into the student (DDM §3.2).

    python distill.py --cfg configs/gta2cityscapes.yaml \
        --teacher_rl experiments/teacher_rl/final.ckpt \
        --teacher_sl experiments/teacher_sl/final.ckpt

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
from dataset.build import target_labeled_dataset, target_unlabeled_dataset
from engine.run_dir import RunDir, dataset_roots, run_settings
from engine.trainer import (LossPart, Trainer, compiled_step_key, new_net, start_process,
                            without_inputs)
from net.deeplabv2_mindspore import upsample
from net.loss import aux_term, kl_distill, seg_loss
from net.predict import ensemble_prob, load_model
from utils.errors import run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--teacher_rl', required=True, help='region-level teacher checkpoint')
    parser.add_argument('--teacher_sl', required=True, help='sample-level teacher checkpoint')
    parser.add_argument('--student_init', default=None,
                        choices=('imagenet', 'teacher_rl', 'teacher_sl'),
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
    return train(cfg, args.teacher_rl, args.teacher_sl, out_dir)


def student_init_of(cfg, teacher_rl, teacher_sl):
    return {'imagenet': cfg.TRAIN.RESTORE_FROM, 'teacher_rl': teacher_rl,
            'teacher_sl': teacher_sl}[cfg.TRAIN.STUDENT_INIT]


def stage_trainer(cfg, teacher_rl, teacher_sl, out_dir=None):
    """The stage's data, teachers, student and loop (teachers None: untrained ones; out_dir
    None: a trainer that only compiles)."""
    streams = {'target': target_labeled_dataset(cfg),
               'unlabeled': target_unlabeled_dataset(cfg)}
    build = functools.partial(pipeline.distill_sample, mean=cfg.TRAIN.IMG_MEAN)
    teachers = [load_model(cfg, teacher_rl, frozen_as='teacher_rl'),
                load_model(cfg, teacher_sl, frozen_as='teacher_sl')]
    student = new_net(cfg, student_init_of(cfg, teacher_rl, teacher_sl))
    return Trainer(cfg, student, distill_loss(student, teachers, cfg), streams, build, out_dir,
                   'student', frozen=teachers, reuse_key=compiled_step_key(cfg, 'student'))


def train(cfg, teacher_rl, teacher_sl, out_dir):
    """Distil both teachers into a student that starts from cfg.TRAIN.RESTORE_FROM ('' =
    random) or, as cfg.TRAIN.STUDENT_INIT says, from a teacher."""
    start_process(cfg)
    settings = run_settings(cfg, teacher_rl=teacher_rl, teacher_sl=teacher_sl,
                            student_init=student_init_of(cfg, teacher_rl, teacher_sl))
    # The folder first: an unusable one fails before the data sets are read.
    with RunDir(out_dir, 'student', settings, dataset_roots(cfg)):
        trainer = stage_trainer(cfg, teacher_rl, teacher_sl, out_dir)
        if os.path.samefile(teacher_rl, teacher_sl) or filecmp.cmp(teacher_rl, teacher_sl,
                                                                   shallow=False):
            print(f'warning: both teachers are {teacher_rl}: the ensemble is one teacher')
        return trainer.run()


def compile_ahead(cfg):
    """Compile the stage's step in this process before the teachers exist: `train` of the
    same settings in this process then starts training at once (engine/schedule.py)."""
    start_process(cfg)
    stage_trainer(without_inputs(cfg), None, None).compile()


if __name__ == '__main__':
    run_cli(main, parse_args())
