"""weights/convert.py: PyTorch -> MindSpore checkpoints, checked by logit parity with a PyTorch
twin of net/deeplabv2_mindspore.py, by the ImageNet-init path, and by the CLI's one-line errors."""
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip('torch')
tnn = torch.nn

import mindspore as ms  # noqa: E402

from bench.torch_twin import TorchDeepLabV2  # noqa: E402
from net.deeplabv2_mindspore import DeepLabV2  # noqa: E402
from utils.checkpoint import load_net_checkpoint  # noqa: E402
from utils.device import setup_device  # noqa: E402
from utils.errors import run_cli  # noqa: E402
from weights.convert import TORCH_MISSING, convert_state_dict, main, parse_args  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_CLASSES, BLOCKS, WIDTH = 4, (1, 1, 1, 1), 8
TINY = ['--num_classes', str(NUM_CLASSES), '--blocks', *map(str, BLOCKS), '--width', str(WIDTH)]


def random_torch_net(seed=0):
    """Random weights and non-trivial BN statistics, so a swapped mean/var or gamma/beta shows."""
    torch.manual_seed(seed)
    net = TorchDeepLabV2(NUM_CLASSES, BLOCKS, WIDTH)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, tnn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
                module.running_mean.normal_(0.0, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.num_batches_tracked.fill_(7)
    return net.eval()


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """(PyTorch net, MindSpore net loaded from the converted .ckpt)."""
    setup_device('CPU')
    tmp = tmp_path_factory.mktemp('convert')
    torch_net = random_torch_net()
    torch.save({'state_dict': torch_net.state_dict(), 'iter': 10}, tmp / 'tiny.pth')
    run_cli(main, parse_args(['--src', str(tmp / 'tiny.pth'), '--dst', str(tmp / 'tiny.ckpt'),
                              '--kind', 'deeplab', *TINY]))
    ms_net = DeepLabV2(num_classes=NUM_CLASSES, blocks=BLOCKS, width=WIDTH)
    load_net_checkpoint(ms_net, str(tmp / 'tiny.ckpt'))
    ms_net.set_train(False)
    return torch_net, ms_net


# 64x96: the stem gives 32x48, where ceil_mode makes the max-pool 17x25 (floor would be 16x24);
# 66x98: the stem gives 33x49, odd, where both modes agree.
@pytest.mark.parametrize('height, width', [(64, 96), (66, 98)])
def test_deeplab_parity(converted, height, width):
    torch_net, ms_net = converted
    image = np.random.default_rng(height).normal(0, 50, (1, 3, height, width)).astype(np.float32)
    with torch.no_grad():
        expected = [t.numpy() for t in torch_net(torch.from_numpy(image))]
    got = [t.asnumpy() for t in ms_net(ms.Tensor(image))]
    for name, g, e in zip(('aux', 'main'), got, expected):
        assert g.shape == e.shape, f'{name}: {g.shape} vs {e.shape}'
        rel = np.abs(g - e).max() / np.abs(e).max()
        assert rel <= 1e-4, f'{name} {height}x{width}: relative error {rel:.2e}'


def test_deeplab_names_are_a_plain_rename():
    torch_net = random_torch_net()
    state = {'module.' + k: v for k, v in torch_net.state_dict().items()}  # DataParallel save
    arrays = convert_state_dict(state, 'auto', NUM_CLASSES, BLOCKS, WIDTH)
    np.testing.assert_array_equal(arrays['layer2.0.downsample.1.moving_variance'],
                                  state['module.layer2.0.downsample.1.running_var'].numpy())
    np.testing.assert_array_equal(arrays['layer3.0.bn2.gamma'],
                                  state['module.layer3.0.bn2.weight'].numpy())
    assert not any('num_batches_tracked' in n for n in arrays)


def imagenet_state_dict():
    """ADVENT's ImageNet init: `Scale.` keys, an old 21-class `layer5` on 2048 channels."""
    state = {'Scale.' + k: v for k, v in random_torch_net(1).state_dict().items()
             if not k.startswith(('layer5.', 'layer6.'))}
    for i in range(4):
        state[f'Scale.layer5.conv2d_list.{i}.weight'] = torch.randn(21, WIDTH * 32, 3, 3)
        state[f'Scale.layer5.conv2d_list.{i}.bias'] = torch.randn(21)
    return state


def test_imagenet_kind(tmp_path, capsys):
    setup_device('CPU')
    state = imagenet_state_dict()
    assert any(k.endswith('num_batches_tracked') for k in state)
    torch.save(state, tmp_path / 'imagenet.pth')
    run_cli(main, parse_args(['--src', str(tmp_path / 'imagenet.pth'),
                              '--dst', str(tmp_path / 'imagenet.ckpt'), *TINY]))
    assert 'initialised 16 head tensors' in capsys.readouterr().out

    net = DeepLabV2(num_classes=NUM_CLASSES, blocks=BLOCKS, width=WIDTH)
    params = load_net_checkpoint(net, str(tmp_path / 'imagenet.ckpt'))
    np.testing.assert_array_equal(params['layer1.0.bn1.moving_mean'].asnumpy(),
                                  state['Scale.layer1.0.bn1.running_mean'].numpy())
    for head in ('layer5', 'layer6'):
        weight = params[f'{head}.conv2d_list.0.weight'].asnumpy()
        assert 0.008 < weight.std() < 0.012 and abs(weight.mean()) < 1e-3
        assert not params[f'{head}.conv2d_list.3.bias'].asnumpy().any()


def test_imagenet_missing_running_stats_is_an_error():
    state = imagenet_state_dict()
    del state['Scale.layer2.0.bn3.running_var']
    with pytest.raises(Exception, match='missing key layer2.0.bn3.moving_variance'):
        convert_state_dict(state, 'imagenet', NUM_CLASSES, BLOCKS, WIDTH)


def test_torch_missing(tmp_path, monkeypatch, capsys):
    (tmp_path / 'x.pth').write_bytes(b'')
    monkeypatch.setitem(sys.modules, 'torch', None)  # makes `import torch` raise ImportError
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, parse_args(['--src', str(tmp_path / 'x.pth'),
                                  '--dst', str(tmp_path / 'x.ckpt')]))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == f'error: {TORCH_MISSING}'


def bad_file(tmp_path, case):
    if case == 'missing':
        return tmp_path / 'absent.pth', 'absent.pth'
    state = random_torch_net().state_dict()
    if case == 'unexpected':
        state['layer7.weight'] = torch.zeros(1)
        needle = 'layer7.weight'
    else:
        state['layer4.0.conv2.weight'] = torch.zeros(WIDTH * 8, WIDTH * 8, 1, 1)
        needle = 'layer4.0.conv2.weight'
    torch.save(state, tmp_path / f'{case}.pth')
    return tmp_path / f'{case}.pth', needle


@pytest.mark.parametrize('case', ['missing', 'unexpected', 'wrong_shape'])
def test_cli_bad_input(tmp_path, case):
    src, needle = bad_file(tmp_path, case)
    result = subprocess.run(
        [sys.executable, '-m', 'weights.convert', '--src', str(src),
         '--dst', str(tmp_path / 'out.ckpt'), *TINY],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ') and needle in lines[0], lines
    assert not (tmp_path / 'out.ckpt').exists()
