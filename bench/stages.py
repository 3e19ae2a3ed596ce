"""Time and peak memory of one training step of each stage, and of evaluation and
pseudo-labelling, in MindSpore (GRAPH and PYNATIVE) and in PyTorch, on this machine.

    python bench/stages.py                                   # every case, every backend
    python bench/stages.py --cases teacher student --size 512x256 --backends PYNATIVE torch
    python bench/stages.py --run teacher --backend GRAPH     # one measurement, JSON
    python bench/stages.py --cases teacher teacher_sl --backends GRAPH --steps 100 \
        --opts MODEL.BLOCKS=[1,1,1,1] MODEL.WIDTH=8 TRAIN.INPUT_SIZE_TARGET=[128,64] \
        TRAIN.INPUT_SIZE_SOURCE=[160,96] TRAIN.JIT_STEP=on CPU_THREADS=1   # the demo's steps

Cases, at the configured sizes (target 1024x512, source 1280x720; `--size` sets the target):
  inference   one forward of a frozen net
  teacher     a region-level teacher step: one target-size image, forward + backward + SGD
  teacher_sl  a sample-level teacher step: a source image and a target image
  student     a distillation step: the student on a labeled and an unlabeled image, two
              frozen teachers in inference mode
  eval        eval.py's work per image: forward, logits upsampled to 2048x1024, argmax, to host
  pseudo      pseudo-labelling per image: forward, softmax at 2048x1024, max and argmax, the
              per-class confidence histogram on the host
With `--opts MODEL.ARCH=mit_b5 TRAIN.OPTIMIZER=adamw` both sides run SegFormer on MiT-B5 with
AdamW, the PyTorch side transformers' SegformerForSemanticSegmentation (bench/torch_twin.py).
Each runs in a fresh process after one warm-up (compiling) step; inputs are random tensors, so
data loading is not included (bench/data_wait.py measures that). Peak memory is the process's
maximum resident set, minus that of a process that imported the framework and built nothing.
The PyTorch side is the same net (bench/torch_twin.py), loss and SGD, with as many threads
as MindSpore uses (all cores); torch is optional (`pip install torch`).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench import machine  # noqa: E402

CASES = ('inference', 'teacher', 'teacher_sl', 'student', 'eval', 'pseudo')
BACKENDS = ('GRAPH', 'PYNATIVE', 'torch')
EVAL_OUTPUT_HW = (1024, 2048)   # Cityscapes labels


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def measure(step, steps):
    """Seconds per call of `step` after one warm-up (compiling) call."""
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def measure_dispatched(step, steps):
    """Seconds per call of `step`, a call returning a tensor before the device has computed
    it, waiting only for the last call (as the trainer does unless pinned)."""
    step().asnumpy()
    start = time.perf_counter()
    for _ in range(steps):
        out = step()
    out.asnumpy()
    return (time.perf_counter() - start) / steps


# ---- MindSpore --------------------------------------------------------------------------
def mindspore_case(case, cfg, mode, steps, tmp, wait=True):
    import mindspore as ms
    import numpy as np

    from distill import distill_loss
    from net.predict import load_model
    from net.deeplabv2_mindspore import build_model
    from dataset import pipeline
    from train_teacher import loss_parts
    from utils.checkpoint import save_checkpoint
    from utils.device import setup_device
    from engine.pseudo_label import confidence_histogram
    from net.predict import Confidence, Predictor
    from engine.trainer import Trainer

    setup_device('CPU', mode, cpu_threads=cfg.CPU_THREADS, cpu_pin=cfg.CPU_PIN)
    if case == 'baseline':
        return 0.0
    (width, height), (src_width, src_height) = cfg.TRAIN.INPUT_SIZE_TARGET, \
        cfg.TRAIN.INPUT_SIZE_SOURCE
    rng = np.random.default_rng(0)

    def tensor(shape, classes=None):
        if classes:
            return ms.Tensor(rng.integers(0, classes, shape).astype(np.int32))
        return ms.Tensor(rng.normal(size=shape).astype(np.float32))

    image, label = tensor((1, 3, height, width)), tensor((1, height, width), 19)
    net = build_model(cfg)
    if case in ('inference', 'eval', 'pseudo'):
        net.set_train(False)
        if case == 'inference':
            return measure(lambda: [o.asnumpy() for o in net(image)], steps)
        if case == 'eval':
            predictor = Predictor(net, EVAL_OUTPUT_HW)
            return measure(lambda: predictor(image).asnumpy(), steps)
        confidence = Confidence(net, EVAL_OUTPUT_HW)

        def pseudo():
            conf, pred = confidence(image)
            confidence_histogram(conf.asnumpy(), pred.asnumpy(), cfg.NUM_CLASSES)
        return measure(pseudo, steps)
    tmp = os.path.join(tmp, case)
    if case == 'teacher':
        forward, build = loss_parts(cfg, net, 'region'), pipeline.region_mixed_sample
        batch = image, label
    elif case == 'teacher_sl':
        forward, build = loss_parts(cfg, net, 'sample'), pipeline.sample_level_pair
        batch = (tensor((1, 3, src_height, src_width)), tensor((1, src_height, src_width), 19),
                 image, label)
    else:
        save_checkpoint(tmp + '.ckpt', build_model(cfg))
        teachers = [load_model(cfg, tmp + '.ckpt', frozen_as=n) for n in ('t_rl', 't_sl')]
        forward, build = distill_loss(net, teachers, cfg), pipeline.distill_sample
        batch = image, label, image
    step = Trainer(cfg, net, forward, {}, build, tmp, case).train_step
    if not wait:
        return measure_dispatched(lambda: step(*batch)[0], steps)
    return measure(lambda: step(*batch)[0].asnumpy(), steps)


# ---- PyTorch ----------------------------------------------------------------------------
def torch_case(case, cfg, steps):
    import torch
    import torch.nn.functional as F

    from bench.torch_twin import TorchDeepLabV2, TorchSegFormer
    from engine.pseudo_label import confidence_histogram

    torch.set_num_threads(os.cpu_count())
    if case == 'baseline':
        return 0.0
    (width, height), (src_width, src_height) = cfg.TRAIN.INPUT_SIZE_TARGET, \
        cfg.TRAIN.INPUT_SIZE_SOURCE
    torch.manual_seed(0)
    image, label = torch.randn(1, 3, height, width), torch.randint(0, 19, (1, height, width))

    def build():
        if cfg.MODEL.ARCH != 'deeplabv2':
            return TorchSegFormer(cfg.MODEL.ARCH, cfg.NUM_CLASSES)
        return TorchDeepLabV2(cfg.NUM_CLASSES, tuple(cfg.MODEL.BLOCKS), cfg.MODEL.WIDTH)

    def upsample(logits, size):
        return F.interpolate(logits, size=size, mode='bilinear', align_corners=True)

    net = build()
    if case in ('inference', 'eval', 'pseudo'):
        net.eval()

        @torch.no_grad()
        def forward():
            _, main = net(image)
            if case == 'eval':
                return upsample(main, EVAL_OUTPUT_HW).argmax(1).to(torch.uint8).numpy()
            if case == 'pseudo':
                conf, pred = F.softmax(upsample(main, EVAL_OUTPUT_HW), 1).max(1)
                return confidence_histogram(conf.numpy(), pred.to(torch.uint8).numpy(),
                                            cfg.NUM_CLASSES)
            return main.numpy()
        return measure(forward, steps)

    lambdas = cfg.TRAIN.LAMBDA_SEG_MAIN, cfg.TRAIN.LAMBDA_SEG_AUX
    net.train()
    head_modules = (net.decode_head,) if hasattr(net, 'decode_head') else (net.layer5, net.layer6)
    heads = [p for m in head_modules for p in m.parameters()]
    head_ids = {id(p) for p in heads}
    backbone = [p for p in net.parameters() if p.requires_grad and id(p) not in head_ids]
    lr, decay = cfg.TRAIN.LEARNING_RATE, cfg.TRAIN.WEIGHT_DECAY
    if cfg.TRAIN.OPTIMIZER == 'adamw':  # as engine/trainer.py: no decay on the encoder's norms
        norms = {id(m.weight) for m in net.modules() if isinstance(m, torch.nn.LayerNorm)} | \
            {id(m.bias) for m in net.modules() if isinstance(m, torch.nn.LayerNorm)}
        optimizer = torch.optim.AdamW([
            {'params': [p for p in backbone if id(p) not in norms], 'lr': lr},
            {'params': heads, 'lr': 10 * lr},
            {'params': [p for p in backbone if id(p) in norms], 'lr': lr, 'weight_decay': 0.0}],
            lr=lr, weight_decay=decay)
    else:
        optimizer = torch.optim.SGD([{'params': backbone, 'lr': lr},
                                     {'params': heads, 'lr': 10 * lr}],
                                    lr=lr, momentum=cfg.TRAIN.MOMENTUM, weight_decay=decay)

    def seg_loss(x, y):
        aux, main = net(x)
        return sum(w * F.cross_entropy(upsample(o, y.shape[-2:]), y, ignore_index=255)
                   for w, o in zip(lambdas[::-1], (aux, main)) if o is not None)

    teachers = []
    if case == 'student':
        teachers = [build().eval() for _ in range(2)]
    temperature = cfg.TRAIN.KL_T

    def kl_loss(x):
        with torch.no_grad():
            outs = [t(x) for t in teachers]
            probs = [None if outs[0][h] is None else
                     sum(F.softmax(o[h] / temperature, 1) for o in outs) / 2 for h in (0, 1)]
        aux, main = net(x)
        kls = [0.0 if o is None else
               (p * (p.clamp_min(1e-12).log() - F.log_softmax(o / temperature, 1))).sum(1)
               .mean() * temperature ** 2 for p, o in zip(probs, (aux, main))]
        return cfg.TRAIN.LAMBDA_KL * (lambdas[0] * kls[1] + lambdas[1] * kls[0])

    # One backward per image, as ADVENT and DDM's loops (and ours) do.
    if case == 'teacher':
        parts = [lambda: seg_loss(image, label)]
    elif case == 'teacher_sl':
        source = torch.randn(1, 3, src_height, src_width)
        source_label = torch.randint(0, 19, (1, src_height, src_width))
        parts = [lambda: seg_loss(source, source_label), lambda: seg_loss(image, label)]
    else:
        parts = [lambda: cfg.TRAIN.LAMBDA_CE * seg_loss(image, label), lambda: kl_loss(image)]

    def step():
        optimizer.zero_grad()
        for part in parts:
            part().backward()
        optimizer.step()
    return measure(step, steps)


def run(case, backend, size, steps, opts, wait=True):
    from config import get_cfg
    size_opts = [f'TRAIN.INPUT_SIZE_TARGET=[{size[0]},{size[1]}]'] if size else []
    cfg = get_cfg(None, size_opts + list(opts))
    if backend == 'torch':
        seconds = torch_case(case, cfg, steps)
    else:
        with tempfile.TemporaryDirectory(prefix='ddm_bench_') as tmp:
            seconds = mindspore_case(case, cfg, backend, steps, tmp, wait)
    return {'case': case, 'backend': backend, 'peak_gib': peak_rss_gib(), 'seconds': seconds}


# ---- the driver: one fresh process per measurement, watched for memory ---------------------
def rss_gib(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return 0.0


def run_isolated(case, backend, args):
    """The measurement's JSON, or {'killed_gib': X} if it passed --limit_gib."""
    cmd = [sys.executable, os.path.abspath(__file__), '--run', case, '--backend', backend,
           '--steps', str(args.steps)] + (['--size', args.size] if args.size else []) \
        + (['--no_wait'] if args.no_wait else []) \
        + (['--opts', *args.opts] if args.opts else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        if rss_gib(proc.pid) > args.limit_gib:
            proc.kill()
            proc.wait()
            return {'killed_gib': args.limit_gib}
        time.sleep(0.2)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f'{case} on {backend} failed:\n{err[-2000:]}')
    return json.loads(out.strip().splitlines()[-1])


def cell(result, base):
    if 'killed_gib' in result:
        return f'> {result["killed_gib"]:.0f} GiB (killed)', None
    return f'{result["peak_gib"] - base:.2f} GiB, {result["seconds"]:.2f} s', result


def ratio(ms_result, torch_result, key):
    if not ms_result or not torch_result:
        return ''
    return f'{ms_result[key] / torch_result[key]:.2f}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cases', nargs='+', choices=CASES, default=list(CASES))
    parser.add_argument('--backends', nargs='+', choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument('--size', default=None, help='target WIDTHxHEIGHT (default: config)')
    parser.add_argument('--steps', type=int, default=2, help='timed steps after the warm-up')
    parser.add_argument('--limit_gib', type=float, default=22.0,
                        help='kill a measurement whose resident memory passes this')
    parser.add_argument('--opts', nargs='+', default=[],
                        help='config overrides for the MindSpore side, e.g. MODEL.FUSED_ASPP=off')
    parser.add_argument('--no_wait', action='store_true',
                        help='training cases: wait for the last step only, not for each')
    parser.add_argument('--run', choices=('baseline',) + CASES, help=argparse.SUPPRESS)
    parser.add_argument('--backend', choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split('x')) if args.size else None
    if args.run:
        print(json.dumps(run(args.run, args.backend, size, args.steps, args.opts,
                             not args.no_wait)))
        return

    # The CPU and its vector extensions beside every figure: the same step measured 1.10x
    # PyTorch on an AVX-512 machine and 0.97x on an AVX2-only one.
    info = machine.describe()
    print(f'machine: {machine.line(info)}', flush=True)
    results = {}
    for backend in args.backends:
        results['baseline', backend] = run_isolated('baseline', backend, args)
        for case in args.cases:
            results[case, backend] = run_isolated(case, backend, args)
            record = dict(results[case, backend], machine=info)
            print(f'# {case} on {backend}: {json.dumps(record)}', flush=True)
    ms_backends = [b for b in args.backends if b != 'torch']
    print(f'\nmemory over an idle process, and seconds per step (eval, pseudo: per image); '
          f'target {args.size or "from config"}, {os.cpu_count()} threads; {machine.line(info)}'
          '\n')
    print('| case | ' + ' | '.join(args.backends) +
          ''.join(f' | {b}/torch time | {b}/torch memory' for b in ms_backends
                  if 'torch' in args.backends) + ' |')
    print('|---' * (1 + len(args.backends) + 2 * len(ms_backends) * ('torch' in args.backends))
          + '|')
    for case in args.cases:
        cells = {b: cell(results[case, b], results['baseline', b]['peak_gib'])
                 for b in args.backends}
        row = [case] + [cells[b][0] for b in args.backends]
        if 'torch' in args.backends:
            reference = cells['torch'][1]
            if reference:
                reference = dict(reference, peak_gib=reference['peak_gib']
                                 - results['baseline', 'torch']['peak_gib'])
            for b in ms_backends:
                mine = cells[b][1]
                if mine:
                    mine = dict(mine, peak_gib=mine['peak_gib']
                                - results['baseline', b]['peak_gib'])
                row += [ratio(mine, reference, 'seconds'), ratio(mine, reference, 'peak_gib')]
        print('| ' + ' | '.join(row) + ' |')
    for b in ms_backends:
        over = {c: cells_over(results, c, b) for c in ('inference', 'teacher', 'student')}
        if None not in over.values():
            bound = over['teacher'] + 2 * over['inference']
            print(f'\n{b}: student {over["student"]:.2f} GiB against teacher + 2 x inference '
                  f'= {bound:.2f} GiB: {"met" if over["student"] <= bound else "NOT met"}')


def cells_over(results, case, backend):
    result = results.get((case, backend))
    if not result or 'killed_gib' in result:
        return None
    return result['peak_gib'] - results['baseline', backend]['peak_gib']


if __name__ == '__main__':
    main()
