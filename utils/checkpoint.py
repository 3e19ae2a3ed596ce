"""Saving and loading checkpoints: atomic writes, and loads that refuse any mismatch.

`load_param_into_net` does not raise on missing keys, so every load here compares the
checkpoint with the net first and names what is missing, unexpected or of the wrong shape.
"""
import os

import mindspore as ms

from utils.errors import CheckpointError
from utils.serialization import atomic_write

# Names a training checkpoint carries besides the network: optimizer state and run metadata
# (ours are prefixed `optimizer.` and `meta.`; MindSpore's own callbacks write the others).
TRAINING_STATE_PREFIXES = ('optimizer.', 'meta.', 'moments.', 'accum.')
TRAINING_STATE_NAMES = ('learning_rate', 'global_step', 'momentum', 'scale_sense',
                        'loss_scale', 'current_iterator_step', 'last_overflow_iterator_step',
                        'epoch_num', 'step_num')


def is_training_state(name):
    return name.startswith(TRAINING_STATE_PREFIXES) or name in TRAINING_STATE_NAMES


def read_checkpoint(path):
    """The checkpoint's name -> Parameter (or str) dict; a clear error when missing or corrupt."""
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint not found: {path}')
    try:
        return ms.load_checkpoint(path)
    except (ValueError, RuntimeError, TypeError, OSError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f'cannot read checkpoint {path}: {first_line}') from None


def _describe(names, limit=4):
    names = sorted(names)
    shown = ', '.join(names[:limit])
    return shown + (f' (+{len(names) - limit} more)' if len(names) > limit else '')


def check_compatible(net, params, path):
    """Raise naming every kind of mismatch between the net and a checkpoint's parameters."""
    expected = {name: p for name, p in net.parameters_and_names()}
    found = {k: v for k, v in params.items() if not is_training_state(k)}
    missing = expected.keys() - found.keys()
    unexpected = found.keys() - expected.keys()
    wrong_shape = {k for k in expected.keys() & found.keys()
                   if tuple(expected[k].shape) != tuple(found[k].shape)}
    head = 'layer6.conv2d_list.0.weight'
    if head in wrong_shape:
        raise CheckpointError(
            f'{path}: checkpoint has {found[head].shape[0]} classes, the net '
            f'{expected[head].shape[0]} ({head} {tuple(found[head].shape)} vs '
            f'{tuple(expected[head].shape)}); set --num_classes / NUM_CLASSES to match')
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing: {_describe(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected: {_describe(unexpected)}')
    if wrong_shape:
        shapes = [f'{k} {tuple(found[k].shape)} vs {tuple(expected[k].shape)}'
                  for k in sorted(wrong_shape)]
        problems.append(f'{len(wrong_shape)} of another shape: {_describe(shapes, 2)}')
    if problems:
        raise CheckpointError(f'{path} does not match the network: ' + '; '.join(problems))


def load_net_checkpoint(net, path, params=None):
    """Load every parameter of `net` from `path`; return the checkpoint's dict."""
    params = read_checkpoint(path) if params is None else params
    check_compatible(net, params, path)
    net_params = {k: v for k, v in params.items() if not is_training_state(k)}
    not_loaded, _ = ms.load_param_into_net(net, net_params, strict_load=True)
    if not_loaded:
        raise CheckpointError(f'{path}: parameters not loaded: {_describe(not_loaded)}')
    return params


def save_checkpoint(path, net=None, extra_params=None, meta=None):
    """Write the net's parameters (and optimizer state, metadata) atomically to `path`.

    `extra_params`: name -> Parameter/Tensor (e.g. optimizer state, already prefixed);
    `meta`: name -> int/float/str, stored under `meta.`.
    """
    entries = [{'name': n, 'data': p} for n, p in net.parameters_and_names()] if net else []
    entries += [{'name': n, 'data': p} for n, p in (extra_params or {}).items()]
    append = {f'meta.{k}': v for k, v in (meta or {}).items()}
    atomic_write(path, lambda tmp: ms.save_checkpoint(entries, tmp, append_dict=append or None))
