"""The machine a benchmark ran on, recorded beside its figures: figures from different CPUs are
never compared. The same full-size teacher step measured 1.10x PyTorch on an AVX-512 machine
and 0.97x on an AVX2-only one, so the vector extensions are part of the record."""
import os
import platform

# The extensions oneDNN chooses its kernels by (ONEDNN_MAX_CPU_ISA caps them).
ISA_FLAGS = ('sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni',
             'avx512_bf16', 'amx_tile')


def cpuinfo():
    """(model name, set of flags) of the first CPU in /proc/cpuinfo."""
    model, flags = None, set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name' and model is None:
                    model = value.strip()
                elif key.strip() == 'flags':
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), flags


def describe():
    """JSON-ready: CPU model, cores, its ISA flags, the oneDNN cap, the load average."""
    model, flags = cpuinfo()
    return {'cpu': model, 'cores': os.cpu_count(),
            'isa': [f for f in ISA_FLAGS if f in flags],
            'ONEDNN_MAX_CPU_ISA': os.environ.get('ONEDNN_MAX_CPU_ISA', ''),
            'load_average': round(os.getloadavg()[0], 2)}


def line(info=None):
    """One line of `describe()` for a benchmark's header."""
    info = info or describe()
    return (f"{info['cpu']}, {info['cores']} cores, ISA {' '.join(info['isa']) or 'unknown'}, "
            f"ONEDNN_MAX_CPU_ISA={info['ONEDNN_MAX_CPU_ISA'] or 'unset'}, load average "
            f"{info['load_average']:.2f}")


if __name__ == '__main__':
    print(line())
