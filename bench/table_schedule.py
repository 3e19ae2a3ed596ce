"""How long the paper's whole table takes each way a server's devices can run it, in units of
T, the time of one region-level teacher step on one device.

    python bench/table_schedule.py [--source gta|synthia] [--devices 8]

It builds the real steps of every budget's pipeline with its baselines (self_train.py), as
scripts/reproduce_table.sh runs them, and replays the pipeline's schedule on N one-device
workers (engine/schedule.py: the ready step heading the longest chain of work left goes to the
first free worker). A training takes EARLY_STOP steps of its stage's cost relative to a
region-level teacher step, as measured on the CPU (docs/PERFORMANCE.md: sample-level teacher
2.87, student 2.65; that the ratios carry over to a device is an assumption); evaluations and
pseudo-labelling count as nothing here. Data parallelism on N devices is given by its step
counts: same_steps keeps every step (N images each, about as long as one), same_images
divides them by N.
"""
import argparse
import heapq
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import get_cfg, labeled_list_of, run_folder_name  # noqa: E402
from dataset.base_dataset import read_list  # noqa: E402
from dataset.pipeline import MIXINGS  # noqa: E402
from engine.schedule import critical_path, in_folder  # noqa: E402
from self_train import default_rounds, pipeline_steps  # noqa: E402

BUDGETS = (100, 200, 500, 1000, 2975)


def table_steps(source):
    """Every step of the table of `source`, as one set (several budgets' pipelines)."""
    cfg = get_cfg(f'configs/{source}2cityscapes.yaml')
    steps = []
    for budget in BUDGETS:
        cfg.DATA_LIST_TARGET_LABELED = labeled_list_of(cfg, budget)
        rounds = default_rounds(cfg, read_list(cfg.DATA_LIST_TARGET_LABELED))
        label = run_folder_name(source, budget)
        steps += in_folder(pipeline_steps(cfg, os.path.join('experiments', label), rounds,
                                          baselines=True), label)
    return steps


# A step of a stage on several images: (its images, its cost in region-level teacher steps).
# Measured (docs/PERFORMANCE.md, PyNative on CPU): the sample-level teacher 2.87, the student
# 2.65. Estimated: AdaptSeg, the sample-level teacher's two images and a target-size one (1),
# its discriminators' small convolutions not counted. A step on one image, 1.
STEP_COST = {MIXINGS['sample'].stage: (2, 2.87), 'student': (2, 2.65), 'adaptseg': (3, 3.87)}


def training_cost(step):
    """T of a training step (EARLY_STOP steps of its stage); 0 for the others."""
    if not step.graph:  # evaluations, pseudo labels
        return 0.0
    images, cost = STEP_COST.get(step.name.rsplit('/', 1)[1], (1, 1.0))
    return step.cost / images * cost


def makespan(steps, workers):
    """When the last step ends on `workers` one-device workers, scheduled as the pipeline
    schedules them."""
    priority = critical_path(steps)
    waiting = {step.name: step for step in steps}
    finished, running, now = set(), [], 0.0  # running: a heap of (end, name)
    while waiting or running:
        ready = sorted((s for s in waiting.values() if set(s.needs) <= finished),
                       key=lambda s: -priority[s.name])
        for step in ready[:workers - len(running)]:
            del waiting[step.name]
            heapq.heappush(running, (now + training_cost(step), step.name))
        now, name = heapq.heappop(running)
        finished.add(name)
    return now


def main(args):
    steps = table_steps(args.source)
    total = sum(training_cost(s) for s in steps)
    n = args.devices
    print(f'{args.source}: {len(steps)} steps, {total / 1e6:.2f}M T of training '
          f'(T: one region-level teacher step on one device)')
    print(f'| way | devices | wall time | each training |')
    print(f'|---|---|---|---|')
    print(f'| one device | 1 | {total / 1e6:.2f}M T | the paper\'s recipe |')
    print(f'| data parallel, same_steps | {n} | {total / 1e6:.2f}M T | {n} images a step |')
    print(f'| data parallel, same_images | {n} | {total / n / 1e6:.2f}M T | {n} images a '
          f'step, 1/{n} of the steps |')
    print(f'| {n} one-device workers | {n} | {makespan(steps, n) / 1e6:.2f}M T | the paper\'s '
          f'recipe |')


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--source', choices=('gta', 'synthia'), default='gta')
    parser.add_argument('--devices', type=int, default=8)
    main(parser.parse_args())
