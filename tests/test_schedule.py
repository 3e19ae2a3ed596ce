"""The pipeline's scheduler (engine/schedule.py): needs respected, the critical path first,
finished steps skipped, errors raised, workers pinned; and CPU_PIN (utils/device.py)."""
import json
import os
import subprocess
import sys
import time

import pytest

from engine.manifest import Manifest
from engine.schedule import Step, critical_path, run_steps
from schedule_work import compile_graph, die, fail, train_graph, write_after
from utils.errors import DataError, StoppedError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def toy_steps(tmp_path, seconds=1.0):
    """a -> (b, c) -> d, with c the costly branch."""
    import functools
    out = {name: str(tmp_path / name) for name in 'abcd'}

    def step(name, needs=(), cost=1.0):
        return Step(name, out[name], functools.partial(
            write_after, out[name], seconds, *[out[n] for n in needs]), tuple(needs), cost=cost)
    return [step('a'), step('b', ['a'], cost=1), step('c', ['a'], cost=5),
            step('d', ['b', 'c'])], out


def test_critical_path_puts_the_costly_chain_first(tmp_path):
    steps, _ = toy_steps(tmp_path)
    assert critical_path(steps) == {'a': 7.0, 'b': 2.0, 'c': 6.0, 'd': 1.0}


@pytest.mark.parametrize('jobs', [1, 2])
def test_every_step_runs_once_after_its_needs(tmp_path, jobs):
    steps, out = toy_steps(tmp_path)
    manifest = Manifest(str(tmp_path / 'manifest.json'), {})
    results = run_steps(manifest, steps, jobs=jobs, cores=[0, 1][:os.cpu_count()])
    assert set(results) == set('abcd') and all(not r['missing'] for r in results.values())
    assert results['d']['began'] >= max(results['b']['ended'], results['c']['ended'])
    if jobs == 2:  # b and c ran at once, in two workers, each on a core of its own
        assert results['b']['began'] < results['c']['ended']
        assert results['b']['pid'] != results['c']['pid']
        if os.cpu_count() >= 2:
            assert {tuple(results[n]['cores']) for n in 'bc'} == {(0,), (1,)}
    else:
        assert {r['pid'] for r in results.values()} == {os.getpid()}
    events = json.loads((tmp_path / 'manifest.json').read_text())['events']
    assert [e['event'] for e in events].count('finished') == 4

    # again: everything is skipped, nothing runs
    again = run_steps(Manifest(str(tmp_path / 'manifest.json'), {}), steps, jobs=jobs)
    assert again == results


def test_an_idle_worker_compiles_ahead_and_trains_there(tmp_path):
    """While `first` runs, the other worker compiles the graph of `r1` (waiting for it);
    `r1` then goes to that worker, and so does `r2` of the same graph (the next round)."""
    import functools
    out = {name: str(tmp_path / name) for name in ('first', 'r1', 'eval', 'r2')}

    def training(name, needs):
        return Step(name, out[name], functools.partial(train_graph, 'g', out[name]),
                    tuple(needs), cost=10, graph='g',
                    compile_ahead=functools.partial(compile_graph, 'g'))
    steps = [Step('first', out['first'], functools.partial(write_after, out['first'], 3),
                  cost=10),
             training('r1', ['first']),
             Step('eval', out['eval'], functools.partial(write_after, out['eval'], 0),
                  ('r1',)),
             training('r2', ['r1'])]
    manifest = Manifest(str(tmp_path / 'manifest.json'), {})
    results = run_steps(manifest, steps, jobs=2)
    assert results['r1']['compiled_before'] and results['r2']['compiled_before']
    assert results['r1']['pid'] == results['r2']['pid'] != results['first']['pid']


def test_a_failing_step_stops_the_others_and_raises(tmp_path):
    import functools
    slow = Step('slow', str(tmp_path / 'slow'),
                functools.partial(write_after, str(tmp_path / 'slow'), 30))
    broken = Step('broken', str(tmp_path / 'broken'), functools.partial(fail, 'no such image'))
    after = Step('after', str(tmp_path / 'after'),
                 functools.partial(write_after, str(tmp_path / 'after'), 0), ('broken',))
    manifest = Manifest(str(tmp_path / 'manifest.json'), {})
    began = time.time()
    with pytest.raises(DataError, match='no such image'):
        run_steps(manifest, [slow, broken, after], jobs=2)
    assert time.time() - began < 25, 'the slow step was waited for'
    assert not (tmp_path / 'after').exists() and not (tmp_path / 'slow').exists()
    assert 'broken' not in manifest.data['steps']


def test_a_killed_worker_is_one_line_saying_how_to_resume(tmp_path):
    # Once a BrokenProcessPool traceback.
    import functools
    slow = Step('slow', str(tmp_path / 'slow'),
                functools.partial(write_after, str(tmp_path / 'slow'), 30))
    killed = Step('killed', str(tmp_path / 'killed'), die)
    began = time.time()
    with pytest.raises(StoppedError) as error:
        run_steps(Manifest(str(tmp_path / 'manifest.json'), {}), [slow, killed], jobs=2)
    assert time.time() - began < 25, 'the slow step was waited for'
    assert 'killed: its worker process was killed' in str(error.value)
    assert 'the same command' in str(error.value) and '\n' not in str(error.value)


def test_pin_puts_every_thread_on_one_core(tmp_path):
    """Every thread, those started before the pin too, ends on the lowest allowed core."""
    code = '''
import os, threading, time
from utils.device import pin_to_one_core, pinned_core
stop = threading.Event()
early = threading.Thread(target=stop.wait); early.start()
core = pin_to_one_core()
late = threading.Thread(target=stop.wait); late.start()
masks = {tid: sorted(os.sched_getaffinity(int(tid))) for tid in os.listdir('/proc/self/task')}
stop.set()
print(core, pinned_core(), len(masks), sorted({tuple(m) for m in masks.values()}))
'''
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    core, again, threads, masks = result.stdout.split(maxsplit=3)
    first = min(os.sched_getaffinity(0))
    assert core == again == str(first) and int(threads) >= 3
    assert masks.strip() == f'[({first},)]'


CONV_HASH = '''
import hashlib, os, sys
cores = {int(c) for c in sys.argv[1].split(',')}
os.sched_setaffinity(0, cores)          # the machine this process sees: so many cores
import numpy as np
from utils.device import setup_device
setup_device('CPU', 'GRAPH', cpu_threads=1, cpu_pin=sys.argv[2] == 'pin')
import mindspore as ms
from mindspore import ops
ms.set_context(mode=ms.PYNATIVE_MODE)
rng = np.random.default_rng(0)
x = ms.Tensor(rng.normal(size=(1, 32, 32, 64)).astype(np.float32))
w = ms.Tensor(rng.normal(size=(32, 32, 3, 3)).astype(np.float32))
out = ops.conv2d(x, w, pad_mode='pad', padding=1).asnumpy()
print(hashlib.sha1(out.tobytes()).hexdigest())
'''


def conv_hash(cores, pin):
    result = subprocess.run([sys.executable, '-c', CONV_HASH, ','.join(map(str, cores)),
                             'pin' if pin else 'free'], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.split()[-1]


def test_a_pinned_process_computes_the_same_on_any_number_of_cores():
    """oneDNN may split a convolution by the cores its thread may use, so an unpinned
    process's numbers can depend on the machine's core count (on some CPUs they do, on others
    not); a pinned one's never do."""
    every = sorted(os.sched_getaffinity(0))
    pinned = conv_hash(every, pin=True)
    assert conv_hash(every[-1:], pin=True) == pinned
    assert conv_hash(every[-1:], pin=False) == pinned    # a one-core machine, unpinned


def test_jobs_are_refused_under_data_parallelism(monkeypatch):
    from engine import schedule
    from utils.errors import ConfigError
    monkeypatch.setattr(schedule, 'current_rank', lambda: (0, 2))
    with pytest.raises(ConfigError, match='PIPELINE_JOBS 2: .* data parallelism'):
        schedule.check_jobs(2)
    schedule.check_jobs(1)   # one job: every rank runs the steps in order, as before
