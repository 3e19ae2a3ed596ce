"""The settings Ascend and GPU train with by default, run on the CPU: graph mode, the step under
ms.jit, AMP O2 with its loss scaler, MindSpore's own ASPP convolutions (utils/device.py:
DEVICE_DEFAULTS). What such a run writes must load everywhere: in eval.py, as a teacher, as the
initial weights of a pipeline."""
import json
import os

import mindspore as ms
import numpy as np
import pytest

from config import CHOICES, get_cfg
from conftest import TINY_CFG, one_line_error, run_script
from net.deeplabv2_mindspore import build_model
from utils.checkpoint import named_parameters, read_checkpoint
from utils.device import DEVICE_DEFAULTS, device_default, device_overrides
from utils.errors import ConfigError

# The Ascend column; Ascend and GPU agree, so a CPU run of it takes both devices' paths.
ASCEND = device_overrides('Ascend')
SHORT = ['TRAIN.EARLY_STOP=3', 'TRAIN.MAX_ITERS=10', 'TRAIN.SAVE_PRED_EVERY=2',
         'TRAIN.EVAL_EVERY=0', 'LAUNCH_BLOCKING=False']


def test_every_auto_setting_has_a_value_on_every_device():
    assert DEVICE_DEFAULTS['Ascend'] == DEVICE_DEFAULTS['GPU']
    for device, column in DEVICE_DEFAULTS.items():
        for key, value in column.items():
            assert 'auto' in CHOICES[key] and value in CHOICES[key], (device, key)
            assert device_default(get_cfg(None, [f'DEVICE={device}']), key) == value
    # a value set explicitly wins over the device's
    assert device_default(get_cfg(None, ['DEVICE=Ascend', 'TRAIN.AMP_LEVEL=O0']),
                          'TRAIN.AMP_LEVEL') == 'O0'
    assert ASCEND == ['MODE=GRAPH', 'TRAIN.JIT_STEP=on', 'TRAIN.AMP_LEVEL=O2',
                      'MODEL.FUSED_ASPP=off']


def test_amp_o1_is_refused_in_one_line():
    """MindSpore builds O1 by rewriting the network's source, which fails on this net."""
    with pytest.raises(ConfigError, match='TRAIN.AMP_LEVEL O1 is not supported'):
        get_cfg(None, ['TRAIN.AMP_LEVEL=O1'])
    one_line_error(run_script('train_teacher.py', '--mix', 'region', '--cfg', TINY_CFG,
                              '--opts', 'TRAIN.AMP_LEVEL=O1'), 'TRAIN.AMP_LEVEL O1')


def test_o2_keeps_the_released_names_and_runs_the_fused_heads(tiny_cfg):
    """O2 wraps every BatchNorm in a cell of its own: the net's names change, the names a
    checkpoint is written and read under do not. The fused heads take O2's float16 input."""
    released = [name for name, _ in build_model(tiny_cfg).parameters_and_names()]
    x = ms.Tensor(np.random.default_rng(0).normal(size=(1, 3, 64, 128)).astype(np.float32))
    outputs = {}
    for fused in ('off', 'on'):
        tiny_cfg.MODEL.FUSED_ASPP = fused
        ms.set_seed(0)
        net = build_model(tiny_cfg)
        ms.amp.auto_mixed_precision(net, 'O2')
        assert any('._backbone.' in name for name, _ in net.parameters_and_names())
        assert [name for name, _ in named_parameters(net)] == released
        net.set_train(False)
        outputs[fused] = [o.asnumpy().astype(np.float32) for o in net(x)]
    for plain, fused in zip(outputs['off'], outputs['on']):
        assert np.abs(plain - fused).max() <= 1e-2 * np.abs(plain).max()  # float16 sums


def test_o2_keeps_a_segformers_names_and_logits(tiny_cfg):
    """O2 wraps every LayerNorm and BatchNorm in a float32 cell of its own; the names a
    checkpoint carries do not change, and the float16 logits stay near float32's."""
    tiny_cfg.MODEL.ARCH = 'mit_tiny'
    x = ms.Tensor(np.random.default_rng(0).normal(0, 50, (1, 3, 64, 128)).astype(np.float32))
    ms.set_seed(0)
    net = build_model(tiny_cfg)
    released = [name for name, _ in net.parameters_and_names()]
    full = net.set_train(False)(x)[1].asnumpy()
    ms.set_seed(0)  # the same weights in a net of its own (a cell compiles once)
    net = build_model(tiny_cfg)
    ms.amp.auto_mixed_precision(net, 'O2')
    net.set_train(False)
    assert any('norm._backbone.' in name for name, _ in net.parameters_and_names())
    assert [name for name, _ in named_parameters(net)] == released
    aux, half = net(x)
    assert aux is None and half.dtype == ms.float16
    assert np.abs(half.asnumpy().astype(np.float32) - full).max() <= 1e-2 * np.abs(full).max()


@pytest.mark.e2e
def test_a_teacher_trained_with_the_device_defaults_loads_everywhere(generated, labeled_4,
                                                                     tmp_path):
    """Trained with the Ascend defaults on the CPU, a teacher's final.ckpt carries the released
    names and the loss scaler's state; eval.py reads it, distill.py takes it as a teacher, and a
    one-round pipeline of the same settings starts from it."""
    _, data_cfg = generated
    cfg_args = ['--cfg', TINY_CFG, data_cfg]
    teacher = tmp_path / 'teacher'
    result = run_script('train_teacher.py', '--mix', 'region', *cfg_args, '--labeled_list',
                        labeled_4, '--out_dir', teacher, '--opts', *ASCEND, *SHORT)
    assert result.returncode == 0, result.stderr[-3000:]
    final = str(teacher / 'final.ckpt')
    params = read_checkpoint(final)
    released = {name for name, _ in build_model(get_cfg(TINY_CFG)).parameters_and_names()}
    assert released <= set(params) and not [k for k in params if '_backbone' in k]
    assert float(params['optimizer.loss_scale.scale_value'].asnumpy()) > 1
    assert int(params['optimizer.loss_scale.counter'].asnumpy()) == 3  # three finite steps
    # a run killed after iteration 2 resumes, loss scaler included, to the same weights
    os.replace(final, tmp_path / 'first_final.ckpt')
    os.remove(teacher / 'checkpoints' / 'iter_000003.ckpt')
    result = run_script('train_teacher.py', '--mix', 'region', *cfg_args, '--labeled_list',
                        labeled_4, '--out_dir', teacher, '--opts', *ASCEND, *SHORT)
    assert result.returncode == 0 and 'iteration 2' in result.stdout, result.stderr[-3000:]
    resumed = read_checkpoint(final)
    for name in (k for k in params if not k.startswith('meta.')):
        np.testing.assert_array_equal(resumed[name].asnumpy(), params[name].asnumpy(), name)

    output = tmp_path / 'eval.json'
    result = run_script('eval.py', '--data_path', os.path.join(generated[0], 'cityscapes'),
                        '--pretrained', final, *cfg_args, '--output', output)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(output.read_text())['num_images'] == 4

    result = run_script('distill.py', '--teacher_rl', final, '--teacher_sl', final, *cfg_args,
                        '--labeled_list', labeled_4, '--out_dir', tmp_path / 'student',
                        '--opts', *ASCEND, *SHORT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.path.isfile(tmp_path / 'student' / 'final.ckpt')

    exp = tmp_path / 'exp'
    result = run_script('self_train.py', *cfg_args, '--labeled_list', labeled_4, '--rounds',
                        '1', '--exp_dir', exp, '--opts', *ASCEND, *SHORT,
                        f'TRAIN.RESTORE_FROM={final}')
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads((exp / 'results.json').read_text())['rounds']
    assert [row['round'] for row in rows] == [1] and rows[0]['student'] is not None
