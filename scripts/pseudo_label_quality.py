"""How good are a round's pseudo labels? Their IoU against D_U's ground truth, on kept pixels.

    python scripts/pseudo_label_quality.py --data_path CITYSCAPES --pseudo_dir EXP/round1/pseudo
        [--oracle_dir DIR]

A diagnostic: training never reads D_U's ground truth, but Cityscapes has it. The ground truth
is resized (nearest) to the pseudo labels' size, the training input size. Prints the share of
pixels kept, their accuracy and the per-class IoU, and writes them to PSEUDO_DIR/quality.json.
With --oracle_dir it also writes the same pseudo labels with every kept pixel's label replaced
by the ground truth (the same pixels kept). Trained on in their place
(`--opts DATA_DIRECTORY_PSEUDO=DIR`), they tell what the pseudo labels' errors cost apart from
what their coverage does.
"""
import argparse
import os
import shutil
import sys

import numpy as np
from PIL import Image
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import LIST_DIR  # noqa: E402
from dataset.base_dataset import load_class_info  # noqa: E402
from dataset.cityscapes import CityscapesDataset, PseudoLabeledCityscapes  # noqa: E402
from utils.errors import DataError, run_cli  # noqa: E402
from utils.func import IGNORE_LABEL, ConfusionMatrix, format_table  # noqa: E402
from utils.serialization import atomic_save_image, atomic_write_json  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data_path', required=True, help='Cityscapes root (gtFine/train/)')
    parser.add_argument('--pseudo_dir', required=True,
                        help="a round's pseudo labels (list.txt, labels/), as self_train.py "
                             'writes them')
    parser.add_argument('--oracle_dir', default=None,
                        help='also write the kept pixels with their ground-truth labels here')
    parser.add_argument('--info', default=os.path.join(LIST_DIR, 'info.json'),
                        help='class table (info_16.json for 16-class models)')
    return parser.parse_args(argv)


def main(args):
    class_names, _, _ = load_class_info(args.info)
    if args.oracle_dir and os.path.abspath(args.oracle_dir) == os.path.abspath(args.pseudo_dir):
        raise DataError(f'--oracle_dir must differ from --pseudo_dir: {args.oracle_dir}')
    # Only labels are read: the image size and mean are unused.
    pseudo = PseudoLabeledCityscapes(args.data_path, args.pseudo_dir, (1, 1), (0, 0, 0),
                                     args.info)
    truth = CityscapesDataset(args.data_path, pseudo.list_path, 'train', (1, 1), (0, 0, 0),
                              args.info)
    matrix = ConfusionMatrix(len(class_names))
    kept = total = 0
    for name in tqdm(pseudo.names, desc='pseudo labels', dynamic_ncols=True):
        label = pseudo.read_label(pseudo.label_path(name))
        true = truth.read_label(truth.label_path(name))
        if true.shape != label.shape:  # pseudo labels are at the training input size
            true = np.asarray(Image.fromarray(true).resize(label.shape[::-1], Image.NEAREST))
        keep = label != IGNORE_LABEL
        kept += int(keep.sum())
        total += label.size
        oracle = np.where(keep, true, IGNORE_LABEL).astype(np.uint8)
        matrix.update(oracle, label)
        if args.oracle_dir:
            atomic_save_image(os.path.join(args.oracle_dir, 'labels', name),
                              Image.fromarray(oracle))
    if args.oracle_dir:  # written last: a directory with its list is a complete one
        shutil.copyfile(pseudo.list_path, os.path.join(args.oracle_dir, 'list.txt'))

    summary = matrix.summary(class_names)
    hist = matrix.hist
    accuracy = float(np.diag(hist).sum() / max(hist.sum(), 1) * 100)
    quality = {'pseudo_dir': os.path.abspath(args.pseudo_dir), 'num_images': len(pseudo),
               'kept_pixels': round(kept / max(total, 1) * 100, 2),
               'accuracy_on_kept': round(accuracy, 2), **summary}
    print(format_table(summary))
    print(f'kept {quality["kept_pixels"]:.2f}% of the pixels of {len(pseudo)} images; '
          f'{quality["accuracy_on_kept"]:.2f}% of those with a ground-truth label are right')
    atomic_write_json(os.path.join(args.pseudo_dir, 'quality.json'), quality)
    return quality


if __name__ == '__main__':
    run_cli(main, parse_args())
