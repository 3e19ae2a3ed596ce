"""Generated road scenes in the real on-disk layouts of GTA5, SYNTHIA and Cityscapes.

    python -m dataset.synthetic --out DIR [--seed 0] [--num_source N] [--num_train N]
        [--num_val N] [--target_size 256x128] [--source_size 320x180] [--synthia] [--gap 1.0]
        [--workers N]

DIR is a new or empty folder, or one this generator wrote before (it holds generated.json):
it never draws over other files.

Tests and the CPU demo need data that the real loaders read unchanged, that a tiny DeepLab-v2
learns at 128x64 .. 256x128, and whose source -> target gap is real and controllable. Each
image is drawn in two steps: a scene (label, instance and part maps; one layout logic for
every domain) and a rendering of it in a domain style. The target ("real") style is muted,
textured, with a soft noisy camera; the game styles are saturated, hue-shifted per class,
flat and sharp, with mildly different shapes. A source style at `gap` g is
target + g * (game - target), so gap 0 draws the source like the target.

Every image has its own generator seeded by (seed, domain, index): the same arguments give
byte-identical files, and a longer run extends a shorter one with the same first images.
"""
import argparse
import concurrent.futures as futures
import functools
import multiprocessing
import os

import numpy as np
import yaml
from PIL import Image

from dataset.base_dataset import write_list
from dataset.png16 import write_png_16bit
from utils.errors import ConfigError, OutputError, run_cli
from utils.serialization import atomic_write_json, atomic_write_text

# Cityscapes label ids: the label space of gtFine_labelIds and of the GTA5 labels.
UNLABELED, EGO_VEHICLE = 0, 1
ROAD, SIDEWALK, BUILDING, POLE, LIGHT, SIGN = 7, 8, 11, 17, 19, 20
VEGETATION, TERRAIN, SKY, PERSON, RIDER, CAR = 21, 22, 23, 24, 25, 26
MOTORCYCLE, BICYCLE = 32, 33
THINGS = (PERSON, RIDER, CAR, MOTORCYCLE, BICYCLE)

# label2train of the 19-class info.json (ids not listed -> 255).
LABEL2TRAIN = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10,
               24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
TRAIN_IDS = np.full(256, 255, np.uint8)  # label id -> train id, as a lookup table
TRAIN_IDS[list(LABEL2TRAIN)] = list(LABEL2TRAIN.values())

# Cityscapes id -> SYNTHIA-RAND-CITYSCAPES id (terrain 16 and lane marking 22 exist in
# SYNTHIA but are outside its 16 training classes, as in the real data).
CITYSCAPES2SYNTHIA = {ROAD: 3, SIDEWALK: 4, BUILDING: 2, POLE: 7, LIGHT: 15, SIGN: 9,
                      VEGETATION: 6, TERRAIN: 16, SKY: 1, PERSON: 10, RIDER: 17, CAR: 8,
                      MOTORCYCLE: 12, BICYCLE: 11}
SYNTHIA_LANE_MARKING = 22

CITIES = {'train': ('aachen', 'bochum', 'bremen'), 'val': ('frankfurt', 'lindau', 'munster')}
DOMAIN_CODES = {'gta5': 1, 'cityscapes_train': 2, 'cityscapes_val': 3, 'synthia': 4}
MIN_SIZE = (32, 16)
# Written in the output folder before any image: a folder holding it is this generator's,
# whose files a new run may write again; a non-empty folder without it is refused.
RECORD = 'generated.json'

# Parts of an instance drawn in their own colour (tyres, glass, skin, lane paint, ...).
BODY, DARK, GLASS, SKIN, BRIGHT, TRUNK, LAMP = range(7)

TARGET_STYLE = {
    'palette': {UNLABELED: (90, 90, 90), EGO_VEHICLE: (35, 35, 40), ROAD: (88, 84, 90),
                SIDEWALK: (136, 128, 130), BUILDING: (112, 104, 96), POLE: (108, 108, 104),
                LIGHT: (48, 48, 44), SIGN: (150, 140, 72), VEGETATION: (72, 96, 48),
                TERRAIN: (112, 118, 74), SKY: (172, 188, 200), MOTORCYCLE: (52, 52, 58),
                BICYCLE: (64, 58, 52)},
    'cars': ((188, 188, 186), (38, 38, 42), (110, 112, 116), (118, 36, 36), (42, 52, 86),
             (150, 140, 120)),
    'clothes': ((40, 40, 46), (72, 62, 56), (112, 102, 92), (60, 70, 100), (128, 42, 48),
                (160, 150, 140)),
    # Indexed by part: BODY (unused), DARK, GLASS, SKIN, BRIGHT, TRUNK, LAMP.
    'parts': ((0, 0, 0), (24, 24, 28), (56, 66, 76), (170, 140, 120), (196, 196, 190),
              (72, 56, 42), (210, 170, 70)),
    'jitter': 14.0,            # std of an instance's colour offset
    'texture': 10.0,           # amplitude of the per-pixel texture, unless listed below
    'texture_per_class': {VEGETATION: 30.0, TERRAIN: 20.0, BUILDING: 12.0, SKY: 6.0},
    'noise': 5.0,              # sensor noise std
    'gain': (0.75, 1.1),       # exposure range
    'shade': 0.12,             # large-scale illumination variation
    'white_balance': 0.05,
    'tint': (1.0, 1.0, 1.0),
    'blur': 0.6,               # weight of a 3x3 box blur (a soft lens)
    'ego_prob': 0.7,           # Cityscapes frames show the hood of the ego car
    'car_aspect': 2.0,
    'building_scale': 1.0,
    'horizon': (0.36, 0.5),    # horizon row range, as a fraction of the height
    'person_width': 0.38,
}

GTA5_STYLE = dict(
    TARGET_STYLE,
    # Each class shifted in hue and saturation, about halfway to a cartoon palette: a
    # colour-only classifier trained here fails on the target, context and shape still carry.
    palette={UNLABELED: (90, 90, 90), EGO_VEHICLE: (35, 35, 40), ROAD: (81, 78, 98),
             SIDEWALK: (154, 136, 127), BUILDING: (127, 103, 107), POLE: (131, 123, 90),
             LIGHT: (41, 53, 41), SIGN: (106, 120, 125), VEGETATION: (67, 118, 55),
             TERRAIN: (135, 132, 70), SKY: (139, 172, 214), MOTORCYCLE: (96, 44, 49),
             BICYCLE: (55, 98, 99)},
    cars=((228, 52, 42), (42, 100, 228), (238, 198, 42), (244, 244, 244), (24, 24, 24),
          (60, 198, 90)),
    clothes=((198, 42, 178), (42, 198, 198), (228, 120, 32), (238, 238, 62), (92, 42, 198),
             (248, 248, 248)),
    parts=((0, 0, 0), (18, 18, 20), (85, 124, 148), (201, 158, 130), (222, 222, 212),
           (94, 63, 38), (230, 122, 53)),
    jitter=6.0, texture=3.0, texture_per_class={VEGETATION: 8.0, TERRAIN: 5.0, BUILDING: 3.0,
                                                 SKY: 1.0},
    noise=1.0, gain=(0.95, 1.05), shade=0.03, white_balance=0.01, tint=(1.08, 1.0, 0.9),
    blur=0.0, ego_prob=0.0, car_aspect=2.7, building_scale=1.4, horizon=(0.34, 0.48),
    person_width=0.32,
)

SYNTHIA_STYLE = dict(
    GTA5_STYLE,
    palette={UNLABELED: (90, 90, 90), EGO_VEHICLE: (35, 35, 40), ROAD: (95, 89, 86),
             SIDEWALK: (146, 142, 152), BUILDING: (139, 125, 102), POLE: (100, 101, 113),
             LIGHT: (36, 36, 34), SIGN: (172, 106, 67), VEGETATION: (81, 112, 44),
             TERRAIN: (126, 115, 73), SKY: (186, 201, 216), MOTORCYCLE: (56, 56, 96),
             BICYCLE: (99, 60, 48)},
    tint=(0.95, 1.0, 1.08), car_aspect=2.3, building_scale=1.2, horizon=(0.26, 0.4),
)


def _style_arrays(style):
    """Style dict -> arrays: palette (256, 3), texture (256,), the rest as float arrays."""
    out = {}
    for key, value in style.items():
        if key == 'palette':
            out[key] = np.full((256, 3), 128.0)
            for cls, rgb in value.items():
                out[key][cls] = rgb
        elif key == 'texture_per_class':
            out['texture'] = np.full(256, float(style['texture']))
            for cls, amplitude in value.items():
                out['texture'][cls] = amplitude
        elif key != 'texture':
            out[key] = np.asarray(value, dtype=np.float64)
    return out


def blend_style(target_style, source_style, gap):
    """The source style at `gap`: 0 is the target style, 1 the full source (game) style."""
    target, source = _style_arrays(target_style), _style_arrays(source_style)
    return {key: (1.0 - gap) * target[key] + gap * source[key] for key in target}


class _Scene:
    """Label, instance and part maps drawn together; each instance has its own base colour."""

    def __init__(self, rng, width, height, style):
        self.rng, self.w, self.h, self.style = rng, width, height, style
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        self.ys, self.xs = ys + 0.5, xs + 0.5          # pixel centres
        self.label = np.zeros((height, width), np.uint8)
        self.inst = np.zeros((height, width), np.uint16)
        self.part = np.zeros((height, width), np.uint8)
        self.colours = [np.zeros(3)]
        self.lay = _layout(rng, width, height, style)
        # Depth of each row below the horizon: 0 at the horizon, 1 at the bottom row.
        self.t = np.clip((self.ys - self.lay['yh']) / (height - self.lay['yh']), 0.0, 1.0)

    def new_colour(self, cls):
        style, rng = self.style, self.rng
        if cls == CAR:
            base = style['cars'][rng.integers(len(style['cars']))]
        elif cls in (PERSON, RIDER):
            base = style['clothes'][rng.integers(len(style['clothes']))]
        else:
            base = style['palette'][cls]
        # Mostly a brightness offset, a little hue; facades vary more than anything else.
        spread = style['jitter'] * (2.0 if cls == BUILDING else 1.0)
        return base + rng.normal(0.0, spread) + rng.normal(0.0, spread / 3, 3)

    def paint(self, mask, cls, colour=None, part=BODY, inst=None):
        """Paint `mask` as class `cls`: a new instance, or a part of instance `inst`."""
        if inst is None:
            inst = len(self.colours)
            self.colours.append(self.new_colour(cls) if colour is None else colour)
        self.label[mask] = cls
        self.inst[mask] = inst
        self.part[mask] = part
        return inst

    def y_at(self, t):
        return self.lay['yh'] + t * (self.h - self.lay['yh'])

    def x_at(self, edge, y):
        """x of a ground line given as (x at the horizon, x at the bottom row), at row y."""
        t = (y - self.lay['yh']) / (self.h - self.lay['yh'])
        return edge[0] + t * (edge[1] - edge[0])


def _layout(rng, w, h, style):
    """Horizon, vanishing point, and the road and sidewalk edges as straight ground lines."""
    yh = h * rng.uniform(*style['horizon'])
    vx = w * rng.uniform(0.38, 0.62)
    half_top = w * rng.uniform(0.01, 0.03)
    road_l = (vx - half_top, w * rng.uniform(-0.25, 0.15))
    road_r = (vx + half_top, w * rng.uniform(0.85, 1.25))
    walk_l = (road_l[0] - 0.01 * w, road_l[1] - w * rng.uniform(0.12, 0.3))
    walk_r = (road_r[0] + 0.01 * w, road_r[1] + w * rng.uniform(0.12, 0.3))
    return {'yh': yh, 'vx': vx, 'road': (road_l, road_r), 'walk': (walk_l, walk_r)}


def _box(sc, x0, y0, x1, y1):
    return (sc.xs >= x0) & (sc.xs < x1) & (sc.ys >= y0) & (sc.ys < y1)


def _ellipse(sc, cx, cy, rx, ry):
    return ((sc.xs - cx) / rx) ** 2 + ((sc.ys - cy) / ry) ** 2 <= 1.0


def _trapezoid(sc, y0, y1, top, bottom):
    """Rows y0..y1, x from top=(left, right) at y0 to bottom=(left, right) at y1."""
    f = (sc.ys - y0) / max(y1 - y0, 1e-6)
    left = top[0] + f * (bottom[0] - top[0])
    right = top[1] + f * (bottom[1] - top[1])
    return (sc.ys >= y0) & (sc.ys < y1) & (sc.xs >= left) & (sc.xs < right)


def _between(sc, left_edge, right_edge):
    """Ground pixels between two ground lines."""
    below = sc.ys > sc.lay['yh']
    return below & (sc.xs >= sc.x_at(left_edge, sc.ys)) & (sc.xs <= sc.x_at(right_edge, sc.ys))


def _draw_sky_and_buildings(sc):
    rng, lay = sc.rng, sc.lay
    sc.paint(np.ones_like(sc.label, dtype=bool), SKY)
    # Facades nearer the camera (farther from the vanishing point) rise higher.
    base, slope = rng.uniform(0.04, 0.14), rng.uniform(0.25, 0.7)
    x = 0.0
    while x < sc.w:
        block_w = sc.w * rng.uniform(0.07, 0.22)
        dist = abs(x + block_w / 2 - lay['vx']) / sc.w
        top = lay['yh'] - sc.h * (base + slope * dist) * sc.style['building_scale'] * \
            rng.uniform(0.75, 1.25)
        inst = sc.paint(_box(sc, x, top, x + block_w, sc.h), BUILDING)
        _draw_windows(sc, inst, x, top, block_w)
        x += block_w


def _draw_windows(sc, inst, x0, top, block_w):
    rng = sc.rng
    cell_w = max(3.0, block_w / rng.integers(3, 7))
    cell_h = max(3.0, cell_w * rng.uniform(0.9, 1.6))
    fill_x, fill_y = rng.uniform(0.4, 0.65), rng.uniform(0.35, 0.6)
    in_x = ((sc.xs - x0) % cell_w) >= (1 - fill_x) * cell_w / 2
    in_x &= ((sc.xs - x0) % cell_w) < (1 + fill_x) * cell_w / 2
    in_y = ((sc.ys - top) % cell_h) >= (1 - fill_y) * cell_h / 2
    in_y &= ((sc.ys - top) % cell_h) < (1 + fill_y) * cell_h / 2
    mask = (sc.inst == inst) & in_x & in_y & (sc.ys > top + cell_h / 2)
    sc.paint(mask, BUILDING, inst=inst, part=GLASS)


def _draw_ground(sc):
    rng, lay = sc.rng, sc.lay
    for side, sign in ((0, -1.0), (1, 1.0)):
        if rng.random() < 0.45:     # a grass verge between sidewalk and facades
            walk = lay['walk'][side]
            verge = (walk[0] + sign * 0.02 * sc.w, walk[1] + sign * sc.w * rng.uniform(0.15, 0.35))
            edges = (verge, walk) if side == 0 else (walk, verge)
            sc.paint(_between(sc, *edges), TERRAIN)
    sc.paint(_between(sc, *lay['walk']), SIDEWALK)
    road_inst = sc.paint(_between(sc, *lay['road']), ROAD)
    # Centre-line dashes equally spaced on the ground: ground distance goes as 1/depth.
    (left_top, left_bottom), (right_top, right_bottom) = lay['road']
    centre = ((left_top + right_top) / 2, (left_bottom + right_bottom) / 2)
    half_width = max(0.6, 0.008 * sc.w) * (0.2 + sc.t)
    period, phase = rng.uniform(1.5, 3.0), rng.random()
    dashes = ((period / np.maximum(sc.t, 1e-3) + phase) % 1.0) < 0.45
    mask = (sc.label == ROAD) & (np.abs(sc.xs - sc.x_at(centre, sc.ys)) <= half_width)
    sc.paint(mask & dashes & (sc.t > 0.05), ROAD, inst=road_inst, part=BRIGHT)


def _draw_bushes(sc, side):
    """A hedge of overlapping ellipses along the outer edge of a sidewalk."""
    rng, mask = sc.rng, np.zeros_like(sc.label, dtype=bool)
    for t in np.linspace(0.1, 1.0, rng.integers(4, 9)) + rng.uniform(-0.04, 0.04):
        y = sc.y_at(t)
        r = sc.w * 0.045 * (0.3 + t) * rng.uniform(0.8, 1.3)
        mask |= _ellipse(sc, sc.x_at(sc.lay['walk'][side], y), y - 0.4 * r, 1.4 * r, r)
    sc.paint(mask & (sc.label != ROAD), VEGETATION)


def _draw_tree(sc, t, side):
    rng = sc.rng
    y1 = sc.y_at(t)
    x = sc.x_at(sc.lay['walk'][side], y1)
    r = sc.w * (0.05 + 0.08 * t) * rng.uniform(0.8, 1.2)
    trunk_h, trunk_w = r * rng.uniform(1.0, 2.0), max(2.0, 0.22 * r)
    trunk = _box(sc, x - trunk_w / 2, y1 - trunk_h, x + trunk_w / 2, y1)
    crown = _ellipse(sc, x, y1 - trunk_h - 0.7 * r, r, r * rng.uniform(0.9, 1.3))
    # Cityscapes labels trunks as vegetation too.
    inst = sc.paint(crown | trunk, VEGETATION)
    sc.paint(trunk & ~crown, VEGETATION, inst=inst, part=TRUNK)


def _on_sidewalk(sc, t, side, frac):
    """(x, y) of a point on a sidewalk at depth t, frac of the way from the road outwards."""
    y = sc.y_at(t)
    road_x, walk_x = sc.x_at(sc.lay['road'][side], y), sc.x_at(sc.lay['walk'][side], y)
    x = road_x + frac * (walk_x - road_x)
    return float(np.clip(x, 0.04 * sc.w, 0.96 * sc.w)), y


def _on_road(sc, t, frac):
    y = sc.y_at(t)
    left, right = (sc.x_at(edge, y) for edge in sc.lay['road'])
    return float(np.clip(left + frac * (right - left), 0.04 * sc.w, 0.96 * sc.w)), y


def _draw_pole(sc, t, side, kind):
    """A pole on the sidewalk, topped by a sign or a traffic light (kind), or bare."""
    rng = sc.rng
    x, y1 = _on_sidewalk(sc, t, side, 0.3)
    pole_w = max(2.0, sc.w * (0.014 + 0.014 * t))
    top = y1 - sc.h * (0.45 + 0.5 * t) * rng.uniform(0.9, 1.1)
    sc.paint(_box(sc, x - pole_w / 2, top, x + pole_w / 2, y1), POLE)
    s = max(4.0, sc.w * (0.045 + 0.04 * t))
    if kind == 'sign':
        cy = top + 0.6 * s
        face = _ellipse(sc, x, cy, s / 2, s / 2) if rng.random() < 0.5 else \
            _box(sc, x - s / 2, cy - s / 2, x + s / 2, cy + s / 2)
        inst = sc.paint(face, SIGN)
        sc.paint(face & _box(sc, x - s / 5, cy - s / 5, x + s / 5, cy + s / 5), SIGN,
                 inst=inst, part=BRIGHT)
    elif kind == 'light':
        housing = _box(sc, x - 0.3 * s, top, x + 0.3 * s, top + 1.5 * s)
        inst = sc.paint(housing, LIGHT)
        lit = rng.integers(3)
        for k in range(3):
            lamp = _ellipse(sc, x, top + (0.3 + 0.45 * k) * s, 0.17 * s, 0.17 * s) & housing
            sc.paint(lamp, LIGHT, inst=inst, part=LAMP if k == lit else DARK)


def _draw_car(sc, t, frac):
    rng = sc.rng
    cx, y1 = _on_road(sc, t, frac)
    car_w = sc.w * (0.11 + 0.2 * t) * rng.uniform(0.9, 1.15)
    car_h = car_w / (sc.style['car_aspect'] * rng.uniform(0.85, 1.15))
    x0 = cx - car_w / 2
    body = _box(sc, x0, y1 - 0.65 * car_h, x0 + car_w, y1 - 0.12 * car_h)
    cabin = _trapezoid(sc, y1 - car_h, y1 - 0.64 * car_h, (x0 + 0.28 * car_w, x0 + 0.72 * car_w),
                       (x0 + 0.12 * car_w, x0 + 0.88 * car_w))
    glass = _trapezoid(sc, y1 - 0.9 * car_h, y1 - 0.66 * car_h,
                       (x0 + 0.31 * car_w, x0 + 0.69 * car_w),
                       (x0 + 0.18 * car_w, x0 + 0.82 * car_w))
    r = max(1.0, 0.17 * car_h)
    wheels = _ellipse(sc, x0 + 0.2 * car_w, y1 - r, r, r) | \
        _ellipse(sc, x0 + 0.8 * car_w, y1 - r, r, r)
    inst = sc.paint(body | cabin | wheels, CAR)
    sc.paint(glass, CAR, inst=inst, part=GLASS)
    sc.paint(wheels, CAR, inst=inst, part=DARK)


def _draw_person(sc, cx, y1, height, cls):
    """A standing figure (feet at y1): torso in clothes colour, dark legs, skin-coloured head."""
    width = max(3.0, height * sc.style['person_width'])
    head_r = max(0.8, 0.11 * height)
    head = _ellipse(sc, cx, y1 - height + head_r, head_r, head_r)
    torso = _ellipse(sc, cx, y1 - 0.6 * height, width / 2, 0.22 * height)
    legs = _box(sc, cx - max(1.0, 0.32 * width), y1 - 0.45 * height,
                cx + max(1.0, 0.32 * width), y1)
    inst = sc.paint(head | torso | legs, cls)
    sc.paint(legs & ~torso, cls, inst=inst, part=DARK)
    sc.paint(head, cls, inst=inst, part=SKIN)


def _draw_pedestrian(sc, t, side):
    x, y1 = _on_sidewalk(sc, t, side, sc.rng.uniform(0.2, 0.8))
    _draw_person(sc, x, y1, sc.h * (0.15 + 0.25 * t) * sc.rng.uniform(0.9, 1.1), PERSON)


def _draw_two_wheeler(sc, t, frac, motor, ridden, side=None):
    """A bicycle or motorcycle on the road (or parked on sidewalk `side`), maybe ridden."""
    x, y1 = _on_road(sc, t, frac) if side is None else _on_sidewalk(sc, t, side, frac)
    length = sc.h * (0.14 + 0.22 * t) * (1.2 if motor else 1.0)
    r = length * (0.23 if motor else 0.25)
    hubs = (x - length / 2 + r, x + length / 2 - r)
    hub_y = y1 - r
    discs = [((sc.xs - hx) ** 2 + (sc.ys - hub_y) ** 2) / r ** 2 for hx in hubs]
    if motor:
        tyres = (discs[0] <= 1) | (discs[1] <= 1)
        frame = _box(sc, x - 0.35 * length, y1 - 1.9 * r, x + 0.35 * length, y1 - 0.6 * r)
    else:   # spoked wheels read as rings at this scale
        tyres = ((discs[0] <= 1) & (discs[0] >= 0.4)) | ((discs[1] <= 1) & (discs[1] >= 0.4))
        frame = _box(sc, hubs[0], hub_y - 0.6 * r, hubs[1], hub_y - 0.2 * r) | \
            _box(sc, x - 0.07 * length, hub_y - 1.1 * r, x + 0.07 * length, hub_y)
    cls = MOTORCYCLE if motor else BICYCLE
    inst = sc.paint(tyres | frame, cls)
    sc.paint(tyres, cls, inst=inst, part=DARK)
    if ridden:
        _draw_person(sc, x, hub_y + 0.2 * r, 1.05 * length, RIDER)


def _plan_objects(sc):
    """(depth, drawer, args) of every object; drawn far to near so near ones occlude."""
    rng, plan = sc.rng, []
    for _ in range(rng.integers(1, 5)):
        plan.append((rng.uniform(0.12, 1.0), _draw_car, (rng.uniform(0.15, 0.85),)))
    for _ in range(rng.integers(1, 5)):
        plan.append((rng.uniform(0.15, 1.0), _draw_pedestrian, (rng.integers(2),)))
    for _ in range(rng.integers(1, 4)):
        kind = rng.choice(['sign', 'light', 'bare'], p=[0.45, 0.35, 0.2])
        plan.append((rng.uniform(0.1, 0.9), _draw_pole, (rng.integers(2), kind)))
    for _ in range(rng.integers(0, 4)):
        plan.append((rng.uniform(0.1, 0.9), _draw_tree, (rng.integers(2),)))
    if rng.random() < 0.45:
        frac = rng.choice([rng.uniform(0.05, 0.25), rng.uniform(0.75, 0.95)])
        plan.append((rng.uniform(0.2, 1.0), _draw_two_wheeler,
                     (frac, bool(rng.random() < 0.5), True)))
    if rng.random() < 0.25:
        plan.append((rng.uniform(0.2, 1.0), _draw_two_wheeler,
                     (rng.uniform(0.3, 0.8), False, False, rng.integers(2))))
    return sorted(plan, key=lambda item: item[0])


def _draw_scene(rng, width, height, style):
    sc = _Scene(rng, width, height, style)
    _draw_sky_and_buildings(sc)
    _draw_ground(sc)
    for side in (0, 1):
        if rng.random() < 0.5:
            _draw_bushes(sc, side)
    for t, drawer, args in _plan_objects(sc):
        drawer(sc, t, *args)
    if rng.random() < style['ego_prob']:
        hood_h = height * rng.uniform(0.05, 0.1)
        curve = 1.0 - 0.5 * ((sc.xs - width / 2) / (0.6 * width)) ** 2
        sc.paint(sc.ys > height - hood_h * curve, EGO_VEHICLE)
    # Stray unlabeled blobs, as both real label sets have some id-0 pixels.
    for _ in range(rng.integers(0, 3)):
        cx, cy = rng.uniform(0, width), rng.uniform(sc.lay['yh'], height)
        r = width * rng.uniform(0.01, 0.03)
        sc.paint(_ellipse(sc, cx, cy, r, r * rng.uniform(0.5, 1.5)), UNLABELED,
                 colour=rng.uniform(0, 255, 3))
    return sc


def _smooth_noise(rng, h, w, cell):
    """Roughly unit-variance noise with blobs about `cell` pixels wide (bilinear upsampling)."""
    grid = rng.standard_normal((int(h / cell) + 2, int(w / cell) + 2))
    y, x = (np.arange(h) + 0.5) / cell, (np.arange(w) + 0.5) / cell
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _box_blur3(img):
    padded = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode='edge')
    h, w = img.shape[:2]
    return sum(padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9.0


def _render(sc, style, rng):
    """RGB uint8 image of a scene in a style."""
    img = np.asarray(sc.colours, dtype=np.float64)[sc.inst]
    for part in (DARK, GLASS, SKIN, BRIGHT, TRUNK, LAMP):
        mask = sc.part == part
        # A quarter of the body colour stays, so parts differ a little between instances.
        img[mask] = 0.75 * style['parts'][part] + 0.25 * img[mask]
    coarse = _smooth_noise(rng, sc.h, sc.w, max(2.0, sc.w / 20))
    fine = rng.standard_normal((sc.h, sc.w))
    img += (style['texture'][sc.label] * (0.7 * coarse + 0.5 * fine))[..., None]
    sky = sc.label == SKY
    img[sky] *= (0.88 + 0.24 * sc.ys / sc.h)[sky][:, None]   # lighter toward the horizon
    gain = rng.uniform(*style['gain'])
    balance = 1.0 + rng.uniform(-1.0, 1.0, 3) * style['white_balance']
    shading = 1.0 + style['shade'] * _smooth_noise(rng, sc.h, sc.w, max(4.0, sc.w / 3))
    img = img * (gain * balance * style['tint']) * shading[..., None]
    img = (1.0 - style['blur']) * img + style['blur'] * _box_blur3(img)
    img += rng.normal(0.0, style['noise'], img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def draw_sample(seed, domain, index, size, style):
    """(RGB uint8 image, label-id uint8 map, scene) of image `index` of a domain."""
    rng = np.random.default_rng([seed, DOMAIN_CODES[domain], index])
    scene = _draw_scene(rng, size[0], size[1], style)
    return _render(scene, style, rng), scene.label, scene


def _save_png(array, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _each(pool, draw, indices):
    """`draw(index)` for every index, in order: in `pool`'s processes if given (every image
    has its own generator, so the files are the same either way)."""
    return list(pool.map(draw, indices, chunksize=8)) if pool else [draw(i) for i in indices]


def _gta5_image(root, seed, size, style, index):
    name = f'{index:05d}.png'
    image, label, _ = draw_sample(seed, 'gta5', index, size, style)
    label = Image.fromarray(label)
    if index % 7 == 0:      # the real GTA5 has a few labels sized unlike their image
        w, h = size
        label = label.resize((w + max(2, w // 64), h + max(1, h // 64)), Image.NEAREST)
    _save_png(image, os.path.join(root, 'images', name))
    _save_png(np.asarray(label), os.path.join(root, 'labels', name))
    return name


def _write_gta5(root, seed, num, size, style, pool=None):
    names = _each(pool, functools.partial(_gta5_image, root, seed, size, style),
                  range(1, num + 1))
    write_list(os.path.join(root, 'gta5_list', 'train.txt'), names)
    return root


def _cityscapes_image(root, seed, size, style, split, index):
    city = CITIES[split][index % len(CITIES[split])]
    stem = f'{city}/{city}_{index // len(CITIES[split]):06d}_000019'
    image, label, _ = draw_sample(seed, 'cityscapes_' + split, index, size, style)
    _save_png(image, os.path.join(root, 'leftImg8bit', split, stem + '_leftImg8bit.png'))
    gt_stem = os.path.join(root, 'gtFine', split, stem + '_gtFine_')
    _save_png(label, gt_stem + 'labelIds.png')
    _save_png(TRAIN_IDS[label], gt_stem + 'labelTrainIds.png')
    return stem + '_leftImg8bit.png'


def _write_cityscapes(root, seed, num_train, num_val, size, pool=None):
    style = blend_style(TARGET_STYLE, TARGET_STYLE, 0.0)
    lists = {}
    for split, num in (('train', num_train), ('val', num_val)):
        lists[split] = sorted(_each(pool, functools.partial(_cityscapes_image, root, seed, size,
                                                            style, split), range(num)))
    list_dir = os.path.join(root, 'cityscapes_list')
    write_list(os.path.join(list_dir, 'train.txt'), lists['train'])
    write_list(os.path.join(list_dir, 'val.txt'), lists['val'])
    label_names = [n.replace('_leftImg8bit.png', '_gtFine_labelIds.png') for n in lists['val']]
    write_list(os.path.join(list_dir, 'label.txt'), label_names)
    return root


def synthia_label(scene):
    """(H, W, 3) uint16 SYNTHIA label of a scene: class id, instance id (things only), 0."""
    class_ids = np.zeros(256, np.uint16)
    for cityscapes_id, synthia_id in CITYSCAPES2SYNTHIA.items():
        class_ids[cityscapes_id] = synthia_id
    out = np.zeros(scene.label.shape + (3,), np.uint16)
    out[..., 0] = class_ids[scene.label]
    out[..., 0][(scene.label == ROAD) & (scene.part == BRIGHT)] = SYNTHIA_LANE_MARKING
    out[..., 1] = np.where(np.isin(scene.label, THINGS), scene.inst, 0)
    return out


def _synthia_image(root, seed, size, style, index):
    name = f'{index:07d}.png'
    image, _, scene = draw_sample(seed, 'synthia', index, size, style)
    _save_png(image, os.path.join(root, 'RGB', name))
    os.makedirs(os.path.join(root, 'GT', 'LABELS'), exist_ok=True)
    write_png_16bit(os.path.join(root, 'GT', 'LABELS', name), synthia_label(scene))
    return name


def _write_synthia(root, seed, num, size, style, pool=None):
    names = _each(pool, functools.partial(_synthia_image, root, seed, size, style),
                  range(1, num + 1))
    write_list(os.path.join(root, 'synthia_list', 'train.txt'), names)
    return root


def generate(out_dir, seed=0, num_source=50, num_train=40, num_val=10, target_size=(256, 128),
             source_size=(320, 180), synthia=False, gap=1.0, workers=1):
    """Write the data sets under out_dir, drawing `workers` images at once (each in a process
    of its own: the demo's 620 took 8.3 s one at a time).

    Returns {'gta5': root, 'cityscapes': root} (+ 'synthia': root with synthia=True).
    """
    if not 0.0 <= gap <= 1.0:
        raise ConfigError(f'gap must be in [0, 1], got {gap}')
    if seed < 0:
        raise ConfigError(f'seed must be >= 0, got {seed}')
    for size in (target_size, source_size):
        if len(size) != 2 or size[0] < MIN_SIZE[0] or size[1] < MIN_SIZE[1]:
            raise ConfigError(f'size must be at least {MIN_SIZE[0]}x{MIN_SIZE[1]}, got {size}')
    for name, num in (('num_source', num_source), ('num_train', num_train), ('num_val', num_val)):
        if num < 1:
            raise ConfigError(f'{name} must be at least 1, got {num}')
    claim(out_dir, {'seed': seed, 'num_source': num_source, 'num_train': num_train,
                    'num_val': num_val, 'target_size': list(target_size),
                    'source_size': list(source_size), 'synthia': synthia, 'gap': gap})
    # spawn: a caller's threads (MindSpore's) would not survive a fork
    pool = futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(
        'spawn')) if workers > 1 else None
    try:
        roots = {
            'gta5': _write_gta5(os.path.join(out_dir, 'gta5'), seed, num_source, source_size,
                                blend_style(TARGET_STYLE, GTA5_STYLE, gap), pool),
            'cityscapes': _write_cityscapes(os.path.join(out_dir, 'cityscapes'), seed,
                                            num_train, num_val, target_size, pool),
        }
        if synthia:
            synthia_style = blend_style(TARGET_STYLE, SYNTHIA_STYLE, gap)
            roots['synthia'] = _write_synthia(os.path.join(out_dir, 'synthia'), seed,
                                              num_source, source_size, synthia_style, pool)
    finally:
        if pool:
            pool.shutdown()
    for source in ('gta5', 'synthia') if synthia else ('gta5',):
        write_data_config(out_dir, source)
    return roots


def claim(out_dir, arguments):
    """Make `out_dir` this generator's (RECORD, with the `arguments`), unless it holds files
    that an earlier run of it did not write: those would be overwritten."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OutputError(f'--out {out_dir} is a file, not a folder')
    found = sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []
    if found and RECORD not in found:
        raise OutputError(f'--out {out_dir} is not empty and was not written by this generator '
                          f'(no {RECORD}; found {", ".join(found[:3])}): its files would be '
                          f'overwritten; use a new or empty folder')
    atomic_write_json(os.path.join(out_dir, RECORD), arguments)


def write_data_config(out_dir, source='gta5'):
    """A config overlay (`OUT/data_SOURCE.yaml`) pointing every data key at the generated sets.

    Every train image is labeled (D_T = D_U); a run picks a smaller D_T with --labeled_list.
    """
    out_dir = os.path.abspath(out_dir)
    cityscapes = os.path.join(out_dir, 'cityscapes')
    lists = os.path.join(cityscapes, 'cityscapes_list')
    source_list = {'gta5': 'gta5_list', 'synthia': 'synthia_list'}[source]
    overlay = {
        'SOURCE': {'gta5': 'GTA', 'synthia': 'SYNTHIA'}[source],
        'DATA_DIRECTORY_SOURCE': os.path.join(out_dir, source),
        'DATA_LIST_SOURCE': os.path.join(out_dir, source, source_list, 'train.txt'),
        'DATA_DIRECTORY_TARGET': cityscapes,
        'DATA_LIST_TARGET': os.path.join(lists, 'train.txt'),
        'DATA_LIST_TARGET_LABELED': os.path.join(lists, 'train.txt'),
        'TEST': {'DATA_LIST': os.path.join(lists, 'val.txt')},
    }
    path = os.path.join(out_dir, f'data_{source}.yaml')
    atomic_write_text(path, yaml.safe_dump(overlay, sort_keys=False))
    return path


def _size_arg(text):
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must be WIDTHxHEIGHT, got {text!r}') from None
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise argparse.ArgumentTypeError(
            f'size must be at least {MIN_SIZE[0]}x{MIN_SIZE[1]}, got {text!r}')
    return width, height


def _count_arg(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a whole number, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {text!r}')
    return value


def _gap_arg(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number in [0, 1], got {text!r}') from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f'gap must be in [0, 1], got {text!r}')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write generated road scenes in the GTA5, Cityscapes (and SYNTHIA) layouts.')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num_source', type=_count_arg, default=50,
                        help='GTA5 (and SYNTHIA) images')
    parser.add_argument('--num_train', type=_count_arg, default=40, help='Cityscapes train images')
    parser.add_argument('--num_val', type=_count_arg, default=10, help='Cityscapes val images')
    parser.add_argument('--target_size', type=_size_arg, default=(256, 128),
                        help='Cityscapes image size WxH')
    parser.add_argument('--source_size', type=_size_arg, default=(320, 180),
                        help='GTA5/SYNTHIA image size WxH')
    parser.add_argument('--synthia', action='store_true', help='also write SYNTHIA-layout data')
    parser.add_argument('--gap', type=_gap_arg, default=1.0,
                        help='domain gap: 0 draws the source like the target, 1 full game style')
    parser.add_argument('--workers', type=_count_arg, default=len(os.sched_getaffinity(0)),
                        help='images drawn at once (default: the cores this process may use)')
    return parser.parse_args(argv)


def main(args):
    roots = generate(args.out, seed=args.seed, num_source=args.num_source,
                     num_train=args.num_train, num_val=args.num_val,
                     target_size=args.target_size, source_size=args.source_size,
                     synthia=args.synthia, gap=args.gap, workers=args.workers)
    source = f'{args.num_source} GTA5' + (' + SYNTHIA' if args.synthia else '')
    print(f'wrote {source} images ({args.source_size[0]}x{args.source_size[1]}), '
          f'Cityscapes {args.num_train} train + {args.num_val} val '
          f'({args.target_size[0]}x{args.target_size[1]}), seed {args.seed}, gap {args.gap} '
          f'-> {", ".join(roots[k] for k in sorted(roots))}')
    return roots


if __name__ == '__main__':
    run_cli(main, parse_args())
