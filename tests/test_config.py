import pytest
import yaml

from config import dump_cfg, get_cfg
from conftest import TINY_CFG
from utils.errors import ConfigError


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
    cfg = get_cfg(str(path), ['TRAIN.MAX_ITERS=10', 'NUM_CLASSES=16'])
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
    cfg = get_cfg(None, ['TRAIN.MAX_ITERS=7'])
    dump_cfg(cfg, str(tmp_path / 'cfg.yaml'))
    again = get_cfg(str(tmp_path / 'cfg.yaml'))
    assert again == cfg
    assert yaml.safe_load((tmp_path / 'cfg.yaml').read_text())['TRAIN']['MAX_ITERS'] == 7


def test_mode_and_heads_per_device():
    """MODE auto and MODEL.FUSED_ASPP auto pick the CPU-measured choices only on CPU."""
    from net.deeplabv2 import fused_aspp
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
    assert get_cfg(TINY_CFG).MODE == 'GRAPH'  # tiny nets: graph mode is faster
