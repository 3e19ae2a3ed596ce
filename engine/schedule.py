"""The pipeline's steps and when each may run: one after another in this process, or
PIPELINE_JOBS at once, each in a worker process of its own (self_train.py). The same workers
serve the CPU (several steps at once, each pinned to a core of its own with CPU_PIN) and a
server of several devices (PIPELINE_DEVICE_IDS: each worker, and every step it runs, on a
device of its own, the paper's one-device recipe).

A step names the steps it needs (its inputs are their outputs). With one job the steps run in
the order given, which is one that respects `needs`. With more, a free worker takes the ready
step that heads the longest chain of work still to do (`cost`, in image-steps), so the
pipeline's critical path starts first: the demo's sample-level teacher (two images a step)
before its region-level one.

A training step names its compiled graph (`graph`, engine/compiled_steps.py: compiled_step_key)
and how to compile it before its inputs exist (`compile_ahead`). A worker with no ready step
compiles ahead the graph of the most urgent waiting step that no worker holds yet, and a step
goes to a free worker that holds its graph if there is one: a worker keeps what it compiled,
so there the step trains at once (the demo's second round reuses the first's graphs too).

A step computes the same numbers in a worker as in this process: it seeds itself and reads
only its inputs, and a kept graph starts from the weights and optimizer state a new one
would (tests/test_self_train.py, tests/test_train_teacher.py, tests/test_demo.py). Under
CPU_PIN each worker runs on a core of its own (utils/device.py), where two processes at once
each run as fast as one alone; unpinned, two compiled CPU steps at once, their threads
spinning on the same cores, slow each other down several times (docs/PERFORMANCE.md).
"""
import concurrent.futures as futures
import ctypes
import dataclasses
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

from tqdm import tqdm

from utils.device import current_device, select_device
from utils.distributed import barrier, current_rank
from utils.errors import ConfigError, StoppedError

PR_SET_PDEATHSIG = 1  # prctl: the signal a process gets when its parent dies


@dataclass
class Step:
    """`work()` writes `output` and returns the step's JSON-ready result. `finished(output)`
    tells a finished step's output from a partial one; `rank0_only` steps (evaluations) run on
    rank 0 while the other ranks wait. A training step names its compiled step's key,
    `graph`, and `compile_ahead()` compiles that graph in the calling process without the
    step's inputs."""
    name: str
    output: str
    work: Callable
    needs: tuple = ()
    finished: Callable = os.path.exists
    cost: float = 1.0
    rank0_only: bool = False
    graph: str = None
    compile_ahead: Callable = None


def run_steps(manifest, steps, jobs=1, cores=None, devices=None):
    """Run every step that did not finish before, each after the steps it needs; returns
    {name: result}. `cores`: the cores the workers are pinned to, one each (None: unpinned);
    `devices`: the (device, id) each worker runs on (None: the config's). More than one job
    is for a process that runs alone, not under data parallelism (`check_jobs`)."""
    if jobs == 1 and not devices:
        for step in steps:
            run_here(manifest, step)
    else:
        run_in_workers(manifest, [step for step in steps
                                  if not manifest.finished_before(step.name, step.finished)],
                       jobs, cores, devices)
    return {step.name: manifest.result(step.name) for step in steps}


def in_folder(steps, label):
    """The steps of one pipeline among several run as one set: their names and needs
    prefixed with `label/` (engine/manifest.py: ManifestSet)."""
    return [dataclasses.replace(step, name=f'{label}/{step.name}',
                                needs=tuple(f'{label}/{need}' for need in step.needs))
            for step in steps]


def of_folder(results, label):
    """{step name: result} of the pipeline `label` among the results of a set of them."""
    return {name[len(label) + 1:]: result for name, result in results.items()
            if name.startswith(label + '/')}


def check_jobs(jobs, devices=None):
    """A ConfigError for pipeline workers (PIPELINE_JOBS > 1, PIPELINE_DEVICE_IDS) in a
    data-parallel group: every rank would start its own workers, and their collective
    operations would not meet."""
    if (jobs > 1 or devices) and current_rank()[1] > 1:
        raise ConfigError(f'PIPELINE_JOBS {jobs}: steps in processes of their own do not run '
                          f'under data parallelism; set PIPELINE_JOBS 1')


def run_here(manifest, step):
    """One step in this process (rank 0's alone for a rank0_only step, the others waiting)."""
    if not step.rank0_only or manifest.rank == 0:
        manifest.run(step.name, step.output, step.work, step.finished)
    if step.rank0_only:
        barrier()


def critical_path(steps):
    """{name: priority}: a step's cost plus that of the costliest chain of steps after it."""
    after = {step.name: [] for step in steps}
    for step in steps:
        for need in step.needs:
            if need in after:
                after[need].append(step.name)
    priority = {}
    for step in reversed(steps):  # `steps` is in an order that respects `needs`
        priority[step.name] = step.cost + max((priority[n] for n in after[step.name]),
                                              default=0.0)
    return priority


def run_in_workers(manifest, todo, jobs, cores, devices=None):
    """The steps on `jobs` worker processes, each step once its needs have finished; a worker
    with nothing ready compiles ahead. The first error stops the rest (a stopped training
    step resumes at its last checkpoint on the next run) and is raised. Each step's device
    (the worker's) is recorded with it."""
    priority = critical_path(todo)
    waiting = {step.name: step for step in todo}
    # spawn, not fork: a forked MindSpore runtime (its threads) does not survive in the child.
    # One pool of one process per worker: a step goes to the worker that holds its graph.
    context = multiprocessing.get_context('spawn')
    workers = [futures.ProcessPoolExecutor(1, mp_context=context, initializer=_start_worker,
                                           initargs=(cores[w % len(cores)] if cores else None,
                                                     devices[w] if devices else None))
               for w in range(jobs)]
    # Start every worker now: a worker's start, importing MindSpore, then runs beside the
    # first step instead of delaying the second.
    for worker in workers:
        worker.submit(os.getpid)
    holds = [set() for _ in workers]   # the graphs each worker compiled
    running = {}                       # future -> (worker, step, compiling ahead)
    # Ctrl-C is the pipeline's to answer: MindSpore's own handler (its runtime is up in this
    # process) would let the pipeline run on.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while waiting or running:
            idle = [w for w in range(jobs) if w not in {w for w, _, _ in running.values()}]
            busy = set(waiting) | {s.name for _, s, ahead in running.values() if not ahead}
            ready = sorted((s for s in waiting.values() if not busy & set(s.needs)),
                           key=lambda s: -priority[s.name])
            # A worker compiling ahead, evaluating or pseudo-labelling (a step without a
            # training graph) is free again within seconds, sooner than a graph compiles: a
            # step whose graph it holds waits for it.
            soon_free = set().union(*(holds[w] for w, s, ahead in running.values()
                                      if ahead or not s.graph))
            for step in ready:
                if not idle:
                    break
                holders = [w for w in idle if step.graph and step.graph in holds[w]]
                if not holders and step.graph in soon_free:
                    continue
                w = (holders or idle)[0]
                idle.remove(w)
                del waiting[step.name]
                # 'held': the worker compiled the step's graph before and trains on it at once
                # (where processes keep their compiled steps: those steps compile ahead)
                manifest.event(step.name, 'started', worker=w + 1,
                               **({'graph': 'held' if holders else 'new'}
                                  if step.compile_ahead else {}),
                               **({'device': ' '.join(map(str, devices[w]))} if devices else {}))
                running[workers[w].submit(on_device, step.work)] = (w, step, False)
                if step.graph:
                    holds[w].add(step.graph)
            for w in idle:
                step = next_to_compile(waiting, priority, set().union(*holds))
                if step is None:
                    break
                print(f'[pipeline] {step.name}: compiling its step ahead (worker {w + 1})',
                      flush=True)
                running[workers[w].submit(step.compile_ahead)] = (w, step, True)
                holds[w].add(step.graph)
            done, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
            for future in done:
                _, step, ahead = running.pop(future)
                try:
                    result = future.result()
                except futures.process.BrokenProcessPool:
                    raise StoppedError(f'[pipeline] {step.name}: its worker process was killed '
                                       f'(out of memory?); the same command skips the '
                                       f'finished steps and resumes the others') from None
                if not ahead:
                    manifest.record(step.name, step.output, *result)
    except KeyboardInterrupt:
        stop_workers(workers, running)
        raise KeyboardInterrupt('[pipeline] stopped: the same command skips the finished steps '
                                'and resumes the others, a training step at its last '
                                'checkpoint') from None
    except BaseException:
        stop_workers(workers, running)
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    for worker in workers:
        worker.shutdown()


def next_to_compile(waiting, priority, held):
    """The waiting step heading the longest chain whose graph no worker holds, or None."""
    candidates = [s for s in waiting.values() if s.compile_ahead and s.graph not in held]
    return max(candidates, key=lambda s: priority[s.name], default=None)


def on_device(work):
    """A step's work, and the device it ran on ('Ascend 3')."""
    result = work()
    return result, ' '.join(map(str, current_device()))


def _start_worker(core, device):
    """A worker's start: its core (every later thread inherits it) and its device (every
    step it runs uses it), before MindSpore's runtime starts in it. The worker leaves the
    terminal's process group, so that Ctrl-C reaches the pipeline alone, which ends the
    workers itself (a worker's MindSpore would end it without a word), and it dies with the
    pipeline if that is killed."""
    os.setpgrp()
    # tqdm's default lock holds a semaphore, which a worker ended by stop_workers would leave
    # to multiprocessing's resource tracker to warn about; a worker's bars are its own.
    tqdm.set_lock(threading.RLock())
    if sys.platform.startswith('linux'):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if core is not None:
        os.sched_setaffinity(0, {core})
    if device is not None:
        select_device(*device)


def stop_workers(workers, running):
    """End the steps still running (`running`: future -> (worker, step, compiling ahead)):
    their processes are killed; their checkpoints, written atomically, stay for the next run
    to resume from."""
    processes = [process for pool in workers
                 for process in (getattr(pool, '_processes', None) or {}).values()]
    for process in processes:
        process.terminate()
    deadline = time.time() + 10
    for process in processes:
        process.join(max(0.0, deadline - time.time()))
        if process.is_alive():
            process.kill()
    # Each pool, its workers gone, closes its queues: no semaphore is left behind for
    # multiprocessing's resource tracker to warn about at exit.
    for pool in workers:
        pool.shutdown(wait=True, cancel_futures=True)
    # A step's progress bar ended mid-line: the message that follows takes its place on a
    # terminal, and starts a line of its own in a file.
    if sys.stderr.isatty():
        sys.stderr.write('\r\x1b[K')
    elif any(not ahead for _, _, ahead in running.values()):
        sys.stderr.write('\n')
