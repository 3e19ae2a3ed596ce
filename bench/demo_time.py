"""Where the README's demo spends its wall time: setup, data generation, and per pipeline step
compilation, training steps, validation, checkpoints, evaluation and pseudo-labelling.

    python bench/demo_time.py --out /tmp/demo_bench            # runs the demo there, fresh
    python bench/demo_time.py --out demo --log demo.log        # a demo that ran already

Runs `bash scripts/run_demo_cpu.sh` with DDM_DEMO_DIR=OUT (OUT must not exist), keeping its
output in OUT.log; or, with --log, reads a finished demo's folder and output. The split comes
from three records the project writes anyway: the demo's last line (setup, data, pipeline
seconds), the pipeline's manifest.json (when each step started and finished), and the last
record of each training step's log.jsonl (first step, which compiles; the other steps;
validation; checkpoints). A training step's remaining time is its setup: reading the data
sets, building and loading nets. Evaluation and pseudo-labelling compile too; their share is
inside their totals. With PIPELINE_JOBS > 1 steps overlap: the work then adds up to more
than the wall time, and a second table says how long 0, 1, 2, ... steps ran at once.
`machine` records the CPU and its vector extensions.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import machine  # noqa: E402

WALL = re.compile(r'\[demo\] wall time: setup (\d+) s, data (\d+) s, pipeline (\d+) s')


def run_demo(out, log):
    env = dict(os.environ, DDM_DEMO_DIR=out)
    start = time.time()
    with open(log, 'w') as f:
        code = subprocess.run(['bash', 'scripts/run_demo_cpu.sh'], cwd=ROOT, env=env, stdout=f,
                              stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise SystemExit(f'error: the demo failed (exit {code}); see {log}')
    return time.time() - start


def step_intervals(exp_dir):
    """{step: (started, finished)} from the manifest's events, in the order started."""
    with open(os.path.join(exp_dir, 'manifest.json')) as f:
        events = json.load(f)['events']
    started, intervals = {}, {}
    for event in events:
        if event['event'] == 'started':
            started[event['step']] = event['time']
        elif event['event'] == 'finished' and event['step'] in started:
            intervals[event['step']] = (started[event['step']], event['time'])
    return dict(sorted(intervals.items(), key=lambda item: item[1][0]))


def at_once(intervals):
    """{k: seconds during which k steps ran at once}, for k >= 1 (PIPELINE_JOBS)."""
    edges = sorted([(t0, 1) for t0, _ in intervals] + [(t1, -1) for _, t1 in intervals])
    seconds, running, last = defaultdict(float), 0, None
    for time_, change in edges:
        if running:
            seconds[running] += time_ - last
        running, last = running + change, time_
    return dict(sorted(seconds.items()))


def training_split(step_dir):
    """The trainer's last {'first_step', 'steps', 'validation', 'checkpoints'}, or None."""
    path = os.path.join(step_dir, 'log.jsonl')
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        timed = [r['seconds'] for r in map(json.loads, f) if 'seconds' in r]
    return timed[-1] if timed else None


def split(exp_dir, wall):
    """(rows per step, totals per kind of work, {k: seconds k steps ran at once}), in seconds.
    Steps that ran at once (PIPELINE_JOBS) each count whole: the totals then add up to the
    wall time plus the overlap."""
    totals = defaultdict(float)
    totals['setup (.venv)'], totals['data generation'] = wall['setup'], wall['data']
    rows = []
    intervals = step_intervals(exp_dir)
    for step, (began, ended) in intervals.items():
        seconds = ended - began
        parts = training_split(os.path.join(exp_dir, step))
        if parts is not None:
            setup = seconds - sum(parts.values())
            rows.append((step, seconds, parts['first_step'], parts['steps'],
                         parts['validation'], parts['checkpoints'], setup))
            totals['compiling (first training step)'] += parts['first_step']
            totals['training steps'] += parts['steps']
            totals['validation during training'] += parts['validation']
            totals['checkpoints'] += parts['checkpoints']
            totals['stage setup (data sets, nets; a worker\'s start)'] += setup
        else:
            rows.append((step, seconds, None, None, None, None, None))
            kind = 'pseudo-labelling' if step.endswith('/pseudo') else 'evaluation'
            totals[kind] += seconds
    concurrency = at_once(list(intervals.values()))
    totals['pipeline start and the rest (imports, table)'] = wall['pipeline'] - sum(
        concurrency.values())
    return rows, totals, concurrency


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='the demo folder (DDM_DEMO_DIR)')
    parser.add_argument('--log', default=None,
                        help="a finished demo's output: read it and OUT instead of running")
    args = parser.parse_args(argv)
    info = machine.describe()
    if args.log is None:
        if os.path.exists(args.out):
            parser.error(f'{args.out} exists: the benchmark times a demo from nothing')
        args.log = args.out.rstrip('/') + '.log'
        measured = run_demo(args.out, args.log)
        print(f'the demo ran in {measured:.0f} s (output: {args.log})')
    with open(args.log, errors='replace') as f:
        found = WALL.findall(f.read())
    if not found:
        raise SystemExit(f'error: {args.log} has no "[demo] wall time" line: not a finished '
                         'run of scripts/run_demo_cpu.sh')
    wall = dict(zip(('setup', 'data', 'pipeline'), map(int, found[-1])))
    rows, totals, concurrency = split(os.path.join(args.out, 'exp'), wall)
    total = sum(wall.values())
    work = sum(totals.values())
    print(f'machine: {machine.line(info)}\n')
    print(f'| work | seconds | share of {work:.0f} s of work |\n|---|---|---|')
    for kind, seconds in totals.items():
        print(f'| {kind} | {seconds:.1f} | {100 * seconds / work:.1f}% |')
    print(f'\n| pipeline steps running at once | seconds | share of the {total} s |\n'
          f'|---|---|---|')
    idle = {0: totals['pipeline start and the rest (imports, table)'] + wall['setup']
            + wall['data']}
    for k, seconds in {**idle, **concurrency}.items():
        print(f'| {k} | {seconds:.1f} | {100 * seconds / total:.1f}% |')
    print('\n| step | seconds | first step (compiling) | other steps | validation | '
          'checkpoints | setup |\n|---|---|---|---|---|---|---|')
    for step, seconds, *parts in rows:
        cells = ['' if v is None else f'{v:.1f}' for v in parts]
        print(f'| {step} | {seconds:.1f} | ' + ' | '.join(cells) + ' |')
    print(json.dumps({'machine': info, 'wall': wall, 'totals': totals,
                      'at_once': concurrency}))


if __name__ == '__main__':
    main()
