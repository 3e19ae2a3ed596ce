"""The compiled graphs a process keeps for the next stage or checkpoint that needs the same
one: speed on the CPU, never other numbers. Nothing of the method is here.

On the CPU in graph mode, compiling a tiny stage's training step takes a good part of the
stage, and each new prediction cell (evaluation, pseudo labels) compiles its graph. A
pipeline (self_train.py) runs many stages and checkpoints of the same graphs in one process:
with this module each graph compiles once there (figures: docs/PERFORMANCE.md).

Training steps. `Trainer` gets its step through one call, `step_for`: a new step for its net,
or, when the pipeline runs a stage `with_kept_step(key, ...)`, the step kept under `key`,
whose nets take the new stage's weights and whose optimizer takes a new state; the trainer
then trains the kept net. The key (`compiled_step_key`, set by the pipeline) is the stage and
every setting but the INPUT_KEYS, so a constant of a graph is never taken from another
stage's, and a trainer made outside (a test's own loss) never gets a kept step.
`compile_ahead` compiles a stage's step before the stage's inputs exist (engine/schedule.py:
an idle worker does). A kept step trains bit for bit as a new one
(tests/test_train_teacher.py::test_a_kept_step_trains_as_a_new_one).

Prediction cells. `kept_predictor` (evaluation) and `kept_confidence` (pseudo labels) keep
one cell of each kind and load each new checkpoint into it; a kept cell predicts as a new one
(tests/test_pseudo_label.py::test_kept_prediction_cells_take_new_weights).
"""
import copy
from dataclasses import dataclass, field
from typing import Callable

import mindspore as ms
import yaml
from mindspore import nn, ops

from dataset.pipeline import eval_loader, iterate, train_loader
from net.deeplabv2_mindspore import build_model
from net.predict import Confidence, Predictor, TeacherEnsemble
from utils.checkpoint import load_net_checkpoint
from utils.device import default_mode, device_default, setup_device_for
from utils.distributed import init_distributed
from utils.serialization import to_plain

# ---- training steps ------------------------------------------------------------------------

# What a stage reads rather than compiles: two stages that differ in these alone (the
# pipeline's rounds: other initial weights, other pseudo labels) run the same graph.
INPUT_KEYS = (('TRAIN', 'RESTORE_FROM'), ('DATA_DIRECTORY_PSEUDO',))


def without_inputs(cfg):
    """A copy of cfg with the INPUT_KEYS empty: random initial weights, no pseudo labels."""
    cfg = copy.deepcopy(cfg)
    for *path, key in INPUT_KEYS:
        node = cfg
        for part in path:
            node = node[part]
        node[key] = ''
    return cfg


def compiled_step_key(cfg, stage):
    """The key a stage's compiled step is kept under in its process: the stage and every
    setting but the INPUT_KEYS. Anything else that differs compiles anew, so a setting that
    is a constant in the graph can never be taken from another stage's."""
    return stage + '\n' + yaml.safe_dump(to_plain(without_inputs(cfg)), sort_keys=True)


def keeps_compiled_steps(cfg):
    """Whether a process of cfg keeps the training steps it compiles: on CPU in graph mode,
    without a loss scaler. PyNative compiles nothing; a kept step holds its graph's memory for
    the life of the process, which a device's may not have room for beside the next stage's;
    a loss scaler is state of the step (its scale)."""
    mode = cfg.MODE if cfg.MODE != 'auto' else default_mode(cfg.DEVICE)
    return (cfg.DEVICE == 'CPU' and mode == 'GRAPH'
            and device_default(cfg, 'TRAIN.AMP_LEVEL') == 'O0')


@dataclass
class CompiledStep:
    """A training step and the objects its graph runs on: what a Trainer trains with."""
    net: nn.Cell
    frozen: list
    optimizer: nn.Optimizer
    train_step: Callable
    optimizer_state: dict          # {name: parameter}: the optimizer's momenta, step count
    initial_state: dict = None     # their values before the first step (a kept step's)
    predictors: dict = field(default_factory=dict)  # output (h, w) -> Predictor of net

    def adopt(self, net, frozen):
        """Take the weights of a new stage's `net` and `frozen` nets, and the optimizer's
        initial state: the kept objects now are what new ones would be. False (nothing
        changed) if the nets' parameters differ in names or shapes."""
        if len(frozen) != len(self.frozen):
            return False
        pairs = [pair for kept, new in zip([self.net, *self.frozen], [net, *frozen])
                 for pair in same_parameters(kept, new)]
        if None in pairs:
            return False
        # In place: the step, compiled with ms.jit, keeps the tensors it was compiled with
        # (utils/checkpoint.py: load_net_checkpoint).
        for kept, new in pairs:
            ops.assign(kept, new)
        for name, param in self.optimizer_state.items():
            ops.assign(param, ms.Tensor(self.initial_state[name]))
        return True


def same_parameters(kept, new):
    """(kept, new) parameter pairs of two nets of one architecture, in order; a None among
    them where names or shapes differ. A kept net's names may carry the prefix of a cell it
    was wrapped in since (a validation's Predictor: 'net.')."""
    kept_params, new_params = list(kept.get_parameters()), list(new.get_parameters())
    if len(kept_params) != len(new_params):
        return [None]
    return [(k, n) if k.name.endswith(n.name) and k.shape == n.shape else None
            for k, n in zip(kept_params, new_params)]


_KEPT = {}   # key -> CompiledStep: this process's kept steps
_key = None  # the key of the stage running now under with_kept_step


def with_kept_step(key, work, *args):
    """`work(*args)`, a stage whose trainer keeps its step under `key`, or trains on the one
    kept there. The pipeline runs its training steps so where `keeps_compiled_steps`
    (self_train.py: training_step)."""
    global _key
    outer, _key = _key, key
    try:
        return work(*args)
    finally:
        _key = outer


def step_for(net, frozen, make_step):
    """(the CompiledStep a trainer of `net` trains with, whether it was compiled before).

    Outside `with_kept_step`: `make_step()`'s new (optimizer, train_step, optimizer state)
    on `net`. Inside: the step kept under its key if there is one, its nets given the weights
    of `net` and of the `frozen` nets and its optimizer a new state, so the trainer trains the
    kept net, not `net`; else the new step, kept from now on.
    """
    kept = _KEPT.get(_key) if _key is not None else None
    if kept is not None and kept.adopt(net, frozen):
        return kept, True
    step = CompiledStep(net, list(frozen), *make_step())
    if _key is not None:
        step.initial_state = {name: p.asnumpy().copy()
                              for name, p in step.optimizer_state.items()}
        _KEPT[_key] = step
    return step, False


def compile_ahead(key, cfg, stage_trainer, *args):
    """Compile a stage's step, and its validation's prediction, in this process before the
    stage's inputs exist: `stage_trainer(cfg, *args)` without the INPUT_KEYS (`args` stand
    in for its other inputs: None for the student's teachers, untrained ones) runs one step
    on the first sample, kept under `key`. The stage, run `with_kept_step(key, ...)` in this
    process, then starts training at once (engine/schedule.py). The step run here changes the
    kept weights and optimizer state; the next trainer of the key replaces both."""
    setup_device_for(cfg)  # what a stage's start does (engine/trainer.py: start_process)
    init_distributed()
    trainer = with_kept_step(key, stage_trainer, without_inputs(cfg), *args)
    assert trainer.rank == 0 and trainer.group_size == 1
    batch = next(iterate(train_loader(trainer.streams, trainer.build,
                                      trainer.cfg.TRAIN.BATCH_SIZE_TARGET, 0, 1,
                                      trainer.cfg.TRAIN.RANDOM_SEED, trainer.cfg.NUM_WORKERS)))
    trainer.net.set_train(True)
    trainer.train_step(*[ms.Tensor(v) for v in batch.values()])[0].asnumpy()
    if trainer.val_dataset is not None:
        image = next(iterate(eval_loader(trainer.val_dataset, indices=[0])))['image']
        trainer.net.set_train(False)
        trainer.predictor()(ms.Tensor(image)).asnumpy()
        trainer.net.set_train(True)


# ---- prediction cells ----------------------------------------------------------------------

# The cells this process keeps, one of each kind (a model's and an ensemble's Predictor, a
# model's Confidence): a process that evaluates or pseudo-labels checkpoint after checkpoint
# of the same settings and size (the pipeline's steps) compiles each graph once. A cell's
# graph reads its parameters' new weights (not so a function compiled with ms.jit:
# CompiledStep.adopt).
_CELLS = {}


def kept_cell(kind, cfg, size_hw, make):
    """The cell kept for `kind` if made for the same model settings and size, else `make()`,
    kept from now on."""
    key = (repr(to_plain(cfg.MODEL)), cfg.NUM_CLASSES, tuple(size_hw))
    if _CELLS.get(kind, (None,))[0] != key:
        _CELLS[kind] = key, make()
    return _CELLS[kind][1]


def kept_predictor(cfg, checkpoints, output_hw):
    """A Predictor at `output_hw` of one checkpoint's model, or of the ensemble of several (a
    list). Its nets are those of the last call with as many checkpoints, if the settings and
    size were the same, with the new checkpoints' weights: that last predictor is now this."""
    paths = [checkpoints] if isinstance(checkpoints, str) else list(checkpoints)
    predictor = kept_cell(len(paths), cfg, output_hw, lambda: Predictor(
        build_model(cfg) if len(paths) == 1 else TeacherEnsemble(cfg, paths), output_hw))
    members = [predictor.net] if len(paths) == 1 else list(predictor.net.teachers)
    for member, path in zip(members, paths):
        load_net_checkpoint(member, path)
        member.set_train(False)
    return predictor


def kept_confidence(cfg, checkpoint, size_hw):
    """A Confidence at `size_hw` of the checkpoint's model (pseudo labels), its net that of
    the last call of the same settings and size, with the checkpoint's weights."""
    confidence = kept_cell('confidence', cfg, size_hw,
                           lambda: Confidence(build_model(cfg), size_hw))
    load_net_checkpoint(confidence.net, checkpoint)
    confidence.net.set_train(False)
    return confidence
