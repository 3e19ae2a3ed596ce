"""Time one LAB colour transfer of a GTA5-sized image onto a Cityscapes-sized reference.

    python bench/color_transfer_speed.py [--photo PNG] [--repeats 10] [--before FILE]

The source is the photo (default: scikit-image's sample photo `rocket`) resized (bicubic) to 1914x1052 with a
colour cast, the reference the photo at 2048x1024, their native sizes in training. Prints the
mean and best of --repeats calls after a warm-up, in this process, of:
- the project's transfer, the reference's LAB statistics not cached (`lab_color_transfer`)
  and cached (`match_lab_stats`), with OpenCV's default threads and with one;
- the released rule with scikit-image (tests/test_color_transfer.py), not cached and cached;
- with --before, the `lab_color_transfer(src, ref)` of FILE, e.g. an earlier version of
  dataset/color_transfer.py (`git show REV:dataset/color_transfer.py > FILE`), also at the
  sizes the littleCMS version ran at, 1280x720 onto 1024x512.
"""
import argparse
import importlib.util
import os
import sys
import time

import cv2
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, 'tests')]

from conftest import photo as sample_photo  # noqa: E402
from dataset.color_transfer import lab_color_transfer, lab_stats, match_lab_stats  # noqa: E402
from test_color_transfer import colour_cast, released_stats, released_transfer  # noqa: E402

SOURCE_SIZE, REFERENCE_SIZE = (1914, 1052), (2048, 1024)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--photo', default=None, help="an image file (default: skimage's rocket)")
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--before', default=None, help='a module file with lab_color_transfer')
    return parser.parse_args(argv)


def report(label, function, repeats):
    function()  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    print(f'| {label} | {np.mean(seconds) * 1e3:.0f} | {np.min(seconds) * 1e3:.0f} |', flush=True)


def main(args):
    photo = (Image.open(args.photo).convert('RGB') if args.photo
             else Image.fromarray(sample_photo('rocket')))

    def pair(source_size, reference_size):
        return (colour_cast(np.asarray(photo.resize(source_size, Image.BICUBIC))),
                np.asarray(photo.resize(reference_size, Image.BICUBIC)))

    src, ref = pair(SOURCE_SIZE, REFERENCE_SIZE)
    stats = lab_stats(ref)
    sizes = '1914x1052 onto 2048x1024'
    print(f'{os.cpu_count()} cores, OpenCV {cv2.__version__}; mean and best of {args.repeats}\n')
    print('| transfer | ms mean | ms best |\n|---|---|---|')
    for threads in (cv2.getNumThreads(), 1):
        cv2.setNumThreads(threads)
        report(f'OpenCV, {threads} thread(s), {sizes}, not cached',
               lambda: lab_color_transfer(src, ref), args.repeats)
        report(f'OpenCV, {threads} thread(s), {sizes}, cached',
               lambda: match_lab_stats(src, *stats), args.repeats)
    released_ref_stats = released_stats(ref)
    report(f'scikit-image (released rule), {sizes}, not cached',
           lambda: released_transfer(src, *released_stats(ref)), max(1, args.repeats // 3))
    report(f'scikit-image (released rule), {sizes}, cached',
           lambda: released_transfer(src, *released_ref_stats), max(1, args.repeats // 3))
    if args.before:
        spec = importlib.util.spec_from_file_location('before', args.before)
        before = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(before)
        report(f'{args.before}, {sizes} (no cache)', lambda: before.lab_color_transfer(src, ref),
               args.repeats)
        small_src, small_ref = pair((1280, 720), (1024, 512))
        report(f'{args.before}, 1280x720 onto 1024x512 (no cache)',
               lambda: before.lab_color_transfer(small_src, small_ref), args.repeats)


if __name__ == '__main__':
    main(parse_args())
