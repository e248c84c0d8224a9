"""A tiny labelled catalogue whose attributes are drawn into synthetic JPEGs.

Three attributes: `colour` (red | green | blue: the garment's fill), `shape` (tall | wide:
the garment's box), `usage` (formal | casual: a dark or light background), with about a
fifth of the `usage` labels missing (-1). Images are 24×32 like the real 60×80 catalogue
(not square), so the padding of `tfvisrec.data.images` is exercised.
"""
import io

import numpy as np
from PIL import Image

from tfvisrec.data import dataset as dataset_lib

COLOURS = ((220, 30, 30), (30, 200, 40), (40, 60, 220))
NAMES = ["colour", "shape", "usage"]
VALUES = [["red", "green", "blue"], ["tall", "wide"], ["formal", "casual"]]


def draw(colour, shape, usage, rng, width=24, height=32):
    background = 40 if usage == 0 else 215
    pixels = np.full((height, width, 3), background, np.float32)
    h, w = (26, 10) if shape == 0 else (12, 20)
    top = rng.integers(0, height - h + 1)
    left = rng.integers(0, width - w + 1)
    pixels[top:top + h, left:left + w] = COLOURS[colour]
    pixels += rng.normal(0, 8, pixels.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def write_catalogue(path, num_items=96, seed=0, missing_usage=0.2):
    """Write the catalogue folder (holdout 70% / 15% / 15%); returns its path."""
    rng = np.random.default_rng(seed)
    labels = np.stack([rng.integers(0, len(v), num_items) for v in VALUES], axis=1).astype(np.int32)
    images = [draw(*labels[i], rng) for i in range(num_items)]
    labels[rng.random(num_items) < missing_usage, 2] = -1
    holdout = np.zeros(num_items, np.int8)
    order = rng.permutation(num_items)
    holdout[order[int(0.7 * num_items):int(0.85 * num_items)]] = 1
    holdout[order[int(0.85 * num_items):]] = 2
    empty = dataset_lib.Split(*(np.zeros(0, np.int64) for _ in range(3)))
    items = dataset_lib.item_table(num_items, np.zeros(0, np.int64), attributes=labels)
    items["holdout_split"] = holdout
    meta = {"name": "tiny_catalogue", "kind": "catalogue", "seed": seed,
            "attributes": {"names": NAMES, "values": VALUES}}
    return dataset_lib.write_dataset(path, meta, [], [f"p{i:04d}" for i in range(num_items)],
                                     {"train": empty, "valid": empty, "test": empty}, items,
                                     images=images, num_shards=2)
