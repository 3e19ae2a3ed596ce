"""Work for the scheduler's tests (tests/test_schedule.py), in a module of its own: a worker
process unpickles it by importing this module, which imports nothing heavy."""
import os
import time


def write_after(path, seconds, *needed):
    """Sleep, then write `path`; returns when it ran, which needed outputs were missing when
    it began, its process and its cores."""
    began = time.time()
    missing = [p for p in needed if not os.path.exists(p)]
    time.sleep(seconds)
    with open(path, 'w') as f:
        f.write('done')
    return {'began': began, 'ended': time.time(), 'missing': missing, 'pid': os.getpid(),
            'cores': sorted(os.sched_getaffinity(0))}


def fail(message):
    from utils.errors import DataError
    raise DataError(message)


# The graphs this worker process compiled (the toy stand-in of engine/trainer.py's kept steps)
COMPILED = set()


def compile_graph(graph, seconds=0.3):
    time.sleep(seconds)
    COMPILED.add(graph)


def train_graph(graph, path, seconds=0.3):
    """Write `path`; returns this process and whether it had compiled `graph` before."""
    compiled_before = graph in COMPILED
    COMPILED.add(graph)
    time.sleep(seconds)
    with open(path, 'w') as f:
        f.write('done')
    return {'pid': os.getpid(), 'compiled_before': compiled_before}


def die():
    """What the kernel's OOM killer does to a worker."""
    import signal
    os.kill(os.getpid(), signal.SIGKILL)
