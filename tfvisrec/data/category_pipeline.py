"""tf.data batches of item images with their category, for models of the catalogue's looks
(the category-conditional GAN of DVBPR §III-C) rather than of its shoppers.

A batch is `{"item": int64 [B], "image": float32 [B, S, S, 3] in [-1, 1], "category":
int32 [B]}` over the items whose category is known (the dataset's `category` column, from
`items.csv`; -1 = unknown, left out). Batches follow the rules of `pipelines.py`: batch b of
epoch e is a pure function of (seed, e, b), every batch is full (the last one topped up from
the next permutation), and images are flipped left-right at random (stateless, seeded by
(seed, e, b)), so a resumed run continues exactly.
"""
import os

import numpy as np
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.pipelines import map_epochs, register_pipeline


def categorised_items(dataset) -> np.ndarray:
    """Indices (int64, ascending) of the items with a known category; a DataError naming the
    dataset when it has no category column or no item has a category."""
    table = os.path.join(dataset.path, schema.ITEM_TABLE_FILE) if dataset.path else None
    if not dataset.categories:
        raise DataError("the dataset has no item categories (a `category` column in items.csv "
                        "at ingest); the conditional GAN needs each training item's category", table)
    category = np.asarray(dataset.category)
    bad = np.flatnonzero((category < schema.NO_LABEL) | (category >= len(dataset.categories)))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"item {dataset.item_ids[i]!r} (index {i}) has category index {category[i]}, "
                        f"outside -1..{len(dataset.categories) - 1}", table)
    items = np.flatnonzero(category != schema.NO_LABEL).astype(np.int64)
    if items.size == 0:
        raise DataError("no item has a known category (all are -1)", table)
    return items


@register_pipeline("category_images")
def category_images(dataset, item_table, batch_size: int, seed: int, epoch: int,
                    start_batch: int = 0, steps_per_epoch: int = 0, num_epochs: int = 1,
                    **_unused) -> tf.data.Dataset:
    """The trainer's entry point (`train_pipeline = "category_images"`): one epoch visits every
    categorised item once in a seeded order (see the module docstring)."""

    def make_batch(flip_seed, b, ids):
        features = item_table.lookup(ids)
        image = tf.image.stateless_random_flip_left_right(features[schema.IMAGE],
                                                          seed=tf.stack([flip_seed, b]))
        return {schema.ITEM: ids, schema.IMAGE: image, schema.CATEGORY: features[schema.CATEGORY]}

    return map_epochs(make_batch, [categorised_items(dataset)], batch_size, seed, epoch, start_batch,
                      steps_per_epoch, num_epochs)
