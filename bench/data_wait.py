"""The share of a training step's wall time spent waiting for data loading and mixing.

    python bench/data_wait.py [--data DIR] [--steps 6] [--mode GRAPH|PYNATIVE]

Runs the real stages (train_teacher.py --mix region and --mix sample, distill.py) through the
shared loop, with the full net at the paper's sizes, on generated GTA5 (1914x1052) and
Cityscapes (2048x1024) images in their real layouts (bench/loader_throughput.py writes them),
and prints the mean `data_wait` the loop logs (engine/trainer.py): the time the step was
blocked on the loader, over the wall time. The first step (compilation, worker start-up) is
left out.
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import distill  # noqa: E402
import train_teacher  # noqa: E402
from bench import machine  # noqa: E402
from bench.loader_throughput import ensure_data  # noqa: E402
from config import get_cfg  # noqa: E402
from dataset.pipeline import MIXINGS  # noqa: E402


def records(out_dir):
    with open(os.path.join(out_dir, 'log.jsonl')) as f:
        return [r for r in map(json.loads, f) if 'data_wait' in r][1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default=None, help='generated data to reuse (or write)')
    parser.add_argument('--steps', type=int, default=6, help='steps per stage, the first untimed')
    parser.add_argument('--mode', choices=('GRAPH', 'PYNATIVE'), default=None,
                        help='default: the config\'s MODE')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='data_wait_') as tmp:
        data_dir = args.data or os.path.join(tmp, 'data')
        os.makedirs(data_dir, exist_ok=True)
        opts = [f'TRAIN.EARLY_STOP={args.steps}', 'TRAIN.LOG_EVERY=1', 'TRAIN.EVAL_EVERY=0',
                f'TRAIN.SAVE_PRED_EVERY={args.steps}', "TRAIN.RESTORE_FROM=''"]
        opts += [f'MODE={args.mode}'] if args.mode else []
        cfg = get_cfg([ensure_data(data_dir, 16)], opts)
        print(f'machine: {machine.line()}; {cfg.MODE} mode, {cfg.NUM_WORKERS} loader workers; '
              f'mean over steps 2..{args.steps}\n')
        print('| stage | s/step | data wait |\n|---|---|---|')
        runs = {}
        for mix in ('region', 'sample'):
            runs[mix] = os.path.join(tmp, mix)
            train_teacher.train(cfg, mix, runs[mix])
            report(f'{mix}-level teacher', records(runs[mix]))
        student = os.path.join(tmp, 'student')
        distill.train(cfg, {MIXINGS[mix].stage: os.path.join(run, 'final.ckpt')
                            for mix, run in runs.items()}, student)
        report('student', records(student))


def report(name, recs):
    seconds = sum(r['sec_per_iter'] for r in recs) / len(recs)
    wait = sum(r['data_wait'] for r in recs) / len(recs)
    print(f'| {name} | {seconds:.2f} | {100 * wait:.1f}% |', flush=True)


if __name__ == '__main__':
    main()
