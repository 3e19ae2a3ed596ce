"""CPU_PIN and PIPELINE_JOBS: a compiled step of the demo's tiny net, free on every core or
pinned to one, waited for or not, alone and two processes at once.

    python bench/pinning.py                     # the demo's region-level teacher step
    python bench/pinning.py --case student --steps 100
    python bench/pinning.py --backend PYNATIVE --steps 30   # why CPU_PIN needs graph mode

Each cell is `bench/stages.py --run CASE --backend GRAPH` (or PYNATIVE) in fresh processes (one
warm-up, compiling step, then --steps steps) with the demo's net and sizes. "free" leaves a
process on every core; "pinned" starts it on one core, which all its threads inherit: what
CPU_PIN does (utils/device.py), which itself refuses PyNative. "two at once" starts two such
processes together, the pinned ones on cores 0 and 1, and reports each one's time per step.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import machine  # noqa: E402

DEMO_NET = ['MODEL.BLOCKS=[1,1,1,1]', 'MODEL.WIDTH=8',
            'TRAIN.INPUT_SIZE_TARGET=[128,64]', 'TRAIN.INPUT_SIZE_SOURCE=[160,96]',
            'CPU_THREADS=1']


def start(case, steps, backend, wait, core=None):
    """A measurement in a fresh process, on `core` alone if given."""
    cmd = [sys.executable, os.path.join(ROOT, 'bench', 'stages.py'), '--run', case,
           '--backend', backend, '--steps', str(steps), '--opts', *DEMO_NET,
           # the demo's compiled step; the tests' PyNative one (tiny_cpu.yaml)
           f'TRAIN.JIT_STEP={"on" if backend == "GRAPH" else "off"}'] \
        + ([] if wait else ['--no_wait'])
    preexec = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, preexec_fn=preexec)


def ms_per_step(processes):
    times = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f'a measurement failed (exit {process.returncode})')
        times.append(1000 * json.loads(out.strip().splitlines()[-1])['seconds'])
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--case', default='teacher', choices=('teacher', 'teacher_sl',
                                                              'student'))
    parser.add_argument('--steps', type=int, default=100)
    parser.add_argument('--backend', default='GRAPH', choices=('GRAPH', 'PYNATIVE'))
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    print(f'machine: {machine.line(machine.describe())}')
    print(f'{args.case} step of the demo\'s net in {args.backend}, ms per step ({args.steps} '
          f'steps after one warm-up step)\n')
    print('| process | each step waited for | alone | two at once |\n|---|---|---|---|')
    alone = {}
    for pinned in (False, True):
        for wait in (True, False):
            alone[pinned, wait] = ms_per_step([start(args.case, args.steps, args.backend, wait,
                                                     cores[0] if pinned else None)])[0]
            pair = ms_per_step([start(args.case, args.steps, args.backend, wait,
                                      cores[i % len(cores)] if pinned else None)
                                for i in range(2)])
            print(f'| {"pinned" if pinned else "free"} | {"yes" if wait else "no"} | '
                  f'{alone[pinned, wait]:.1f} | {pair[0]:.1f}, {pair[1]:.1f} |', flush=True)
    print(f'\npinned and waited for (CPU_PIN) against free and not waited for (the trainer '
          f'unpinned): {alone[True, True] / alone[False, False]:.2f}x the time per step')


if __name__ == '__main__':
    main()
