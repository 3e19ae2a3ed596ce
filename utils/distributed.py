"""Data parallelism through MindSpore's communication layer (msrun or a rank table).

A process started by `msrun` (or with RANK_TABLE_FILE on Ascend) joins the group; a plain
`python train_teacher.py` runs alone. Gradients are averaged by nn.DistributedGradReducer.
"""
import os

import mindspore as ms
from mindspore import nn
from mindspore.communication import get_group_size, get_rank, init

_LAUNCHER_VARS = ('MS_WORKER_NUM', 'RANK_TABLE_FILE', 'MINDSPORE_HCCL_CONFIG_PATH')
_JOINED = []


def launched_distributed():
    return any(os.environ.get(v) for v in _LAUNCHER_VARS)


def init_distributed():
    """(rank, group size); joins the group and sets data-parallel mode when launched so."""
    if not launched_distributed():
        return 0, 1
    if not _JOINED:
        init()  # once per process: the pipeline runs every stage in one process
        _JOINED.append(True)
    rank, size = get_rank(), get_group_size()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL,
                                 gradients_mean=True, device_num=size)
    return rank, size


def current_rank():
    """(rank, group size) of this process, whether or not it joined a group."""
    if not _JOINED:
        return 0, 1
    return get_rank(), get_group_size()


def barrier():
    """Wait for every rank (a no-op when running alone): e.g. until rank 0 wrote a file."""
    if _JOINED:
        from mindspore.communication.comm_func import barrier as comm_barrier
        comm_barrier()


def all_reduce_sum(array):
    """The element-wise sum of a numpy array over ranks (itself when running alone)."""
    if not _JOINED:
        return array
    from mindspore.communication.comm_func import all_reduce
    # int32: the collective kernels take no int64; a count (pixels of D_U) stays below 2**31.
    wire = array.astype('int32') if array.dtype.kind in 'iu' else array
    return all_reduce(ms.Tensor(wire)).asnumpy().astype(array.dtype)


def grad_reducer(parameters, group_size):
    """Averages gradients across ranks; the identity when running alone."""
    if group_size == 1:
        return lambda grads: grads
    return nn.DistributedGradReducer(parameters, mean=True, degree=group_size)
