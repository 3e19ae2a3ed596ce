"""Stage 2: the distillation loss, frozen teachers, and a distilled student on generated data."""
import os

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from conftest import TINY_CFG, one_line_error, run_script
from dataset import pipeline
from dataset.build import target_unlabeled_dataset
from distill import distill_loss
from net.predict import load_model
from net.deeplabv2_mindspore import build_model
from utils.checkpoint import load_net_checkpoint, save_checkpoint
from engine.trainer import Trainer


class FixedLogits(nn.Cell):
    """A stand-in net: (aux, main) logits are fixed linear maps of the image's channels."""

    def __init__(self, scale_aux, scale_main):
        super().__init__()
        self.scale_aux, self.scale_main = scale_aux, scale_main

    def construct(self, image):
        return image * self.scale_aux, image * self.scale_main


def whole_loss(parts, columns=('image_trg', 'label_trg', 'image_unl')):
    """The sum of a stage's loss parts as one function of the whole batch."""
    positions = [[columns.index(c) for c in part.columns] for part in parts]

    def forward(*batch):
        total, terms = 0.0, ()
        # plain loops: MindSpore compiles this function for value_and_grad
        for part, where in zip(parts, positions):
            inputs = [batch[i] for i in where]
            if part.prepare is not None:
                inputs = part.prepare(*inputs)
            loss, part_terms = part.fn(*inputs)
            total, terms = total + loss, terms + part_terms
        return total, terms
    return forward


def log_softmax(x, axis=1):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def hand_ce(logits, label):
    valid = label != 255
    logp = log_softmax(logits)
    picked = np.take_along_axis(logp, np.where(valid, label, 0)[:, None], axis=1)[:, 0]
    return -(picked * valid).sum() / valid.sum()


def hand_kl(student, teacher_prob, t, t_squared=True):
    logq = log_softmax(student / t)
    kl = (teacher_prob * (np.log(teacher_prob) - logq)).sum(axis=1).mean()
    return kl * t * t if t_squared else kl


@pytest.mark.parametrize('t_squared', [True, False])
def test_distillation_loss_equals_hand_computation(tiny_cfg, t_squared):
    rng = np.random.default_rng(0)
    tiny_cfg.TRAIN.KL_T, tiny_cfg.TRAIN.KL_T_SQUARED = 2.0, t_squared
    classes, h, w = 4, 3, 5
    image_trg = rng.normal(size=(1, classes, h, w)).astype(np.float32)
    image_unl = rng.normal(size=(1, classes, h, w)).astype(np.float32)
    label = rng.integers(0, classes, (1, h, w)).astype(np.int32)
    label[0, 0, :3] = 255                                   # ignored pixels
    student = FixedLogits(1.5, 2.0)
    teachers = [FixedLogits(0.5, -1.0), FixedLogits(3.0, 0.7)]
    forward = whole_loss(distill_loss(student, teachers, tiny_cfg))
    loss, terms = forward(ms.Tensor(image_trg), ms.Tensor(label), ms.Tensor(image_unl))

    t = 2.0
    soft = [lambda x, s=s: np.exp(log_softmax(x * s / t)) for s in (0.5, 3.0, -1.0, 0.7)]
    prob_aux = (soft[0](image_unl) + soft[1](image_unl)) / 2
    prob_main = (soft[2](image_unl) + soft[3](image_unl)) / 2
    ce_main, ce_aux = hand_ce(image_trg * 2.0, label), hand_ce(image_trg * 1.5, label)
    kl_main = hand_kl(image_unl * 2.0, prob_main, t, t_squared)
    kl_aux = hand_kl(image_unl * 1.5, prob_aux, t, t_squared)
    expected = (1.0 * (ce_main + 0.1 * ce_aux)) + 0.5 * (kl_main + 0.1 * kl_aux)
    np.testing.assert_allclose([float(v.asnumpy()) for v in terms],
                               [ce_main, ce_aux, kl_main, kl_aux], rtol=1e-5, atol=1e-5)
    assert float(loss.asnumpy()) == pytest.approx(expected, rel=1e-5)


class ConstantLogits(nn.Cell):
    """(aux, main) logits that ignore the image: fixed arrays at a coarser grid than it."""

    def __init__(self, aux, main):
        super().__init__()
        self.aux, self.main = ms.Tensor(aux), ms.Tensor(main)

    def construct(self, image):
        return self.aux, self.main


def test_kl_at_input_resolution_upsamples_both_sides(tiny_cfg):
    """KL_RESOLUTION=input: teacher and student logits are upsampled (bilinear, corners
    aligned, as the CE terms) to the image's size before the softmax; checked against torch."""
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(3)
    tiny_cfg.TRAIN.KL_T, tiny_cfg.TRAIN.KL_RESOLUTION = 1.5, 'input'
    logits = [rng.normal(size=(1, 4, 3, 5)).astype(np.float32) for _ in range(6)]
    student = ConstantLogits(logits[0], logits[1])
    teachers = [ConstantLogits(logits[2], logits[3]), ConstantLogits(logits[4], logits[5])]
    image = np.zeros((1, 3, 9, 17), np.float32)
    part = distill_loss(student, teachers, tiny_cfg)[1]
    _, (kl_main, kl_aux) = part.fn(*part.prepare(ms.Tensor(image)))

    def up(x):
        return torch.nn.functional.interpolate(torch.tensor(x), size=(9, 17), mode='bilinear',
                                               align_corners=True).numpy()
    t = 1.5
    for head, got in ((1, kl_main), (0, kl_aux)):
        prob = sum(np.exp(log_softmax(up(logits[2 + 2 * k + head]) / t)) for k in (0, 1)) / 2
        assert float(got.asnumpy()) == pytest.approx(hand_kl(up(logits[head]), prob, t),
                                                     rel=1e-5)


@pytest.fixture
def untrained_teachers(tiny_cfg, tmp_path):
    """Two checkpoints of randomly initialised tiny nets: teachers whose predictions do not
    matter to a test."""
    paths = []
    for seed, name in ((1, 'teacher_rl'), (2, 'teacher_sl')):
        ms.set_seed(seed)
        paths.append(str(tmp_path / f'{name}.ckpt'))
        save_checkpoint(paths[-1], build_model(tiny_cfg))
    return paths


@pytest.fixture(scope='module')
def teachers(generated, tmp_path_factory):
    """Two briefly trained tiny teachers on the generated data."""
    _, data_cfg = generated
    out = tmp_path_factory.mktemp('teachers')
    paths = {}
    for mix in ('region', 'sample'):
        result = run_script('train_teacher.py', '--mix', mix, '--cfg', TINY_CFG, data_cfg,
                            '--out_dir', out / mix, '--opts', 'TRAIN.EARLY_STOP=20',
                            'TRAIN.MAX_ITERS=20', 'TRAIN.EVAL_EVERY=0')
        assert result.returncode == 0, result.stderr[-2000:]
        paths[mix] = str(out / mix / 'final.ckpt')
    return paths['region'], paths['sample']


@pytest.mark.e2e
def test_no_gradient_reaches_the_teachers(generated, untrained_teachers, tmp_path, pynative):
    from config import get_cfg
    cfg = get_cfg([TINY_CFG, generated[1]], ['TRAIN.EARLY_STOP=3', 'TRAIN.MAX_ITERS=3'])
    frozen = [load_model(cfg, path, frozen_as=name)
              for path, name in zip(untrained_teachers, ('teacher_rl', 'teacher_sl'))]
    before = [{p.name: p.asnumpy().copy() for p in t.get_parameters()} for t in frozen]
    student = build_model(cfg)
    parts = distill_loss(student, frozen, cfg)
    forward = whole_loss(parts)
    rng = np.random.default_rng(1)
    batch = (ms.Tensor(rng.normal(size=(1, 3, 64, 128)).astype(np.float32)),
             ms.Tensor(rng.integers(0, 19, (1, 64, 128)).astype(np.int32)),
             ms.Tensor(rng.normal(size=(1, 3, 64, 128)).astype(np.float32)))
    teacher_params = [p for t in frozen for p in t.get_parameters() if 'conv' in p.name]
    assert not any(p.requires_grad for t in frozen for p in t.get_parameters())
    _, grads = ms.value_and_grad(forward, None, teacher_params, has_aux=True)(*batch)
    assert all(np.abs(g.asnumpy()).max() == 0 for g in grads)

    trainer = Trainer(cfg, student, parts, {}, pipeline.distill_sample, str(tmp_path),
                      'student')
    trained_ids = {id(p) for p in trainer.optimizer.parameters}
    assert not trained_ids & {id(p) for t in frozen for p in t.get_parameters()}
    for _ in range(3):
        trainer.train_step(*batch)
    for teacher, saved in zip(frozen, before):
        for p in teacher.get_parameters():
            np.testing.assert_array_equal(p.asnumpy(), saved[p.name])


def agreement_with_ensemble(cfg, student_path, teacher_paths, dataset):
    """Share of pixels where the student's argmax equals the teachers' mean-softmax argmax."""
    student = build_model(cfg)
    if student_path:
        load_net_checkpoint(student, student_path)
    student.set_train(False)
    frozen = [load_model(cfg, p, frozen_as=n) for p, n in zip(teacher_paths, ('t_rl', 't_sl'))]
    agree = []
    for index in range(len(dataset)):
        image = ms.Tensor(dataset[index][0][None])
        prob = sum(ms.ops.softmax(t(image)[1], axis=1) for t in frozen)
        agree.append((student(image)[1].argmax(1) == prob.argmax(1)).asnumpy().mean())
    return float(np.mean(agree))


@pytest.mark.e2e
def test_student_agrees_more_with_the_teachers_after_training(generated, teachers, tmp_path):
    from config import get_cfg
    _, data_cfg = generated
    out = tmp_path / 'student'
    result = run_script('distill.py', '--teacher_rl', teachers[0], '--teacher_sl', teachers[1],
                        '--cfg', TINY_CFG, data_cfg, '--out_dir', out, '--opts',
                        'TRAIN.EARLY_STOP=20', 'TRAIN.MAX_ITERS=20', 'TRAIN.EVAL_EVERY=0')
    assert result.returncode == 0, result.stderr[-2000:]
    cfg = get_cfg([TINY_CFG, data_cfg])
    ms.set_seed(cfg.TRAIN.RANDOM_SEED)            # the student's initialisation in distill.py
    dataset = target_unlabeled_dataset(cfg)
    before = agreement_with_ensemble(cfg, None, teachers, dataset)
    after = agreement_with_ensemble(cfg, str(out / 'final.ckpt'), teachers, dataset)
    assert after > before + 0.1, (before, after)


@pytest.mark.e2e
def test_bad_teachers(generated, untrained_teachers, tmp_path, tiny_cfg):
    teachers = untrained_teachers
    _, data_cfg = generated
    base = ['--cfg', TINY_CFG, data_cfg, '--out_dir', tmp_path / 'out', '--opts',
            'TRAIN.EARLY_STOP=2', 'TRAIN.MAX_ITERS=2', 'TRAIN.EVAL_EVERY=0']
    one_line_error(run_script('distill.py', '--teacher_rl', tmp_path / 'none.ckpt',
                              '--teacher_sl', teachers[1], *base), 'none.ckpt')
    net16 = build_model(tiny_cfg, num_classes=16)
    save_checkpoint(str(tmp_path / 'c16.ckpt'), net16)
    one_line_error(run_script('distill.py', '--teacher_rl', teachers[0],
                              '--teacher_sl', tmp_path / 'c16.ckpt', *base), 'c16.ckpt', '16')
    tiny_cfg.MODEL.BLOCKS = (1, 2, 1, 1)
    save_checkpoint(str(tmp_path / 'deeper.ckpt'), build_model(tiny_cfg))
    one_line_error(run_script('distill.py', '--teacher_rl', tmp_path / 'deeper.ckpt',
                              '--teacher_sl', teachers[1], *base), 'layer2.1')
    same = run_script('distill.py', '--teacher_rl', teachers[0], '--teacher_sl', teachers[0],
                      *base)
    assert same.returncode == 0, same.stderr[-2000:]
    assert 'warning: two teachers are' in same.stdout
    assert os.path.isfile(tmp_path / 'out' / 'final.ckpt')


def test_the_teachers_are_the_list_of_train_teachers(tiny_cfg):
    """--teachers in TRAIN.TEACHERS' order, or the paper's two by name; the student may start
    from any of them."""
    import argparse
    from distill import student_init_of, teachers_of
    from utils.errors import ConfigError

    def args(teachers=None, rl=None, sl=None):
        return argparse.Namespace(teachers=teachers, teacher_rl=rl, teacher_sl=sl)

    assert teachers_of(tiny_cfg, args(rl='a', sl='b')) == {'teacher_rl': 'a', 'teacher_sl': 'b'}
    assert teachers_of(tiny_cfg, args(['a', 'b'])) == {'teacher_rl': 'a', 'teacher_sl': 'b'}
    tiny_cfg.TRAIN.TEACHERS = ['region', 'sample', 'class']
    three = teachers_of(tiny_cfg, args(['a', 'b', 'c']))
    assert three == {'teacher_rl': 'a', 'teacher_sl': 'b', 'teacher_cl': 'c'}
    with pytest.raises(ConfigError, match='--teachers: 2 checkpoints for the 3 teachers'):
        teachers_of(tiny_cfg, args(['a', 'b']))
    with pytest.raises(ConfigError, match=r'teachers of TRAIN.TEACHERS \(region, sample, class\)'):
        teachers_of(tiny_cfg, args(rl='a', sl='b'))
    tiny_cfg.TRAIN.STUDENT_INIT = 'teacher_cl'
    assert student_init_of(tiny_cfg, three) == 'c'
    tiny_cfg.TRAIN.STUDENT_INIT = 'teacher_xl'
    with pytest.raises(ConfigError, match="TRAIN.STUDENT_INIT must be one of imagenet, "
                                          "teacher_rl, teacher_sl, teacher_cl"):
        student_init_of(tiny_cfg, three)
    tiny_cfg.TRAIN.TEACHERS = ['region', 'cutout']
    with pytest.raises(ConfigError, match='TRAIN.TEACHERS: unknown mixing cutout'):
        teachers_of(tiny_cfg, args(['a', 'b']))


class MainOnly(nn.Cell):
    """A stand-in net without an aux head (SegFormer's outputs): (None, main logits)."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def construct(self, image):
        return None, image * self.scale


@pytest.mark.parametrize('resolution', ['logits', 'input'])
def test_nets_without_an_aux_head_distil_their_one_head(tiny_cfg, resolution):
    """The aux terms are 0 and the loss is the main head's alone, with the teachers'
    ensemble of one head too."""
    rng = np.random.default_rng(1)
    tiny_cfg.TRAIN.KL_T, tiny_cfg.TRAIN.KL_RESOLUTION = 2.0, resolution
    image_trg, image_unl = (rng.normal(size=(1, 4, 3, 5)).astype(np.float32) for _ in range(2))
    label = rng.integers(0, 4, (1, 3, 5)).astype(np.int32)
    forward = whole_loss(distill_loss(MainOnly(2.0), [MainOnly(-1.0), MainOnly(0.7)],
                                      tiny_cfg))
    loss, terms = forward(ms.Tensor(image_trg), ms.Tensor(label), ms.Tensor(image_unl))
    prob_main = (np.exp(log_softmax(image_unl * -1.0 / 2)) +
                 np.exp(log_softmax(image_unl * 0.7 / 2))) / 2
    ce_main, kl_main = hand_ce(image_trg * 2.0, label), hand_kl(image_unl * 2.0, prob_main, 2.0)
    np.testing.assert_allclose([float(v.asnumpy()) for v in terms], [ce_main, 0, kl_main, 0],
                               rtol=1e-5, atol=1e-6)
    assert float(loss.asnumpy()) == pytest.approx(ce_main + 0.5 * kl_main, rel=1e-5)
