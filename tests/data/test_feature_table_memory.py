"""The precomputed item features an `ItemFeatureTable` reads: the file's numbers exactly, read
block by block into one non-trainable CPU variable (a tf.data pipeline refers to a variable by
its handle; a captured constant was copied into the pipeline's graph), and VBPR scores them as
numpy does."""
import dataclasses

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (Keras 2 before TensorFlow)
import tensorflow as tf

from tfvisrec.data import row_blocks
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.data.host_matrix import host_matrix
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.data.row_blocks import array_blocks, npy_blocks
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo

ITEMS, F = 40, 50


@pytest.fixture
def world(low_rank_dataset):
    return load_dataset(low_rank_dataset)


def _features(seed=0, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=(ITEMS, F)).astype(dtype)


def _all_rows(table):
    return table.lookup(np.arange(ITEMS))["features"].numpy()


@pytest.mark.parametrize("stored", [
    _features(), _features(dtype=np.float64), np.asfortranarray(_features())], ids=["float32", "float64", "fortran"])
def test_blocks_of_a_npy_file_are_its_rows_in_order(tmp_path, stored):
    path = str(tmp_path / "features.npy")
    np.save(path, stored)
    shape, dtype, blocks = npy_blocks(path, block_bytes=7 * F * stored.itemsize)
    assert shape == (ITEMS, F) and dtype == stored.dtype
    blocks = list(blocks)
    assert [start for start, _ in blocks] == list(range(0, ITEMS, 7))
    assert max(len(rows) for _, rows in blocks) == 7
    np.testing.assert_array_equal(np.concatenate([rows for _, rows in blocks]), stored)


def test_a_npy_file_cut_short_is_refused_before_any_block(tmp_path):
    path = tmp_path / "features.npy"
    np.save(path, _features())
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ValueError):
        npy_blocks(str(path))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_table_holds_the_files_numbers_in_one_cpu_variable(world, monkeypatch, dtype):
    monkeypatch.setattr(row_blocks, "BLOCK_BYTES", 3 * F * 4)   # many blocks
    stored = _features(dtype=dtype)
    np.save(f"{world.path}/features.npy", stored)
    table = ItemFeatureTable(world, ("item", "features"))
    np.testing.assert_array_equal(_all_rows(table), stored.astype(np.float32))
    matrix = table.matrix("features")
    assert isinstance(matrix, tf.Variable) and not matrix.trainable
    assert matrix.device.endswith("CPU:0") and matrix.dtype == tf.float32
    assert table.feature_dim == F


def test_a_given_matrix_is_copied_and_a_misshapen_one_refused(world):
    given = _features()
    table = ItemFeatureTable(world, ("item", "features"), features=given)
    expected = given.copy()
    given[:] = 0
    np.testing.assert_array_equal(_all_rows(table), expected)
    with pytest.raises(DataError, match=r"item features have shape \(39, 50\), expected \[40, F\]"):
        ItemFeatureTable(world, ("item", "features"), features=expected[:-1])


def test_inside_a_strategy_scope_the_matrix_is_a_constant_of_the_same_numbers():
    matrix = _features()
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        inside = host_matrix(matrix.shape, np.float32, array_blocks(matrix, 9 * F * 4), name="m")
    outside = host_matrix(matrix.shape, np.float32, array_blocks(matrix, 9 * F * 4), name="m")
    assert not isinstance(inside, tf.Variable) and isinstance(outside, tf.Variable)
    np.testing.assert_array_equal(inside.numpy(), matrix)
    np.testing.assert_array_equal(tf.gather(outside, np.arange(ITEMS)).numpy(), matrix)


def test_vbpr_scores_the_tables_features_as_numpy_does(world):
    stored = _features(seed=3)
    np.save(f"{world.path}/features.npy", stored)
    table = ItemFeatureTable(world, ("item", "features"))
    config = dataclasses.replace(registry.new_config("vbpr"), embedding_dim=3, visual_dim=2)
    model = registry.build(config, DataInfo(num_users=world.num_users, num_items=ITEMS, feature_dim=F))
    rng = np.random.default_rng(4)
    w = {}
    for weight in model.weights:
        value = rng.normal(size=weight.shape).astype(np.float32)
        weight.assign(value)
        w[weight.name.split("/")[-1].split(":")[0]] = value
    users, items = rng.integers(0, world.num_users, 6), rng.integers(0, ITEMS, (6, 5))
    unit = stored / np.linalg.norm(stored, axis=1, keepdims=True)   # --feature_norm=l2, the default
    f = unit[items]
    expected = (w["item_bias"][items] + np.sum(w["user_factors"][users][:, None] * w["item_factors"][items], -1)
                + np.sum(w["user_visual_factors"][users][:, None] * (f @ w["visual_projection"]), -1)
                + f @ w["visual_bias"])
    np.testing.assert_allclose(model.score(users, table.lookup(items)), expected, rtol=1e-4, atol=1e-5)


def test_region_features_are_a_variable_of_the_files_numbers(world):
    from tfvisrec.data import schema
    from tfvisrec.data.region_file import ItemRegions
    rng = np.random.default_rng(5)
    regions = ItemRegions(rng.normal(size=(ITEMS, 2, 6)).astype(np.float32),
                          rng.uniform(size=(ITEMS, 2, 4)).astype(np.float32),
                          rng.integers(0, 2, (ITEMS, 2)).astype(np.int32), ["colour", "sleeve"],
                          [["red", "blue"], ["long", "short"]])
    np.savez(f"{world.path}/regions.npz", **regions.arrays())
    table = ItemFeatureTable(world, (schema.ITEM,) + schema.REGION_KEYS)
    out = table.lookup(np.arange(ITEMS))
    np.testing.assert_array_equal(out[schema.REGIONS].numpy(), regions.features)
    np.testing.assert_array_equal(out[schema.REGION_BOXES].numpy(), regions.boxes)
    np.testing.assert_array_equal(out[schema.REGION_CLASSES].numpy(), regions.classes)
    assert isinstance(table.matrix(schema.REGIONS), tf.Variable)
