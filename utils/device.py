"""One place that picks the device and graph mode for every script."""
import logging
import os

import mindspore as ms

from utils.errors import ConfigError


# What each `auto` setting is on each device: what a training there runs with. The tests run
# the Ascend column on the CPU (tests/test_device_defaults.py), so every path a device takes
# runs in CI. MODE is the training's; inference runs in graph mode everywhere.
DEVICE_DEFAULTS = {
    'CPU': {'MODE': 'PYNATIVE', 'TRAIN.JIT_STEP': 'off', 'TRAIN.AMP_LEVEL': 'O0',
            'MODEL.FUSED_ASPP': 'on'},
    'Ascend': {'MODE': 'GRAPH', 'TRAIN.JIT_STEP': 'on', 'TRAIN.AMP_LEVEL': 'O2',
               'MODEL.FUSED_ASPP': 'off'},
    'GPU': {'MODE': 'GRAPH', 'TRAIN.JIT_STEP': 'on', 'TRAIN.AMP_LEVEL': 'O2',
            'MODEL.FUSED_ASPP': 'off'},
}


def device_default(cfg, key):
    """cfg's value of `key` ('TRAIN.AMP_LEVEL'), with `auto` resolved for cfg.DEVICE."""
    value = cfg
    for part in key.split('.'):
        value = value[part]
    return DEVICE_DEFAULTS[cfg.DEVICE][key] if value == 'auto' else value


def device_overrides(device):
    """The `auto` settings of `device` as KEY=VALUE overrides: a CPU run of them takes every
    code path that device's training takes."""
    return [f'{key}={value}' for key, value in DEVICE_DEFAULTS[device].items()]


def default_mode(device, inference=False):
    """MODE auto: graph mode, except for training on CPU, which runs in PyNative.

    On CPU, MindSpore's graph mode gives every convolution node its own kernel, and each
    oneDNN convolution kernel keeps its own im2col scratch buffer: a full-size teacher step
    takes nearly twice the memory in graph mode, and longer, than in PyNative. Inference is
    the other way round, faster in graph mode (docs/PERFORMANCE.md).
    """
    return 'GRAPH' if inference else DEVICE_DEFAULTS[device]['MODE']


_cpu_threads = None  # set by setup_device, once per process
_launch_blocking = False
_pinned_core = None  # the core pin_to_one_core chose, once per process
_device = None  # the device select_device set, once per process


def setup_device(device='CPU', mode='GRAPH', device_id=0, inference=False, cpu_threads=0,
                 cpu_pin=False, launch_blocking=False):
    """Select the device and execution mode (from cfg.DEVICE / cfg.MODE; mode auto: see
    `default_mode`, which `inference` informs), the threads of a CPU operator
    (cfg.CPU_THREADS; 0 leaves MindSpore's number), with `cpu_pin` in graph mode on CPU,
    one core for the whole process (`pin_to_one_core`), and with `launch_blocking`
    (cfg.LAUNCH_BLOCKING), operators run one by one as Python sends them.

    On CPU, MindSpore's bundled oneDNN picks a reference 3x3-convolution kernel on AVX-512
    machines that is 30-100x slower than its AVX2 kernel (docs/PERFORMANCE.md). oneDNN reads
    ONEDNN_MAX_CPU_ISA when it creates its first kernel, so setting it here, before any op
    runs, is enough; a value the user exported is kept.
    """
    if device == 'CPU':
        os.environ.setdefault('ONEDNN_MAX_CPU_ISA', 'AVX2')
    modes = {'GRAPH': ms.GRAPH_MODE, 'PYNATIVE': ms.PYNATIVE_MODE}
    if mode == 'auto':
        mode = default_mode(device, inference)
    ms.set_context(mode=modes[mode])
    # PyNative sends operators to a launch thread of their own, both threads spinning. The
    # tiny nets of the tests, run one by one, take less time, and one core where sent ahead
    # they take two, so two tests at once do not slow each other; the same weights
    # (docs/PERFORMANCE.md).
    global _launch_blocking
    if launch_blocking and not _launch_blocking:  # no call undoes it in a process
        ms.runtime.launch_blocking()
        _launch_blocking = True
    select_device(device, device_id)
    # The tiny nets of the tests and the demo: a step is hundreds of operators on small
    # tensors, and splitting each over both cores costs more than it gains: in PyNative a
    # tiny step runs faster on one thread, in graph mode about as fast; the same numbers
    # (docs/PERFORMANCE.md). MindSpore takes the number once per process.
    global _cpu_threads
    if device == 'CPU' and cpu_threads and _cpu_threads is None:
        ms.device_context.cpu.op_tuning.threads_num(cpu_threads)
        _cpu_threads = cpu_threads
    if device == 'CPU' and cpu_pin and mode == 'GRAPH':
        pin_to_one_core()


def select_device(device, device_id=0):
    """This process's device, selected at the first call; a later call keeps it and returns
    it, ('Ascend', 3). MindSpore takes one ms.set_device per process, and under msrun its
    init() sets the device to the worker's local rank: the pipeline, which sets up every
    stage it runs, and a pipeline worker given a device of its own (PIPELINE_DEVICE_IDS) both
    come here more than once."""
    global _device
    if _device is None:
        # msrun gives each worker its own device only when no id is set.
        ms.set_device(device, None if os.environ.get('MS_WORKER_NUM') else device_id)
        _device = device
    elif device != _device:
        raise ConfigError(f'DEVICE {device}: this process runs on {_device} (MindSpore selects '
                          f'a device once per process)')
    return current_device()


def current_device():
    """(device, id) of this process: ('Ascend', 3)."""
    return ms.get_context('device_target'), ms.get_context('device_id')


def pin_to_one_core():
    """Every thread of this process, and every thread and process it starts later, on the
    lowest of the cores it may use; returns that core (None where the OS cannot pin).

    A compiled step on CPU runs on MindSpore's runtime thread while the main thread waits for
    it, both spinning, so two free processes at once slow each other down several times.
    Pinned, each runs at its speed alone, and waited for (the trainer waits for each step of
    a pinned process) a tiny step runs faster than free (bench/pinning.py,
    docs/PERFORMANCE.md). PyNative is the other way round: its dispatch threads want a core of
    their own, so only graph mode pins.
    Pinning changes the bits: oneDNN splits a convolution's sums by the cores its thread may
    use. A pinned process always sees one, so its numbers do not depend on the machine.
    """
    global _pinned_core
    if _pinned_core is None and hasattr(os, 'sched_setaffinity'):
        core = min(os.sched_getaffinity(0))
        # A thread's mask is its own and new threads inherit their creator's: set each one.
        for tid in os.listdir('/proc/self/task'):
            try:
                os.sched_setaffinity(int(tid), {core})
            except OSError:  # a thread that ended meanwhile
                pass
        _pinned_core = core
    return _pinned_core


def pinned_core():
    """The core this process runs on after `pin_to_one_core`, else None."""
    return _pinned_core


def setup_device_for(cfg, inference=False):
    """`setup_device` with a config's DEVICE, MODE, DEVICE_ID, CPU_THREADS, CPU_PIN and
    LAUNCH_BLOCKING."""
    setup_device(cfg.DEVICE, cfg.MODE, cfg.DEVICE_ID, inference, cfg.CPU_THREADS, cfg.CPU_PIN,
                 cfg.LAUNCH_BLOCKING)


def check_available(device):
    """A ConfigError unless this MindSpore package can run on `device` (Ascend or GPU).

    Without it, ms.set_device on a machine without the device logs four warnings and raises a
    RuntimeError of several lines. MindSpore records at import which device plugins loaded;
    is_available reads that record (no device is touched) and logs why a plugin did not load,
    in lines of library names that the one-line error replaces.
    """
    logging.disable(logging.WARNING)
    try:
        available = getattr(ms.device_context, device.lower()).is_available()
    finally:
        logging.disable(logging.NOTSET)
    if not available:
        raise ConfigError(f'DEVICE {device} is not available to this MindSpore package '
                          f'({ms.__version__}); to run on the CPU, add --device CPU')
