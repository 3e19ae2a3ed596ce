"""Configuration of every DDM stage: typed defaults, YAML overlays, command-line overrides.

Key names follow the released DDM/ADVENT config (`cfg.NUM_CLASSES`, `cfg.TRAIN.LEARNING_RATE`,
`cfg.TEST.INPUT_SIZE`, ...). Sizes are (width, height), as in the released code.

    cfg = get_cfg('configs/gta2cityscapes.yaml', ['TRAIN.LEARNING_RATE=1e-3'])

An overlay may only set keys that exist here, with a value of the default's type, inside the
key's CHOICES or RANGES; anything else is a `ConfigError` naming the key and the value.
Functions receive `cfg` as an argument; the module-level `cfg` is a copy of the defaults, kept
for `from config import cfg` users.
"""
import argparse
import copy
import os

import yaml
from easydict import EasyDict

from utils.errors import ConfigError, DataError
from utils.labeled_lists import SPLIT_SEEDS, split_filename
from utils.serialization import dump_cfg, to_plain  # noqa: F401 (config.dump_cfg, config.to_plain)

PROJECT_ROOT = os.path.dirname(os.path.abspath(__file__))
LIST_DIR = os.path.join(PROJECT_ROOT, 'dataset', 'cityscapes_list')

_C = EasyDict()
_C.SOURCE = 'GTA'                      # GTA | SYNTHIA
_C.TARGET = 'Cityscapes'
_C.NUM_CLASSES = 19                    # 19 for GTA5 -> Cityscapes, 16 for SYNTHIA -> Cityscapes
_C.DEVICE = 'CPU'                      # CPU | Ascend | GPU: the only switch between devices
_C.DEVICE_ID = 0
_C.MODE = 'auto'                       # auto (PYNATIVE to train on CPU, else GRAPH) | GRAPH | PYNATIVE
_C.DATA_DIRECTORY_SOURCE = 'data/GTA5'
_C.DATA_LIST_SOURCE = os.path.join(PROJECT_ROOT, 'dataset', 'gta5_list', 'train.txt')
_C.DATA_DIRECTORY_TARGET = 'data/Cityscapes'
_C.DATA_LIST_TARGET = os.path.join(LIST_DIR, 'train.txt')        # D_U, the unlabeled pool
_C.DATA_LIST_TARGET_LABELED = os.path.join(LIST_DIR, 'train_labeled_100.txt')  # D_T
_C.DATA_DIRECTORY_PSEUDO = ''          # pseudo-labeled D_U added to D_T (rounds >= 2)
_C.EXCLUDE_LABELED_FROM_UNLABELED = False  # D_U without D_T (the paper keeps them in)
_C.EXP_ROOT = 'experiments'

_C.MODEL = EasyDict()
_C.MODEL.ARCH = 'deeplabv2'            # the paper's DeepLab-v2 (ResNet-101) | mit_b0 ... mit_b5:
                                       # SegFormer on a Mix Transformer (DAFormer's net, mit_b5;
                                       # net/segformer_mindspore.py) | mit_tiny (tests, demo)
# DeepLab-v2's own settings (a SegFormer's are its MODEL.ARCH):
_C.MODEL.BLOCKS = (3, 4, 23, 3)        # ResNet-101; tests use (1, 1, 1, 1)
_C.MODEL.WIDTH = 64                    # stem width; tests shrink it (parameter names unchanged)
_C.MODEL.MULTI_LEVEL = True            # aux head `layer5` on layer3, main head `layer6` on layer4
_C.MODEL.FUSED_ASPP = 'auto'           # ASPP heads as one matmul + folds: auto (on for CPU) | on | off

_C.TRAIN = EasyDict()
_C.TRAIN.INPUT_SIZE_SOURCE = (1280, 720)   # GTA5; SYNTHIA configs use (1280, 760)
_C.TRAIN.INPUT_SIZE_TARGET = (1024, 512)
_C.TRAIN.CROP_SIZE = (0, 0)            # a random crop (width, height) of each training image after
                                       # resizing, DAFormer's 512x512; (0, 0): the whole image
_C.TRAIN.IMG_MEAN = (104.00698793, 116.66876762, 122.67891434)  # BGR, Caffe-style, no std
_C.TRAIN.BATCH_SIZE_SOURCE = 1
_C.TRAIN.BATCH_SIZE_TARGET = 1
_C.TRAIN.RESTORE_FROM = 'weights/DeepLab_resnet_pretrained_imagenet.ckpt'  # '' = random init
_C.TRAIN.OPTIMIZER = 'sgd'             # sgd (the paper's, with MOMENTUM) | adamw (DAFormer's: betas
                                       # 0.9, 0.999, no weight decay on the backbone's norms)
_C.TRAIN.LEARNING_RATE = 2.5e-4        # backbone; heads use 10x
_C.TRAIN.MOMENTUM = 0.9
_C.TRAIN.WEIGHT_DECAY = 1e-4           # the paper's; the released config had 5e-4
_C.TRAIN.POWER = 0.9                   # poly decay over MAX_ITERS
_C.TRAIN.WARMUP_ITERS = 0              # linear warm-up of the poly schedule over the first steps,
                                       # from 1e-6 of it (DAFormer: 1,500); 0 = none
_C.TRAIN.MAX_ITERS = 250000
_C.TRAIN.EARLY_STOP = 120000           # training stops here; the schedule still spans MAX_ITERS
_C.TRAIN.LAMBDA_SEG_MAIN = 1.0
_C.TRAIN.LAMBDA_SEG_AUX = 0.1
# The Baseline (train_teacher.py --mix adaptseg): AdaptSeg's adversarial terms on the aux / main
# heads and its discriminators' Adam learning rate (poly decay), ADVENT's names and values
_C.TRAIN.LAMBDA_ADV_MAIN = 0.001
_C.TRAIN.LAMBDA_ADV_AUX = 0.0002
_C.TRAIN.LEARNING_RATE_D = 1e-4
_C.TRAIN.FREEZE_BN = False             # False: batch statistics in training (released default)
_C.TRAIN.AMP_LEVEL = 'auto'            # auto = O0 on CPU, O2 on Ascend and GPU; or O0, O2, O3
_C.TRAIN.JIT_STEP = 'auto'             # ms.jit around the whole step: auto (off on CPU) | on | off
_C.TRAIN.MULTI_DEVICE = 'same_steps'   # data parallel on N devices: same_steps (N images a step,
                                       # the paper's step counts) | same_images (the step counts
                                       # below divided by N: the paper's number of images)
_C.TRAIN.SAVE_PRED_EVERY = 2000        # checkpoint interval (iterations)
_C.TRAIN.KEEP_CHECKPOINTS = 3          # newest K periodic checkpoints kept
_C.TRAIN.EVAL_EVERY = 0                # validation interval, best.ckpt kept (0 = never); ADVENT's
                                       # TEST.MODE best: every 2,000 iterations (paper configs)
_C.TRAIN.PASS_ON = 'final'             # self_train.py: the checkpoint the next step uses: final |
                                       # best (chosen on the val labels: needs EVAL_EVERY)
_C.TRAIN.LOG_EVERY = 10
_C.TRAIN.RANDOM_SEED = 1234
_C.TRAIN.COLOR_TRANSFER = True         # LAB colour transfer of source to target statistics
_C.TRAIN.MIX_AREA_RANGE = (0.0, 1.0)   # region mix: box area fraction 1 - lambda in this range
_C.TRAIN.LAMBDA_KL = 0.5               # distillation
_C.TRAIN.LAMBDA_CE = 1.0
_C.TRAIN.KL_T = 10.0                   # distillation temperature, as released (docs/DEMO.md: T = 1, 10)
_C.TRAIN.KL_T_SQUARED = True           # the KL times T² (Hinton et al.); unreleased, measured in docs/DEMO.md
_C.TRAIN.KL_RESOLUTION = 'logits'      # distillation KL on the logits' 1/8 grid | input (upsampled, as CE)
_C.TRAIN.TEACHERS = ['region', 'sample']  # a round's teachers, by their mixing (train_teacher.py:
                                       # MIXINGS; the paper's two, or with 'class', ClassMix)
_C.TRAIN.STUDENT_INIT = 'imagenet'     # the student starts from RESTORE_FROM | a teacher's stage
                                       # (train_teacher.py: MIXINGS)
_C.TRAIN.ROUND_INIT = 'imagenet'       # each round starts from RESTORE_FROM | previous (round r-1)
_C.TRAIN.SOURCE_PRETRAINING = False    # self_train.py: a source-only model first, and every model
                                       # starts from it (stands in for ImageNet weights: CPU demo)
_C.TRAIN.LABELED_SHARE = 0.5          # rounds >= 2: share of the target draws from ground-truth
                                       # D_T, the rest pseudo-labeled D_U (released: one half);
                                       # 0 = uniform over their union
_C.TRAIN.PSEUDO_PORTION = 0.5          # class-balanced pseudo labels: median ...
_C.TRAIN.PSEUDO_THRESHOLD_CAP = 0.9    # ... capped at 0.9
_C.TRAIN.ROUNDS = 0                    # self-training rounds; 0 = 4 GTA5, 3 SYNTHIA, 1 with 2975

_C.TEST = EasyDict()
_C.TEST.INPUT_SIZE = (1024, 512)
_C.TEST.OUTPUT_SIZE = (2048, 1024)
_C.TEST.IMG_MEAN = (104.00698793, 116.66876762, 122.67891434)
_C.TEST.SET = 'val'
_C.TEST.DATA_LIST = os.path.join(LIST_DIR, 'val.txt')
_C.TEST.INFO = os.path.join(LIST_DIR, 'info.json')   # 16-class models use info_16.json

# How a run is spread over processes, devices, cores and threads: its speed, not the method (a
# run may resume with other values, engine/run_dir.py). Figures: docs/PERFORMANCE.md.
_C.NUM_WORKERS = 2                     # data-loading workers per device
_C.CPU_THREADS = 0                     # threads of a CPU operator; 0: MindSpore's own number
_C.CPU_PIN = False                     # graph mode on CPU: a process on one core, waiting for each
                                       # step; tiny nets run faster so, and the numbers do not
                                       # depend on the core count (utils/device.py)
_C.LAUNCH_BLOCKING = False             # each operator run before Python sends the next: tiny
                                       # nets in PyNative run faster so, on one core
                                       # (utils/device.py)
_C.PIPELINE_JOBS = 1                   # self_train.py: steps run at once, each in a process of its
                                       # own (with CPU_PIN, each on a core of its own)
_C.PIPELINE_DEVICE_IDS = []            # self_train.py: one worker per device id listed, each step
                                       # on one device (the paper's recipe); [] = PIPELINE_JOBS
                                       # workers on DEVICE_ID

# The allowed values of every enumerated key, checked when a config is read.
CHOICES = {
    'SOURCE': ('GTA', 'SYNTHIA'),
    'NUM_CLASSES': (19, 16),
    'DEVICE': ('CPU', 'Ascend', 'GPU'),
    'MODE': ('auto', 'GRAPH', 'PYNATIVE'),
    'MODEL.ARCH': ('deeplabv2', 'mit_b0', 'mit_b1', 'mit_b2', 'mit_b3', 'mit_b4', 'mit_b5',
                   'mit_tiny'),
    'MODEL.FUSED_ASPP': ('auto', 'on', 'off'),
    'TRAIN.OPTIMIZER': ('sgd', 'adamw'),
    'TRAIN.AMP_LEVEL': ('auto', 'O0', 'O2', 'O3'),
    'TRAIN.JIT_STEP': ('auto', 'on', 'off'),
    'TRAIN.KL_RESOLUTION': ('logits', 'input'),
    'TRAIN.ROUND_INIT': ('imagenet', 'previous'),
    'TRAIN.KL_T_SQUARED': (True, False),
    'CPU_PIN': (True, False),
    'LAUNCH_BLOCKING': (True, False),
    'TRAIN.PASS_ON': ('final', 'best'),
    'TRAIN.MULTI_DEVICE': ('same_steps', 'same_images'),
}

# Keys this project renamed: an old config gets the new name in its error.
RENAMED = {'TRAIN.TEMPERATURE': 'TRAIN.KL_T, the released name'}

_POSITIVE = (lambda v: v > 0, '> 0')
_NON_NEGATIVE = (lambda v: v >= 0, '>= 0')
_FRACTION = (lambda v: 0 < v <= 1, 'in (0, 1]')
_SIZE = (lambda v: min(v) > 0, 'a positive [width, height]')
# Numeric keys: (test of the value, what the value must be), checked with CHOICES.
RANGES = {
    'DEVICE_ID': _NON_NEGATIVE,
    'NUM_WORKERS': _NON_NEGATIVE,
    'CPU_THREADS': _NON_NEGATIVE,
    'PIPELINE_JOBS': _POSITIVE,
    'PIPELINE_DEVICE_IDS': (lambda v: min(v, default=0) >= 0 and len(set(v)) == len(v),
                            'distinct device ids >= 0'),
    'TRAIN.INPUT_SIZE_SOURCE': _SIZE,
    'TRAIN.INPUT_SIZE_TARGET': _SIZE,
    'TRAIN.CROP_SIZE': (lambda v: min(v) > 0 or max(v) == 0, '[width, height] > 0, or [0, 0]'),
    'TRAIN.BATCH_SIZE_SOURCE': _POSITIVE,
    'TRAIN.BATCH_SIZE_TARGET': _POSITIVE,
    'TRAIN.MAX_ITERS': _POSITIVE,
    'TRAIN.WARMUP_ITERS': _NON_NEGATIVE,
    'TRAIN.EARLY_STOP': _POSITIVE,
    'TRAIN.SAVE_PRED_EVERY': _POSITIVE,
    'TRAIN.KEEP_CHECKPOINTS': (lambda v: v >= 1, '>= 1'),
    'TRAIN.EVAL_EVERY': _NON_NEGATIVE,
    'TRAIN.LOG_EVERY': _POSITIVE,
    'TRAIN.MIX_AREA_RANGE': (lambda v: 0 <= v[0] <= v[1] <= 1, '[a, b] with 0 <= a <= b <= 1'),
    'TRAIN.KL_T': _POSITIVE,
    'TRAIN.TEACHERS': (lambda v: len(v) >= 1 and len(set(v)) == len(v),
                       'one or more distinct mixings'),
    'TRAIN.LABELED_SHARE': (lambda v: 0 <= v <= 1, 'in [0, 1]'),
    'TRAIN.PSEUDO_PORTION': _FRACTION,
    'TRAIN.PSEUDO_THRESHOLD_CAP': _FRACTION,
    'TRAIN.ROUNDS': _NON_NEGATIVE,
    'TEST.INPUT_SIZE': _SIZE,
    'TEST.OUTPUT_SIZE': _SIZE,
}



def default_cfg():
    """A fresh copy of the defaults, safe to modify."""
    return copy.deepcopy(_C)


cfg = default_cfg()


def get_cfg(cfg_files=None, opts=()):
    """Defaults, then each YAML file in order, then `KEY.SUB=value` overrides."""
    config = default_cfg()
    if isinstance(cfg_files, str):
        cfg_files = [cfg_files]
    for cfg_file in cfg_files or ():
        if not os.path.isfile(cfg_file):
            raise ConfigError(f'config file not found: {cfg_file}')
        with open(cfg_file) as f:
            try:
                overlay = yaml.safe_load(f) or {}
            except yaml.YAMLError as e:
                raise ConfigError(f'{cfg_file}: not valid YAML ({e.__class__.__name__})') from e
        if not isinstance(overlay, dict):
            raise ConfigError(f'{cfg_file}: expected a mapping of config keys')
        merge_into(config, overlay, source=cfg_file)
    for opt in opts:
        key, sep, text = opt.partition('=')
        if not sep:
            raise ConfigError(f'override {opt!r} is not of the form KEY=VALUE')
        merge_into(config, _nested(key.strip(), yaml.safe_load(text)), source='command line')
    check_cfg(config)
    return config


def check_cfg(config):
    """Refuse a value outside its key's CHOICES or RANGES, naming the key and the value."""
    if config.TRAIN.AMP_LEVEL == 'O1':
        raise ConfigError('TRAIN.AMP_LEVEL O1 is not supported: MindSpore builds O1 by '
                          'rewriting the network\'s code, which fails on this network; use O2 '
                          '(the Ascend and GPU default) or O0')
    for name, allowed in CHOICES.items():
        value = _lookup(config, name)
        if value not in allowed:
            raise ConfigError(f'{name} must be one of {", ".join(map(str, allowed))}, '
                              f'got {value!r}')
    for name, (test, must_be) in RANGES.items():
        value = _lookup(config, name)
        if not test(value):
            raise ConfigError(f'{name} must be {must_be}, got {to_plain(value)}')
    if config.CPU_PIN and config.DEVICE == 'CPU' and config.MODE != 'GRAPH':
        raise ConfigError(f'CPU_PIN needs MODE GRAPH, got MODE {config.MODE}: PyNative runs '
                          f'about 3x slower on one core (docs/PERFORMANCE.md)')
    ids = config.PIPELINE_DEVICE_IDS
    if ids and config.PIPELINE_JOBS not in (1, len(ids)):
        raise ConfigError(f'PIPELINE_DEVICE_IDS {to_plain(ids)} starts {len(ids)} workers, '
                          f'PIPELINE_JOBS is {config.PIPELINE_JOBS}: set one of them')
    train = config.TRAIN
    if train.EARLY_STOP > train.MAX_ITERS:
        # The poly schedule reaches learning rate 0 at MAX_ITERS.
        raise ConfigError(f'TRAIN.EARLY_STOP ({train.EARLY_STOP}) must be <= TRAIN.MAX_ITERS '
                          f'({train.MAX_ITERS})')
    crop = train.CROP_SIZE
    for key in ('INPUT_SIZE_SOURCE', 'INPUT_SIZE_TARGET'):
        if crop[0] and (crop[0] > train[key][0] or crop[1] > train[key][1]):
            raise ConfigError(f'TRAIN.CROP_SIZE {list(crop)} does not fit in TRAIN.{key} '
                              f'{list(train[key])}')
    if train.BATCH_SIZE_SOURCE != train.BATCH_SIZE_TARGET:
        raise ConfigError(f'TRAIN.BATCH_SIZE_SOURCE ({train.BATCH_SIZE_SOURCE}) and '
                          f'TRAIN.BATCH_SIZE_TARGET ({train.BATCH_SIZE_TARGET}) must be equal: '
                          f'a step pairs one source with one target image')
    if train.PASS_ON == 'best' and not train.EVAL_EVERY:
        raise ConfigError('TRAIN.PASS_ON best needs validation during training: set '
                          'TRAIN.EVAL_EVERY > 0 (the paper configs validate every 2000)')
    if config.SOURCE == 'SYNTHIA' and config.NUM_CLASSES != 16:
        raise ConfigError(f'SOURCE SYNTHIA trains 16 classes, NUM_CLASSES is '
                          f'{config.NUM_CLASSES}')


def _lookup(config, dotted_key):
    for part in dotted_key.split('.'):
        config = config[part]
    return config


def _nested(dotted_key, value):
    out = value
    for part in reversed(dotted_key.split('.')):
        out = {part: out}
    return out


def merge_into(config, overlay, source, prefix=''):
    """Set `overlay`'s values in `config`, refusing unknown keys and wrong types."""
    for key, value in overlay.items():
        name = prefix + str(key)
        if key not in config:
            renamed = f' (now {RENAMED[name]})' if name in RENAMED else ''
            raise ConfigError(f'{source}: unknown config key {name}{renamed}')
        default = config[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f'{source}: {name} is a section, got {value!r}')
            merge_into(default, value, source, name + '.')
        else:
            config[key] = _coerce(value, default, name, source)


def _coerce(value, default, name, source):
    # YAML has no tuples and writes 1e-4 as a string unless it has a dot: accept both spellings.
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):  # any length, of the default's items' type (ints if none)
        kind = type(default[0]) if default else int
        ok = isinstance(value, (list, tuple)) and all(
            isinstance(v, kind) and not isinstance(v, bool) for v in value)
        value = list(value) if ok else value
    elif isinstance(default, tuple):
        ok = isinstance(value, (list, tuple)) and len(value) == len(default) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        value = tuple(type(d)(v) for d, v in zip(default, value)) if ok else value
    elif isinstance(default, str) and isinstance(value, bool):
        # YAML 1.1 reads on/off (the switches' values, e.g. TRAIN.JIT_STEP=on) as booleans.
        value, ok = ('on' if value else 'off'), True
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f'{source}: {name} must be {_describe(default)}, got {value!r}')
    return value


def _describe(default):
    if isinstance(default, tuple):
        return f'a list of {len(default)} numbers'
    if isinstance(default, list):
        return 'a list of names' if default and isinstance(default[0], str) else \
            'a list of whole numbers'
    return type(default).__name__


def parse_size(text):
    """'1024x512' -> (1024, 512): width x height, the order of the config's sizes."""
    width, sep, height = text.lower().partition('x')
    if sep and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0:
        return int(width), int(height)
    raise argparse.ArgumentTypeError(f'expected WIDTHxHEIGHT such as 1024x512, got {text!r}')


def add_config_args(parser, model_args=False, labeled_args=False, input_size=False,
                    several_budgets=False):
    """The config options every script shares: --cfg, --device, --opts; with `model_args`
    also --num_classes and --device_id (the scripts that use a trained model); with
    `labeled_args` --labeled_list, or --num_labeled and --split, which set
    DATA_LIST_TARGET_LABELED (D_T; with `several_budgets` --num_labeled and --split take
    several, for the script to read one at a time);
    with `input_size` --input_size, the network's TEST.INPUT_SIZE (infer.py, export.py)."""
    parser.add_argument('--cfg', nargs='+', default=None,
                        help='YAML config overlays (configs/*.yaml), applied in order')
    parser.add_argument('--device', choices=('CPU', 'Ascend', 'GPU'), default=None,
                        help='default: cfg.DEVICE')
    if model_args:
        parser.add_argument('--device_id', type=int, default=None)
        parser.add_argument('--num_classes', type=int, choices=(19, 16), default=None,
                            help='19 (GTA5 models) or 16 (SYNTHIA models); '
                                 'default: cfg.NUM_CLASSES')
    if input_size:
        parser.add_argument('--input_size', type=parse_size, default=None, metavar='WxH',
                            help='network input size, e.g. 1024x512 (export: the graph\'s fixed '
                                 'size); default: cfg.TEST.INPUT_SIZE')
    if labeled_args:
        parser.add_argument('--labeled_list', default=None,
                            help='the labeled target list D_T (sets DATA_LIST_TARGET_LABELED)')
        parser.add_argument('--num_labeled', type=int, default=None,
                            nargs='+' if several_budgets else None, metavar='N',
                            help='label budget N: D_T is train_labeled_N.txt beside '
                                 'DATA_LIST_TARGET (dataset/cityscapes_list/ by default; '
                                 'instead of --labeled_list)')
        parser.add_argument('--split', type=int, default=None,
                            nargs='+' if several_budgets else None, metavar='K',
                            help='with --num_labeled: split K of the budget, '
                                 'train_labeled_N_splitK.txt (K = 0, the default, is the '
                                 f'released draw; 0-{len(SPLIT_SEEDS) - 1} ship, '
                                 'dataset/subsets.py)')
    # extend: `--opts A=1 --opts B=2` keeps both; a key given twice takes its last value.
    parser.add_argument('--opts', nargs='*', action='extend', default=[], metavar='KEY=VALUE',
                        help='config overrides, e.g. TRAIN.EARLY_STOP=1000; the last value of '
                             'a key given twice wins')


def labeled_list_of(config, num_labeled, split=0):
    """The labeled list of a budget's split K: train_labeled_N.txt (K = 0) or
    train_labeled_N_splitK.txt (dataset/subsets.py's names) beside the train list D_U is drawn
    from."""
    if not 0 <= split < len(SPLIT_SEEDS):
        raise ConfigError(f'--split must be one of {", ".join(map(str, range(len(SPLIT_SEEDS))))}'
                          f', got {split} (the splits of dataset/subsets.py)')
    return os.path.join(os.path.dirname(config.DATA_LIST_TARGET),
                        split_filename(num_labeled, split))


def run_folder_name(source, num_labeled, split=0, seed=_C.TRAIN.RANDOM_SEED):
    """The folder of a pipeline run: {gta,synthia}2cityscapes_N, then _splitK for a split
    other than the released one and _seedS for a TRAIN.RANDOM_SEED other than the default, so
    that the runs of a budget's splits and seeds lie side by side."""
    return (f'{source.lower()}2cityscapes_{num_labeled}' + (f'_split{split}' if split else '')
            + (f'_seed{seed}' if seed != _C.TRAIN.RANDOM_SEED else ''))


def cfg_from_args(args):
    """The effective config of a script's arguments (see add_config_args), checked, on a
    device this MindSpore package can run on."""
    config = get_cfg(args.cfg, args.opts)
    if args.device:
        config.DEVICE = args.device
    if getattr(args, 'device_id', None) is not None:
        config.DEVICE_ID = args.device_id
    if getattr(args, 'num_workers', None) is not None:
        config.NUM_WORKERS = args.num_workers
    # D_T has one channel, the config: whatever reads it (D_U less D_T with
    # EXCLUDE_LABELED_FROM_UNLABELED, every stage, the pipeline) reads the one in use.
    if getattr(args, 'labeled_list', None):
        config.DATA_LIST_TARGET_LABELED = os.path.abspath(args.labeled_list)
    elif getattr(args, 'num_labeled', None):
        path = labeled_list_of(config, args.num_labeled, getattr(args, 'split', None) or 0)
        if not os.path.isfile(path):
            raise DataError(f'--num_labeled {args.num_labeled}: no labeled list {path} (write '
                            'it with python -m dataset.subsets)')
        config.DATA_LIST_TARGET_LABELED = path
    if getattr(args, 'split', None) is not None and not getattr(args, 'num_labeled', None):
        raise ConfigError('--split picks one of a budget\'s labeled lists: it needs '
                          '--num_labeled N (not --labeled_list)')
    if getattr(args, 'input_size', None):
        config.TEST.INPUT_SIZE = tuple(args.input_size)
    if getattr(args, 'num_classes', None):
        config.NUM_CLASSES = args.num_classes
        config.TEST.INFO = os.path.join(LIST_DIR, 'info_16.json' if args.num_classes == 16
                                        else 'info.json')
    check_cfg(config)
    if config.DEVICE != 'CPU':
        from utils.device import check_available  # MindSpore: only the scripts need it
        check_available(config.DEVICE)
    return config
