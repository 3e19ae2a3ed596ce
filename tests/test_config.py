import argparse
import os

import pytest
import yaml

import config
from config import (CHOICES, add_config_args, cfg_from_args, dump_cfg, get_cfg, labeled_list_of,
                    run_folder_name)
from conftest import ROOT, TINY_CFG
from utils.errors import ConfigError, DataError


def test_defaults_keep_released_names():
    cfg = get_cfg()
    assert cfg.NUM_CLASSES == 19
    assert cfg.TEST.INPUT_SIZE == (1024, 512)
    assert cfg.TEST.OUTPUT_SIZE == (2048, 1024)
    assert cfg.TEST.IMG_MEAN == pytest.approx((104.00698793, 116.66876762, 122.67891434))
    assert cfg.TRAIN.LEARNING_RATE == 2.5e-4
    assert cfg.TRAIN.WEIGHT_DECAY == 1e-4
    assert (cfg.TRAIN.MAX_ITERS, cfg.TRAIN.EARLY_STOP) == (250000, 120000)


def test_overlay_and_overrides(tmp_path):
    path = tmp_path / 'exp.yaml'
    path.write_text('TRAIN:\n  LEARNING_RATE: 1e-3\n  INPUT_SIZE_TARGET: [512, 256]\n')
    cfg = get_cfg(str(path), ['TRAIN.MAX_ITERS=10', 'TRAIN.EARLY_STOP=10', 'NUM_CLASSES=16'])
    assert cfg.TRAIN.LEARNING_RATE == 1e-3          # YAML reads 1e-3 as a string
    assert cfg.TRAIN.INPUT_SIZE_TARGET == (512, 256)  # lists become the default's tuple
    assert cfg.TRAIN.MAX_ITERS == 10 and cfg.NUM_CLASSES == 16
    assert get_cfg().TRAIN.MAX_ITERS == 250000     # the defaults were not modified


@pytest.mark.parametrize('text, key', [
    ('TRAIN:\n  LEARNIN_RATE: 0.1\n', 'TRAIN.LEARNIN_RATE'),
    ('TRAIN:\n  MAX_ITERS: many\n', 'TRAIN.MAX_ITERS'),
    ('TRAIN:\n  FREEZE_BN: 1\n', 'TRAIN.FREEZE_BN'),
    ('TEST:\n  INPUT_SIZE: [1, 2, 3]\n', 'TEST.INPUT_SIZE'),
    ('TRAIN: 3\n', 'TRAIN'),
])
def test_bad_overlay_names_the_key(tmp_path, text, key):
    path = tmp_path / 'bad.yaml'
    path.write_text(text)
    with pytest.raises(ConfigError, match=key.replace('.', r'\.')):
        get_cfg(str(path))


def test_bad_override_and_missing_file():
    with pytest.raises(ConfigError, match='NOPE'):
        get_cfg(None, ['NOPE=1'])
    with pytest.raises(ConfigError, match='KEY=VALUE'):
        get_cfg(None, ['TRAIN.MAX_ITERS'])
    with pytest.raises(ConfigError, match='missing.yaml'):
        get_cfg('missing.yaml')


def test_dump_round_trips(tmp_path):
    cfg = get_cfg(None, ['TRAIN.MAX_ITERS=7', 'TRAIN.EARLY_STOP=7'])
    dump_cfg(cfg, str(tmp_path / 'cfg.yaml'))
    again = get_cfg(str(tmp_path / 'cfg.yaml'))
    assert again == cfg
    assert yaml.safe_load((tmp_path / 'cfg.yaml').read_text())['TRAIN']['MAX_ITERS'] == 7


def test_mode_and_heads_per_device():
    """MODE auto and MODEL.FUSED_ASPP auto pick the CPU-measured choices only on CPU."""
    from net.deeplabv2_mindspore import fused_aspp
    from utils.device import default_mode
    assert default_mode('CPU') == 'PYNATIVE'
    assert default_mode('CPU', inference=True) == 'GRAPH'
    assert default_mode('Ascend') == default_mode('GPU') == 'GRAPH'
    for device, fused in (('CPU', True), ('Ascend', False), ('GPU', False)):
        assert fused_aspp(get_cfg(None, [f'DEVICE={device}'])) is fused
    assert fused_aspp(get_cfg(None, ['DEVICE=Ascend', 'MODEL.FUSED_ASPP=on']))
    assert not fused_aspp(get_cfg(None, ['MODEL.FUSED_ASPP=off']))
    with pytest.raises(ConfigError, match='MODEL.FUSED_ASPP'):
        fused_aspp(get_cfg(None, ['MODEL.FUSED_ASPP=fast']))
    assert get_cfg(None, ['TRAIN.JIT_STEP=on']).TRAIN.JIT_STEP == 'on'  # not YAML's True
    # a few steps a stage: PyNative, no compiling; 600 steps a stage: graph mode
    assert get_cfg(TINY_CFG).MODE == 'PYNATIVE'
    assert get_cfg(TINY_CFG.replace('tiny_cpu', 'demo_cpu')).MODE == 'GRAPH'


# ---- every value checked when the config is read ---------------------------------------

def test_pinning_needs_graph_mode_and_jobs_are_positive():
    for opts, message in ((['CPU_PIN=True'], 'CPU_PIN needs MODE GRAPH, got MODE auto'),
                          (['CPU_PIN=True', 'MODE=PYNATIVE'], 'got MODE PYNATIVE'),
                          (['PIPELINE_JOBS=0'], 'PIPELINE_JOBS must be > 0, got 0')):
        with pytest.raises(ConfigError, match=message):
            get_cfg(None, opts)
    assert get_cfg(None, ['CPU_PIN=True', 'MODE=GRAPH', 'PIPELINE_JOBS=2']).CPU_PIN is True
    demo = get_cfg(TINY_CFG.replace('tiny_cpu', 'demo_cpu'))
    assert demo.CPU_PIN and demo.PIPELINE_JOBS == 2


@pytest.mark.parametrize('opt, key', [
    ('SOURCE=gta', 'SOURCE'),
    ('DEVICE=TPU', 'DEVICE'),
    ('MODE=graph', 'MODE'),
    ('MODEL.FUSED_ASPP=fast', 'MODEL.FUSED_ASPP'),
    ('TRAIN.AMP_LEVEL=O4', 'TRAIN.AMP_LEVEL'),
    ('TRAIN.JIT_STEP="yes"', 'TRAIN.JIT_STEP'),     # once silently off
    ('TRAIN.KL_RESOLUTION=pixels', 'TRAIN.KL_RESOLUTION'),
    ('TRAIN.ROUND_INIT=last', 'TRAIN.ROUND_INIT'),
    ('NUM_CLASSES=13', 'NUM_CLASSES'),
])
def test_bad_choice_names_the_key_and_the_allowed_values(opt, key):
    with pytest.raises(ConfigError) as error:
        get_cfg(None, [opt])
    message = str(error.value)
    assert message.startswith(key + ' must be one of ') and '\n' not in message
    assert all(str(value) in message for value in CHOICES[key])
    assert repr(yaml.safe_load(opt.partition('=')[2])) in message


def test_every_allowed_choice_is_accepted():
    for key, allowed in CHOICES.items():
        for value in allowed:
            cfg = get_cfg(None, ['NUM_CLASSES=16', 'TRAIN.EVAL_EVERY=10',  # 16: SYNTHIA's too
                                 *(['MODE=GRAPH'] if key == 'CPU_PIN' else []),
                                 f'{key}={value}'])
            section, _, name = key.rpartition('.')
            assert (cfg[section] if section else cfg)[name] == value


@pytest.mark.parametrize('opt, key', [
    ('TRAIN.EARLY_STOP=0', 'TRAIN.EARLY_STOP'),
    ('TRAIN.MAX_ITERS=-5', 'TRAIN.MAX_ITERS'),
    ('TRAIN.BATCH_SIZE_TARGET=0', 'TRAIN.BATCH_SIZE_TARGET'),
    ('TRAIN.SAVE_PRED_EVERY=0', 'TRAIN.SAVE_PRED_EVERY'),
    ('TRAIN.LOG_EVERY=0', 'TRAIN.LOG_EVERY'),
    ('TRAIN.KEEP_CHECKPOINTS=0', 'TRAIN.KEEP_CHECKPOINTS'),
    ('TRAIN.EVAL_EVERY=-1', 'TRAIN.EVAL_EVERY'),
    ('TRAIN.KL_T=0', 'TRAIN.KL_T'),
    ('TRAIN.PSEUDO_PORTION=0', 'TRAIN.PSEUDO_PORTION'),
    ('TRAIN.PSEUDO_PORTION=1.5', 'TRAIN.PSEUDO_PORTION'),
    ('TRAIN.PSEUDO_THRESHOLD_CAP=1.01', 'TRAIN.PSEUDO_THRESHOLD_CAP'),
    ('TRAIN.MIX_AREA_RANGE=[0.6,0.4]', 'TRAIN.MIX_AREA_RANGE'),
    ('TRAIN.MIX_AREA_RANGE=[-0.1,0.5]', 'TRAIN.MIX_AREA_RANGE'),
    ('NUM_WORKERS=-1', 'NUM_WORKERS'),
    ('TRAIN.INPUT_SIZE_TARGET=[0,512]', 'TRAIN.INPUT_SIZE_TARGET'),
    ('TEST.INPUT_SIZE=[1024,-512]', 'TEST.INPUT_SIZE'),
    ('TRAIN.ROUNDS=-1', 'TRAIN.ROUNDS'),
])
def test_bad_number_names_the_key_and_the_value(opt, key):
    with pytest.raises(ConfigError) as error:
        get_cfg(None, [opt])
    message = str(error.value)
    assert message.startswith(key + ' must be ') and '\n' not in message
    assert message.endswith(str(yaml.safe_load(opt.partition('=')[2])))


@pytest.mark.parametrize('opt, needles, fix', [
    ('TRAIN.EARLY_STOP=300000', ('TRAIN.EARLY_STOP (300000)', 'TRAIN.MAX_ITERS (250000)'),
     'TRAIN.MAX_ITERS=300000'),
    ('TRAIN.BATCH_SIZE_SOURCE=2', ('TRAIN.BATCH_SIZE_SOURCE (2)', 'TRAIN.BATCH_SIZE_TARGET (1)'),
     'TRAIN.BATCH_SIZE_TARGET=2'),
    ('SOURCE=SYNTHIA', ('SOURCE SYNTHIA', 'NUM_CLASSES is 19'), 'NUM_CLASSES=16'),
])
def test_keys_that_must_agree(opt, needles, fix):
    with pytest.raises(ConfigError) as error:
        get_cfg(None, [opt])
    assert all(needle in str(error.value) for needle in needles), error.value
    get_cfg(None, [opt, fix])  # checked once every override is in


def test_shipped_configs_pass_the_checks():
    for name in os.listdir(os.path.join(ROOT, 'configs')):
        get_cfg(os.path.join(ROOT, 'configs', name))


@pytest.mark.parametrize('key', ['MODEL.NAME', 'TRAIN.IGNORE_LABEL', 'TRAIN.SNAPSHOT_DIR',
                                 'TEST.BATCH_SIZE'])
def test_keys_nothing_read_are_gone(key):
    with pytest.raises(ConfigError, match=f'unknown config key {key}'):
        get_cfg(None, [f'{key}=1'])


def test_module_cfg_is_a_copy_of_the_defaults():
    config.cfg.TRAIN.MAX_ITERS = 1
    try:
        assert get_cfg().TRAIN.MAX_ITERS == 250000
    finally:
        config.cfg.TRAIN.MAX_ITERS = 250000


def _args(argv):
    parser = argparse.ArgumentParser()
    add_config_args(parser, model_args=True)
    return parser.parse_args(argv)


def test_repeated_opts_merge_and_the_last_value_wins():
    args = _args(['--opts', 'TRAIN.EARLY_STOP=5', 'TRAIN.MAX_ITERS=50', '--opts',
                  'TRAIN.LOG_EVERY=2', 'TRAIN.EARLY_STOP=7'])
    cfg = cfg_from_args(args)
    assert (cfg.TRAIN.EARLY_STOP, cfg.TRAIN.MAX_ITERS, cfg.TRAIN.LOG_EVERY) == (7, 50, 2)


def test_command_line_values_are_checked_too():
    with pytest.raises(ConfigError, match='NUM_WORKERS must be >= 0, got -2'):
        cfg_from_args(argparse.Namespace(**vars(_args([])), num_workers=-2))


@pytest.mark.parametrize('device', ['Ascend', 'GPU'])
def test_unavailable_device_is_one_line_naming_the_fix(device):
    # This machine's MindSpore is the CPU package.
    with pytest.raises(ConfigError) as error:
        cfg_from_args(_args(['--device', device]))
    message = str(error.value)
    assert message.startswith(f'DEVICE {device} is not available') and '\n' not in message
    assert '--device CPU' in message
    assert cfg_from_args(_args(['--device', 'CPU'])).DEVICE == 'CPU'


@pytest.mark.parametrize('opt,needle', [
    ('TRAIN.PASS_ON=latest', 'TRAIN.PASS_ON'),
    ('TRAIN.MULTI_DEVICE=half', 'TRAIN.MULTI_DEVICE'),
    ('TRAIN.LABELED_SHARE=1.5', 'TRAIN.LABELED_SHARE'),
    ('TRAIN.KL_T=0', 'TRAIN.KL_T'),
    ('TRAIN.TEMPERATURE=10', 'now TRAIN.KL_T'),
    ('TRAIN.PASS_ON=best', 'TRAIN.EVAL_EVERY'),
])
def test_fidelity_keys_are_checked(opt, needle):
    with pytest.raises(ConfigError, match=needle.replace('.', r'\.')):
        get_cfg(opts=[opt, 'TRAIN.EVAL_EVERY=0'])


def test_pipeline_device_ids_start_a_worker_per_device():
    assert get_cfg(None, ['PIPELINE_DEVICE_IDS=[0,1,2,3]']).PIPELINE_DEVICE_IDS == [0, 1, 2, 3]
    assert get_cfg(None, ['PIPELINE_DEVICE_IDS=[2,3]', 'PIPELINE_JOBS=2']).PIPELINE_JOBS == 2
    for opts, message in ((['PIPELINE_DEVICE_IDS=[1,1]'], 'distinct device ids >= 0, got'),
                          (['PIPELINE_DEVICE_IDS=[-1]'], 'distinct device ids >= 0, got'),
                          (['PIPELINE_DEVICE_IDS=3'], 'a list of whole numbers, got 3'),
                          (['PIPELINE_DEVICE_IDS=[0,1]', 'PIPELINE_JOBS=3'],
                           r'PIPELINE_DEVICE_IDS \[0, 1\] starts 2 workers, PIPELINE_JOBS is 3')):
        with pytest.raises(ConfigError, match=message):
            get_cfg(None, opts)


LIST_DIR = os.path.join(ROOT, 'dataset', 'cityscapes_list')


@pytest.mark.parametrize('source', ['gta', 'synthia'])
def test_both_sources_read_the_same_cityscapes_splits(source):
    cfg = get_cfg(os.path.join(ROOT, 'configs', f'{source}2cityscapes.yaml'))
    assert labeled_list_of(cfg, 100) == os.path.join(LIST_DIR, 'train_labeled_100.txt')
    assert labeled_list_of(cfg, 500, 2) == os.path.join(LIST_DIR, 'train_labeled_500_split2.txt')


@pytest.mark.parametrize('script,required', [
    ('train_teacher', ['--mix', 'region']),
    ('distill', ['--teacher_rl', 'rl.ckpt', '--teacher_sl', 'sl.ckpt']),
    ('self_train', [])])
def test_every_script_with_a_budget_picks_a_split(script, required):
    import importlib
    args = importlib.import_module(script).parse_args(
        required + ['--num_labeled', '200', '--split', '1'])
    if script == 'self_train':  # several budgets and splits, read one at a time
        args.num_labeled, args.split = args.num_labeled[0], args.split[0]
    cfg = cfg_from_args(args)
    assert cfg.DATA_LIST_TARGET_LABELED == os.path.join(LIST_DIR, 'train_labeled_200_split1.txt')


def _labeled_args(argv):
    parser = argparse.ArgumentParser()
    add_config_args(parser, labeled_args=True)
    return parser.parse_args(argv)


@pytest.mark.parametrize('argv,error,needle', [
    (['--split', '1'], ConfigError, '--split picks one of a budget'),
    (['--labeled_list', 'x.txt', '--split', '0'], ConfigError, 'needs --num_labeled N'),
    (['--num_labeled', '100', '--split', '3'], ConfigError, 'must be one of 0, 1, 2, got 3'),
    (['--num_labeled', '300'], DataError, 'train_labeled_300.txt'),
])
def test_bad_split_or_budget_names_it(argv, error, needle):
    with pytest.raises(error, match=needle):
        cfg_from_args(_labeled_args(argv))


def test_run_folders_tell_splits_and_seeds_apart():
    default_seed = get_cfg().TRAIN.RANDOM_SEED
    # the released split with the default seed keeps the folder runs were made in
    assert run_folder_name('GTA', 100) == run_folder_name('gta', 100, 0, default_seed) \
        == 'gta2cityscapes_100'
    assert run_folder_name('SYNTHIA', 100, 1) == 'synthia2cityscapes_100_split1'
    assert run_folder_name('GTA', 2975, 0, 7) == 'gta2cityscapes_2975_seed7'
    assert run_folder_name('GTA', 100, 2, 1) == 'gta2cityscapes_100_split2_seed1'


def test_a_crop_must_fit_in_both_domains_images():
    assert get_cfg(None, ['TRAIN.CROP_SIZE=[512,512]']).TRAIN.CROP_SIZE == (512, 512)
    for opts, message in ((['TRAIN.CROP_SIZE=[1100,512]'],
                           r'TRAIN.CROP_SIZE \[1100, 512\] does not fit in '
                           r'TRAIN.INPUT_SIZE_TARGET \[1024, 512\]'),
                          (['TRAIN.CROP_SIZE=[0,512]'], r'\[width, height\] > 0, or \[0, 0\]')):
        with pytest.raises(ConfigError, match=message):
            get_cfg(None, opts)
