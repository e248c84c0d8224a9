"""A tiny "category world" for the design half of DVBPR (GAN, preference maximisation and
their metrics): items of three categories (top | trousers | bag) drawn apart by colour and
shape, shoppers who buy mostly one category, and a labelled catalogue of fresh drawings of
the same categories for a category classifier (the quality score of `tfvisrec.design.quality`).
Small enough to train a GAN, a DVBPR and the classifier on in about a minute on a CPU.
"""
import io

import numpy as np
from PIL import Image

from tfvisrec.data import dataset as dataset_lib

CATEGORY_COLOURS = {"top": (200, 40, 40), "trousers": (40, 60, 200), "bag": (40, 170, 60)}


def draw_garment(category, rng, size=16):
    """A `size`-px JPEG: a light background and one garment, whose colour and shape tell its
    category (red tall box, blue wide box, green square), slightly moved and shaded."""
    pixels = np.full((size, size, 3), 235.0)
    h, w = {"top": (12, 6), "trousers": (6, 12), "bag": (8, 8)}[category]
    h, w = h * size // 16, w * size // 16
    top, left = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
    shade = rng.uniform(0.75, 1.15)
    pixels[top:top + h, left:left + w] = np.asarray(CATEGORY_COLOURS[category]) * shade
    pixels += rng.normal(0, 6, pixels.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, format="JPEG", quality=92)
    return out.getvalue()


def write_category_image_dataset(path, num_users=24, num_items=48, per_user=8, size=16, seed=0):
    """Items with photos and a category (top | trousers | bag, drawn apart by colour and
    shape; every 8th item has none), users who buy mostly one category; leave-one-out."""
    rng = np.random.default_rng(seed)
    names = list(CATEGORY_COLOURS)
    category = np.arange(num_items) % len(names)
    images = [draw_garment(names[c], rng, size) for c in category]
    category[::8] = -1
    liked = rng.integers(0, len(names), num_users)
    splits = {"train": ([], [], []), "valid": ([], [], []), "test": ([], [], [])}
    for u in range(num_users):
        p = np.where(np.arange(num_items) % len(names) == liked[u], 6.0, 1.0)
        items = rng.choice(num_items, size=per_user, replace=False, p=p / p.sum())
        for k, i in enumerate(items):
            name = "test" if k == 0 else "valid" if k == 1 else "train"
            for arr, v in zip(splits[name], (u, i, -1)):
                arr.append(v)
    splits = {k: dataset_lib.Split(*(np.array(a, np.int64) for a in v)) for k, v in splits.items()}
    table = dataset_lib.item_table(num_items, splits["train"].items, category=category)
    meta = {"name": "category_images", "kind": "interactions", "split": "leave_one_out",
            "seed": seed, "has_time": False, "cold_threshold": 5, "categories": names}
    return dataset_lib.write_dataset(path, meta, [f"u{u:03d}" for u in range(num_users)],
                                     [f"i{i:03d}" for i in range(num_items)], splits, table,
                                     images=images, num_shards=2)


def write_category_catalogue(path, num_items=90, size=16, seed=1, holdout=(0.6, 0.2, 0.2)):
    """A catalogue (no users) of `num_items` fresh drawings, one attribute `category` (the
    world's three names, in turn), split train / valid / test by `holdout` at random."""
    rng = np.random.default_rng(seed)
    names = list(CATEGORY_COLOURS)
    labels = (np.arange(num_items) % len(names)).astype(np.int32)
    images = [draw_garment(names[c], rng, size) for c in labels]
    split = np.zeros(num_items, np.int8)
    order = rng.permutation(num_items)
    first, second = int(holdout[0] * num_items), int((holdout[0] + holdout[1]) * num_items)
    split[order[first:second]], split[order[second:]] = 1, 2
    empty = dataset_lib.Split(*(np.zeros(0, np.int64) for _ in range(3)))
    items = dataset_lib.item_table(num_items, np.zeros(0, np.int64), attributes=labels[:, None])
    items["holdout_split"] = split
    meta = {"name": "category_catalogue", "kind": "catalogue", "seed": seed,
            "attributes": {"names": ["category"], "values": [names]}}
    return dataset_lib.write_dataset(path, meta, [], [f"c{i:03d}" for i in range(num_items)],
                                     {"train": empty, "valid": empty, "test": empty}, items,
                                     images=images, num_shards=1)
