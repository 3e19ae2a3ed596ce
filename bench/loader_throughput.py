"""Throughput of the training data pipeline at the paper's sizes (a benchmark, not a test).

    python bench/loader_throughput.py [--data DIR] [--steps 15] [--repeats 3] [--workers 1 2]

Writes (or, with --data, reuses) generated images in the real layouts and sizes: Cityscapes
2048x1024 and GTA5 1914x1052 PNGs. Then runs `dataset.pipeline.train_loader` as
train_teacher.py builds it (`data_streams`), at the default config's sizes (GTA5 resized to
1280x720, Cityscapes to 1024x512), batch 1, for each stage's stream: target-only, sample-level
pairs and region mix, without and with LAB colour transfer ("on": every reference's LAB
statistics still to compute, as early in a run; "on, cached": all of them computed, as once
each reference has been drawn), with 1 and 2 workers. Prints steps/s, the best of --repeats
runs (other jobs share the cores); the first step (worker start-up) of each run is left out
of the timing. The `no loader` column builds the same
samples in this process without MindSpore (decode, resize, colour transfer, mixing, CHW
float): what one core can feed.
"""
import argparse
import functools
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import machine  # noqa: E402
from config import get_cfg  # noqa: E402
from dataset import pipeline, synthetic  # noqa: E402
from train_teacher import data_streams  # noqa: E402

CITYSCAPES_SIZE, GTA5_SIZE = (2048, 1024), (1914, 1052)
# (stream, colour transfer): target-only training never transfers colours.
CASES = [('target', 'off'), ('sample', 'off'), ('sample', 'on'), ('sample', 'on, cached'),
         ('region', 'off'), ('region', 'on'), ('region', 'on, cached')]
# Images decoded per step: source, target, and the colour-transfer reference if not cached.
IMAGES_PER_STEP = {'target': 1, 'off': 2, 'on': 3, 'on, cached': 2}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default=None,
                        help='directory of generated data to reuse (written there if empty)')
    parser.add_argument('--num_images', type=int, default=16,
                        help='images per data set when generating')
    parser.add_argument('--steps', type=int, default=15, help='timed steps per measurement')
    parser.add_argument('--repeats', type=int, default=3,
                        help='measurements per cell; the best is shown (the cores are shared)')
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    return parser.parse_args(argv)


def ensure_data(out_dir, num_images):
    """Generated GTA5 and Cityscapes at their real sizes in out_dir; the data overlay path."""
    overlay = os.path.join(out_dir, 'data_gta5.yaml')
    if os.path.isfile(overlay):
        return overlay
    start = time.perf_counter()
    synthetic.generate(out_dir, seed=0, num_source=num_images, num_train=num_images, num_val=1,
                       target_size=CITYSCAPES_SIZE, source_size=GTA5_SIZE)
    print(f'generated {num_images} GTA5 {GTA5_SIZE[0]}x{GTA5_SIZE[1]} and {num_images} '
          f'Cityscapes {CITYSCAPES_SIZE[0]}x{CITYSCAPES_SIZE[1]} images in '
          f'{time.perf_counter() - start:.0f} s -> {out_dir}', flush=True)
    return overlay


def stage_streams(cfg, mix, transfer):
    """data_streams for `mix`; with transfer 'on, cached' every reference's LAB statistics are
    computed first (the loader's workers inherit them)."""
    cfg.TRAIN.COLOR_TRANSFER = transfer != 'off'
    streams, build = data_streams(cfg, mix)
    if transfer == 'on, cached':
        for index in range(len(streams['reference'])):
            streams['reference'].load(index)
    return streams, build


def steps_per_second(cfg, mix, transfer, num_workers, num_steps):
    streams, build = stage_streams(cfg, mix, transfer)
    loader = pipeline.train_loader(streams, build, 1, 0, num_steps + 1,
                                   cfg.TRAIN.RANDOM_SEED, num_workers)
    batches = pipeline.iterate(loader)
    next(batches)           # worker start-up and the first decode: not timed
    start = time.perf_counter()
    count = sum(1 for _ in batches)
    return count / (time.perf_counter() - start)


def direct_steps_per_second(cfg, mix, transfer, num_steps):
    """The same samples built in this process without MindSpore: the per-step Python cost."""
    streams, build = stage_streams(cfg, mix, transfer)
    samples = pipeline.StepSamples(streams, build, cfg.TRAIN.RANDOM_SEED, num_steps + 1)
    samples[0]
    start = time.perf_counter()
    for m in range(1, num_steps + 1):
        samples[m]
    return num_steps / (time.perf_counter() - start)


def main(args):
    with tempfile.TemporaryDirectory(prefix='loader_bench_') as tmp:
        data_dir = args.data or tmp
        os.makedirs(data_dir, exist_ok=True)
        cfg = get_cfg([ensure_data(data_dir, args.num_images)])   # the paper's sizes
        print(f'machine: {machine.line()}')
        print(f'sizes: GTA5 -> {cfg.TRAIN.INPUT_SIZE_SOURCE}, Cityscapes -> '
              f'{cfg.TRAIN.INPUT_SIZE_TARGET}; batch 1; best of {args.repeats} runs of '
              f'{args.steps} timed steps\n')
        print('| stream | colour transfer | images/step | no loader: steps/s | '
              + ' | '.join(f'{w} worker{"s" if w > 1 else ""}: steps/s' for w in args.workers)
              + ' |')
        print('|---|---|---|---|' + '---|' * len(args.workers))
        for mix, transfer in CASES:
            measures = [functools.partial(direct_steps_per_second, cfg, mix, transfer,
                                          args.steps)]
            measures += [functools.partial(steps_per_second, cfg, mix, transfer, w, args.steps)
                         for w in args.workers]
            rates = [max(measure() for _ in range(args.repeats)) for measure in measures]
            name = {'target': 'target only', 'sample': 'sample-level pairs',
                    'region': 'region mix'}[mix]
            images = IMAGES_PER_STEP['target' if mix == 'target' else transfer]
            print(f'| {name} | {transfer} | {images} | '
                  + ' | '.join(f'{r:.2f}' for r in rates) + ' |', flush=True)


if __name__ == '__main__':
    main(parse_args())
