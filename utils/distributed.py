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


def grad_reducer(parameters, group_size):
    """Averages gradients across ranks; the identity when running alone."""
    if group_size == 1:
        return lambda grads: grads
    return nn.DistributedGradReducer(parameters, mean=True, degree=group_size)
