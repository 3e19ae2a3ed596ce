"""Stage 3 and the whole DDM for one label budget (Algorithm 1 of the paper).

    python self_train.py --cfg configs/gta2cityscapes.yaml --num_labeled 100
    python self_train.py --cfg ... --pseudo_only --checkpoint STUDENT.ckpt --pseudo_dir DIR

For r = 1..R: the region-level and the sample-level teacher on D_T (plus, from round 2, the
pseudo-labeled D_U of round r-1), the student distilled from both, an evaluation of all three
and of the teachers' ensemble on Cityscapes val, then the student's class-balanced pseudo labels
for D_U. With TRAIN.SOURCE_PRETRAINING a source-only model is trained first, and every model
starts from it. A manifest records every finished step; the same command after a kill resumes
at the first unfinished step (and each training step at its last checkpoint). The per-round
table (paper Table 4) is written as Markdown, JSON and a chart (results.png) at the end.
"""
import argparse
import copy
import os

import distill
import train_teacher
from config import add_config_args, cfg_from_args, get_cfg, merge_into
from dataset.base_dataset import read_list
from dataset.build import target_unlabeled_dataset
from engine.manifest import Manifest, final_checkpoint_of, read_manifest
from engine.pseudo_label import generate_pseudo_labels
from engine.run_dir import RunDir, dataset_roots, run_settings
from engine.trainer import start_process
from eval import evaluate_checkpoint
from net.predict import load_model
from utils.charts import miou_per_round_chart
from utils.checkpoint import read_checkpoint
from utils.device import setup_device_for
from utils.distributed import barrier
from utils.errors import ConfigError, DataError, run_cli
from utils.func import primary_metric
from utils.serialization import atomic_write_json, atomic_write_text

MODELS = ('teacher_rl', 'teacher_sl', 'student')
# The per-round table: each trained model, and the teachers' ensemble the student learns from
# (evaluated, not trained: it shows what the distillation could reach).
COLUMNS = {'teacher_rl': 'region-level teacher', 'teacher_sl': 'sample-level teacher',
           'ensemble': "teachers' ensemble", 'student': 'student'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=None,
                        help='R (default: cfg.TRAIN.ROUNDS, else 4 for GTA5, 3 for SYNTHIA, '
                             '1 with every label)')
    parser.add_argument('--init', choices=('imagenet', 'previous'), default=None,
                        help='each round starts from ImageNet (cfg.TRAIN.RESTORE_FROM) or from '
                             'the previous round (default: cfg.TRAIN.ROUND_INIT)')
    parser.add_argument('--exp_dir', default=None,
                        help='default: EXP_ROOT/{gta,synthia}2cityscapes_N')
    parser.add_argument('--baselines', action='store_true',
                        help='also train and evaluate target-only and source-only models')
    parser.add_argument('--pseudo_only', action='store_true',
                        help='only write pseudo labels of D_U from --checkpoint to --pseudo_dir')
    parser.add_argument('--checkpoint', default=None, help='with --pseudo_only')
    parser.add_argument('--pseudo_dir', default=None, help='with --pseudo_only')
    add_config_args(parser, labeled_args=True)
    return parser.parse_args(argv)


def default_rounds(cfg, labeled_names):
    """1 when D_T holds every train image, else the paper's 4 (GTA5) or 3 (SYNTHIA)."""
    every_label = set(read_list(cfg.DATA_LIST_TARGET)) <= set(labeled_names)
    return 1 if every_label else {'GTA': 4, 'SYNTHIA': 3}[cfg.SOURCE]


def pseudo_labels(cfg, checkpoint, pseudo_dir):
    """Pseudo labels of D_U from the student at `checkpoint` (the stage on its own), into a
    folder of their own: never a dataset's, nor one this project did not make."""
    dataset = target_unlabeled_dataset(cfg)
    with RunDir(pseudo_dir, 'pseudo_labels', run_settings(cfg, checkpoint=checkpoint),
                dataset_roots(cfg), option='--pseudo_dir'):
        setup_device_for(cfg, inference=True)
        net = load_model(cfg, checkpoint)
        stats = generate_pseudo_labels(net, dataset, pseudo_dir, cfg.NUM_CLASSES, checkpoint,
                                       cfg.TRAIN.PSEUDO_PORTION,
                                       cfg.TRAIN.PSEUDO_THRESHOLD_CAP, cfg.NUM_WORKERS)
    print(f'pseudo labels of {len(dataset)} images in {pseudo_dir}')
    return stats


def read_run_cfg(exp_dir):
    """The config a pipeline run in `exp_dir` was made with (its manifest's settings)."""
    path = os.path.join(exp_dir, 'manifest.json')
    if not os.path.isfile(path):
        raise DataError(f'{exp_dir}: no manifest.json (not a self_train.py run folder)')
    cfg = get_cfg()
    merge_into(cfg, read_manifest(path)['settings']['cfg'], source=path)
    return cfg


def round_cfg(cfg, round_dir_prev, init_from):
    """The config of one training step: where D_T's pseudo labels and the weights come from."""
    step_cfg = copy.deepcopy(cfg)
    step_cfg.DATA_DIRECTORY_PSEUDO = os.path.join(round_dir_prev, 'pseudo') if round_dir_prev \
        else ''
    step_cfg.TRAIN.RESTORE_FROM = init_from
    return step_cfg


def passed_on(cfg, model_dir):
    """The checkpoint of a trained model that the next step uses: final.ckpt, or with
    TRAIN.PASS_ON best, the best one on val (ADVENT's TEST.MODE best, chosen with val labels)."""
    return os.path.join(model_dir, 'best.ckpt' if cfg.TRAIN.PASS_ON == 'best' else 'final.ckpt')


def best_snapshot(model_dir):
    """{'mIoU', 'iteration'} of the model's best validated checkpoint, or None without one."""
    path = os.path.join(model_dir, 'best.ckpt')
    if not os.path.isfile(path):
        return None
    params = read_checkpoint(path)
    return {'mIoU': round(float(params['meta.best'].asnumpy()), 2),
            'iteration': int(params['meta.iteration'].asnumpy())}


def run_round(cfg, manifest, exp_dir, r, rounds):
    """One round of Algorithm 1; returns {column: primary mIoU} and, for each trained model
    validated during training, {model_best: {'mIoU', 'iteration'}}."""
    round_dir = os.path.join(exp_dir, f'round{r}')
    prev_dir = os.path.join(exp_dir, f'round{r - 1}') if r > 1 else ''

    def init_from(model):
        if cfg.TRAIN.ROUND_INIT == 'previous' and prev_dir:
            return passed_on(cfg, os.path.join(prev_dir, model))
        return cfg.TRAIN.RESTORE_FROM

    final = {m: os.path.join(round_dir, m, 'final.ckpt') for m in MODELS}
    ckpt = {m: passed_on(cfg, os.path.join(round_dir, m)) for m in MODELS}
    for model, mix in (('teacher_rl', 'region'), ('teacher_sl', 'sample')):
        manifest.run(f'round{r}/{model}', final[model], lambda: train_teacher.train(
            round_cfg(cfg, prev_dir, init_from(model)), mix,
            os.path.join(round_dir, model)), final_checkpoint_of(model, cfg))
    manifest.run(f'round{r}/student', final['student'], lambda: distill.train(
        round_cfg(cfg, prev_dir, init_from('student')), ckpt['teacher_rl'], ckpt['teacher_sl'],
        os.path.join(round_dir, 'student')), final_checkpoint_of('student', cfg))
    final['ensemble'] = [ckpt['teacher_rl'], ckpt['teacher_sl']]
    scores = {column: evaluate_step(cfg, manifest, f'round{r}/eval_{column}', final[column],
                                    os.path.join(round_dir, f'eval_{column}.json'),
                                    save_pred=column in MODELS)
              for column in COLUMNS}
    for model in MODELS:
        scores[f'{model}_best'] = best_snapshot(os.path.join(round_dir, model))
    if r < rounds:  # the last round's pseudo labels would feed no one
        pseudo_dir = os.path.join(round_dir, 'pseudo')
        manifest.run(f'round{r}/pseudo', os.path.join(pseudo_dir, 'list.txt'),
                     lambda: pseudo_labels(cfg, ckpt['student'], pseudo_dir))
    return scores


def evaluate_step(cfg, manifest, name, checkpoint, output, save_pred=False):
    """The primary mIoU of `checkpoint` on val (with colourised predictions if asked); rank 0
    evaluates while the other ranks wait (they return None)."""
    pred_dir = os.path.splitext(output)[0] + '_pred' if save_pred else None
    summary = None
    if manifest.rank == 0:
        summary = manifest.run(name, output, lambda: evaluate_checkpoint(
            cfg, checkpoint, cfg.DATA_DIRECTORY_TARGET, save_pred=pred_dir, output=output))
    barrier()
    return summary and summary[primary_metric(cfg.NUM_CLASSES)]


def train_baseline(cfg, manifest, exp_dir, name, init_from):
    """A target-only (D_T alone) or source-only model, trained like a round-1 teacher from
    `init_from`; returns its checkpoint."""
    out_dir = os.path.join(exp_dir, 'baselines', name)
    ckpt = os.path.join(out_dir, 'final.ckpt')
    mix = {'target_only': 'target', 'source_only': 'source'}[name]
    manifest.run(f'baselines/{name}', ckpt, lambda: train_teacher.train(
        round_cfg(cfg, '', init_from), mix, out_dir), final_checkpoint_of(name, cfg))
    return ckpt


def run_baselines(cfg, manifest, exp_dir, imagenet):
    """Both baselines, trained (unless finished before) and evaluated: {name: primary mIoU}.
    The source-only model starts from `imagenet`, the target-only one where the rounds' models
    start (with TRAIN.SOURCE_PRETRAINING, the source-only model)."""
    inits = {'target_only': cfg.TRAIN.RESTORE_FROM, 'source_only': imagenet}
    scores = {}
    for name, init_from in inits.items():
        ckpt = train_baseline(cfg, manifest, exp_dir, name, init_from)
        scores[name] = evaluate_step(cfg, manifest, f'baselines/eval_{name}', ckpt,
                                     os.path.join(exp_dir, 'baselines', f'eval_{name}.json'),
                                     save_pred=name == 'target_only')
    return scores


def table_cell(row, column):
    """A model's final mIoU and, when it was validated during training, its best snapshot."""
    if row.get(column) is None:
        return '--'
    best = row.get(f'{column}_best')
    best = f" (best {best['mIoU']:.2f} @ {best['iteration']})" if best else ''
    return f'{row[column]:.2f}{best}'


def write_table(exp_dir, rows, cfg, baselines=None):
    """The per-round table (both teachers, their ensemble and the student; final checkpoints,
    and the best snapshots on val when validated) as Markdown, JSON and a chart."""
    metric = primary_metric(cfg.NUM_CLASSES)
    lines = ['| round | ' + ' | '.join(COLUMNS.values()) + ' |',
             '|---' * (len(COLUMNS) + 1) + '|']
    for row in rows:
        lines.append(f"| {row['round']} | " + ' | '.join(table_cell(row, c) for c in COLUMNS)
                     + ' |')
    for name, score in (baselines or {}).items():
        lines.append(f"| {name.replace('_', '-')} baseline |" + ' |' * (len(COLUMNS) - 1)
                     + f' {score:.2f} |')
    passed = ('Each step used the best snapshot on val (TRAIN.PASS_ON best).\n'
              if cfg.TRAIN.PASS_ON == 'best' else '')
    text = (f'{metric} on {cfg.TARGET} val, per round (final checkpoints)\n\n'
            + '\n'.join(lines) + '\n' + passed)
    atomic_write_text(os.path.join(exp_dir, 'results.md'), text)
    atomic_write_json(os.path.join(exp_dir, 'results.json'),
                      {'metric': metric, 'rounds': rows, 'baselines': baselines or {}})
    miou_per_round_chart(rows, os.path.join(exp_dir, 'results.png'))
    print(text)
    return text


def main(args):
    cfg = cfg_from_args(args)
    cfg.TRAIN.ROUND_INIT = args.init or cfg.TRAIN.ROUND_INIT
    if args.rounds is not None and args.rounds < 1:
        raise ConfigError(f'--rounds must be >= 1, got {args.rounds}')
    if args.pseudo_only:
        if not (args.checkpoint and args.pseudo_dir):
            raise ConfigError('--pseudo_only needs --checkpoint and --pseudo_dir')
        return pseudo_labels(cfg, args.checkpoint, args.pseudo_dir)
    labeled_names = read_list(cfg.DATA_LIST_TARGET_LABELED)
    rounds = args.rounds or cfg.TRAIN.ROUNDS or default_rounds(cfg, labeled_names)
    budget = len(labeled_names)
    exp_dir = args.exp_dir or os.path.join(
        cfg.EXP_ROOT, f'{cfg.SOURCE.lower()}2cityscapes_{budget}')
    settings = {**run_settings(cfg), 'rounds': rounds, 'baselines': args.baselines}
    start_process(cfg)
    # The whole pipeline's folder is this run's, besides each stage's own in it.
    with RunDir(exp_dir, 'pipeline', settings, dataset_roots(cfg), option='--exp_dir'):
        manifest = Manifest(os.path.join(exp_dir, 'manifest.json'), settings)
        imagenet = cfg.TRAIN.RESTORE_FROM
        if cfg.TRAIN.SOURCE_PRETRAINING:
            # Without ImageNet weights (the CPU demo) every model would start from random
            # ones, and the student, which never sees a source label, would start furthest
            # behind.
            cfg.TRAIN.RESTORE_FROM = train_baseline(cfg, manifest, exp_dir, 'source_only',
                                                    imagenet)
        baselines = run_baselines(cfg, manifest, exp_dir, imagenet) \
            if args.baselines else None
        rows = []
        for r in range(1, rounds + 1):
            scores = run_round(cfg, manifest, exp_dir, r, rounds)
            rows.append({'round': r, **scores})
        return write_table(exp_dir, rows, cfg, baselines) if manifest.rank == 0 else None


if __name__ == '__main__':
    run_cli(main, parse_args())
