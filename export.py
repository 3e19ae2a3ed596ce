"""Export a DeepLab-v2 checkpoint as a MindIR (or, on Ascend, AIR) graph, and check it.

    python export.py --pretrained weights/ddm_gta_100.ckpt --output ddm_gta_100.mindir

The exported graph is the net in eval mode at a fixed input size (cfg.TEST.INPUT_SIZE or
--input_size): its input is one image (1, 3, H, W) float32, BGR minus cfg.TEST.IMG_MEAN (as
`dataset.base_dataset.to_network_input` makes it); its output is the main head's logits
(1, C, h, w) at about 1/8 of the input (65x129 for 1024x512). Only the main head: the aux head
serves training (its loss weight is 0.1) and evaluation never reads it. The logits are not
upsampled in the graph, so the caller picks the output size (upsample bilinearly with
align_corners=True, then argmax, as infer.py and eval.py do) and the output stays 64x smaller.

After exporting, a MindIR file is loaded back (`mindspore.load` + `nn.GraphCell`) and run on a
random input next to the checkpoint's net; the file is written only if the largest difference
is within 1e-4 of the logits' largest magnitude (exit code 1 otherwise). AIR files cannot be
loaded back by MindSpore, so they are not checked.
"""
import argparse
import os
import sys

import mindspore as ms
import numpy as np
from mindspore import nn

from config import add_config_args, cfg_from_args
from engine.run_dir import check_outside, check_writable, dataset_roots
from net.predict import load_main_head
from utils.device import setup_device_for
from utils.errors import ConfigError, run_cli
from utils.serialization import atomic_write

EXTENSIONS = {'MINDIR': '.mindir', 'AIR': '.air'}
RELATIVE_TOLERANCE = 1e-4
CHECK_SEED = 0
CHECK_INPUT_STD = 60.0     # about the spread of mean-subtracted pixel values


class ParityError(Exception):
    """The exported graph computes other logits than the checkpoint's net."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog='ONNX is not offered: MindSpore 2.10 cannot export this net to ONNX (its '
               'exporter converts neither the padded ceil-mode max-pool of the stem, which '
               'MindSpore runs as MaxPool3DWithArgmax, nor the bilinear resize, '
               'ResizeBilinearV2). Exit codes: 0 exported and checked; '
               '1 the exported graph gave other logits (nothing written); 2 bad arguments, '
               'checkpoint or device.')
    parser.add_argument('--pretrained', required=True, help='checkpoint (.ckpt)')
    parser.add_argument('--output', required=True,
                        help='exported file (.mindir or .air is appended if missing)')
    parser.add_argument('--format', choices=tuple(EXTENSIONS), default='MINDIR',
                        help='MINDIR (any device) or AIR (Ascend only)')
    add_config_args(parser, model_args=True, input_size=True)
    return parser.parse_args(argv)


def compare_with_exported(path, main_head, image):
    """(largest absolute difference, largest |logit|) between the file's graph and the net."""
    expected = main_head(image).asnumpy()
    exported = nn.GraphCell(ms.load(path))(image).asnumpy()
    if exported.shape != expected.shape:
        raise ParityError(f'exported graph returns shape {exported.shape}, '
                          f'the net {expected.shape}')
    return float(np.abs(exported - expected).max()), float(np.abs(expected).max())


def export_checked(main_head, image, output, file_format):
    """Export to a temporary file, check it (MindIR), and only then move it to `output`."""
    def export_then_check(tmp):
        ms.export(main_head, image, file_name=tmp, file_format=file_format)
        if file_format != 'MINDIR':
            print('AIR cannot be loaded back by MindSpore: the parity check is skipped')
            return
        max_abs, scale = compare_with_exported(tmp, main_head, image)
        relative = max_abs / max(scale, np.finfo(np.float32).tiny)
        print(f'parity check: max abs diff {max_abs:.3e} (logits up to {scale:.3e}, '
              f'relative {relative:.3e}, tolerance {RELATIVE_TOLERANCE:g})')
        if relative > RELATIVE_TOLERANCE:
            raise ParityError(f'relative difference {relative:.3e} > {RELATIVE_TOLERANCE:g}')
    atomic_write(output, export_then_check)


def main(args):
    """Export and check; returns the exit code (1 if the check fails)."""
    cfg = cfg_from_args(args)
    if args.format == 'AIR' and cfg.DEVICE != 'Ascend':
        raise ConfigError(f'--format AIR needs --device Ascend (AIR is built by the Ascend '
                          f'CANN toolkit), the device is {cfg.DEVICE}; use --format MINDIR')
    extension = EXTENSIONS[args.format]
    output = args.output if args.output.lower().endswith(extension) else args.output + extension
    check_outside(output, dataset_roots(cfg), '--output')
    setup_device_for(cfg, inference=True)
    main_head = load_main_head(cfg, args.pretrained)
    check_writable(os.path.dirname(output) or '.')  # before the export, as eval.py does
    width, height = cfg.TEST.INPUT_SIZE
    noise = np.random.default_rng(CHECK_SEED).normal(0.0, CHECK_INPUT_STD, (1, 3, height, width))
    image = ms.Tensor(noise.astype(np.float32))
    try:
        export_checked(main_head, image, output, args.format)
    except ParityError as e:
        print(f'error: {output} not written: the exported graph differs from {args.pretrained}: '
              f'{e}', file=sys.stderr)
        return 1
    print(f'exported {args.pretrained} to {output} ({args.format}, input 1x3x{height}x{width}, '
          f'{cfg.NUM_CLASSES} classes, main head)')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main, parse_args()))
