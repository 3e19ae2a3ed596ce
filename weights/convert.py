"""Convert a PyTorch DeepLab-v2 checkpoint into a MindSpore .ckpt that DeepLabV2 loads strictly.

    python -m weights.convert --src DeepLab_resnet_pretrained_imagenet.pth \\
        --dst weights/DeepLab_resnet_pretrained_imagenet.ckpt
    python -m weights.convert --src gta2cityscapes.pth --dst weights/gta2cityscapes.ckpt

Kinds: `imagenet` is ADVENT's ImageNet initialisation (keys prefixed `Scale.`, an old `layer5`
classifier that ADVENT drops, no heads of ours); `deeplab` is a whole DeepLab-v2 state_dict in
PyTorch naming. PyTorch and MindSpore both store conv weights as (out, in, kh, kw) and BN vectors
as (C,), so the conversion is a renaming plus `.numpy()` (tests/test_convert.py checks logit
parity with a PyTorch twin of the net).
"""
import argparse
import os
import pickle
from collections import namedtuple

import mindspore as ms
import numpy as np

from net.deeplabv2_mindspore import DeepLabV2
from utils.checkpoint import save_checkpoint
from utils.errors import CheckpointError, run_cli

KINDS = ('auto', 'imagenet', 'deeplab')
IMAGENET_PREFIX = 'Scale.'
# Training scripts wrap the weights with optimizer state and counters.
WRAPPER_KEYS = ('state_dict', 'model')
# nn.DataParallel / DistributedDataParallel prefix every key with this.
PARALLEL_PREFIX = 'module.'
BN_RENAMES = {'weight': 'gamma', 'bias': 'beta', 'running_mean': 'moving_mean',
              'running_var': 'moving_variance'}
HEAD_PREFIXES = ('layer5.', 'layer6.')
TORCH_MISSING = 'torch is needed only to convert PyTorch checkpoints: pip install torch'

Conversion = namedtuple('Conversion', 'arrays kind dropped initialised multi_level')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--src', required=True, help='PyTorch checkpoint (.pth)')
    parser.add_argument('--dst', required=True, help='MindSpore checkpoint to write (.ckpt)')
    parser.add_argument('--kind', choices=KINDS, default='auto',
                        help='imagenet (keys prefixed Scale.), deeplab (a whole DeepLab-v2), '
                             'or auto: imagenet when the keys carry the Scale. prefix')
    parser.add_argument('--num_classes', type=int, default=19,
                        help='classes of the heads (19 GTA5 models, 16 SYNTHIA models)')
    parser.add_argument('--blocks', type=int, nargs=4, default=[3, 4, 23, 3],
                        help='bottlenecks per layer (cfg.MODEL.BLOCKS; tests use 1 1 1 1)')
    parser.add_argument('--width', type=int, default=64, help='stem width (cfg.MODEL.WIDTH)')
    parser.add_argument('--trust_pickle', action='store_true',
                        help='read non-tensor objects too (torch.load weights_only=False): this '
                             'runs code stored in the file, so only for files you trust')
    return parser.parse_args(argv)


def load_torch_checkpoint(path, trust_pickle=False):
    """The file's object, read with torch (imported here: nothing else in the repo needs it)."""
    if not os.path.isfile(path):
        raise CheckpointError(f'--src: PyTorch checkpoint not found: {path}')
    try:
        import torch
    except ImportError:
        raise CheckpointError(TORCH_MISSING) from None
    try:
        # weights_only: a .pth is a pickle, and a downloaded pickle must not run code.
        return torch.load(path, map_location='cpu', weights_only=not trust_pickle)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as e:
        raise CheckpointError(f'cannot read PyTorch checkpoint {path}: {load_error(e)}') from None


def load_error(error):
    """One line out of torch.load's error (its weights_only message runs to a dozen lines)."""
    text = str(error).strip()
    marker = 'WeightsUnpickler error:'
    if marker in text:
        detail = text.split(marker, 1)[1].strip().splitlines()[0].split('. ')[0]
        return (f'{detail} (only tensors and plain containers are read; '
                f'--trust_pickle reads anything, for files you trust)')
    return text.splitlines()[0] if text else type(error).__name__


def to_numpy(value):
    if isinstance(value, np.ndarray):
        return value
    tensor = value.detach().cpu()
    # The net is float32 throughout; bfloat16 has no numpy dtype at all.
    return tensor.float().numpy() if tensor.is_floating_point() else tensor.numpy()


def flatten(obj):
    """name -> np.ndarray from a state_dict, unwrapped and without the DataParallel prefix."""
    if not isinstance(obj, dict):
        raise CheckpointError(f'expected a state_dict (a dict of tensors), '
                              f'got {type(obj).__name__}')
    for key in WRAPPER_KEYS:
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    arrays = {}
    for name, value in obj.items():
        if not (isinstance(value, np.ndarray) or hasattr(value, 'detach')):
            raise CheckpointError(f'{name} is a {type(value).__name__}, not a tensor '
                                  f'(expected a state_dict, or one under {"/".join(WRAPPER_KEYS)})')
        short = name[len(PARALLEL_PREFIX):] if name.startswith(PARALLEL_PREFIX) else name
        if short in arrays:
            raise CheckpointError(f'{name}: {short} appears twice')
        arrays[short] = to_numpy(value)
    return arrays


def resolve_kind(names, kind):
    if kind != 'auto':
        return kind
    return 'imagenet' if any(n.startswith(IMAGENET_PREFIX) for n in names) else 'deeplab'


def mindspore_name(name, kind, expected):
    """The net's name for a PyTorch key, or None when the key is dropped on purpose."""
    if name.endswith('.num_batches_tracked'):
        return None  # PyTorch's BN step counter: MindSpore's BatchNorm has none.
    if kind == 'imagenet':
        if not name.startswith(IMAGENET_PREFIX):
            raise CheckpointError(f'unexpected key {name} in an ImageNet checkpoint '
                                  f'(every key should start with {IMAGENET_PREFIX})')
        name = name[len(IMAGENET_PREFIX):]
        if name.startswith('layer5.'):
            return None  # The old 1000/21-class classifier on layer4, dropped as in ADVENT.
    module, _, leaf = name.rpartition('.')
    # A module is a BatchNorm exactly when the net has `<module>.gamma`.
    if f'{module}.gamma' in expected and leaf in BN_RENAMES:
        return f'{module}.{BN_RENAMES[leaf]}'
    return name


def rename_all(arrays, kind, expected):
    """(converted name -> array, dropped PyTorch names); raise on any unknown key or shape."""
    converted, dropped = {}, []
    for name, array in arrays.items():
        target = mindspore_name(name, kind, expected)
        if target is None:
            dropped.append(name)
            continue
        if target not in expected:
            raise CheckpointError(f'unexpected key {name}: DeepLabV2 has no {target}')
        shape = tuple(expected[target].shape)
        if tuple(array.shape) != shape:
            is_head = target.startswith(HEAD_PREFIXES) and array.ndim == 4
            hint = f'; set --num_classes {array.shape[0]}' if is_head else ''
            raise CheckpointError(f'{name} has shape {tuple(array.shape)}, DeepLabV2 {target} '
                                  f'expects {shape}{hint}')
        converted[target] = array.astype(np.float32)
    return converted, dropped


def convert(state_dict, kind='auto', num_classes=19, blocks=(3, 4, 23, 3), width=64):
    """Convert a PyTorch state_dict (tensors or arrays) into a Conversion for DeepLabV2."""
    arrays = flatten(state_dict)
    kind = resolve_kind(arrays, kind)
    # A single-level DeepLab (no aux head) converts for a net built with multi_level=False.
    multi_level = kind == 'imagenet' or any(n.startswith('layer5.') for n in arrays)
    net = DeepLabV2(num_classes, tuple(blocks), width, multi_level=multi_level)
    expected = dict(net.parameters_and_names())
    converted, dropped = rename_all(arrays, kind, expected)
    missing = [n for n in expected if n not in converted]
    # ImageNet weights have no heads of ours: they keep the net's own init, N(0, 0.01), bias 0.
    initialised = [n for n in missing if kind == 'imagenet' and n.startswith(HEAD_PREFIXES)]
    still_missing = [n for n in missing if n not in initialised]
    if still_missing:
        more = f' (+{len(still_missing) - 1} more)' if len(still_missing) > 1 else ''
        raise CheckpointError(f'missing key {still_missing[0]}{more}: not in the {kind} checkpoint')
    for name in initialised:
        converted[name] = expected[name].asnumpy()
    ordered = {n: converted[n] for n in expected}  # the net's order, as its own saves have it
    return Conversion(ordered, kind, dropped, initialised, multi_level)


def convert_state_dict(state_dict, kind='auto', num_classes=19, blocks=(3, 4, 23, 3), width=64):
    """name -> np.ndarray, complete for DeepLabV2(num_classes, blocks, width)."""
    return convert(state_dict, kind, num_classes, blocks, width).arrays


def print_summary(args, conversion):
    arrays = conversion.arrays
    values = sum(a.size for a in arrays.values())
    print(f'{args.src}: kind {conversion.kind}, '
          f'{len(arrays) - len(conversion.initialised)} tensors converted')
    if conversion.dropped:
        old_head = sum(n.startswith(IMAGENET_PREFIX + 'layer5.') for n in conversion.dropped)
        counters = sum(n.endswith('num_batches_tracked') for n in conversion.dropped)
        print(f'dropped {len(conversion.dropped)}: {old_head} of the old Scale.layer5 '
              f'classifier, {counters} num_batches_tracked')
    if conversion.initialised:
        print(f'initialised {len(conversion.initialised)} head tensors (layer5, layer6) as the '
              f'net does, weights N(0, 0.01) and biases 0: an ImageNet checkpoint has no heads')
    if not conversion.multi_level:
        print('no layer5 in the checkpoint: load it into a net with MODEL.MULTI_LEVEL False')
    print(f'wrote {args.dst}: {len(arrays)} tensors, {values:,} values, '
          f'{args.num_classes} classes')


def main(args):
    if not args.dst.endswith('.ckpt'):
        # mindspore.save_checkpoint would append .ckpt to any other name.
        raise CheckpointError(f'--dst must end with .ckpt, got {args.dst}')
    state_dict = load_torch_checkpoint(args.src, args.trust_pickle)
    conversion = convert(state_dict, args.kind, args.num_classes, args.blocks, args.width)
    tensors = {name: ms.Tensor(array) for name, array in conversion.arrays.items()}
    save_checkpoint(args.dst, extra_params=tensors,
                    meta={'converted_from': os.path.basename(args.src), 'kind': conversion.kind})
    print_summary(args, conversion)
    return conversion


if __name__ == '__main__':
    run_cli(main, parse_args())
