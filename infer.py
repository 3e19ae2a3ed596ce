"""Segment images of any size with a DeepLab-v2 checkpoint: colour, overlay and train-id PNGs.

    python infer.py --pretrained weights/ddm_gta_100.ckpt --input street.jpg --output pred/

--input is one image, a folder of images (not recursive) or a list file of image paths (one a
line; relative paths are read from the list file's folder). Each image is resized (bicubic) to
the network input size (cfg.TEST.INPUT_SIZE, or --input_size), fed as BGR minus
cfg.TEST.IMG_MEAN; the main head's logits are upsampled bilinearly (align_corners=True) back to
the image's own size and the argmax taken, as in eval.py. For every image NAME.ext it writes
OUTPUT/color/NAME.png (Cityscapes palette), OUTPUT/overlay/NAME.png (the colours blended on the
image, alpha 0.5) and OUTPUT/trainids/NAME.png (8-bit train ids).
"""
import argparse
import os
import sys

import mindspore as ms
import numpy as np
from mindspore import ops
from PIL import Image
from tqdm import tqdm

from config import add_config_args, cfg_from_args
from dataset.base_dataset import load_class_info, read_image, read_lines, to_network_input
from engine.run_dir import check_outside, check_writable, dataset_roots
from net.deeplabv2_mindspore import upsample
from net.predict import load_main_head
from utils.device import setup_device_for
from utils.errors import ConfigError, DataError, run_cli
from utils.serialization import atomic_save_image
from utils.visualize import colorize

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm')
OVERLAY_ALPHA = 0.5     # weight of the prediction's colours in the overlay


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog='Exit codes: 0 every image segmented; 1 some images could not be read (each is '
               'named in a warning line, the others are still written); 2 bad arguments, an '
               'input folder without images, or a checkpoint that does not match the network.')
    parser.add_argument('--pretrained', required=True, help='checkpoint (.ckpt)')
    parser.add_argument('--input', required=True,
                        help='an image, a folder of images, or a list file of image paths')
    parser.add_argument('--output', default='infer_results', help='output folder')
    add_config_args(parser, model_args=True, input_size=True)
    return parser.parse_args(argv)


def list_inputs(path):
    """The image paths --input names: the image itself, a folder's images, or a list's lines."""
    if os.path.isdir(path):
        images = sorted(os.path.join(path, name) for name in os.listdir(path)
                        if name.lower().endswith(IMAGE_EXTENSIONS))
        if not images:
            raise DataError(f'no images ({" ".join(IMAGE_EXTENSIONS)}) in folder {path}')
        return images
    if not os.path.isfile(path):
        raise DataError(f'--input not found: {path}')
    if path.lower().endswith(IMAGE_EXTENSIONS):
        return [path]
    names = [name for name in read_lines(path, '--input list') if name]
    if not names:
        raise DataError(f'--input list is empty: {path}')
    return [os.path.join(os.path.dirname(path), name) for name in names]


def output_names(paths):
    """NAME.png for each input; two inputs that would overwrite each other are an error."""
    owners = {}
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0] + '.png'
        if name in owners:
            raise DataError(f'{owners[name]} and {path} would both be written as {name}')
        owners[name] = path
    return list(owners)


def segment(main_head, rgb, input_size, mean):
    """Train ids (uint8, H x W of `rgb`) of one RGB PIL image."""
    resized = rgb if rgb.size == tuple(input_size) else rgb.resize(input_size, Image.BICUBIC)
    logits = main_head(ms.Tensor(to_network_input(np.asarray(resized), mean)[None]))
    # The net is compiled once, for the fixed input size; the upsampling to each image's own
    # size runs op by op outside the graph. A Predictor compiled per output size would cost a
    # graph compile (~7 s for ResNet-101 on CPU, measured) for every new image size, while
    # the eager upsample + argmax takes 0.03 s at 1024x512 and 0.2-0.8 s at 2048x1024, with the
    # same kernel as eval.py (a numpy version disagreed on a few tied pixels).
    full = upsample(logits, (rgb.height, rgb.width))
    return ops.argmax(full, dim=1).asnumpy()[0].astype(np.uint8)


def write_outputs(out_dir, name, rgb, train_ids, palette):
    colour = colorize(train_ids, palette)
    atomic_save_image(os.path.join(out_dir, 'color', name), colour)
    atomic_save_image(os.path.join(out_dir, 'overlay', name),
                      Image.blend(rgb, colour.convert('RGB'), OVERLAY_ALPHA))
    atomic_save_image(os.path.join(out_dir, 'trainids', name), Image.fromarray(train_ids))


def main(args):
    """Segment every input image; returns the exit code (1 if any image could not be read)."""
    cfg = cfg_from_args(args)
    class_names, palette, _ = load_class_info(cfg.TEST.INFO)
    if len(class_names) != cfg.NUM_CLASSES:
        raise ConfigError(f'TEST.INFO {cfg.TEST.INFO} has {len(class_names)} classes, '
                          f'NUM_CLASSES is {cfg.NUM_CLASSES}')
    paths = list_inputs(args.input)
    names = output_names(paths)
    # Never into a dataset or the input folder; a folder that cannot be written fails after
    # the checkpoint (a run refused for its inputs makes no folder), before the first image.
    inputs = {'--input': args.input} if os.path.isdir(args.input) else {}
    check_outside(args.output, {**dataset_roots(cfg), **inputs}, '--output')
    setup_device_for(cfg, inference=True)
    main_head = load_main_head(cfg, args.pretrained)
    check_writable(args.output)

    unreadable = []
    for path, name in tqdm(list(zip(paths, names)), desc='infer', unit='image',
                           dynamic_ncols=True):
        try:
            rgb = read_image(path)    # palette, grey and RGBA PNGs become RGB here
        except DataError as e:
            tqdm.write(f'warning: skipped: {e}', file=sys.stderr)
            unreadable.append(path)
            continue
        train_ids = segment(main_head, rgb, cfg.TEST.INPUT_SIZE, cfg.TEST.IMG_MEAN)
        write_outputs(args.output, name, rgb, train_ids, palette)

    print(f'{len(paths) - len(unreadable)} of {len(paths)} images segmented into {args.output}')
    if unreadable:
        print(f'{len(unreadable)} could not be read: {", ".join(unreadable)}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main, parse_args()))
