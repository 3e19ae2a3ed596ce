"""Result pictures drawn with PIL alone: per-class IoU bars, a confusion matrix, mIoU per round.

PIL's bundled scalable font keeps the pictures identical on every machine and spares the
project a plotting stack. Every picture is written atomically; each function also returns it.
"""
import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from utils.serialization import atomic_save_image

WHITE, BLACK, GREY, LIGHT_GREY = (255, 255, 255), (0, 0, 0), (120, 120, 120), (225, 225, 225)
BAR_COLOUR, MIOU_COLOUR = (70, 130, 180), (200, 30, 30)

# IoU bar chart: one row per class; its width is fixed, its height grows with the classes.
IOU_ROW, IOU_TOP, IOU_BOTTOM = 22, 60, 36
IOU_LABEL_W, IOU_BAR_W, IOU_RIGHT = 130, 460, 70
IOU_WIDTH = IOU_LABEL_W + IOU_BAR_W + IOU_RIGHT

# Confusion matrix: square cells; the margins fit the longest class name.
CM_CELL, CM_COLOURBAR_W = 30, 18
# Sequential white -> dark blue scale (light = rare, dark = frequent), as in the common 'Blues'.
CM_SCALE = ((255, 255, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107))

# mIoU per round: a fixed canvas, one line per network.
ROUND_SIZE = (760, 440)
ROUND_PLOT = (70, 90, 730, 390)          # left, top, right, bottom of the plot area
# The per-round table's series: the teachers take these colours and markers in their order,
# the teachers' ensemble and the student their own.
TEACHER_STYLES = (((230, 120, 20), 'circle'), ((40, 150, 70), 'square'),
                  ((160, 60, 170), 'triangle'), ((190, 40, 40), 'diamond'))
ROUND_STYLES = {'ensemble': ((130, 130, 130), 'triangle'), 'student': ((30, 80, 200), 'diamond')}


def round_series(columns):
    """(key, legend, colour, marker, where a point's value is written) of each column
    {key: legend} of the per-round table. mIoU mostly rises with the rounds, so a point's
    lines leave it lower-left and upper-right: labels go upper-left or lower-right,
    alternating between neighbouring series."""
    teachers = iter(TEACHER_STYLES * len(columns))
    return [(key, legend, *(ROUND_STYLES.get(key) or next(teachers)), ('rb', 'lt')[i % 2])
            for i, (key, legend) in enumerate(columns.items())]


@lru_cache(maxsize=None)
def font(size):
    return ImageFont.load_default(size=size)


def text_size(draw, text, text_font):
    left, top, right, bottom = draw.textbbox((0, 0), text, font=text_font)
    return right - left, bottom - top


def is_number(value):
    """True for a finite IoU; None and NaN mean 'no pixels of this class'."""
    return value is not None and math.isfinite(value)


def iou_bar_chart(per_class, path, title):
    """One horizontal bar per class (IoU in %), value labels, and a dashed mIoU line.

    `per_class`: class name -> IoU % or None (class absent: 'n/a', no bar). The picture is
    IOU_WIDTH x (IOU_TOP + IOU_ROW * classes + IOU_BOTTOM) pixels.
    """
    names = list(per_class)
    height = IOU_TOP + IOU_ROW * len(names) + IOU_BOTTOM
    image = Image.new('RGB', (IOU_WIDTH, height), WHITE)
    draw = ImageDraw.Draw(image)
    bottom = IOU_TOP + IOU_ROW * len(names)

    def x_of(iou):
        return IOU_LABEL_W + IOU_BAR_W * max(0.0, min(iou, 100.0)) / 100.0

    draw.text((10, 8), title, fill=BLACK, font=font(16))
    for tick in range(0, 101, 20):
        draw.line([(x_of(tick), IOU_TOP - 4), (x_of(tick), bottom)], fill=LIGHT_GREY)
        draw.text((x_of(tick), bottom + 6), str(tick), fill=GREY, font=font(11), anchor='mt')
    draw.text((x_of(50), bottom + 20), 'IoU (%)', fill=GREY, font=font(11), anchor='mt')
    for row, name in enumerate(names):
        iou = per_class[name]
        middle = IOU_TOP + IOU_ROW * row + IOU_ROW // 2
        draw.text((IOU_LABEL_W - 8, middle), name, fill=BLACK, font=font(12), anchor='rm')
        if not is_number(iou):
            draw.text((IOU_LABEL_W + 4, middle), 'n/a', fill=GREY, font=font(11), anchor='lm')
            continue
        draw.rectangle([IOU_LABEL_W, middle - IOU_ROW // 2 + 3, x_of(iou),
                        middle + IOU_ROW // 2 - 3], fill=BAR_COLOUR)
        draw.text((x_of(iou) + 4, middle), f'{iou:.1f}', fill=BLACK, font=font(11), anchor='lm')
    values = [v for v in per_class.values() if is_number(v)]
    if values:
        miou = float(np.mean(values))
        draw_dashed_vertical(draw, x_of(miou), IOU_TOP - 4, bottom, MIOU_COLOUR)
        label = f'mIoU {miou:.1f} ({len(values)} class{"es" if len(values) > 1 else ""})'
        half = text_size(draw, label, font(12))[0] / 2 + 4    # keep it inside the picture
        draw.text((min(max(x_of(miou), half), IOU_WIDTH - half), IOU_TOP - 8), label,
                  fill=MIOU_COLOUR, font=font(12), anchor='mb')
    atomic_save_image(path, image)
    return image


def draw_dashed_vertical(draw, x, top, bottom, colour, dash=6, width=2):
    for y in range(int(top), int(bottom), 2 * dash):
        draw.line([(x, y), (x, min(y + dash, bottom))], fill=colour, width=width)


def scale_colour(fraction):
    """The CM_SCALE colour of a fraction in [0, 1] (linear between the anchors)."""
    position = max(0.0, min(float(fraction), 1.0)) * (len(CM_SCALE) - 1)
    low = min(int(position), len(CM_SCALE) - 2)
    t = position - low
    return tuple(round(a + (b - a) * t) for a, b in zip(CM_SCALE[low], CM_SCALE[low + 1]))


def row_normalise(hist):
    """Each ground-truth row as fractions of its pixels (rows without pixels stay 0)."""
    hist = np.asarray(hist, dtype=np.float64)
    totals = hist.sum(axis=1, keepdims=True)
    return np.divide(hist, totals, out=np.zeros_like(hist), where=totals > 0)


def draw_rotated_text(image, xy_bottom_centre, text, text_font, colour):
    """Text turned 90 degrees counter-clockwise, its end at `xy_bottom_centre`."""
    probe = ImageDraw.Draw(image)
    width, height = text_size(probe, text, text_font)
    mask = Image.new('L', (width + 4, height + 6), 0)
    ImageDraw.Draw(mask).text((2, 0), text, fill=255, font=text_font, anchor='lt')
    mask = mask.rotate(90, expand=True)
    x, y = xy_bottom_centre
    image.paste(Image.new('RGB', mask.size, colour), (int(x - mask.width / 2),
                                                      int(y - mask.height)), mask)


def confusion_matrix_image(hist, class_names, path):
    """hist[label, pred], each row normalised, as coloured cells with a colour scale.

    Rows are ground truth, columns predictions; cells hold the row percentage when >= 1%.
    """
    fractions = row_normalise(hist)
    n = len(class_names)
    probe = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    name_w = max(text_size(probe, name, font(12))[0] for name in class_names) + 12
    left, top = name_w + 26, name_w + 48
    size = CM_CELL * n
    image = Image.new('RGB', (left + size + CM_COLOURBAR_W + 64, top + size + 16), WHITE)
    draw = ImageDraw.Draw(image)
    draw.text((10, 8), 'confusion matrix (row-normalised: each ground-truth class sums to 100%)',
              fill=BLACK, font=font(14))
    draw.text((left + size / 2, 30), 'prediction', fill=GREY, font=font(12), anchor='mt')
    draw_rotated_text(image, (12, top + size / 2 + 40), 'ground truth', font(12), GREY)
    for i, name in enumerate(class_names):
        centre = i * CM_CELL + CM_CELL / 2
        draw.text((left - 6, top + centre), name, fill=BLACK, font=font(12), anchor='rm')
        draw_rotated_text(image, (left + centre, top - 6), name, font(12), BLACK)
    for row in range(n):
        for col in range(n):
            value = fractions[row, col]
            x, y = left + col * CM_CELL, top + row * CM_CELL
            draw.rectangle([x, y, x + CM_CELL - 1, y + CM_CELL - 1], fill=scale_colour(value),
                           outline=LIGHT_GREY)
            if value >= 0.01:
                draw.text((x + CM_CELL / 2, y + CM_CELL / 2), f'{value * 100:.0f}',
                          fill=WHITE if value > 0.5 else BLACK, font=font(10), anchor='mm')
    draw_colour_bar(draw, left + size + 14, top, size)
    atomic_save_image(path, image)
    return image


def draw_colour_bar(draw, x, top, height):
    for offset in range(height):
        draw.line([(x, top + offset), (x + CM_COLOURBAR_W, top + offset)],
                  fill=scale_colour(1.0 - offset / max(height - 1, 1)))
    draw.rectangle([x, top, x + CM_COLOURBAR_W, top + height - 1], outline=GREY)
    for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + (1.0 - fraction) * (height - 1)
        draw.line([(x + CM_COLOURBAR_W, y), (x + CM_COLOURBAR_W + 4, y)], fill=GREY)
        draw.text((x + CM_COLOURBAR_W + 7, y), f'{fraction * 100:.0f}%', fill=BLACK,
                  font=font(11), anchor='lm')


def axis_range(values):
    """(low, high, step) of a y axis in mIoU %: a few round ticks around the values."""
    if not values:
        return 0.0, 100.0, 20.0
    spread = max(max(values) - min(values), 1.0)
    step = next(s for s in (1, 2, 5, 10, 20) if spread / s <= 6)
    low = max(0.0, math.floor((min(values) - step / 2) / step) * step)
    high = min(100.0, math.ceil((max(values) + step / 2) / step) * step)
    return low, max(high, low + step), float(step)


def draw_marker(draw, centre, shape, colour, radius=5):
    x, y = centre
    if shape == 'circle':
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)
    elif shape == 'square':
        draw.rectangle([x - radius, y - radius, x + radius, y + radius], fill=colour)
    elif shape == 'triangle':
        draw.polygon([(x, y - radius - 1), (x + radius + 1, y + radius),
                      (x - radius - 1, y + radius)], fill=colour)
    else:
        draw.polygon([(x, y - radius - 1), (x + radius + 1, y), (x, y + radius + 1),
                      (x - radius - 1, y)], fill=colour)


def draw_round_axes(draw, rounds, low, high, step):
    """Grid, tick labels and axis titles; returns (x of a round index, y of an mIoU)."""
    left, top, right, bottom = ROUND_PLOT
    slot = (right - left) / max(len(rounds), 1)

    def x_of(index):
        return left + slot * (index + 0.5)

    def y_of(value):
        return bottom - (bottom - top) * (value - low) / (high - low)

    tick = low
    while tick <= high + 1e-9:
        draw.line([(left, y_of(tick)), (right, y_of(tick))], fill=LIGHT_GREY)
        draw.text((left - 8, y_of(tick)), f'{tick:g}', fill=GREY, font=font(11), anchor='rm')
        tick += step
    draw.rectangle([left, top, right, bottom], outline=GREY)
    for index, round_idx in enumerate(rounds):
        draw.text((x_of(index), bottom + 8), f'round {round_idx}', fill=BLACK, font=font(12),
                  anchor='mt')
    return x_of, y_of


def miou_per_round_chart(rows, path, columns):
    """mIoU per self-training round of each column {key: legend} of the per-round table (the
    teachers, their ensemble and the student).

    `rows`: [{'round': r, KEY: mIoU %, ...}, ...]; a missing or None value leaves its point
    out. The picture is ROUND_SIZE pixels.
    """
    series = round_series(columns)
    rows = sorted(rows, key=lambda row: row['round'])
    image = Image.new('RGB', ROUND_SIZE, WHITE)
    draw = ImageDraw.Draw(image)
    draw.text((10, 8), 'mIoU per round', fill=BLACK, font=font(16))
    values = [row.get(key) for row in rows for key, *_ in series]
    low, high, step = axis_range([v for v in values if is_number(v)])
    x_of, y_of = draw_round_axes(draw, [row['round'] for row in rows], low, high, step)
    middle = (ROUND_PLOT[1] + ROUND_PLOT[3]) / 2
    draw_rotated_text(image, (22, middle + 30), 'mIoU (%)', font(12), GREY)
    legend_x, legend_y = ROUND_PLOT[0], 50
    for key, label, colour, shape, anchor in series:
        points = [(x_of(i), y_of(row[key]), row[key]) for i, row in enumerate(rows)
                  if is_number(row.get(key))]
        if len(points) > 1:
            draw.line([(x, y) for x, y, _ in points], fill=colour, width=3)
        for x, y, value in points:
            draw_marker(draw, (x, y), shape, colour)
            dx, dy = (8, 6) if anchor == 'lt' else (-8, -6)
            draw.text((x + dx, y + dy), f'{value:.1f}', fill=colour, font=font(11),
                      anchor=anchor)
        width = 42 + text_size(draw, label, font(12))[0]
        if legend_x + width > ROUND_SIZE[0]:  # the legend goes on in a second line
            legend_x, legend_y = ROUND_PLOT[0], legend_y + 20
        draw.line([(legend_x, legend_y), (legend_x + 26, legend_y)], fill=colour, width=3)
        draw_marker(draw, (legend_x + 13, legend_y), shape, colour)
        draw.text((legend_x + 32, legend_y), label, fill=BLACK, font=font(12), anchor='lm')
        legend_x += width
    if not rows:
        draw.text(((ROUND_PLOT[0] + ROUND_PLOT[2]) / 2, (ROUND_PLOT[1] + ROUND_PLOT[3]) / 2),
                  'no rounds yet', fill=GREY, font=font(14), anchor='mm')
    atomic_save_image(path, image)
    return image
