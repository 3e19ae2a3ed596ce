"""Data parallelism through MindSpore's communication layer (msrun or a rank table).

A process started by `msrun` (or with RANK_TABLE_FILE on Ascend) joins the group; a plain
`python train_teacher.py` runs alone. Gradients are averaged by nn.DistributedGradReducer.
"""
import os

import mindspore as ms
import numpy as np
from mindspore import nn, ops
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
        # An all-reduce of one number: MindSpore has no Barrier kernel on CPU.
        all_reduce_sum(np.ones(1, dtype=np.float32))


def rank0_says(flag):
    """Rank 0's `flag` (a bool) on every rank; every rank waits here for rank 0."""
    if not _JOINED:
        return flag
    mine = np.array([int(bool(flag)) if get_rank() == 0 else 0], dtype=np.int32)
    return bool(all_reduce_sum(mine)[0])


def all_reduce_sum(array):
    """The element-wise sum of a numpy array over ranks (itself when running alone)."""
    if not _JOINED:
        return array
    if array.dtype.kind not in 'iu':
        return _all_reduce_float32(array.astype(np.float32)).astype(array.dtype)
    # Exact integer sums (pixel counts of D_U reach 1e9): the CPU collectives take float32
    # only, exact below 2**24, so the counts travel as four 12-bit digits (up to 2**48).
    digits = np.stack([(array.astype(np.int64) >> (12 * k)) & 0xFFF for k in range(4)])
    summed = np.rint(_all_reduce_float32(digits.astype(np.float32))).astype(np.int64)
    return sum(summed[k] << (12 * k) for k in range(4)).astype(array.dtype)


def _all_reduce_float32(array):
    # The AllReduce primitive: comm_func.all_reduce has no CPU kernel.
    return ops.AllReduce(ops.ReduceOp.SUM)(ms.Tensor(array)).asnumpy()


def grad_reducer(parameters, group_size):
    """Averages gradients across ranks; the identity when running alone."""
    if group_size == 1:
        return lambda grads: grads
    return nn.DistributedGradReducer(parameters, mean=True, degree=group_size)
