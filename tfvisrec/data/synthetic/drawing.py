"""Draw one item image from its attribute values, and report where each region was drawn.

Every shape is laid out in unit coordinates (x right, y down, [0, 1]²), jittered by one random
scale/shift per item, rendered with Pillow at twice the output size and downsampled (anti-
aliasing), then lightly noised. Region boxes are the transformed unit-space extents of what
was drawn for the region, as normalised (ymin, xmin, ymax, xmax).
"""
import dataclasses
import math
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tfvisrec.data.synthetic import vocabulary as vocab

Point = Tuple[float, float]
Box = Tuple[float, float, float, float]
SUPERSAMPLE = 2
PATTERN_PERIOD = 0.085   # unit-space period of stripes, dots and checks
V_NECK_DEPTH = 0.15      # below the shoulder line: the deepest neckline


@dataclasses.dataclass
class Drawing:
    """An item image with its ground-truth geometry."""

    image: Image.Image
    garment_box: Box                      # the whole silhouette
    regions: Dict[str, List[Box]]        # region attribute → boxes of its parts (left first)


@dataclasses.dataclass(frozen=True)
class _UpperBody:
    """Layout of a garment with sleeves, neck and chest (tops and dresses)."""

    shoulder_y: float
    left_x: float
    neck_half_width: float
    chest: Point
    print_half_size: float
    sleeve_scale: float


_TOP = _UpperBody(shoulder_y=0.22, left_x=0.32, neck_half_width=0.09, chest=(0.5, 0.50),
                  print_half_size=0.075, sleeve_scale=1.0)
_DRESS = _UpperBody(shoulder_y=0.12, left_x=0.37, neck_half_width=0.07, chest=(0.5, 0.31),
                    print_half_size=0.055, sleeve_scale=0.8)


class _Canvas:
    """Maps unit coordinates through the item's jitter to supersampled pixels."""

    def __init__(self, size: int, scale: float, shift: Point):
        self.size = size * SUPERSAMPLE
        self.scale = scale
        self.shift = shift

    def unit(self, p: Point) -> Point:
        return (0.5 + self.scale * (p[0] - 0.5) + self.shift[0],
                0.5 + self.scale * (p[1] - 0.5) + self.shift[1])

    def px(self, points: Sequence[Point]) -> List[Point]:
        return [tuple(c * self.size for c in self.unit(p)) for p in points]

    def box(self, points: Sequence[Point], margin: float = 0.01) -> Box:
        pts = [self.unit(p) for p in points]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        m = margin * self.scale
        return (_clip(min(ys) - m), _clip(min(xs) - m), _clip(max(ys) + m), _clip(max(xs) + m))


def draw_item(values: Dict[str, str], size: int, rng: np.random.Generator,
              part_scale: float = 1.0) -> Drawing:
    """Render the item whose attribute values are `values` (name → value name). `part_scale`
    enlarges the neckline and the print (see `_draw_upper_body`); 1 draws them as always."""
    canvas = _Canvas(size, scale=rng.uniform(0.86, 1.02), shift=tuple(rng.uniform(-0.04, 0.04, 2)))
    colour = _jitter_colour(vocab.COLOUR_RGB[values["colour"]], rng)
    background = _jitter_colour(vocab.BACKGROUND_RGB, rng, spread=3.0)
    mask = Image.new("L", (canvas.size, canvas.size), 0)
    shape = ImageDraw.Draw(mask)
    regions: Dict[str, List[Box]] = {}
    category = values["category"]
    layout = {"top": _TOP, "dress": _DRESS}.get(category)
    if layout is not None:
        details = _draw_upper_body(canvas, shape, layout, values, category == "dress", regions, part_scale)
    else:
        details = {"trousers": _draw_trousers, "skirt": _draw_skirt,
                   "shoes": _draw_shoes, "bag": _draw_bag}[category](canvas, shape)
    image = Image.new("RGB", mask.size, background)
    image.paste(_pattern(canvas, values["pattern"], colour, rng), (0, 0), mask)
    edges = mask.filter(ImageFilter.FIND_EDGES).filter(ImageFilter.MaxFilter(3))
    image.paste(Image.new("RGB", mask.size, _outline(colour)), (0, 0), edges)
    painter = ImageDraw.Draw(image)
    for draw_detail in details:
        draw_detail(painter, colour)
    garment = mask.getbbox() or (0, 0, canvas.size, canvas.size)
    garment_box = tuple(_clip(v / canvas.size) for v in (garment[1], garment[0], garment[3], garment[2]))
    image = image.resize((size, size), Image.LANCZOS)
    pixels = np.asarray(image, np.float32) + rng.normal(0.0, 3.0, (size, size, 3))
    image = Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8))
    return Drawing(image=image, garment_box=garment_box, regions=regions)


def _draw_upper_body(canvas, shape, g: _UpperBody, values, is_dress, regions, part_scale=1.0):
    """Torso (+ skirt for dresses), sleeves, neckline cut; returns the detail painters.

    part_scale s ≠ 1: the neckline (cut and collar flaps) is scaled by s about the neck point
    (0.5, shoulder line) and the print's half size by s; the print moves down just enough to
    stay below the deepest neckline (the v's tip), so the two parts never overlap.
    """
    x0, x1, sy, nw = g.left_x, 1.0 - g.left_x, g.shoulder_y, g.neck_half_width
    hem = 0.93 if is_dress else 0.86
    bottom = 0.42 if is_dress else hem
    sleeve = values["sleeve"]
    if sleeve == "sleeveless":
        # No sleeve: the region is the strap and arm-hole cut at the shoulder.
        half = [(x0 + 0.05, sy), (0.5 - nw, sy), (0.5, sy), (0.5, bottom), (x0, bottom),
                (x0, sy + 0.18), (x0 + 0.03, sy + 0.10)]
        left_sleeve = [(x0 - 0.01, sy - 0.01), (x0 + 0.08, sy + 0.20)]
    else:
        half = [(x0, sy + 0.03), (0.5 - nw, sy), (0.5, sy), (0.5, bottom), (x0, bottom)]
        k = g.sleeve_scale
        reach, drop = (0.13 * k, 0.16 * k) if sleeve == "short" else (0.14 * k, 0.50 * k)
        left_sleeve = [(x0, sy + 0.03), (x0 - reach, sy + 0.03 + drop),
                       (x0 - reach + 0.07 * k, sy + 0.07 + drop),
                       (x0, sy + (0.15 if sleeve == "short" else 0.17) * k)]
        shape.polygon(canvas.px(left_sleeve), fill=255)
        shape.polygon(canvas.px(_mirror(left_sleeve)), fill=255)
    shape.polygon(canvas.px(half), fill=255)
    shape.polygon(canvas.px(_mirror(half)), fill=255)
    if is_dress:
        shape.polygon(canvas.px([(x0, 0.42), (x1, 0.42), (0.84, hem), (0.16, hem)]), fill=255)
    regions["sleeve"] = [canvas.box(left_sleeve), canvas.box(_mirror(left_sleeve))]

    neckline = values["neckline"]
    flaps: List[List[Point]] = []
    if neckline == "round":
        cut = _ellipse((0.5, sy + 0.01), nw, 0.06)
    elif neckline == "v":
        cut = [(0.5 - nw, sy - 0.02), (0.5 + nw, sy - 0.02), (0.5, sy + V_NECK_DEPTH)]
    else:  # collar: a small round cut with two pointed flaps
        cut = _ellipse((0.5, sy), nw * 0.75, 0.035)
        flap = [(0.5 - nw - 0.01, sy - 0.005), (0.5 - 0.004, sy + 0.04), (0.5 - nw + 0.025, sy + 0.12)]
        flaps = [flap, _mirror(flap)]
    if part_scale != 1.0:
        cut = _scaled(cut, (0.5, sy), part_scale)
        flaps = [_scaled(f, (0.5, sy), part_scale) for f in flaps]
    shape.polygon(canvas.px(cut), fill=0)
    # The cut may reach above the shoulder line, where there is no garment to cut.
    regions["neckline"] = [canvas.box([(x, max(y, sy - 0.02)) for part in [cut] + flaps for x, y in part])]

    h = g.print_half_size * part_scale
    cx, cy = g.chest
    if part_scale != 1.0:
        cy = max(cy, sy + V_NECK_DEPTH * part_scale + h + 0.01)
    motif = _motif(values["print"], (cx, cy), h)
    regions["print"] = [canvas.box(motif or [(cx - h, cy - h), (cx + h, cy + h)], margin=0.005)]

    def paint_flaps(painter, colour):
        for f in flaps:
            painter.polygon(canvas.px(f), fill=_contrast(colour), outline=_outline(colour))

    def paint_print(painter, colour):
        if not motif:
            return
        painter.polygon(canvas.px(motif), fill=_contrast(colour))
        if values["print"] == "logo":
            bar = [(cx - 0.6 * h, cy - 0.12 * h), (cx + 0.6 * h, cy - 0.12 * h),
                   (cx + 0.6 * h, cy + 0.12 * h), (cx - 0.6 * h, cy + 0.12 * h)]
            painter.polygon(canvas.px(bar), fill=colour)

    return [paint_flaps, paint_print]


def _draw_trousers(canvas, shape):
    shape.polygon(canvas.px([(0.32, 0.10), (0.68, 0.10), (0.71, 0.92), (0.54, 0.92),
                             (0.50, 0.36), (0.46, 0.92), (0.29, 0.92)]), fill=255)

    def paint(painter, colour):
        painter.line(canvas.px([(0.32, 0.155), (0.68, 0.155)]), fill=_outline(colour), width=2)
        painter.line(canvas.px([(0.5, 0.155), (0.5, 0.30)]), fill=_outline(colour), width=2)
    return [paint]


def _draw_skirt(canvas, shape):
    shape.polygon(canvas.px([(0.36, 0.22), (0.64, 0.22), (0.82, 0.80), (0.18, 0.80)]), fill=255)

    def paint(painter, colour):
        painter.line(canvas.px([(0.355, 0.27), (0.645, 0.27)]), fill=_outline(colour), width=2)
    return [paint]


def _draw_shoes(canvas, shape):
    shape.polygon(canvas.px([(0.14, 0.68), (0.14, 0.40), (0.21, 0.36), (0.39, 0.36), (0.44, 0.46),
                             (0.62, 0.52), (0.80, 0.56), (0.86, 0.63), (0.86, 0.68)]), fill=255)

    def paint(painter, colour):
        sole = (200, 200, 200) if _luminance(colour) < 100 else (45, 45, 48)
        painter.polygon(canvas.px([(0.13, 0.66), (0.87, 0.66), (0.87, 0.73), (0.13, 0.73)]), fill=sole)
        painter.polygon(canvas.px(_ellipse((0.30, 0.365), 0.085, 0.025)), fill=_outline(colour))
    return [paint]


def _draw_bag(canvas, shape):
    shape.polygon(canvas.px([(0.24, 0.42), (0.76, 0.42), (0.81, 0.84), (0.19, 0.84)]), fill=255)

    def paint(painter, colour):
        (x0, y0), (x1, y1) = canvas.px([(0.33, 0.20), (0.67, 0.64)])
        painter.arc((x0, y0, x1, y1), 180, 360, fill=_outline(colour),
                    width=max(2, int(0.035 * canvas.size * canvas.scale)))
        painter.line(canvas.px([(0.235, 0.52), (0.765, 0.52)]), fill=_outline(colour), width=2)
    return [paint]


def _motif(kind: str, centre: Point, h: float) -> List[Point]:
    cx, cy = centre
    if kind == "star":
        return [(cx + (h if k % 2 == 0 else 0.45 * h) * math.sin(k * math.pi / 5),
                 cy - (h if k % 2 == 0 else 0.45 * h) * math.cos(k * math.pi / 5)) for k in range(10)]
    if kind == "heart":
        ts = np.linspace(0.0, 2.0 * math.pi, 28, endpoint=False)
        return [(cx + h * (math.sin(t) ** 3),
                 cy - h * (13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t)
                           - math.cos(4 * t)) / 16.0) for t in ts]
    if kind == "logo":
        return [(cx - h, cy - 0.6 * h), (cx + h, cy - 0.6 * h), (cx + h, cy + 0.6 * h), (cx - h, cy + 0.6 * h)]
    return []  # plain: nothing drawn; the region is the bare chest


def _pattern(canvas: _Canvas, pattern: str, colour, rng) -> Image.Image:
    """The garment fill: the colour, overlaid with the pattern in a shade of the same colour."""
    size = canvas.size
    fill = Image.new("RGB", (size, size), colour)
    if pattern == "solid":
        return fill
    painter = ImageDraw.Draw(fill)
    period = PATTERN_PERIOD * canvas.scale * size
    phase = rng.uniform(0.0, period)
    second = _shade(colour)
    starts = np.arange(-period + phase, size, period)
    if pattern == "stripes":
        for y in starts:
            painter.rectangle((0, y, size, y + period / 2), fill=second)
    elif pattern == "checks":
        for v in starts:
            painter.rectangle((0, v, size, v + period * 0.3), fill=second)
            painter.rectangle((v, 0, v + period * 0.3, size), fill=second)
    else:  # dots
        r = period * 0.22
        for row, y in enumerate(starts):
            for x in starts + (period / 2 if row % 2 else 0.0):
                painter.ellipse((x - r, y - r, x + r, y + r), fill=second)
    return fill


def _ellipse(centre: Point, rx: float, ry: float, n: int = 20) -> List[Point]:
    return [(centre[0] + rx * math.cos(t), centre[1] + ry * math.sin(t))
            for t in np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)]


def _scaled(points: Sequence[Point], centre: Point, scale: float) -> List[Point]:
    return [(centre[0] + scale * (x - centre[0]), centre[1] + scale * (y - centre[1])) for x, y in points]


def _mirror(points: Sequence[Point]) -> List[Point]:
    return [(1.0 - x, y) for x, y in points]


def _jitter_colour(rgb, rng, spread=8.0):
    shift = rng.normal(0.0, spread) + rng.normal(0.0, spread / 3.0, 3)
    return tuple(int(v) for v in np.clip(np.round(np.asarray(rgb) + shift), 0, 255))


def _luminance(rgb) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _shade(rgb):
    """A lighter shade for dark colours, a darker one for light colours (pattern ink)."""
    c = np.asarray(rgb, np.float64)
    out = 0.45 * c + 0.55 * 255.0 if _luminance(rgb) < 140 else 0.6 * c
    return tuple(int(v) for v in np.round(out))


def _outline(rgb):
    return tuple(int(0.5 * v) for v in rgb) if _luminance(rgb) >= 90 else (90, 90, 90)


def _contrast(rgb):
    return (245, 245, 245) if _luminance(rgb) < 150 else (40, 40, 44)


def _clip(v: float) -> float:
    return float(min(1.0, max(0.0, v)))
