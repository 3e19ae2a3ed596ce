"""Figures 2-3: for chosen val images, a grid of the image, its ground truth, both teachers,
the student and the target-only baseline, in the Cityscapes palette, one PNG per round.

    python scripts/qualitative_figures.py --exp_dir experiments/gta2cityscapes_100 \
        [--images NAME ...] [--num_images 4] [--panel_width 512]

Reads what self_train.py wrote: the run's settings (manifest.json), and the colourised
predictions of every evaluation (roundR/eval_MODEL_pred/color/, baselines/eval_target_only_pred/,
present when the run had --baselines). Writes EXP_DIR/figures/roundR.png.
"""
import argparse
import os
import sys

from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dataset.cityscapes import cityscapes_val  # noqa: E402
from self_train import read_run_cfg  # noqa: E402
from dataset.base_dataset import load_class_info  # noqa: E402
from dataset.pipeline import round_teachers  # noqa: E402
from utils.charts import font  # noqa: E402
from utils.errors import DataError, run_cli  # noqa: E402
from utils.serialization import atomic_save_image  # noqa: E402
from utils.visualize import colorize  # noqa: E402

def panels(cfg):
    """(key, title) of each column: the image, its ground truth, the round's teachers
    (TRAIN.TEACHERS), the student and the target-only model."""
    return [('image', 'image'), ('ground truth', 'ground truth'),
            *((mixing.stage, mixing.title) for mixing in round_teachers(cfg).values()),
            ('student', 'student'), ('target_only', 'target-only')]
TITLE_HEIGHT = 24


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--exp_dir', required=True)
    parser.add_argument('--images', nargs='+', default=None,
                        help='val list names (default: the first --num_images of the list)')
    parser.add_argument('--num_images', type=int, default=4)
    parser.add_argument('--panel_width', type=int, default=512)
    return parser.parse_args(argv)


def prediction_dir(exp_dir, round_idx, panel):
    if panel == 'target_only':
        return os.path.join(exp_dir, 'baselines', 'eval_target_only_pred', 'color')
    return os.path.join(exp_dir, f'round{round_idx}', f'eval_{panel}_pred', 'color')


def round_figure(exp_dir, round_idx, dataset, indices, palette, panel_width, columns):
    """The grid of one round: a row per image, a column per panel; missing panels stay grey."""
    label_w, label_h = dataset.label_size
    size = (panel_width, round(panel_width * label_h / label_w))
    grid = Image.new('RGB', (size[0] * len(columns), TITLE_HEIGHT + size[1] * len(indices)),
                     (200, 200, 200))
    draw = ImageDraw.Draw(grid)
    for column, (_, title) in enumerate(columns):
        draw.text((column * size[0] + size[0] // 2, TITLE_HEIGHT // 2), title, fill=(0, 0, 0),
                  font=font(14), anchor='mm')
    for row, index in enumerate(indices):
        name = dataset.names[index]
        image, label = dataset.load(index)
        for column, (panel, _) in enumerate(columns):
            if panel == 'image':
                picture = Image.fromarray(image)
            elif panel == 'ground truth':
                picture = colorize(label, palette)
            else:
                path = os.path.join(prediction_dir(exp_dir, round_idx, panel),
                                    os.path.basename(name))
                if not os.path.isfile(path):
                    continue
                picture = Image.open(path)
            grid.paste(picture.convert('RGB').resize(size, Image.NEAREST if column else
                                                     Image.BICUBIC),
                       (column * size[0], TITLE_HEIGHT + row * size[1]))
    return grid


def main(args):
    cfg = read_run_cfg(args.exp_dir)
    # Images at the labels' size (TEST.OUTPUT_SIZE), where the predictions were written.
    cfg.TEST.INPUT_SIZE = cfg.TEST.OUTPUT_SIZE
    dataset = cityscapes_val(cfg, cfg.DATA_DIRECTORY_TARGET)
    if args.images:
        unknown = [n for n in args.images if n not in dataset.names]
        if unknown:
            raise DataError(f'--images: not in {dataset.list_path}: {unknown[0]}')
        indices = [dataset.names.index(n) for n in args.images]
    else:
        indices = list(range(min(args.num_images, len(dataset))))
    _, palette, _ = load_class_info(cfg.TEST.INFO)
    rounds = sorted(int(d[len('round'):]) for d in os.listdir(args.exp_dir)
                    if d.startswith('round') and d[len('round'):].isdigit())
    if not rounds:
        raise DataError(f'{args.exp_dir}: no round folders yet')
    for r in rounds:
        path = os.path.join(args.exp_dir, 'figures', f'round{r}.png')
        atomic_save_image(path, round_figure(args.exp_dir, r, dataset, indices, palette,
                                             args.panel_width, panels(cfg)))
        print(f'round {r}: {path}')


if __name__ == '__main__':
    run_cli(main, parse_args())
