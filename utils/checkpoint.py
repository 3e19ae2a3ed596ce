"""Saving and loading checkpoints: atomic writes, and loads that refuse any mismatch.

`load_param_into_net` does not raise on missing keys, so every load here compares the
checkpoint with the net first and names what is missing, unexpected or of the wrong shape.
"""
import os
import re

import mindspore as ms
import numpy as np

from utils.errors import CheckpointError, check_file
from utils.serialization import atomic_write, mindspore_temporary

# Names a training checkpoint carries besides the network: optimizer state, run metadata and
# the weights and optimizer state a stage trains beside the network (AdaptSeg's discriminators)
# (ours are prefixed `optimizer.`, `meta.` and `discriminator.`; MindSpore's own callbacks
# write the others).
DISCRIMINATOR_PREFIX = 'discriminator.'
TRAINING_STATE_PREFIXES = ('optimizer.', 'meta.', DISCRIMINATOR_PREFIX, 'moments.', 'accum.')
TRAINING_STATE_NAMES = ('learning_rate', 'global_step', 'momentum', 'scale_sense',
                        'loss_scale', 'current_iterator_step', 'last_overflow_iterator_step',
                        'epoch_num', 'step_num')
MAIN_HEAD = 'layer6.conv2d_list.0.weight'   # its first dimension: the classes
# MindSpore's AMP O2 wraps each BatchNorm in a cell of its own whose child is `_backbone`, so
# the net's own names read `bn1._backbone.gamma` while it trains so.
_AMP_WRAPPER = re.compile(r'(^|\.)_backbone\.')


def named_parameters(net):
    """(name, parameter) of every parameter of `net`, named as the net is without mixed
    precision's wrappers: a checkpoint carries the released names whatever precision the net
    trained in (tests/test_train_teacher.py)."""
    return [(_AMP_WRAPPER.sub(r'\1', name), p) for name, p in net.parameters_and_names()]


def is_training_state(name):
    return name.startswith(TRAINING_STATE_PREFIXES) or name in TRAINING_STATE_NAMES


def read_checkpoint(path):
    """The checkpoint's name -> Parameter (or str) dict; a clear error when missing or corrupt."""
    check_file(path, 'checkpoint', CheckpointError)
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
    """Raise naming every kind of mismatch between the net and a checkpoint's parameters, and
    the config settings behind it when they show."""
    expected = dict(named_parameters(net))
    found = {k: v for k, v in params.items() if not is_training_state(k)}
    missing = expected.keys() - found.keys()
    unexpected = found.keys() - expected.keys()
    wrong_shape = {k for k in expected.keys() & found.keys()
                   if tuple(expected[k].shape) != tuple(found[k].shape)}
    problems = []
    if wrong_shape:
        # shown first, the stem's and the main head's shapes tell the width and the classes
        first = min(wrong_shape, key=lambda k: (k != 'conv1.weight', k != MAIN_HEAD, k))
        more = f' (+{len(wrong_shape) - 1} more)' if len(wrong_shape) > 1 else ''
        problems.append(f'{len(wrong_shape)} of another shape: {first} '
                        f'{tuple(found[first].shape)} vs {tuple(expected[first].shape)}{more}')
    if missing:
        problems.append(f'{len(missing)} missing: {_describe(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected: {_describe(unexpected)}')
    if not problems:
        return
    settings = architecture_difference(expected, found)
    if settings:
        raise CheckpointError(f'{path} is another network than the config\'s: {settings[0]} '
                              f'({problems[0]}); give the settings it was trained with '
                              f'(--cfg, or --opts {settings[1]})')
    raise CheckpointError(f'{path} does not match the network: ' + '; '.join(problems))


def architecture(params):
    """The config's network settings a DeepLab-v2's parameters show (NUM_CLASSES, MODEL.WIDTH,
    MODEL.BLOCKS, MODEL.MULTI_LEVEL), or None for a net of another layout."""
    if 'conv1.weight' not in params or MAIN_HEAD not in params:
        return None
    blocks = [len({m.group(1) for m in map(re.compile(rf'layer{i}\.(\d+)\.').match, params)
                   if m}) for i in range(1, 5)]
    return {'NUM_CLASSES': int(params[MAIN_HEAD].shape[0]),
            'MODEL.WIDTH': int(params['conv1.weight'].shape[0]),
            'MODEL.BLOCKS': blocks,
            'MODEL.MULTI_LEVEL': any(name.startswith('layer5.') for name in params)}


def architecture_difference(expected, found):
    """('KEY checkpoint-value (config: net-value), ...', 'KEY=VALUE ...' overrides that match
    the checkpoint) for the settings in which its net differs, or None if none shows."""
    net, ckpt = architecture(expected), architecture(found)
    keys = [key for key in net if net[key] != ckpt[key]] if net and ckpt else []
    if not keys:
        return None
    options = [f'{key}={str(ckpt[key]).replace(" ", "")}' for key in keys]
    if 'NUM_CLASSES' in keys:  # the class names and palette go with the classes
        info = 'info_16.json' if ckpt['NUM_CLASSES'] == 16 else 'info.json'
        options.append(f'TEST.INFO=dataset/cityscapes_list/{info}')
    return (', '.join(f'{key} {ckpt[key]} (config: {net[key]})' for key in keys),
            ' '.join(options))


def non_finite(named_tensors):
    """The names of the (name, tensor) pairs holding a NaN or an infinity, checked on the
    host (where a checkpoint is read into and written from)."""
    return [name for name, tensor in named_tensors if not np.isfinite(tensor.asnumpy()).all()]


def check_finite(net, params, path):
    """Refuse weights with a NaN or an infinity (a training that diverged): what they compute
    looks like a result and is none."""
    bad = non_finite((name, params[name]) for name, _ in named_parameters(net))
    if bad:
        raise CheckpointError(f'{path}: {len(bad)} of its tensors hold NaN or infinite values '
                              f'({_describe(bad, 2)}): the training that wrote it diverged')


def load_net_checkpoint(net, path, params=None, in_place=False):
    """Load every parameter of `net` from `path`; return the checkpoint's dict.

    `in_place`: into the tensors the parameters hold (ops.assign), for a net whose step was
    compiled with ms.jit: such a step keeps the tensors its parameters held when it compiled,
    and does not see the new ones load_param_into_net gives them (measured: it went on
    predicting with the old weights).
    """
    params = read_checkpoint(path) if params is None else params
    check_compatible(net, params, path)
    check_finite(net, params, path)
    if in_place:
        for name, param in named_parameters(net):
            ms.ops.assign(param, params[name])
        return params
    # By the names inside `net`: wrapped in another cell (a Predictor), its parameters' own
    # names carry the wrapper's prefix.
    net_params = {p.name: params[name] for name, p in named_parameters(net)}
    not_loaded, _ = ms.load_param_into_net(net, net_params, strict_load=True)
    if not_loaded:
        raise CheckpointError(f'{path}: parameters not loaded: {_describe(not_loaded)}')
    return params


def save_checkpoint(path, net=None, extra_params=None, meta=None):
    """Write the net's parameters (and optimizer state, metadata) atomically to `path`.

    `extra_params`: name -> Parameter/Tensor (e.g. optimizer state, already prefixed);
    `meta`: name -> int/float/str, stored under `meta.`.
    """
    entries = [{'name': n, 'data': p} for n, p in named_parameters(net)] if net else []
    entries += [{'name': n, 'data': p} for n, p in (extra_params or {}).items()]
    append = {f'meta.{k}': v for k, v in (meta or {}).items()}

    def write(tmp):
        try:
            ms.save_checkpoint(entries, tmp, append_dict=append or None)
        except BaseException:
            if os.path.exists(mindspore_temporary(tmp)):  # e.g. a full disk: MindSpore keeps it
                os.remove(mindspore_temporary(tmp))
            raise

    atomic_write(path, write)


def final_checkpoint_problem(path, stage, iteration):
    """Why `path` is not a whole final checkpoint of `stage` at `iteration`; None if it is.

    Only the metadata is kept in memory, but the whole file is parsed: a truncated one fails,
    and the metadata, written last, is missing from a file cut at an entry's end.
    """
    if not os.path.isfile(path):
        return 'not found'
    try:
        meta = ms.load_checkpoint(path, choice_func=lambda name: name.startswith('meta.'))
    except (ValueError, RuntimeError, TypeError, OSError):
        return 'unreadable (cut short?)'
    if 'meta.stage' not in meta or 'meta.iteration' not in meta:
        return 'without the run metadata (cut short?)'
    if meta['meta.stage'] != stage:
        return f'a {meta["meta.stage"]} checkpoint, not {stage}'
    found = int(meta['meta.iteration'].asnumpy())
    if found != iteration:
        return f'of iteration {found}, not TRAIN.EARLY_STOP {iteration}'
    return None
