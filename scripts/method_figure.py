"""Draw docs/method.png: DDM's rounds as boxes, each naming the file that implements it.

    python scripts/method_figure.py [--out docs/method.png]

Pillow only, with the font Pillow ships, so the picture is the same on any machine.
"""
import argparse
import os

from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WIDTH, HEIGHT = 1700, 560
INK, CODE, ARROW = (30, 30, 30), (20, 80, 160), (90, 90, 90)
FILL = {'data': (236, 236, 236), 'teacher': (255, 236, 210), 'ensemble': (240, 240, 210),
        'student': (214, 236, 214), 'pseudo': (222, 228, 246)}

# (kind, left, top, right, bottom, title, what it does, the code that does it)
BOXES = {
    'data': ('data', 20, 150, 250, 430, 'Data',
             'D_S: labeled source images (GTA5 or SYNTHIA). D_T: a few labeled Cityscapes '
             'images (100 to 2,975). D_U: all Cityscapes train images, unlabeled.',
             ['dataset/build.py']),
    'region': ('teacher', 300, 40, 700, 250, 'Region-level teacher M_RL',
               'Trained on a box of a source image pasted into a target image '
               '(CutMix), labels alike.',
               ['dataset/mixing.py: region_mix_pair', 'dataset/pipeline.py: region_mixed_sample',
                'train_teacher.py --mix region']),
    'sample': ('teacher', 300, 290, 700, 500, 'Sample-level teacher M_SL',
               "Trained on a source and a target image each step, the source's colours "
               "matched to a Cityscapes image's in LAB.",
               ['dataset/pipeline.py: sample_level_pair', 'dataset/color_transfer.py',
                'train_teacher.py --mix sample']),
    'ensemble': ('ensemble', 760, 170, 990, 390, 'Ensemble',
                 "The mean of the teachers' softmax at temperature T.",
                 ['net/predict.py: ensemble_prob']),
    'student': ('student', 1050, 150, 1330, 410, 'Student M_S',
                'Distilled: cross-entropy on D_T, plus KL divergence to the ensemble '
                'on D_U.',
                ['distill.py: distill_loss', 'net/loss.py: kl_distill']),
    'pseudo': ('pseudo', 1390, 150, 1680, 410, 'Pseudo labels',
               "The student's class where its confidence reaches its class's median "
               '(at most 0.9), elsewhere ignored.',
               ['engine/pseudo_label.py: class_balanced_thresholds',
                'self_train.py: pseudo_labels']),
}
# (from, to): arrows from the right side of one box to the left side of the next
FLOWS = [('data', 'region'), ('data', 'sample'), ('region', 'ensemble'), ('sample', 'ensemble'),
         ('ensemble', 'student')]


def wrap(text, font, width):
    """`text` as lines no wider than `width` pixels."""
    lines, line = [], ''
    for word in text.split():
        candidate = f'{line} {word}'.strip()
        if line and font.getlength(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line]


def draw_box(draw, fonts, box):
    kind, left, top, right, bottom, title, text, code = box
    draw.rounded_rectangle((left, top, right, bottom), 12, fill=FILL[kind], outline=INK, width=2)
    y = top + 12
    draw.text((left + 14, y), title, font=fonts['title'], fill=INK)
    y += 34
    for line in wrap(text, fonts['text'], right - left - 28):
        draw.text((left + 14, y), line, font=fonts['text'], fill=INK)
        y += 22
    y += 8
    for entry in code:
        for line in wrap(entry, fonts['code'], right - left - 28):
            draw.text((left + 14, y), line, font=fonts['code'], fill=CODE)
            y += 20


def arrow(draw, points, label=None, font=None):
    """A polyline through `points` with a head at the last one."""
    draw.line(points, fill=ARROW, width=3, joint='curve')
    (x0, y0), (x1, y1) = points[-2], points[-1]
    dx, dy = (x1 > x0) - (x1 < x0), (y1 > y0) - (y1 < y0)
    draw.polygon([(x1, y1), (x1 - 14 * dx + 7 * dy, y1 - 14 * dy + 7 * dx),
                  (x1 - 14 * dx - 7 * dy, y1 - 14 * dy - 7 * dx)], fill=ARROW)
    if label:
        draw.text(label[0], label[1], font=font, fill=INK)


def main(out):
    image = Image.new('RGB', (WIDTH, HEIGHT), 'white')
    draw = ImageDraw.Draw(image)
    fonts = {'title': ImageFont.load_default(size=22), 'text': ImageFont.load_default(size=17),
             'code': ImageFont.load_default(size=16)}
    for name, box in BOXES.items():
        draw_box(draw, fonts, box)
    for a, b in FLOWS:
        _, _, a_top, a_right, a_bottom = BOXES[a][:5]
        _, b_left, b_top, _, b_bottom = BOXES[b][:5]
        ya, yb = (a_top + a_bottom) // 2, (b_top + b_bottom) // 2
        xm = (a_right + b_left) // 2
        arrow(draw, [(a_right, ya), (xm, ya), (xm, yb), (b_left, yb)])
    arrow(draw, [(1330, 280), (1390, 280)])
    # The next round: back from the pseudo labels to both teachers, above and below.
    arrow(draw, [(1535, 150), (1535, 16), (500, 16), (500, 40)],
          ((760, 22), 'round r+1: D_T plus the pseudo-labeled D_U (self_train.py: round_steps)'),
          fonts['text'])
    arrow(draw, [(1535, 410), (1535, 540), (500, 540), (500, 500)])
    image.save(out)
    print(f'wrote {out}')


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=os.path.join(ROOT, 'docs', 'method.png'))
    main(parser.parse_args().out)
