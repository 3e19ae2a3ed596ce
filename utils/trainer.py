"""The one training loop of every stage (teachers, student, baselines).

A stage hands the loop its net, a `forward_fn(*batch) -> (loss, (term, ...))` with the
terms' names, and `make_loader(start_step, num_steps)`; the loop owns the rest: SGD with the
1x/10x parameter groups and poly schedule, the compiled step, mixed precision, data
parallelism, checkpoints (atomic, newest K kept, resumable), validation with the best
checkpoint kept, the JSONL log and the progress bar.

    out_dir/config.yaml          the effective config
    out_dir/log.jsonl            {"iteration", "lr", "sec_per_iter", "data_wait", <terms>}
                                 and {"iteration", "val"}; data_wait is the share of the wall
                                 time since the last record spent waiting for the next batch
    out_dir/checkpoints/iter_NNNNNN.ckpt
    out_dir/final.ckpt, out_dir/best.ckpt
"""
import glob
import json
import os
import re
import tempfile
import time

import mindspore as ms
import yaml
from mindspore import nn, ops
from tqdm import tqdm

from config import dump_cfg, to_plain
from dataset.pipeline import iterate
from utils.checkpoint import load_net_checkpoint, read_checkpoint, save_checkpoint
from utils.distributed import barrier, grad_reducer
from utils.errors import CheckpointError, DDMError
from utils.evaluation import evaluate
from utils.func import primary_metric
from utils.serialization import atomic_write_text


class LossPart:
    """One summand of a stage's loss: `fn(*inputs) -> (loss, terms)`.

    The inputs are the batch's `columns` (None = all), passed through `prepare` if given.
    `prepare` runs outside the gradient computation, so what it computes (the frozen
    teachers' predictions) keeps no activations for a backward pass: traced inside `fn`,
    PyNative records every op for the backward whether a gradient will flow or not.
    """

    def __init__(self, fn, columns=None, prepare=None):
        self.fn = fn
        self.columns = columns
        self.prepare = prepare

    def inputs(self, batch):
        inputs = batch if self.columns is None else [batch[i] for i in self.columns]
        return inputs if self.prepare is None else self.prepare(*inputs)


def add_grads(a, b):
    return tuple(x + y for x, y in zip(a, b))


def poly_lr(base_lr, cfg):
    """lr_i = base_lr * (1 - i / MAX_ITERS) ** POWER (training stops earlier, at EARLY_STOP)."""
    return nn.PolynomialDecayLR(base_lr, 0.0, cfg.TRAIN.MAX_ITERS, cfg.TRAIN.POWER)


def build_optimizer(cfg, net):
    """SGD with momentum; the ASPP heads learn 10x faster than the backbone."""
    groups = [{'params': net.backbone_params(), 'lr': poly_lr(cfg.TRAIN.LEARNING_RATE, cfg)},
              {'params': net.head_params(), 'lr': poly_lr(10 * cfg.TRAIN.LEARNING_RATE, cfg)}]
    return nn.SGD(groups, learning_rate=cfg.TRAIN.LEARNING_RATE, momentum=cfg.TRAIN.MOMENTUM,
                  weight_decay=cfg.TRAIN.WEIGHT_DECAY)


def amp_level(cfg):
    if cfg.TRAIN.AMP_LEVEL != 'auto':
        return cfg.TRAIN.AMP_LEVEL
    return {'CPU': 'O0', 'Ascend': 'O2', 'GPU': 'O2'}[cfg.DEVICE]


def use_jit(cfg):
    # On this project's 2-core CPU a full-size teacher step at 256x512 took 3.18 s in
    # GRAPH_MODE without ms.jit around the whole step and 5.15 s with it (PyNative 4.26 s);
    # on Ascend the whole step is compiled, so it runs on the device as one graph.
    if cfg.TRAIN.JIT_STEP != 'auto':
        return cfg.TRAIN.JIT_STEP == 'on'
    return cfg.DEVICE != 'CPU'


class Trainer:
    """Trains `net` with `forward_fn` on `make_loader`'s batches from the last checkpoint on."""

    def __init__(self, cfg, net, forward_fn, term_names, make_loader, out_dir, stage,
                 val_dataset=None, rank=0, group_size=1, log=print):
        self.cfg, self.net, self.stage = cfg, net, stage
        self.term_names = tuple(term_names)
        self.make_loader = make_loader
        self.out_dir = out_dir
        self.ckpt_dir = os.path.join(out_dir, 'checkpoints')
        self.val_dataset = val_dataset
        self.rank, self.group_size = rank, group_size
        self.log = log if rank == 0 else (lambda *a, **k: None)
        self.best = float('-inf')
        check_writable(out_dir)
        level = amp_level(cfg)
        if level != 'O0':
            ms.amp.auto_mixed_precision(net, level)
        self.optimizer = build_optimizer(cfg, net)
        self.train_step = self._build_step(forward_fn, level != 'O0')

    def _build_step(self, forward_fn, scaled):
        """The step: gradients of each loss part, summed, averaged over ranks, applied.

        `forward_fn` is one function of the whole batch, or a list of LossPart: each part's
        backward pass runs before the next part's forward, so a step on two images (the
        sample-level teacher, the student) peaks at the memory of one image's step. The
        parts' losses are sums, so their gradients add up to those of the whole loss.
        """
        optimizer = self.optimizer
        parts = forward_fn if isinstance(forward_fn, (list, tuple)) else [LossPart(forward_fn)]
        reduce_grads = grad_reducer(optimizer.parameters, self.group_size)
        scaler = ms.amp.DynamicLossScaler(2.0 ** 16, 2, 1000) if scaled else None

        def scaled(fn):
            def forward(*inputs):
                loss, terms = fn(*inputs)
                return (scaler.scale(loss) if scaler else loss), terms
            return forward

        grad_fns = [ms.value_and_grad(scaled(part.fn), None, optimizer.parameters,
                                      has_aux=True) for part in parts]

        def train_step(*batch):
            loss, terms, grads = 0.0, (), None
            for part, grad_fn in zip(parts, grad_fns):
                (part_loss, part_terms), part_grads = grad_fn(*part.inputs(batch))
                loss, terms = loss + part_loss, terms + tuple(part_terms)
                grads = part_grads if grads is None else add_grads(grads, part_grads)
            grads = reduce_grads(grads)
            if scaler is None:
                return ops.depend(loss, optimizer(grads)), terms
            loss, grads = scaler.unscale(loss), scaler.unscale(grads)
            finite = ms.amp.all_finite(grads)
            scaler.adjust(finite)
            if finite:
                loss = ops.depend(loss, optimizer(grads))
            return loss, terms

        return ms.jit(train_step) if use_jit(self.cfg) else train_step

    def learning_rates(self, iteration):
        """(backbone lr, heads lr) the optimizer applies at `iteration` (0-based)."""
        step = ms.Tensor(iteration, ms.int32)
        return tuple(float(self.optimizer.get_lr_parameter(group[0])(step).asnumpy())
                     for group in (self.net.backbone_params(), self.net.head_params()))

    # ---- checkpoints -------------------------------------------------------------------
    def optimizer_state(self):
        net_ids = {id(p) for p in self.net.get_parameters()}
        return {f'optimizer.{name}': p for name, p in self.optimizer.parameters_and_names()
                if id(p) not in net_ids}

    def save(self, path, iteration):
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
        if stage is not None and stage != self.stage:
            raise CheckpointError(f'{path} is a {stage} checkpoint, not {self.stage}')
        load_net_checkpoint(self.net, path, params)
        state = {k[len('optimizer.'):]: v for k, v in params.items()
                 if k.startswith('optimizer.')}
        expected = {k[len('optimizer.'):] for k in self.optimizer_state()}
        if set(state) != expected:
            raise CheckpointError(f'{path}: optimizer state does not match '
                                  f'({len(state)} of {len(expected)} tensors)')
        ms.load_param_into_net(self.optimizer, state, strict_load=True)
        self.best = float(params['meta.best'].asnumpy()) if 'meta.best' in params else self.best
        return int(params['meta.iteration'].asnumpy())

    def resume(self):
        """The iteration to start from: the newest readable checkpoint's, else 0."""
        for stale in glob.glob(os.path.join(self.ckpt_dir, '.*.tmp.ckpt')):
            os.remove(stale)  # a write cut short by a kill; the rename never happened
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
        start = self.resume()
        if self.rank == 0:
            dump_cfg(cfg, os.path.join(self.out_dir, 'config.yaml'))
            truncate_log(os.path.join(self.out_dir, 'log.jsonl'), start)
        if start >= stop and os.path.isfile(final):
            self.log(f'[{self.stage}] already finished: {final}')
            return final
        self.net.set_train(True)
        batches = iterate(self.make_loader(start, stop - start))
        bar = tqdm(total=stop, initial=start, desc=self.stage, dynamic_ncols=True,
                   disable=self.rank != 0)
        tick, last_logged = time.time(), start
        waited, fetch_start = 0.0, time.time()
        for iteration, batch in zip(range(start, stop), batches):
            waited += time.time() - fetch_start  # the step is blocked on loading and mixing
            loss, terms = self.train_step(*[ms.Tensor(v) for v in batch.values()])
            done = iteration + 1
            bar.update(1)
            if done % cfg.TRAIN.LOG_EVERY == 0 or done == stop:
                elapsed = time.time() - tick
                self.write_record(done, loss, terms, elapsed / (done - last_logged),
                                  waited / elapsed)
                bar.set_postfix(loss=f'{float(loss.asnumpy()):.4f}')
                tick, last_logged, waited = time.time(), done, 0.0
            if cfg.TRAIN.EVAL_EVERY and self.val_dataset and done % cfg.TRAIN.EVAL_EVERY == 0:
                self.validate(done)
            if done % cfg.TRAIN.SAVE_PRED_EVERY == 0 or done == stop:
                self.save_periodic(done)
            fetch_start = time.time()
        bar.close()
        self.save(final, stop)
        barrier()  # the next stage, on every rank, reads what rank 0 just wrote
        self.log(f'[{self.stage}] finished: {final}')
        return final

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
        summary, _ = evaluate(self.net, self.val_dataset, self.cfg.NUM_CLASSES,
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


def check_writable(out_dir):
    """Create `out_dir` and write a block there: an unwritable or full folder fails now, not
    at the first checkpoint. The probe is an unnamed temporary file: no file of the folder,
    whatever its name, is touched."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir, buffering=0) as probe:
            probe.write(bytes(4096))
    except OSError as e:
        raise DDMError(f'output directory {out_dir} is not writable: {e.strerror}') from None


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

