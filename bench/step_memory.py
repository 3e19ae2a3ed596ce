"""Peak memory (and time) of one training step of each stage, full DeepLab-v2, on this device.

    python bench/step_memory.py                  # every case, each in a fresh process
    python bench/step_memory.py --case student   # one case, in this process

Cases: `inference` (one forward of a frozen teacher), `teacher` (a region-level teacher step:
one image, forward + backward + SGD), `teacher_sl` (a sample-level teacher step: a 1280x720
source and a target image), `student` (a distillation step: the student on a labeled and an
unlabeled image, both teachers in inference mode). Inputs are random tensors of the
configured target size, so data loading is not measured here. Peak memory is the process's
maximum resident set size, minus that of a process that imported MindSpore and built nothing.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CASES = ('baseline', 'inference', 'teacher', 'teacher_sl', 'student')


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def run_case(case, width, height, steps, mode):
    import mindspore as ms
    import numpy as np

    from config import get_cfg
    from distill import distill_loss, frozen_teacher
    from net.deeplabv2 import build_model
    from train_teacher import forward_fn
    from utils.checkpoint import save_checkpoint
    from utils.device import setup_device
    from utils.trainer import Trainer

    setup_device('CPU', mode)
    if case == 'baseline':
        return {'case': case, 'peak_gib': peak_rss_gib(), 'sec_per_step': 0.0}
    cfg = get_cfg(None, [f'TRAIN.INPUT_SIZE_TARGET=[{width},{height}]'])
    rng = np.random.default_rng(0)
    image = ms.Tensor(rng.normal(size=(1, 3, height, width)).astype(np.float32))
    label = ms.Tensor(rng.integers(0, 19, (1, height, width)).astype(np.int32))
    tmp = f'/tmp/ddm_bench_{os.getpid()}'
    net = build_model(cfg)
    if case == 'inference':
        net.set_train(False)
        step, batch = net, (image,)
    else:
        if case == 'teacher':
            forward, batch = forward_fn(cfg, net, 'region'), (image, label)
        elif case == 'teacher_sl':
            source = ms.Tensor(rng.normal(size=(1, 3, 720, 1280)).astype(np.float32))
            source_label = ms.Tensor(rng.integers(0, 19, (1, 720, 1280)).astype(np.int32))
            forward = forward_fn(cfg, net, 'sample')
            batch = (source, source_label, image, label)
        else:
            save_checkpoint(tmp + '.ckpt', build_model(cfg))
            teachers = [frozen_teacher(cfg, tmp + '.ckpt', n) for n in ('t_rl', 't_sl')]
            forward, batch = distill_loss(net, teachers, cfg), (image, label, image)
        step = Trainer(cfg, net, forward, (), None, tmp, case).train_step
    step(*batch)[0].asnumpy()                # compile
    start = time.time()
    for _ in range(steps):
        step(*batch)[0].asnumpy()
    return {'case': case, 'peak_gib': peak_rss_gib(),
            'sec_per_step': (time.time() - start) / steps}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--case', choices=CASES, default=None, help='default: all, isolated')
    parser.add_argument('--size', default='1024x512', help='input WIDTHxHEIGHT')
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--mode', choices=('GRAPH', 'PYNATIVE'), default='GRAPH')
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split('x'))
    if args.case:
        print(json.dumps(run_case(args.case, width, height, args.steps, args.mode)))
        return
    results = {}
    for case in CASES:
        out = subprocess.run([sys.executable, __file__, '--case', case, '--size', args.size,
                              '--steps', str(args.steps), '--mode', args.mode],
                             capture_output=True, text=True, check=True)
        results[case] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results['baseline']['peak_gib']
    print(f'| case ({args.size}, {args.mode}) | peak RSS GiB | over baseline GiB | s/step |')
    print('|---|---|---|---|')
    for case in CASES:
        r = results[case]
        print(f"| {case} | {r['peak_gib']:.2f} | {r['peak_gib'] - base:.2f} | "
              f"{r['sec_per_step']:.2f} |")
    inference, teacher, student = (results[c]['peak_gib'] - base
                                   for c in ('inference', 'teacher', 'student'))
    print(f'student / (teacher + 2 x inference) = {student / (teacher + 2 * inference):.2f} '
          f'(must be <= 1)')


if __name__ == '__main__':
    main()
