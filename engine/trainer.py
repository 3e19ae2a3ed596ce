"""The one training loop of every stage (teachers, student, baselines).

A stage hands the loop its net, its loss parts (each asks for batch columns by name and names
the loss terms it returns) and its data: the streams and the sample builder of
dataset/pipeline.py. The loop owns the rest: the loader (resumed at its step, sharded over
this process's rank), SGD or AdamW with the 1x/10x parameter groups and poly schedule, the compiled
step, mixed precision, data parallelism, checkpoints (atomic, newest K kept, resumable),
validation with the best checkpoint kept, the JSONL log and the progress bar.

    out_dir/config.yaml          the effective config
    out_dir/log.jsonl            {"iteration", "lr", "sec_per_iter", "data_wait", <terms>},
                                 {"iteration", "val"}, and last {"iteration", "seconds"}: where
                                 the run's time went (the first, compiling step alone); data_wait
                                 is the share of the wall time since the last record spent
                                 waiting for the next batch
    out_dir/checkpoints/iter_NNNNNN.ckpt
    out_dir/final.ckpt, out_dir/best.ckpt

A run counts as finished when final.ckpt reads whole, of its stage, at EARLY_STOP; else it
resumes from its newest readable periodic checkpoint. Claiming the folder (one run at a time,
the same stage and settings) is the stage's part: engine/run_dir.py.
"""
import copy
import glob
import json
import os
import re
import time

import mindspore as ms
import yaml
from mindspore import nn, ops
from tqdm import tqdm

from dataset.build import val_dataset
from dataset.pipeline import RandomCrops, columns_of, iterate, train_loader
from engine.compiled_steps import step_for
from engine.evaluation import evaluate
from engine.optim import AdamW, LinearWarmup
from engine.run_dir import check_writable
from net.deeplabv2_mindspore import build_model
from net.predict import Predictor
from utils.checkpoint import (DISCRIMINATOR_PREFIX, final_checkpoint_problem,
                              load_net_checkpoint, named_parameters, non_finite,
                              read_checkpoint, save_checkpoint)
from utils.device import device_default, pinned_core, setup_device_for
from utils.distributed import barrier, current_rank, grad_reducer, init_distributed
from utils.errors import CheckpointError, ConfigError, OutputError, TrainingError
from utils.func import primary_metric
from utils.serialization import atomic_write_text, dump_cfg, to_plain, leftover_temporaries


# With a loss scaler, a step whose gradients overflow is skipped and the scale halved (from
# 2**16, down to 1: 16 halvings); this many non-finite steps in a row are not the scale's doing.
SKIPPED_STEPS_LIMIT = 32


class LossPart:
    """One summand of a stage's loss: `fn(*inputs) -> (loss, terms)`, whose terms are named
    `terms` in the log.

    The inputs are the batch's `columns` (by name), passed through `prepare` if given.
    `prepare` runs outside the gradient computation, so what it computes (the frozen
    teachers' predictions) keeps no activations for a backward pass: traced inside `fn`,
    PyNative records every op for the backward whether a gradient will flow or not.

    `outputs`: names of tensors fn returns after its terms, `(loss, terms, outputs)`, without
    gradient: columns the later parts of the step can ask for (AdaptSeg's predictions, which
    its discriminators learn from). `optimizer`: the part trains the parameters of this
    optimizer, not the net (AdaptSeg's discriminators); its loss is left out of the step's
    `loss` (its terms are logged), and the optimizer's parameters and state are saved with
    the checkpoints as training state (DISCRIMINATOR_PREFIX).
    """

    def __init__(self, fn, columns, terms, prepare=None, outputs=(), optimizer=None):
        self.fn = fn
        self.columns = tuple(columns)
        self.terms = tuple(terms)
        self.prepare = prepare
        self.outputs = tuple(outputs)
        self.optimizer = optimizer


def add_grads(a, b):
    return tuple(x + y for x, y in zip(a, b))


def poly_lr(base_lr, cfg):
    """lr_i = base_lr * (1 - i / MAX_ITERS) ** POWER (training stops earlier, at EARLY_STOP);
    with TRAIN.WARMUP_ITERS, warmed up linearly over the first steps (engine/optim.py)."""
    poly = nn.PolynomialDecayLR(base_lr, 0.0, cfg.TRAIN.MAX_ITERS, cfg.TRAIN.POWER)
    return LinearWarmup(poly, cfg.TRAIN.WARMUP_ITERS) if cfg.TRAIN.WARMUP_ITERS else poly


def schedule_for_devices(cfg, group_size):
    """The config a run of `group_size` data-parallel devices trains with, and a line saying so.

    The paper trains batch 1 source + 1 target on one GPU. On N devices every step sees N
    times the images; TRAIN.MULTI_DEVICE same_steps keeps the paper's step counts (and so its
    learning-rate schedule per step, with N-image gradients), same_images divides the step
    counts (MAX_ITERS, EARLY_STOP, SAVE_PRED_EVERY, EVAL_EVERY) by N, so the run sees the
    paper's number of images in N times fewer, larger steps.
    """
    if group_size == 1:
        return cfg, None
    train = cfg.TRAIN
    if train.MULTI_DEVICE == 'same_images':
        cfg = copy.deepcopy(cfg)
        train = cfg.TRAIN
        for key in ('MAX_ITERS', 'EARLY_STOP', 'SAVE_PRED_EVERY', 'EVAL_EVERY'):
            train[key] = max(1, train[key] // group_size) if train[key] else 0
    note = (f'{group_size} devices, TRAIN.MULTI_DEVICE={train.MULTI_DEVICE}: {train.EARLY_STOP} '
            f'steps of {group_size} x the per-device batch')
    return cfg, note


def build_optimizer(cfg, net):
    """The heads learn 10x faster than the backbone. TRAIN.OPTIMIZER sgd: SGD with momentum
    (the paper's); adamw: DAFormer's AdamW, without weight decay on the backbone's norms
    (mmsegmentation's rule: the parameters whose names hold `norm`)."""
    train = cfg.TRAIN
    backbone, heads = net.backbone_params(), net.head_params()
    if train.OPTIMIZER == 'sgd':
        groups = [{'params': backbone, 'lr': poly_lr(train.LEARNING_RATE, cfg)},
                  {'params': heads, 'lr': poly_lr(10 * train.LEARNING_RATE, cfg)}]
        return nn.SGD(groups, learning_rate=train.LEARNING_RATE, momentum=train.MOMENTUM,
                      weight_decay=train.WEIGHT_DECAY)
    norms = [p for p in backbone if 'norm' in p.name]
    groups = [{'params': [p for p in backbone if 'norm' not in p.name],
               'lr': poly_lr(train.LEARNING_RATE, cfg), 'weight_decay': train.WEIGHT_DECAY},
              {'params': heads, 'lr': poly_lr(10 * train.LEARNING_RATE, cfg),
               'weight_decay': train.WEIGHT_DECAY}]
    if norms:
        groups.append({'params': norms, 'lr': poly_lr(train.LEARNING_RATE, cfg),
                       'weight_decay': 0.0})
    return AdamW(groups)


def amp_level(cfg):
    return device_default(cfg, 'TRAIN.AMP_LEVEL')


def use_jit(cfg):
    # On the CPU a full-size teacher step at 256x512 took longer with ms.jit around the whole
    # step than without (docs/PERFORMANCE.md); on Ascend the whole step is compiled, so it
    # runs on the device as one graph.
    return device_default(cfg, 'TRAIN.JIT_STEP') == 'on'


def start_process(cfg):
    """The device of a training process, and its data-parallel group when launched in one."""
    setup_device_for(cfg)
    init_distributed()


def new_net(cfg, init_from):
    """A DeepLab-v2 of cfg with the weights of `init_from` ('' = random: the same on every
    rank and rerun, from TRAIN.RANDOM_SEED)."""
    ms.set_seed(cfg.TRAIN.RANDOM_SEED)
    net = build_model(cfg)
    init_weights(net, init_from)
    return net


def optimizer_state(optimizer, net, parts=()):
    """{'optimizer.NAME': parameter} of what the optimizer holds besides the net's weights
    (momenta, its step count), and {'discriminator.NAME': parameter} of what the optimizer
    of a part holds (its parameters too)."""
    net_ids = {id(p) for p in net.get_parameters()}
    state = {f'optimizer.{name}': p for name, p in optimizer.parameters_and_names()
             if id(p) not in net_ids}
    for part in parts:
        if part.optimizer is not None:
            state.update({f'{DISCRIMINATOR_PREFIX}{name}': p
                          for name, p in part.optimizer.parameters_and_names()})
    return state


class Trainer:
    """Trains `net` on the samples `build` makes from `streams`, with the loss `parts`, from
    the last checkpoint on; validates every TRAIN.EVAL_EVERY steps when that is set.

    `frozen`: the other nets the parts compute with (the student's teachers).
    """

    def __init__(self, cfg, net, parts, streams, build, out_dir, stage, log=print, frozen=()):
        self.rank, self.group_size = current_rank()
        cfg, devices_note = schedule_for_devices(cfg, self.group_size)
        self.cfg, self.stage = cfg, stage
        self.streams = streams
        self.build = RandomCrops(build, cfg.TRAIN.CROP_SIZE) if cfg.TRAIN.CROP_SIZE[0] else build
        self.columns = columns_of(build)
        self.term_names = tuple(term for part in parts for term in part.terms)
        self.out_dir = out_dir
        self.ckpt_dir = out_dir and os.path.join(out_dir, 'checkpoints')
        self.val_dataset = val_dataset(cfg) if cfg.TRAIN.EVAL_EVERY else None
        self.log = log if self.rank == 0 else (lambda *a, **k: None)
        self.best = float('-inf')
        if devices_note:
            self.log(f'[{stage}] {devices_note}')
        self.iteration = 0  # the last finished step, for the message of an interrupt
        self.skipped = 0    # non-finite steps in a row (a loss scaler skips them)
        if out_dir is not None and self.rank == 0:  # None: a trainer that only compiles
            check_writable(out_dir)
        level = amp_level(cfg)
        # Mixed precision scales the loss, skipping the steps whose gradients overflow.
        self.scaler = ms.amp.DynamicLossScaler(2.0 ** 16, 2, 1000) if level != 'O0' else None
        self.scaled = self.scaler is not None
        # The net trained, self.net, is `net`, except in a pipeline that keeps compiled steps:
        # there it may be the net of a step compiled before for the same graph, given the
        # weights of `net` and `frozen` (engine/compiled_steps.py: step_for).
        step, self.reused = step_for(net, frozen, lambda: self._new_step(net, parts))
        self.net, self.optimizer, self.train_step = step.net, step.optimizer, step.train_step
        self.predictors = step.predictors
        self.trained_state = step.optimizer_state  # of the step's own optimizers (a kept one's)

    def _new_step(self, net, parts):
        """(optimizer, step, the optimizer's state) of a new step that trains `net`."""
        level = amp_level(self.cfg)
        if level != 'O0':
            ms.amp.auto_mixed_precision(net, level)
        self.optimizer = build_optimizer(self.cfg, net)
        return (self.optimizer, self._build_step(parts),
                optimizer_state(self.optimizer, net, parts))

    def _build_step(self, parts):
        """The step: gradients of each loss part, summed per optimizer (the net's, a part's
        own), averaged over ranks, applied once every part's are computed; it returns the
        net's loss, the terms and whether both the loss and the gradients were finite.

        Each part's backward pass runs before the next part's forward, so a step on two images
        (the sample-level teacher, the student) peaks at the memory of one image's step. The
        parts' losses are sums, so their gradients add up to those of the whole loss.
        """
        # Which optimizer applies each part's gradients: only to its own parameters.
        owners = [part.optimizer or self.optimizer for part in parts]
        optimizers = list(dict.fromkeys(owners))
        slots = [optimizers.index(owner) for owner in owners]
        positions, available = [], list(self.columns)
        for part in parts:
            missing = [c for c in part.columns if c not in available]
            if missing:
                raise ConfigError(f'[{self.stage}] a loss part asks for the columns {missing}; '
                                  f'the samples have {self.columns}')
            positions.append([available.index(c) for c in part.columns])
            available += part.outputs
        reducers = [grad_reducer(o.parameters, self.group_size) for o in optimizers]
        scaler = self.scaler

        def scaled(fn):
            def forward(*inputs):
                result = fn(*inputs)
                return ((scaler.scale(result[0]) if scaler else result[0]),) + result[1:]
            return forward

        grad_fns = [ms.value_and_grad(scaled(part.fn), None, owner.parameters, has_aux=True)
                    for part, owner in zip(parts, owners)]

        def train_step(*batch):
            loss, terms, columns = 0.0, (), list(batch)
            grads = [None] * len(optimizers)
            for part, where, grad_fn, slot in zip(parts, positions, grad_fns, slots):
                inputs = [columns[i] for i in where]
                if part.prepare is not None:
                    inputs = part.prepare(*inputs)
                result, part_grads = grad_fn(*inputs)
                if part.optimizer is None:
                    loss = loss + result[0]
                terms = terms + tuple(result[1])
                if part.outputs:
                    columns = columns + list(result[2])
                grads[slot] = part_grads if grads[slot] is None else add_grads(grads[slot],
                                                                               part_grads)
            grads = [reduce(g) for reduce, g in zip(reducers, grads)]
            if scaler is not None:
                loss, grads = scaler.unscale(loss), [scaler.unscale(g) for g in grads]
            finite = ms.amp.all_finite(grads[0])
            for more in grads[1:]:
                finite = ops.logical_and(finite, ms.amp.all_finite(more))
            if scaler is not None:
                scaler.adjust(finite)
            if scaler is None or finite:
                for optimizer, optimizer_grads in zip(optimizers, grads):
                    loss = ops.depend(loss, optimizer(optimizer_grads))
            return loss, terms, ops.logical_and(finite, ops.isfinite(loss))

        return ms.jit(train_step) if use_jit(self.cfg) else train_step

    def learning_rates(self, iteration):
        """(backbone lr, heads lr) the optimizer applies at `iteration` (0-based)."""
        step = ms.Tensor(iteration, ms.int32)
        return tuple(float(self.optimizer.get_lr_parameter(group[0])(step).asnumpy())
                     for group in (self.net.backbone_params(), self.net.head_params()))

    # ---- checkpoints -------------------------------------------------------------------
    def optimizer_state(self):
        """The optimizer's state, the parts' own (AdaptSeg's discriminators) and the loss
        scaler's (its scale, its count of finite steps): a resumed run goes on with all."""
        state = dict(self.trained_state)
        if self.scaler is not None:
            state.update({f'optimizer.loss_scale.{p.name}': p
                          for p in (self.scaler.scale_value, self.scaler.counter)})
        return state

    def save(self, path, iteration):
        # A step of finite gradients may still overflow the weights (a huge learning rate):
        # no checkpoint is written but of finite ones. On every rank, which hold the same; on
        # the host, where the checkpoint is written from (ms.amp.all_finite would compile a
        # graph of every parameter in each new process).
        if non_finite(named_parameters(self.net)):
            raise self.diverged(f'the weights are not finite at iteration {iteration}')
        if self.rank != 0:
            return
        meta = {'iteration': iteration, 'stage': self.stage, 'best': float(self.best),
                'cfg': yaml.safe_dump(to_plain(self.cfg), sort_keys=False)}
        save_checkpoint(path, self.net, self.optimizer_state(), meta)

    def periodic_checkpoints(self):
        """(iteration, path) of the periodic checkpoints, newest first."""
        found = []
        for path in glob.glob(os.path.join(self.ckpt_dir, 'iter_*.ckpt')):
            match = re.fullmatch(r'iter_(\d+)\.ckpt', os.path.basename(path))
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found, reverse=True)

    def save_periodic(self, iteration):
        self.save(os.path.join(self.ckpt_dir, f'iter_{iteration:06d}.ckpt'), iteration)
        if self.rank == 0:
            for _, old in self.periodic_checkpoints()[self.cfg.TRAIN.KEEP_CHECKPOINTS:]:
                os.remove(old)

    def restore(self, path):
        params = read_checkpoint(path)
        stage = params.get('meta.stage')
        if stage is not None and stage != self.stage:  # not this run's: never train over it
            raise OutputError(f'{path} is a {stage} checkpoint, not {self.stage}: use another '
                              f'--out_dir')
        load_net_checkpoint(self.net, path, params, in_place=True)
        state = self.optimizer_state()
        saved = {k for k in params if k.startswith(('optimizer.', DISCRIMINATOR_PREFIX))}
        if saved != set(state) or any(tuple(params[k].shape) != tuple(p.shape)
                                      for k, p in state.items()):
            raise CheckpointError(f'{path}: optimizer state does not match '
                                  f'({len(saved)} of {len(state)} tensors)')
        for name, param in state.items():  # in place, as the net's (a reused step)
            ops.assign(param, params[name])
        self.best = float(params['meta.best'].asnumpy()) if 'meta.best' in params else self.best
        return int(params['meta.iteration'].asnumpy())

    def resume(self):
        """The iteration to start from: the newest readable checkpoint's, else 0."""
        # Writes cut short by a kill or a full disk (the rename never happened): only the
        # temporary names of this loop's own files, in its own folder.
        for directory, name in ((self.ckpt_dir, 'iter_*.ckpt'), (self.out_dir, '*.ckpt'),
                                (self.out_dir, 'config.yaml'), (self.out_dir, 'log.jsonl')):
            for stale in leftover_temporaries(directory, name) if self.rank == 0 else ():
                os.remove(stale)
        for iteration, path in self.periodic_checkpoints():
            try:
                restored = self.restore(path)
            except CheckpointError as e:
                self.log(f'[{self.stage}] warning: {e}; falling back to the previous checkpoint')
                continue
            self.log(f'[{self.stage}] resumed from {path} (iteration {restored})')
            return restored
        return 0

    # ---- the loop ----------------------------------------------------------------------
    def run(self):
        cfg = self.cfg
        stop = cfg.TRAIN.EARLY_STOP
        final = os.path.join(self.out_dir, 'final.ckpt')
        problem = final_checkpoint_problem(final, self.stage, stop)
        if problem is None:
            self.log(f'[{self.stage}] already finished: {final}')
            return final
        if os.path.exists(final):
            self.log(f'[{self.stage}] {final} is {problem}: training to EARLY_STOP again')
        start = self.resume()
        if self.rank == 0:
            dump_cfg(cfg, os.path.join(self.out_dir, 'config.yaml'))
            truncate_log(os.path.join(self.out_dir, 'log.jsonl'), start)
        self.net.set_train(True)
        batches = iterate(train_loader(self.streams, self.build, cfg.TRAIN.BATCH_SIZE_TARGET,
                                       start, stop - start, cfg.TRAIN.RANDOM_SEED,
                                       cfg.NUM_WORKERS, self.group_size, self.rank))
        if start < stop and self.reused:
            self.log(f'[{self.stage}] the training step was compiled before in this process')
        elif start < stop:  # it takes a while, and the bar stands at 0 meanwhile
            self.log(f'[{self.stage}] compiling the training step (first step)...')
        self.iteration = start
        try:
            # closed on an error too: its message then starts on a line of its own
            with tqdm(total=stop, initial=start, desc=self.stage, dynamic_ncols=True,
                      disable=self.rank != 0) as bar:
                seconds = self.train_steps(start, stop, batches, bar)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(self.resume_hint()) from None
        self.save(final, stop)
        barrier()  # the next stage, on every rank, reads what rank 0 just wrote
        if self.rank == 0 and start < stop:
            append_jsonl(os.path.join(self.out_dir, 'log.jsonl'),
                         {'iteration': stop, 'seconds': seconds})
        self.log(f'[{self.stage}] finished: {final} ({time_split(seconds)})')
        return final

    def train_steps(self, start, stop, batches, bar):
        """Steps start..stop-1; returns where the time went: {'first_step' (compiling
        included), 'steps' (the others, with their data waiting and logging), 'validation',
        'checkpoints'}, in seconds."""
        cfg = self.cfg
        tick, last_logged = time.time(), start
        waited, fetch_start = 0.0, time.time()
        seconds = dict.fromkeys(('first_step', 'steps', 'validation', 'checkpoints'), 0.0)
        pinned = pinned_core() is not None
        began = time.time()
        for iteration, batch in zip(range(start, stop), batches):
            waited += time.time() - fetch_start  # the step is blocked on loading and mixing
            loss, terms, finite = self.train_step(*[ms.Tensor(v) for v in batch.values()])
            if iteration == start or pinned:
                # The first step compiles: its time is worth knowing alone. On one core the
                # main thread, preparing the next step, would take the core from this one.
                loss.asnumpy()
            if iteration == start:
                seconds['first_step'] = time.time() - began
            self.check_step(iteration + 1, finite)
            done = self.iteration = iteration + 1
            bar.update(1)
            if done % cfg.TRAIN.LOG_EVERY == 0 or done == stop:
                elapsed = time.time() - tick
                self.write_record(done, loss, terms, elapsed / (done - last_logged),
                                  waited / elapsed)
                bar.set_postfix(loss=f'{float(loss.asnumpy()):.4f}')
                tick, last_logged, waited = time.time(), done, 0.0
            if cfg.TRAIN.EVAL_EVERY and self.val_dataset and done % cfg.TRAIN.EVAL_EVERY == 0:
                since = time.time()
                self.validate(done)
                seconds['validation'] += time.time() - since
            if done % cfg.TRAIN.SAVE_PRED_EVERY == 0 or done == stop:
                since = time.time()
                self.save_periodic(done)
                seconds['checkpoints'] += time.time() - since
            fetch_start = time.time()
        seconds['steps'] = (time.time() - began - seconds['first_step'] - seconds['validation']
                            - seconds['checkpoints'])
        return {k: round(v, 3) for k, v in seconds.items()}

    def check_step(self, iteration, finite):
        """Stop at the first step whose loss or gradients are not finite (NaN or infinite).
        With a loss scaler such a step is skipped, and the scale lowered: an error only
        SKIPPED_STEPS_LIMIT in a row."""
        if finite.asnumpy():
            self.skipped = 0
            return
        self.skipped += 1
        if self.scaled and self.skipped < SKIPPED_STEPS_LIMIT:
            return
        skipped = (f' ({self.skipped} steps in a row, more than the loss scaler skips)'
                   if self.scaled else '')
        raise self.diverged(f'the loss is not finite at iteration {iteration}{skipped}')

    def diverged(self, what):
        """The error that stops a training gone non-finite, naming its last finite
        checkpoint."""
        newest = self.periodic_checkpoints()
        last = (f'the last finite checkpoint is {newest[0][1]}' if newest
                else 'no checkpoint was written yet')
        return TrainingError(f'[{self.stage}] {what}: the training diverged (TRAIN.LEARNING_RATE '
                             f'{self.cfg.TRAIN.LEARNING_RATE:g} too high?); {last}')

    def predictor(self):
        """The validation's Predictor: one per net and label size, compiled at its first use."""
        size = tuple(self.val_dataset.label_size[::-1])
        if size not in self.predictors:
            self.predictors[size] = Predictor(self.net, size)
        return self.predictors[size]

    def resume_hint(self):
        """What the same command does after an interrupt at self.iteration."""
        newest = self.periodic_checkpoints()
        since = (f'iteration {newest[0][0]} ({newest[0][1]})' if newest
                 else 'the start (no checkpoint yet)')
        return (f'[{self.stage}] stopped at iteration {self.iteration}: the same command '
                f'resumes from {since}')

    def write_record(self, iteration, loss, terms, seconds, data_wait):
        if self.rank != 0:
            return
        lr_backbone, lr_heads = self.learning_rates(iteration - 1)
        record = {'iteration': iteration, 'loss': float(loss.asnumpy()),
                  **{n: float(t.asnumpy()) for n, t in zip(self.term_names, terms)},
                  'lr': lr_backbone, 'lr_heads': lr_heads, 'sec_per_iter': round(seconds, 4),
                  'data_wait': round(data_wait, 4)}
        append_jsonl(os.path.join(self.out_dir, 'log.jsonl'), record)

    def validate(self, iteration):
        """mIoU on the validation set; the best checkpoint so far is kept as best.ckpt."""
        if self.rank != 0:
            return
        summary, _ = evaluate(self.predictor(), self.val_dataset, self.cfg.NUM_CLASSES,
                              progress=False)
        self.net.set_train(True)
        score = summary[primary_metric(self.cfg.NUM_CLASSES)]
        append_jsonl(os.path.join(self.out_dir, 'log.jsonl'),
                     {'iteration': iteration, 'val': {k: v for k, v in summary.items()
                                                      if k.startswith('mIoU')}})
        if score is not None and score > self.best:
            self.best = score
            self.save(os.path.join(self.out_dir, 'best.ckpt'), iteration)
        self.log(f'[{self.stage}] iteration {iteration}: val {score} (best {self.best})')


def time_split(seconds):
    """'first step (compiling) 14.2 s, steps 80.1 s, ...' of a train_steps result."""
    return ', '.join(f'{k.replace("_", " ")}{" (compiling)" if k == "first_step" else ""} '
                     f'{v:.1f} s' for k, v in seconds.items())


def append_jsonl(path, record):
    with open(path, 'a') as f:
        f.write(json.dumps(record) + '\n')


def truncate_log(path, iteration):
    """Drop records past `iteration` (written by a run killed after its last checkpoint)."""
    if not os.path.isfile(path):
        return
    with open(path) as f:
        lines = [line for line in f if line.strip()]
    kept = [line for line in lines if json.loads(line)['iteration'] <= iteration]
    if len(kept) != len(lines):
        atomic_write_text(path, ''.join(kept))


def init_weights(net, path):
    """Start from `path` (a complete DeepLab-v2 checkpoint, e.g. the converted ImageNet
    initialisation) or, with an empty path, from the random init (tests, demo)."""
    if path:
        load_net_checkpoint(net, path)

