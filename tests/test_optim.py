"""DAFormer's recipe (TRAIN.OPTIMIZER adamw, TRAIN.WARMUP_ITERS): engine/optim.py's AdamW and
warm-up against torch.optim.AdamW under mmcv's warm-up rule, and the groups build_optimizer
makes of a SegFormer."""
import mindspore as ms
import numpy as np
import pytest
import torch
from mindspore import nn

from engine.optim import WARMUP_START, AdamW, LinearWarmup
from engine.trainer import build_optimizer
from net.deeplabv2_mindspore import build_model

MAX_ITERS, WARMUP = 10, 3


def mmcv_lr(base, i):
    """mmcv's poly schedule (power 1) under its linear warm-up, as DAFormer sets them."""
    factor = WARMUP_START + (1 - WARMUP_START) * i / WARMUP if i < WARMUP else 1.0
    return base * (1 - i / MAX_ITERS) * factor


@pytest.mark.parametrize('mode', ['PYNATIVE', 'GRAPH'])
def test_adamw_with_warmup_takes_torchs_steps(mode):
    """Five steps on three parameters in two groups (one without weight decay): the weights
    equal torch.optim.AdamW's with the same learning rate at every step."""
    rng = np.random.default_rng(0)
    initial = [rng.normal(size=shape).astype(np.float32) for shape in ((3, 4), (4,), (2,))]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in initial] for _ in range(5)]
    bases, decays = (1e-2, 1e-1), (0.01, 0.0)

    params = [ms.Parameter(ms.Tensor(w.copy()), name=f'p{i}') for i, w in enumerate(initial)]
    optimizer = AdamW([{'params': group, 'weight_decay': decay,
                        'lr': LinearWarmup(nn.PolynomialDecayLR(base, 0.0, MAX_ITERS, 1.0),
                                           WARMUP)}
                       for group, base, decay in zip((params[:2], params[2:]), bases, decays)])

    def step(gradients):
        return optimizer(gradients)

    step = ms.jit(step) if mode == 'GRAPH' else step
    twins = [torch.nn.Parameter(torch.tensor(w.copy())) for w in initial]
    reference = torch.optim.AdamW([{'params': group, 'weight_decay': decay, 'lr': base}
                                   for group, base, decay in zip((twins[:2], twins[2:]), bases,
                                                                 decays)])
    for i, grad in enumerate(grads):
        step(tuple(ms.Tensor(g) for g in grad))
        for group, base in zip(reference.param_groups, bases):
            group['lr'] = mmcv_lr(base, i)
        for twin, g in zip(twins, grad):
            twin.grad = torch.tensor(g)
        reference.step()
    for param, twin, start in zip(params, twins, initial):
        moved = np.abs(twin.detach().numpy() - start).max()
        assert moved > 1e-3
        assert np.abs(param.asnumpy() - twin.detach().numpy()).max() <= 1e-5 * moved


def test_a_segformer_trains_as_daformer(tiny_cfg):
    """Heads at 10x, no weight decay on the encoder's norms, the warm-up then poly power 1."""
    tiny_cfg.MODEL.ARCH = 'mit_tiny'
    tiny_cfg.TRAIN.OPTIMIZER, tiny_cfg.TRAIN.WARMUP_ITERS = 'adamw', WARMUP
    tiny_cfg.TRAIN.LEARNING_RATE, tiny_cfg.TRAIN.WEIGHT_DECAY = 6e-5, 0.01
    tiny_cfg.TRAIN.MAX_ITERS, tiny_cfg.TRAIN.POWER = MAX_ITERS, 1.0
    net = build_model(tiny_cfg)
    optimizer = build_optimizer(tiny_cfg, net)
    assert isinstance(optimizer, AdamW)
    decay = dict(zip((p.name for p in optimizer.parameters), optimizer.weight_decay))
    norms = {p.name for p in net.backbone_params() if '.norm' in p.name}
    assert norms and len(norms) == len([n for n in decay if 'norm' in n])
    for name, value in decay.items():
        assert float(value.asnumpy()) == pytest.approx(0.0 if name in norms else 0.01), name
    for i in (0, 1, WARMUP, 7):
        step = ms.Tensor(i, ms.int32)
        for param, base in ((net.backbone_params()[0], 6e-5), (net.head_params()[0], 6e-4)):
            lr = float(optimizer.get_lr_parameter(param)(step).asnumpy())
            assert lr == pytest.approx(mmcv_lr(base, i), rel=1e-5), (i, param.name)


def test_sgd_stays_the_papers(tiny_cfg):
    assert tiny_cfg.TRAIN.OPTIMIZER == 'sgd' and tiny_cfg.TRAIN.WARMUP_ITERS == 0
    assert isinstance(build_optimizer(tiny_cfg, build_model(tiny_cfg)), nn.SGD)
