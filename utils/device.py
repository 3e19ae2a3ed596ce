"""One place that picks the device and graph mode for every script."""
import logging
import os

import mindspore as ms

from utils.errors import ConfigError


def default_mode(device, inference=False):
    """MODE auto: graph mode, except for training on CPU, which runs in PyNative.

    On CPU, MindSpore's graph mode gives every convolution node its own kernel, and each
    oneDNN convolution kernel keeps its own im2col scratch buffer. A full-size teacher step
    at 1024x512 measured 6.3 GiB and 20.3 s in PyNative against 11.9 GiB and 27.6 s in graph
    mode; inference is the other way round: eval.py's work per image took 5.5 s in graph mode
    and 8.4 s in PyNative (docs/PERFORMANCE.md).
    """
    return 'PYNATIVE' if device == 'CPU' and not inference else 'GRAPH'


_cpu_threads = None  # set by setup_device, once per process


def setup_device(device='CPU', mode='GRAPH', device_id=0, inference=False, cpu_threads=0):
    """Select the device and execution mode (from cfg.DEVICE / cfg.MODE; mode auto: see
    `default_mode`, which `inference` informs), and the threads of a CPU operator
    (cfg.CPU_THREADS; 0 leaves MindSpore's number).

    On CPU, MindSpore's bundled oneDNN picks a reference 3x3-convolution kernel on AVX-512
    machines that is 30-100x slower than its AVX2 kernel (measured here: 9.0 s vs 0.053 s for
    a 256-channel dilated 3x3 conv on 64x128). oneDNN reads ONEDNN_MAX_CPU_ISA when it creates
    its first kernel, so setting it here, before any op runs, is enough; a value the user
    exported is kept.
    """
    if device == 'CPU':
        os.environ.setdefault('ONEDNN_MAX_CPU_ISA', 'AVX2')
    modes = {'GRAPH': ms.GRAPH_MODE, 'PYNATIVE': ms.PYNATIVE_MODE}
    if mode == 'auto':
        mode = default_mode(device, inference)
    ms.set_context(mode=modes[mode])
    # msrun gives each worker its own device only when no id is set.
    by_launcher = device == 'CPU' or os.environ.get('MS_WORKER_NUM')
    ms.set_device(device, None if by_launcher else device_id)
    # The tiny nets of the tests and the demo: a step is hundreds of operators on small
    # tensors, and splitting each over both cores costs more than it gains. In PyNative a
    # region-level teacher step took 0.26 s on one thread against 0.37 s, a sample-level one
    # 0.56 s against 0.94 s; in graph mode about the same either way; the same numbers
    # (docs/PERFORMANCE.md). MindSpore takes the number once per process.
    global _cpu_threads
    if device == 'CPU' and cpu_threads and _cpu_threads is None:
        ms.device_context.cpu.op_tuning.threads_num(cpu_threads)
        _cpu_threads = cpu_threads


def setup_device_for(cfg, inference=False):
    """`setup_device` with a config's DEVICE, MODE, DEVICE_ID and CPU_THREADS."""
    setup_device(cfg.DEVICE, cfg.MODE, cfg.DEVICE_ID, inference, cfg.CPU_THREADS)


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
