"""Stage 3 and the whole DDM for a label budget (Algorithm 1 of the paper), or for several.

    python self_train.py --cfg configs/gta2cityscapes.yaml --num_labeled 100
    python self_train.py --cfg configs/gta2cityscapes.yaml --num_labeled 100 200 \
        --opts "PIPELINE_DEVICE_IDS=[0,1,2,3,4,5,6,7]"
    python self_train.py --cfg configs/gta2cityscapes.yaml --num_labeled 100 \
        --split 0 1 2 --seed 1234 1
    python self_train.py --cfg ... --pseudo_only --checkpoint STUDENT.ckpt --pseudo_dir DIR

For r = 1..R: the region-level and the sample-level teacher on D_T (plus, from round 2, the
pseudo-labeled D_U of round r-1), the student distilled from both, an evaluation of all three
and of the teachers' ensemble on Cityscapes val, then the student's class-balanced pseudo labels
for D_U. With TRAIN.SOURCE_PRETRAINING a source-only model is trained first, and every model
starts from it. A manifest records every finished step; the same command after a kill resumes
at the first unfinished step (and each training step at its last checkpoint). The per-round
table (paper Table 4) is written as Markdown, JSON and a chart (results.png) at the end.
`pipeline_steps` lists the steps and what each needs; with PIPELINE_JOBS > 1 several run at
once, each in a worker process (engine/schedule.py), and with PIPELINE_DEVICE_IDS each worker
on a device of its own: every training is then the paper's one-device recipe. Several budgets
(--num_labeled N ...), labeled splits (--split K ...) and seeds (--seed S ...) are one set of
steps over the same workers, a run for each budget, split and seed, each in its own folder
(config.run_folder_name).
"""
import argparse
import contextlib
import copy
import functools
import os
import sys

import distill
import train_teacher
from config import add_config_args, cfg_from_args, get_cfg, merge_into, run_folder_name
from dataset.base_dataset import read_list
from dataset.build import check_inputs, target_unlabeled_dataset
from dataset.pipeline import round_teachers
from engine.compiled_steps import (compile_ahead, compiled_step_key, keeps_compiled_steps,
                                   kept_confidence, with_kept_step)
from engine.manifest import Manifest, ManifestSet, final_checkpoint_of, read_manifest
from engine.pseudo_label import generate_pseudo_labels
from engine.run_dir import RunDir, dataset_roots, run_settings
from engine.schedule import Step, check_jobs, in_folder, of_folder, run_here, run_steps
from engine.trainer import start_process
from eval import evaluate_checkpoint
from utils.charts import miou_per_round_chart
from utils.checkpoint import read_checkpoint
from utils.device import setup_device_for
from utils.distributed import current_rank
from utils.errors import ConfigError, DataError, run_cli
from utils.func import primary_metric
from utils.serialization import atomic_write_json, atomic_write_text

EXP_DIR = '--exp_dir'  # the option that chose every folder of the pipeline, for its messages


def columns(cfg):
    """The per-round table's columns, {key: title}: each teacher of TRAIN.TEACHERS, their
    ensemble the student learns from (evaluated, not trained: it shows what the distillation
    could reach), and the student."""
    return {**{mixing.stage: mixing.title for mixing in round_teachers(cfg).values()},
            'ensemble': "teachers' ensemble", 'student': 'student'}


def table_columns(results):
    """The columns of a results.json's per-round table (one written before they were
    recorded: the paper's two teachers')."""
    return results.get('columns') or columns(get_cfg())


def trained_models(cfg):
    """The stages a round trains: its teachers, then the student."""
    return [mixing.stage for mixing in round_teachers(cfg).values()] + ['student']


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=None,
                        help='R (default: cfg.TRAIN.ROUNDS, else 4 for GTA5, 3 for SYNTHIA, '
                             '1 with every label)')
    parser.add_argument('--init', choices=('imagenet', 'previous'), default=None,
                        help='each round starts from ImageNet (cfg.TRAIN.RESTORE_FROM) or from '
                             'the previous round (default: cfg.TRAIN.ROUND_INIT)')
    parser.add_argument('--exp_dir', default=None,
                        help='default: EXP_ROOT/{gta,synthia}2cityscapes_N[_splitK][_seedS]')
    parser.add_argument('--exp_root', default=None,
                        help='the folder of each run\'s --exp_dir when --num_labeled, --split '
                             'or --seed name several (default: cfg.EXP_ROOT)')
    parser.add_argument('--seed', type=int, nargs='+', default=None, metavar='S',
                        help='TRAIN.RANDOM_SEED of the run, or a run for each (default: the '
                             'config\'s)')
    parser.add_argument('--baselines', action='store_true',
                        help='also train and evaluate target-only and source-only models and '
                             'the paper\'s SSDA Baseline (AdaptSeg with D_T\'s labels)')
    parser.add_argument('--pseudo_only', action='store_true',
                        help='only write pseudo labels of D_U from --checkpoint to --pseudo_dir')
    parser.add_argument('--checkpoint', default=None, help='with --pseudo_only')
    parser.add_argument('--pseudo_dir', default=None, help='with --pseudo_only')
    add_config_args(parser, labeled_args=True, several_budgets=True)
    return parser.parse_args(argv)


def default_rounds(cfg, labeled_names):
    """1 when D_T holds every train image, else the paper's 4 (GTA5) or 3 (SYNTHIA)."""
    every_label = set(read_list(cfg.DATA_LIST_TARGET)) <= set(labeled_names)
    return 1 if every_label else {'GTA': 4, 'SYNTHIA': 3}[cfg.SOURCE]


def pseudo_labels(cfg, checkpoint, pseudo_dir, option='--pseudo_dir'):
    """Pseudo labels of D_U from the student at `checkpoint` (the stage on its own), into a
    folder of their own: never a dataset's, nor one this project did not make. `option`:
    what chose the folder, for the messages (the pipeline's is --exp_dir)."""
    dataset = target_unlabeled_dataset(cfg)
    setup_device_for(cfg, inference=True)
    predict = kept_confidence(cfg, checkpoint, dataset.image_size[::-1])
    with RunDir(pseudo_dir, 'pseudo_labels', run_settings(cfg, checkpoint=checkpoint),
                dataset_roots(cfg), option=option):
        stats = generate_pseudo_labels(predict, dataset, pseudo_dir, cfg.NUM_CLASSES, checkpoint,
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


def best_snapshot(cfg, model_dir):
    """{'mIoU', 'iteration'} of the model's best validated checkpoint, or None without one (a
    warning if the model was validated: its best.ckpt was deleted since)."""
    path = os.path.join(model_dir, 'best.ckpt')
    if not os.path.isfile(path):
        if 0 < cfg.TRAIN.EVAL_EVERY <= cfg.TRAIN.EARLY_STOP:
            print(f'warning: {path} is missing: the table shows no best snapshot of '
                  f'{os.path.basename(model_dir)}', file=sys.stderr)
        return None
    params = read_checkpoint(path)
    return {'mIoU': round(float(params['meta.best'].asnumpy()), 2),
            'iteration': int(params['meta.iteration'].asnumpy())}


def training_step(cfg, name, out_dir, stage, work, trainer, needs, images_per_step=1):
    """A step that trains `stage` of `cfg` into `out_dir` with `work()`; it costs EARLY_STOP
    steps of so many images. Where compiled steps are kept, the stage trains on the step kept
    under its graph's key, which an idle worker compiles ahead with `trainer`: the stage's
    `stage_trainer` and its arguments after cfg (engine/compiled_steps.py)."""
    graph = compiled_step_key(cfg, stage)
    keeps = keeps_compiled_steps(cfg)
    return Step(name, os.path.join(out_dir, 'final.ckpt'),
                functools.partial(with_kept_step, graph, work) if keeps else work, tuple(needs),
                final_checkpoint_of(stage, cfg), cost=cfg.TRAIN.EARLY_STOP * images_per_step,
                graph=graph,
                compile_ahead=functools.partial(compile_ahead, graph, cfg, *trainer) if keeps
                else None)


def eval_step(cfg, name, checkpoint, output, needs, save_pred=False):
    """The evaluation of `checkpoint` (or of the ensemble of a list of them) on val, into
    `output` (with colourised predictions if asked); rank 0 evaluates, the others wait."""
    pred_dir = os.path.splitext(output)[0] + '_pred' if save_pred else None
    return Step(name, output, functools.partial(
        evaluate_checkpoint, cfg, checkpoint, cfg.DATA_DIRECTORY_TARGET, save_pred=pred_dir,
        output=output), tuple(needs), rank0_only=True)


def evaluate_step(cfg, manifest, name, checkpoint, output, save_pred=False):
    """The primary mIoU of `checkpoint` on val, evaluated now (None on ranks other than 0)."""
    step = eval_step(cfg, name, checkpoint, output, (), save_pred)
    run_here(manifest, step)
    return primary_score(cfg, manifest.result(name))


def primary_score(cfg, summary):
    return summary and summary[primary_metric(cfg.NUM_CLASSES)]


def round_steps(cfg, exp_dir, r, rounds, start):
    """The steps of round r of Algorithm 1: both teachers, the student, the evaluations of all
    three and of the teachers' ensemble, and (but in the last round) the student's pseudo
    labels. `start`: the steps whose outputs every model starts from."""
    round_dir = os.path.join(exp_dir, f'round{r}')
    prev_dir = os.path.join(exp_dir, f'round{r - 1}') if r > 1 else ''
    # From round 2 on, D_T holds the pseudo labels of round r-1.
    before = list(start) + ([f'round{r - 1}/pseudo'] if r > 1 else [])

    def init_from(model):
        if cfg.TRAIN.ROUND_INIT == 'previous' and prev_dir:
            return passed_on(cfg, os.path.join(prev_dir, model)), [f'round{r - 1}/{model}']
        return cfg.TRAIN.RESTORE_FROM, []

    def model_dir(model):
        return os.path.join(round_dir, model)

    ckpt = {m: passed_on(cfg, model_dir(m)) for m in trained_models(cfg)}
    steps, teachers = [], {}
    for mix, mixing in round_teachers(cfg).items():
        init, needs = init_from(mixing.stage)
        step_cfg = round_cfg(cfg, prev_dir, init)
        teachers[mixing.stage] = f'round{r}/{mixing.stage}'
        steps.append(training_step(
            step_cfg, teachers[mixing.stage], model_dir(mixing.stage), mixing.stage,
            functools.partial(train_teacher.train, step_cfg, mix, model_dir(mixing.stage),
                              EXP_DIR),
            (train_teacher.stage_trainer, mix), before + needs, len(mixing.images)))
    init, needs = init_from('student')
    step_cfg = round_cfg(cfg, prev_dir, init)
    teacher_ckpts = {stage: ckpt[stage] for stage in teachers}
    distill.student_init_of(step_cfg, teacher_ckpts)  # a bad TRAIN.STUDENT_INIT fails now
    steps.append(training_step(
        step_cfg, f'round{r}/student', model_dir('student'), 'student',
        functools.partial(distill.train, step_cfg, teacher_ckpts, model_dir('student'),
                          EXP_DIR),
        (distill.stage_trainer, dict.fromkeys(teacher_ckpts)),
        before + needs + list(teachers.values()), 2))
    evaluated = {**{stage: (os.path.join(round_dir, stage, 'final.ckpt'), [step])
                    for stage, step in teachers.items()},
                 'ensemble': (list(teacher_ckpts.values()), list(teachers.values())),
                 'student': (os.path.join(round_dir, 'student', 'final.ckpt'),
                             [f'round{r}/student'])}
    for column in columns(cfg):
        checkpoint, needs = evaluated[column]
        steps.append(eval_step(cfg, f'round{r}/eval_{column}', checkpoint,
                               os.path.join(round_dir, f'eval_{column}.json'), needs,
                               save_pred=column != 'ensemble'))
    if r < rounds:  # the last round's pseudo labels would feed no one
        pseudo_dir = os.path.join(round_dir, 'pseudo')
        steps.append(Step(f'round{r}/pseudo', os.path.join(pseudo_dir, 'list.txt'),
                          functools.partial(pseudo_labels, cfg, ckpt['student'], pseudo_dir,
                                            EXP_DIR),
                          (f'round{r}/student',)))
    return steps


def round_scores(cfg, results, exp_dir, r):
    """{column: primary mIoU} of round r and, for each trained model validated during
    training, {model_best: {'mIoU', 'iteration'}}."""
    scores = {column: primary_score(cfg, results.get(f'round{r}/eval_{column}'))
              for column in columns(cfg)}
    for model in trained_models(cfg):
        scores[f'{model}_best'] = best_snapshot(cfg, os.path.join(exp_dir, f'round{r}', model))
    return scores


# The baselines' stages (train_teacher.py: BASELINES), in the table's order.
BASELINE_MIXES = {stage: mix for mix, stage in train_teacher.BASELINES.items()}


def baseline_training(cfg, exp_dir, name, init_from, needs=()):
    """A target-only (D_T alone), source-only or AdaptSeg (the paper's Baseline) model,
    trained like a round-1 teacher from `init_from`."""
    out_dir = os.path.join(exp_dir, 'baselines', name)
    mix = BASELINE_MIXES[name]
    step_cfg = round_cfg(cfg, '', init_from)
    return training_step(step_cfg, f'baselines/{name}', out_dir, name,
                         functools.partial(train_teacher.train, step_cfg, mix, out_dir, EXP_DIR),
                         (train_teacher.stage_trainer, mix), needs,
                         train_teacher.IMAGES_PER_STEP.get(mix, 1))


def baseline_eval(cfg, exp_dir, name):
    return eval_step(cfg, f'baselines/eval_{name}',
                     os.path.join(exp_dir, 'baselines', name, 'final.ckpt'),
                     os.path.join(exp_dir, 'baselines', f'eval_{name}.json'),
                     [f'baselines/{name}'], save_pred=name == 'target_only')


def pipeline_steps(cfg, exp_dir, rounds, baselines):
    """Every step of the pipeline, in an order that respects their needs. With
    TRAIN.SOURCE_PRETRAINING a source-only model comes first and every other model starts
    from it; with `baselines` a target-only and an AdaptSeg model (starting where the rounds'
    models start) and the source-only one (from RESTORE_FROM) are trained and evaluated too."""
    cfg = copy.deepcopy(cfg)
    steps, start = [], []
    source_only = baseline_training(cfg, exp_dir, 'source_only', cfg.TRAIN.RESTORE_FROM)
    if cfg.TRAIN.SOURCE_PRETRAINING:
        # Without ImageNet weights (the CPU demo) every model would start from random
        # ones, and the student, which never sees a source label, would start furthest
        # behind.
        steps.append(source_only)
        cfg.TRAIN.RESTORE_FROM, start = source_only.output, [source_only.name]
    if baselines:
        for name in ('target_only', 'adaptseg'):
            steps += [baseline_training(cfg, exp_dir, name, cfg.TRAIN.RESTORE_FROM, start),
                      baseline_eval(cfg, exp_dir, name)]
        if not cfg.TRAIN.SOURCE_PRETRAINING:
            steps.append(source_only)
        steps.append(baseline_eval(cfg, exp_dir, 'source_only'))
    for r in range(1, rounds + 1):
        steps += round_steps(cfg, exp_dir, r, rounds, start)
    return steps


def table_cell(row, column):
    """A model's final mIoU and, when it was validated during training, its best snapshot."""
    if row.get(column) is None:
        return '--'
    best = row.get(f'{column}_best')
    best = f" (best {best['mIoU']:.2f} @ {best['iteration']})" if best else ''
    return f'{row[column]:.2f}{best}'


def write_table(exp_dir, rows, cfg, baselines=None):
    """The per-round table (the teachers, their ensemble and the student; final checkpoints,
    and the best snapshots on val when validated) as Markdown, JSON and a chart."""
    metric = primary_metric(cfg.NUM_CLASSES)
    table = columns(cfg)
    lines = ['| round | ' + ' | '.join(table.values()) + ' |',
             '|---' * (len(table) + 1) + '|']
    for row in rows:
        lines.append(f"| {row['round']} | " + ' | '.join(table_cell(row, c) for c in table)
                     + ' |')
    for name, score in (baselines or {}).items():
        lines.append(f"| {name.replace('_', '-')} baseline |" + ' |' * (len(table) - 1)
                     + f' {score:.2f} |')
    passed = ('Each step used the best snapshot on val (TRAIN.PASS_ON best).\n'
              if cfg.TRAIN.PASS_ON == 'best' else '')
    text = (f'{metric} on {cfg.TARGET} val, per round (final checkpoints)\n\n'
            + '\n'.join(lines) + '\n' + passed)
    atomic_write_text(os.path.join(exp_dir, 'results.md'), text)
    atomic_write_json(os.path.join(exp_dir, 'results.json'),
                      {'metric': metric, 'columns': table, 'rounds': rows,
                       'baselines': baselines or {}})
    miou_per_round_chart(rows, os.path.join(exp_dir, 'results.png'), table)
    print(text)
    return text


def budget_run(args, num_labeled, split=None, seed=None):
    """(cfg, exp_dir, rounds, settings) of the pipeline of one run: label budget N (one of
    several --num_labeled, else --labeled_list or the config's D_T), its split K and the seed
    S (one of several --split and --seed; None: the released split, the config's seed)."""
    opts = args.opts + ([f'TRAIN.RANDOM_SEED={seed}'] if seed is not None else [])
    cfg = cfg_from_args(argparse.Namespace(**{**vars(args), 'num_labeled': num_labeled,
                                              'split': split, 'opts': opts}))
    cfg.TRAIN.ROUND_INIT = args.init or cfg.TRAIN.ROUND_INIT
    labeled_names = read_list(cfg.DATA_LIST_TARGET_LABELED)
    check_inputs(cfg)  # before the first step, which may be hours before the last reads them
    rounds = args.rounds or cfg.TRAIN.ROUNDS or default_rounds(cfg, labeled_names)
    exp_dir = args.exp_dir or os.path.join(
        args.exp_root or cfg.EXP_ROOT,
        run_folder_name(cfg.SOURCE, num_labeled or len(labeled_names), split or 0,
                        cfg.TRAIN.RANDOM_SEED))
    return cfg, exp_dir, rounds, {**run_settings(cfg), 'rounds': rounds,
                                  'baselines': args.baselines}


def pipeline_workers(cfg):
    """(number of worker processes, the (device, id) of each or None, the cores to pin them
    to or None). With PIPELINE_DEVICE_IDS each worker runs every step it takes on a device
    of its own."""
    ids = cfg.PIPELINE_DEVICE_IDS
    jobs = len(ids) or cfg.PIPELINE_JOBS
    # With workers, each pins itself (engine/schedule.py): this process, which only waits
    # for them, stays on every core, so that they can be given one each.
    cores = sorted(os.sched_getaffinity(0)) if (
        jobs > 1 and cfg.CPU_PIN and cfg.DEVICE == 'CPU' and hasattr(os, 'sched_getaffinity')) \
        else None
    return jobs, [(cfg.DEVICE, i) for i in ids] or None, cores


def main(args):
    if args.rounds is not None and args.rounds < 1:
        raise ConfigError(f'--rounds must be >= 1, got {args.rounds}')
    budgets, splits, seeds = args.num_labeled or [None], args.split or [None], args.seed or [None]
    for option, values in (('--num_labeled', budgets), ('--split', splits), ('--seed', seeds)):
        if len(set(values)) != len(values):
            raise ConfigError(f'{option}: a value given twice ({" ".join(map(str, values))})')
    if len(budgets) * len(splits) * len(seeds) > 1 and args.exp_dir:
        raise ConfigError('--exp_dir is one run\'s folder: with several --num_labeled, --split '
                          'or --seed, each run goes into --exp_root (default EXP_ROOT)')
    if args.pseudo_only:
        if not (args.checkpoint and args.pseudo_dir):
            raise ConfigError('--pseudo_only needs --checkpoint and --pseudo_dir')
        cfg = cfg_from_args(argparse.Namespace(**{**vars(args), 'num_labeled': budgets[0],
                                                  'split': splits[0]}))
        return pseudo_labels(cfg, args.checkpoint, args.pseudo_dir)
    runs = [budget_run(args, n, k, s) for n in budgets for k in splits for s in seeds]
    cfg = runs[0][0]  # the runs differ in D_T and the seed alone
    jobs, devices, cores = pipeline_workers(cfg)
    parent_cfg = copy.deepcopy(cfg)
    parent_cfg.CPU_PIN = cfg.CPU_PIN and jobs == 1
    start_process(parent_cfg)
    check_jobs(jobs, devices)
    if jobs > 1 and cfg.DEVICE == 'CPU' and not cfg.CPU_PIN:
        print(f'warning: {jobs} pipeline workers without CPU_PIN: compiled CPU steps at once '
              f'slow each other down (docs/PERFORMANCE.md)')
    # Several runs are one set of steps, the workers taking the longest chain first; each
    # run's steps are named after its folder.
    labels = [os.path.basename(os.path.normpath(exp_dir)) if len(runs) > 1 else ''
              for _, exp_dir, _, _ in runs]
    with contextlib.ExitStack() as stack:
        manifests, steps = {}, []
        for (run_cfg, exp_dir, rounds, settings), label in zip(runs, labels):
            # The whole pipeline's folder is this run's, besides each stage's own in it.
            stack.enter_context(RunDir(exp_dir, 'pipeline', settings, dataset_roots(run_cfg),
                                       option=EXP_DIR))
            manifests[label] = Manifest(os.path.join(exp_dir, 'manifest.json'), settings,
                                        label and label + '/')
            steps.append(pipeline_steps(run_cfg, exp_dir, rounds, args.baselines))
        if len(runs) == 1:
            results = run_steps(manifests[''], steps[0], jobs, cores, devices)
            return budget_table(*runs[0][:3], args.baselines, results)
        results = run_steps(ManifestSet(manifests), [s for run, label in zip(steps, labels)
                                                     for s in in_folder(run, label)],
                            jobs, cores, devices)
        return [budget_table(*run[:3], args.baselines, of_folder(results, label))
                for run, label in zip(runs, labels)]


def budget_table(cfg, exp_dir, rounds, baselines, results):
    """The per-round table of one budget's pipeline from its steps' `results` (rank 0)."""
    if current_rank()[0] != 0:
        return None
    rows = [{'round': r, **round_scores(cfg, results, exp_dir, r)} for r in range(1, rounds + 1)]
    scores = {name: primary_score(cfg, results.get(f'baselines/eval_{name}'))
              for name in BASELINE_MIXES} if baselines else None
    return write_table(exp_dir, rows, cfg, scores)


if __name__ == '__main__':
    run_cli(main, parse_args())
