"""Convert a PyTorch DeepLab-v2 or SegFormer checkpoint into a MindSpore .ckpt that the net of
the same settings loads strictly.

    python -m weights.convert --src DeepLab_resnet_pretrained_imagenet.pth \\
        --dst weights/DeepLab_resnet_pretrained_imagenet.ckpt
    python -m weights.convert --src gta2cityscapes.pth --dst weights/gta2cityscapes.ckpt
    python -m weights.convert --src pretrained/mit_b5.pth --dst weights/mit_b5_imagenet.ckpt \\
        --arch mit_b5

Kinds: `imagenet` is ADVENT's ImageNet initialisation (keys prefixed `Scale.`, an old `layer5`
classifier that ADVENT drops, no heads of ours); `deeplab` is a whole DeepLab-v2 state_dict in
PyTorch naming; `mit` is a Mix Transformer in the original's names (NVlabs SegFormer,
mmsegmentation: DAFormer's `pretrained/mit_b5.pth`, `patch_embed1.proj`, `block1.0.attn.kv`, ...;
with or without the `backbone.` and `decode_head.` of a whole SegFormer); `transformers` is the
state_dict of transformers' SegformerForSemanticSegmentation (its names since version 5, or
the `segformer.encoder.` ones of the files on its hub). PyTorch and MindSpore both store conv
and linear weights as (out, in, ...) and norm vectors as (C,), so the conversion is a renaming
plus `.numpy()`, and transformers' separate key and value projections become the original's one
`kv` (tests/test_convert.py, tests/test_segformer.py check logit parity with PyTorch nets).
"""
import argparse
import os
import pickle
import re
from collections import namedtuple

import mindspore as ms
import numpy as np
from mindspore.nn.utils import no_init_parameters

from net.deeplabv2_mindspore import DeepLabV2
from net.segformer_mindspore import VARIANTS, SegFormer
from utils.checkpoint import save_checkpoint
from utils.errors import CheckpointError, run_cli

KINDS = ('auto', 'imagenet', 'deeplab', 'mit', 'transformers')
SEGFORMER_KINDS = ('mit', 'transformers')
IMAGENET_PREFIX = 'Scale.'
# Training scripts wrap the weights with optimizer state and counters.
WRAPPER_KEYS = ('state_dict', 'model')
# nn.DataParallel / DistributedDataParallel prefix every key with this.
PARALLEL_PREFIX = 'module.'
BN_RENAMES = {'weight': 'gamma', 'bias': 'beta', 'running_mean': 'moving_mean',
              'running_var': 'moving_variance'}
HEAD_PREFIXES = ('layer5.', 'layer6.')
CLASSIFIERS = ('decode_head.linear_pred.',)
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
    parser.add_argument('--arch', choices=('deeplabv2', *VARIANTS), default='deeplabv2',
                        help='the net to convert for (cfg.MODEL.ARCH): mit_b0 ... mit_b5 for '
                             'the mit and transformers kinds')
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
    if any(n.startswith(IMAGENET_PREFIX) for n in names):
        return 'imagenet'
    if any(n.startswith('segformer.') for n in names):
        return 'transformers'
    if any(n.startswith(('patch_embed1.', 'backbone.patch_embed1.')) for n in names):
        return 'mit'
    return 'deeplab'


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
        net = 'SegFormer' if kind == 'segformer' else 'DeepLabV2'
        if target not in expected:
            raise CheckpointError(f'unexpected key {name}: {net} has no {target}')
        shape = tuple(expected[target].shape)
        if tuple(array.shape) != shape:
            is_head = target.startswith(HEAD_PREFIXES + CLASSIFIERS) and array.ndim == 4
            hint = f'; set --num_classes {array.shape[0]}' if is_head else ''
            raise CheckpointError(f'{name} has shape {tuple(array.shape)}, {net} {target} '
                                  f'expects {shape}{hint}')
        converted[target] = array.astype(np.float32)
    return converted, dropped


def convert(state_dict, kind='auto', num_classes=19, blocks=(3, 4, 23, 3), width=64,
            arch='deeplabv2'):
    """Convert a PyTorch state_dict (tensors or arrays) into a Conversion for the net of
    `arch`: DeepLabV2(num_classes, blocks, width), or a SegFormer."""
    arrays = flatten(state_dict)
    kind = resolve_kind(arrays, kind)
    if (kind in SEGFORMER_KINDS) != (arch in VARIANTS):
        raise CheckpointError(f'a {kind} checkpoint holds a '
                              f'{"SegFormer" if kind in SEGFORMER_KINDS else "DeepLab-v2"}, '
                              f'--arch is {arch}: give the net it converts for (cfg.MODEL.ARCH)')
    if kind in SEGFORMER_KINDS:
        return convert_segformer(arrays, kind, arch, num_classes)
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


def convert_state_dict(state_dict, kind='auto', num_classes=19, blocks=(3, 4, 23, 3), width=64,
                       arch='deeplabv2'):
    """name -> np.ndarray, complete for DeepLabV2(num_classes, blocks, width), or for the
    SegFormer of `arch`."""
    return convert(state_dict, kind, num_classes, blocks, width, arch).arrays


# transformers' own renaming of the names its SegFormer had before version 5, which the files
# on its hub still have (its conversion_mapping.py), applied in order.
TRANSFORMERS_V4_NAMES = (
    (r'encoder\.patch_embeddings\.(\d+)\.', r'stages.\1.patch_embeddings.'),
    (r'encoder\.block\.(\d+)\.', r'stages.\1.blocks.'),
    (r'encoder\.layer_norm\.(\d+)', r'stages.\1.layer_norm'),
    (r'attention\.self\.query', 'attention.q_proj'),
    (r'attention\.self\.key', 'attention.k_proj'),
    (r'attention\.self\.value', 'attention.v_proj'),
    (r'attention\.self\.sr', 'attention.sequence_reduction.sequence_reduction'),
    (r'attention\.self\.layer_norm', 'attention.sequence_reduction.layer_norm'),
    (r'attention\.output\.dense', 'attention.o_proj'),
    (r'mlp\.dense1', 'mlp.fc1'),
    (r'mlp\.dense2', 'mlp.fc2'),
    (r'layer_norm_1', 'layernorm_before'),
    (r'layer_norm_2', 'layernorm_after'),
    (r'decode_head\.linear_c\.', 'decode_head.linear_projections.'),
)
# transformers' names (version 5) -> the original's. Stages count from 0 there, from 1 here;
# the key and value projections stay apart until `merge_kv`.
TRANSFORMERS_STAGES = (
    (r'^segformer\.stages\.(\d+)\.patch_embeddings\.layer_norm\.', 'backbone.patch_embed{}.norm.'),
    (r'^segformer\.stages\.(\d+)\.patch_embeddings\.', 'backbone.patch_embed{}.'),
    (r'^segformer\.stages\.(\d+)\.blocks\.', 'backbone.block{}.'),
    (r'^segformer\.stages\.(\d+)\.layer_norm\.', 'backbone.norm{}.'),
    (r'^decode_head\.linear_projections\.(\d+)\.', 'decode_head.linear_c{}.'),
)
TRANSFORMERS_MODULES = (
    ('.layernorm_before.', '.norm1.'), ('.layernorm_after.', '.norm2.'),
    ('.attention.q_proj.', '.attn.q.'), ('.attention.k_proj.', '.attn.k.'),
    ('.attention.v_proj.', '.attn.v.'), ('.attention.o_proj.', '.attn.proj.'),
    ('.attention.sequence_reduction.sequence_reduction.', '.attn.sr.'),
    ('.attention.sequence_reduction.layer_norm.', '.attn.norm.'),
    ('decode_head.linear_fuse.', 'decode_head.linear_fuse.conv.'),
    ('decode_head.batch_norm.', 'decode_head.linear_fuse.bn.'),
    ('decode_head.classifier.', 'decode_head.linear_pred.'),
)
# In the original's files, what the net has no use for: the ImageNet classifier of an
# ImageNet MiT, and mmsegmentation's `conv_seg`, which SegFormer's head never calls.
MIT_UNUSED = ('head.', 'decode_head.conv_seg.')


def original_segformer_name(name, kind):
    """The original's name (`backbone.`/`decode_head.`) of a checkpoint's key; None when the
    net has no use for it."""
    if name.endswith('.num_batches_tracked'):
        return None
    if kind == 'mit':
        if name.startswith(MIT_UNUSED):
            return None
        return name if name.startswith(('backbone.', 'decode_head.')) else 'backbone.' + name
    for pattern, new in TRANSFORMERS_V4_NAMES:
        name = re.sub(pattern, new, name)
    for pattern, new in TRANSFORMERS_STAGES:
        name = re.sub(pattern, lambda m: new.format(int(m.group(1)) + 1), name)
    for old, new in TRANSFORMERS_MODULES:
        name = name.replace(old, new)
    return name


def merge_kv(arrays):
    """transformers' key and value projections as the original's one `kv` (the keys'
    outputs first), in place."""
    for name in [n for n in arrays if '.attn.k.' in n]:
        value = name.replace('.attn.k.', '.attn.v.')
        if value not in arrays:
            raise CheckpointError(f'{name} without its value projection {value}')
        arrays[name.replace('.attn.k.', '.attn.kv.')] = np.concatenate(
            [arrays.pop(name), arrays.pop(value)])


def convert_segformer(arrays, kind, arch, num_classes):
    """A Conversion for SegFormer(arch, num_classes) from a `mit` or `transformers`
    state_dict. An ImageNet MiT (no `decode_head.`) keeps the net's own decode head."""
    with no_init_parameters():  # the names and shapes; drawing B5's weights takes seconds
        net = SegFormer(arch, num_classes)
    expected = dict(net.parameters_and_names())
    renamed, dropped = {}, []
    for name, array in arrays.items():
        target = original_segformer_name(name, kind)
        if target is None:
            dropped.append(name)
        else:
            renamed[target] = array
    merge_kv(renamed)
    converted, _ = rename_all(renamed, 'segformer', expected)
    missing = [n for n in expected if n not in converted]
    backbone_only = not any(n.startswith('decode_head.') for n in converted)
    initialised = [n for n in missing if backbone_only and n.startswith('decode_head.')]
    still_missing = [n for n in missing if n not in initialised]
    if still_missing:
        more = f' (+{len(still_missing) - 1} more)' if len(still_missing) > 1 else ''
        raise CheckpointError(f'missing key {still_missing[0]}{more}: not in the {kind} '
                              f'checkpoint (is it {arch}?)')
    for name in initialised:
        converted[name] = expected[name].init_data().asnumpy()
    return Conversion({n: converted[n] for n in expected}, kind, dropped, initialised, None)


def print_summary(args, conversion):
    arrays = conversion.arrays
    values = sum(a.size for a in arrays.values())
    print(f'{args.src}: kind {conversion.kind}, '
          f'{len(arrays) - len(conversion.initialised)} tensors converted')
    counters = sum(n.endswith('num_batches_tracked') for n in conversion.dropped)
    if conversion.dropped and conversion.kind in SEGFORMER_KINDS:
        print(f'dropped {len(conversion.dropped)}: {len(conversion.dropped) - counters} of '
              f'the ImageNet classifier head.* and the unused decode_head.conv_seg, '
              f'{counters} num_batches_tracked')
    elif conversion.dropped:
        old_head = sum(n.startswith(IMAGENET_PREFIX + 'layer5.') for n in conversion.dropped)
        print(f'dropped {len(conversion.dropped)}: {old_head} of the old Scale.layer5 '
              f'classifier, {counters} num_batches_tracked')
    if conversion.initialised and conversion.kind in SEGFORMER_KINDS:
        print(f'initialised {len(conversion.initialised)} decode head tensors as the net does: '
              f'an ImageNet MiT has no decode head')
    elif conversion.initialised:
        print(f'initialised {len(conversion.initialised)} head tensors (layer5, layer6) as the '
              f'net does, weights N(0, 0.01) and biases 0: an ImageNet checkpoint has no heads')
    if conversion.multi_level is False:
        print('no layer5 in the checkpoint: load it into a net with MODEL.MULTI_LEVEL False')
    print(f'wrote {args.dst}: {len(arrays)} tensors, {values:,} values, '
          f'{args.num_classes} classes')


def main(args):
    if not args.dst.endswith('.ckpt'):
        # mindspore.save_checkpoint would append .ckpt to any other name.
        raise CheckpointError(f'--dst must end with .ckpt, got {args.dst}')
    state_dict = load_torch_checkpoint(args.src, args.trust_pickle)
    conversion = convert(state_dict, args.kind, args.num_classes, args.blocks, args.width,
                         args.arch)
    tensors = {name: ms.Tensor(array) for name, array in conversion.arrays.items()}
    save_checkpoint(args.dst, extra_params=tensors,
                    meta={'converted_from': os.path.basename(args.src), 'kind': conversion.kind})
    print_summary(args, conversion)
    return conversion


if __name__ == '__main__':
    run_cli(main, parse_args())
