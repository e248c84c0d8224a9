"""tf.data batches for multi-task attribute classification on a labelled catalogue.

A catalogue dataset (`meta["kind"] == "catalogue"`) has no users: its items carry attribute
labels (`attributes`, -1 = missing) and a `holdout_split` (0 train, 1 valid, 2 test). A batch
is `{"image": float32 [B, S, S, 3] in [-1, 1], "labels": int32 [B, A], "item": int64 [B]}`.

Training batches follow the rules of `pipelines.py`: batch b of epoch e is a pure function of
(seed, e, b), every batch is full (the last one is topped up from the next permutation), and
images are flipped left-right at random (stateless, seeded by (seed, e, b)). Evaluation
batches visit the split once in item order, unflipped, the last batch possibly smaller.
Items whose labels are all missing carry no signal and are left out of every split.
"""
import os
from typing import Optional

import numpy as np
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.pipelines import map_epochs, register_pipeline

HOLDOUT_CODES = {"train": 0, "valid": 1, "test": 2}
IMAGE, LABELS, ITEM = schema.IMAGE, "labels", schema.ITEM


def holdout_split(dataset) -> np.ndarray:
    """int8 [items]: 0 train, 1 valid, 2 test; DataError naming the first bad item."""
    table_path = os.path.join(dataset.path, schema.ITEM_TABLE_FILE) if dataset.path else None
    split = getattr(dataset, "holdout_split", None)
    if split is None and table_path and os.path.exists(table_path):
        with np.load(table_path) as z:
            split = z["holdout_split"] if "holdout_split" in z.files else None
    if split is None:
        raise DataError("no holdout_split: attribute training needs a catalogue dataset "
                        "(`python -m tfvisrec.data catalogue ...`)", table_path)
    split = np.asarray(split)
    if split.shape != (dataset.num_items,):
        raise DataError(f"holdout_split has shape {split.shape}, expected ({dataset.num_items},)", table_path)
    bad = np.flatnonzero(~np.isin(split, list(HOLDOUT_CODES.values())))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"holdout_split[{i}] (item {dataset.item_ids[i]!r}) is {split[i]}, expected 0, "
                        "1 or 2", table_path)
    return split.astype(np.int8)


def checked_labels(dataset) -> np.ndarray:
    """The attribute matrix int32 [items, A], each value in -1 .. |values_a| - 1."""
    table_path = os.path.join(dataset.path, schema.ITEM_TABLE_FILE) if dataset.path else None
    labels = np.asarray(dataset.attributes)
    if labels.ndim != 2 or labels.shape[1] == 0:
        raise DataError("the dataset has no attribute labels to classify", table_path)
    cardinalities = [len(v) for v in dataset.attribute_values]
    if len(cardinalities) != labels.shape[1]:
        raise DataError(f"{labels.shape[1]} attribute columns but meta.json names "
                        f"{len(cardinalities)} attributes", table_path)
    too_big = labels >= np.asarray(cardinalities)[None, :]
    bad = np.argwhere((labels < schema.NO_LABEL) | too_big)
    if bad.size:
        i, a = (int(v) for v in bad[0])
        raise DataError(f"item {dataset.item_ids[i]!r} (index {i}): attribute {dataset.attribute_names[a]!r} "
                        f"has value index {labels[i, a]}, outside -1..{cardinalities[a] - 1}", table_path)
    return labels.astype(np.int32)


def split_items(dataset, split: str) -> np.ndarray:
    """Indices (int64, ascending) of the items of `split` with at least one known label."""
    if split not in HOLDOUT_CODES:
        raise ValueError(f"split must be one of {tuple(HOLDOUT_CODES)}, not {split!r}")
    labelled = (checked_labels(dataset) != schema.NO_LABEL).any(axis=1)
    items = np.flatnonzero((holdout_split(dataset) == HOLDOUT_CODES[split]) & labelled).astype(np.int64)
    if items.size == 0:
        raise DataError(f"the {split} split of the catalogue has no labelled items", dataset.path)
    return items


def make_attribute_dataset(dataset, split: str = "train", batch_size: int = 256, image_size: int = 64,
                           seed: int = 0, epoch: int = 0, training: bool = False, item_table=None,
                           start_batch: int = 0, steps_per_epoch: int = 0,
                           num_epochs: int = 1) -> tf.data.Dataset:
    """Batches {"image", "labels", "item"} of one split (see the module docstring); with
    `training`, `num_epochs` epochs from `epoch` on, in one dataset.

    `item_table` (an `ItemFeatureTable` with images) is built when not given; pass one to
    decode the catalogue only once across epochs and splits.
    """
    if item_table is None:
        from tfvisrec.data.item_features import ItemFeatureTable
        item_table = ItemFeatureTable(dataset, (schema.IMAGE,), image_size=image_size)
    items = split_items(dataset, split)
    labels = tf.constant(checked_labels(dataset), tf.int32)

    def make_batch(batch_ids, flip_seed=None, b=None):
        image = item_table.lookup(batch_ids)[schema.IMAGE]
        if training:
            image = tf.image.stateless_random_flip_left_right(image, seed=tf.stack([flip_seed, b]))
        return {IMAGE: image, LABELS: tf.gather(labels, batch_ids), ITEM: batch_ids}

    if training:
        return map_epochs(lambda flip_seed, b, ids: make_batch(ids, flip_seed, b), [items.astype(np.int64)], batch_size,
                          seed, epoch, start_batch, steps_per_epoch, num_epochs)
    ds = tf.data.Dataset.from_tensor_slices(items.astype(np.int64)).batch(batch_size).skip(start_batch)
    return ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE)


@register_pipeline("attributes")
def attribute_batches(dataset, item_table, batch_size: int, seed: int, epoch: int,
                      start_batch: int = 0, steps_per_epoch: int = 0, image_size: int = 64,
                      training: bool = True, split: str = "train", num_epochs: int = 1,
                      **_unused) -> tf.data.Dataset:
    """The trainer's entry point (`train_pipeline = "attributes"`): training batches."""
    return make_attribute_dataset(dataset, split=split, batch_size=batch_size, image_size=image_size,
                                  seed=seed, epoch=epoch, training=training, item_table=item_table,
                                  start_batch=start_batch, steps_per_epoch=steps_per_epoch,
                                  num_epochs=num_epochs)


def make_item_image_dataset(dataset, image_size: int, batch_size: int = 256,
                            items: Optional[np.ndarray] = None, item_table=None) -> tf.data.Dataset:
    """Batches {"item", "image"} over `items` (default: the whole catalogue) in order."""
    if item_table is None:
        from tfvisrec.data.item_features import ItemFeatureTable
        item_table = ItemFeatureTable(dataset, (schema.IMAGE,), image_size=image_size)
    items = np.arange(dataset.num_items, dtype=np.int64) if items is None else np.asarray(items, np.int64)
    ds = tf.data.Dataset.from_tensor_slices(items).batch(batch_size)
    return ds.map(lambda ids: {ITEM: ids, IMAGE: item_table.lookup(ids)[schema.IMAGE]},
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
