import mindspore as ms
import numpy as np
import pytest

from net.deeplabv2_mindspore import DeepLabV2, build_model, count_values


def test_full_net_has_released_names_and_shapes():
    net = DeepLabV2(num_classes=19)
    assert count_values(net) == (536, 44706904)
    params = {name: tuple(p.shape) for name, p in net.parameters_and_names()}
    assert params['conv1.weight'] == (64, 3, 7, 7)
    assert params['layer3.22.bn3.moving_variance'] == (1024,)
    assert params['layer4.0.downsample.0.weight'] == (2048, 1024, 1, 1)
    assert params['layer1.0.downsample.1.gamma'] == (256,)
    assert params['layer5.conv2d_list.3.weight'] == (19, 1024, 3, 3)
    assert params['layer6.conv2d_list.0.bias'] == (19,)
    assert 'layer4.3.conv1.weight' not in params


def test_output_stride_8_with_full_stem():
    net = DeepLabV2(num_classes=19, blocks=(1, 1, 1, 1), width=8)
    net.set_train(False)
    aux, main = net(ms.Tensor(np.zeros((1, 3, 512, 1024), np.float32)))
    assert aux.shape == main.shape == (1, 19, 65, 129)


@pytest.mark.parametrize('mode', [ms.GRAPH_MODE, ms.PYNATIVE_MODE])
def test_sixteen_classes_in_both_modes(mode):
    ms.set_context(mode=mode)
    try:
        net = DeepLabV2(num_classes=16, blocks=(1, 1, 1, 1), width=8)
        net.set_train(False)
        aux, main = net(ms.Tensor(np.zeros((1, 3, 64, 128), np.float32)))
        assert main.shape == (1, 16, 9, 17) and aux.shape == (1, 16, 9, 17)
    finally:
        ms.set_context(mode=ms.GRAPH_MODE)


def test_bn_affine_never_trained_and_lr_groups(tiny_cfg):
    net = build_model(tiny_cfg)
    trainable = {p.name for p in net.trainable_params()}
    assert not any(n.endswith(('.gamma', '.beta')) for n in trainable)
    heads = {p.name for p in net.head_params()}
    backbone = {p.name for p in net.backbone_params()}
    assert heads and backbone and not heads & backbone
    assert heads | backbone == trainable
    assert all(n.startswith(('layer5.', 'layer6.')) for n in heads)
    assert len(heads) == 16                      # 2 heads x 4 branches x (weight, bias)


def test_freeze_bn_uses_running_statistics_in_training(tiny_cfg):
    x = ms.Tensor(np.random.default_rng(0).normal(size=(1, 3, 64, 128)).astype(np.float32))
    outputs = {}
    for freeze in (False, True):
        tiny_cfg.TRAIN.FREEZE_BN = freeze
        ms.set_seed(0)
        net = build_model(tiny_cfg)
        net.set_train(True)
        train_out = net(x)[1].asnumpy()
        net.set_train(False)
        outputs[freeze] = np.abs(train_out - net(x)[1].asnumpy()).max()
    assert outputs[True] < 1e-5 < outputs[False]


def test_heads_start_from_normal_001():
    net = DeepLabV2(num_classes=19)
    weights = net.layer6.conv2d_list[0].weight.asnumpy()
    assert abs(weights.std() - 0.01) < 1e-3 and abs(weights.mean()) < 1e-3


@pytest.mark.parametrize('mode', [ms.GRAPH_MODE, ms.PYNATIVE_MODE])
@pytest.mark.parametrize('height, width', [(64, 128), (66, 98)])
def test_fused_aspp_equals_the_four_convolutions(mode, height, width):
    """Same logits and same gradients of every head parameter, in both modes; odd sizes too."""
    ms.set_context(mode=mode)
    try:
        rng = np.random.default_rng(height)
        x = ms.Tensor(rng.normal(size=(2, 3, height, width)).astype(np.float32))
        results = []
        for fused in (False, True):
            ms.set_seed(0)
            net = DeepLabV2(num_classes=5, blocks=(1, 1, 1, 1), width=8, fused_aspp=fused)
            for p in net.head_params():  # non-zero biases, so a lost bias term shows
                p.set_data(ms.Tensor(rng.normal(size=p.shape).astype(np.float32) * 0.1))
            rng = np.random.default_rng(height)  # the same parameters for both nets
            x = ms.Tensor(rng.normal(size=(2, 3, height, width)).astype(np.float32))
            net.set_train(False)
            params = net.head_params()

            def loss_fn(image):
                aux, main = net(image)
                return (aux ** 2).sum() + (main ** 2).sum()

            grad_fn = ms.value_and_grad(loss_fn, None, params)
            loss, grads = grad_fn(x)
            results.append(([o.asnumpy() for o in net(x)], [g.asnumpy() for g in grads]))
        (plain_out, plain_grads), (fused_out, fused_grads) = results
        for a, b in zip(plain_out + plain_grads, fused_out + fused_grads):
            assert a.shape == b.shape
            assert np.abs(a - b).max() <= 1e-5 * np.abs(a).max()
    finally:
        ms.set_context(mode=ms.GRAPH_MODE)
