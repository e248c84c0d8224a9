"""Attribute batches: contents, determinism, resume, augmentation, and clear errors on bad input."""
import os

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.data import catalogue_pipeline as cp
from tfvisrec.data import dataset as dataset_lib
from tfvisrec.data import pipelines, schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import ItemFeatureTable


@pytest.fixture(scope="module")
def table(catalogue):
    return ItemFeatureTable(catalogue, (schema.IMAGE,), image_size=32)


def _collect(ds):
    return [{k: v.numpy() for k, v in batch.items()} for batch in ds]


def test_training_batches_are_full_labelled_and_cover_the_train_split(catalogue, table):
    train = cp.split_items(catalogue, "train")
    batches = _collect(cp.make_attribute_dataset(catalogue, "train", batch_size=16, image_size=32, seed=3,
                                                 epoch=0, training=True, item_table=table))
    assert len(batches) == -(-len(train) // 16)
    for b in batches:
        assert b["image"].shape == (16, 32, 32, 3) and b["image"].dtype == np.float32
        assert b["labels"].dtype == np.int32
        np.testing.assert_array_equal(b["labels"], catalogue.attributes[b["item"]])
        assert b["image"].min() >= -1.0 and b["image"].max() <= 1.0
    seen = np.concatenate([b["item"] for b in batches])
    assert set(seen) == set(train)                       # every training item, topped up to full batches
    assert set(np.unique(catalogue.holdout_split[seen])) == {0}


def test_batches_are_a_pure_function_of_seed_epoch_and_batch(catalogue, table):
    make = lambda epoch, start=0: _collect(cp.make_attribute_dataset(
        catalogue, "train", 16, 32, seed=5, epoch=epoch, training=True, item_table=table, start_batch=start))
    first, again, other = make(0), make(0), make(1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["item"], b["item"])
        np.testing.assert_array_equal(a["image"], b["image"])
    assert not np.array_equal(first[0]["item"], other[0]["item"])
    resumed = make(0, start=2)
    assert len(resumed) == len(first) - 2
    np.testing.assert_array_equal(resumed[0]["image"], first[2]["image"])


def test_training_flips_some_images_left_right_and_evaluation_never(catalogue, table):
    batch = _collect(cp.make_attribute_dataset(catalogue, "train", 64, 32, seed=0, epoch=0, training=True,
                                               item_table=table))[0]
    plain = table.lookup(batch["item"])[schema.IMAGE].numpy()
    flipped = np.array([np.array_equal(x, p[:, ::-1]) and not np.array_equal(x, p)
                        for x, p in zip(batch["image"], plain)])
    same = np.array([np.array_equal(x, p) for x, p in zip(batch["image"], plain)])
    assert np.all(flipped | same) and 0 < flipped.sum() < len(flipped)
    evaluation = _collect(cp.make_attribute_dataset(catalogue, "valid", 5, 32, item_table=table))
    items = np.concatenate([b["item"] for b in evaluation])
    np.testing.assert_array_equal(items, cp.split_items(catalogue, "valid"))   # once, in order
    for b in evaluation:
        np.testing.assert_array_equal(b["image"], table.lookup(b["item"])[schema.IMAGE].numpy())


def test_the_trainer_finds_the_pipeline_by_name(catalogue, table):
    ds = pipelines.make_pipeline("attributes", dataset=catalogue, item_table=table, batch_size=8, seed=1,
                                 epoch=0, start_batch=0, steps_per_epoch=3, num_negatives=1,
                                 with_time=False, image_size=32, training=True)
    batches = _collect(ds)
    assert len(batches) == 3 and all(b["labels"].shape == (8, 3) for b in batches)


def test_items_without_any_label_are_left_out(tmp_path):
    from catalogue_world import write_catalogue
    ds = dataset_lib.load_dataset(write_catalogue(str(tmp_path / "c"), num_items=20, seed=1))
    ds.attributes[[0, 1]] = -1
    for split in ("train", "valid", "test"):
        assert not {0, 1} & set(cp.split_items(ds, split))


def _rewrite_items(path, **changes):
    table_path = os.path.join(path, schema.ITEM_TABLE_FILE)
    with np.load(table_path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del arrays[key]
    np.savez(table_path, **arrays)
    return dataset_lib.load_dataset(path)


def test_bad_catalogues_raise_one_clear_error_naming_file_and_row(tmp_path):
    from catalogue_world import write_catalogue
    path = write_catalogue(str(tmp_path / "c"), num_items=20, seed=2)
    good = dataset_lib.load_dataset(path)
    split = good.holdout_split.copy()
    split[7] = 5
    ds = _rewrite_items(path, holdout_split=split)
    with pytest.raises(DataError, match=r"items.npz: holdout_split\[7\] \(item 'p0007'\) is 5"):
        cp.split_items(ds, "train")
    labels = good.attributes.copy()
    labels[4, 1] = 2          # shape has 2 values: 0 and 1
    ds = _rewrite_items(path, holdout_split=good.holdout_split, attributes=labels)
    with pytest.raises(DataError, match=r"items.npz: item 'p0004' \(index 4\): attribute 'shape' has value index 2"):
        cp.make_attribute_dataset(ds, "train", 4, 32)
    ds = _rewrite_items(path, attributes=good.attributes, holdout_split=None)
    with pytest.raises(DataError, match="no holdout_split"):
        cp.split_items(ds, "valid")
    with pytest.raises(ValueError, match="split must be one of"):
        cp.split_items(good, "validation")
