"""Precomputed item features (`features.npy` or `--features_file`): a damaged file is named."""
import types

import numpy as np
import pytest

from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import read_feature_matrix, stored_feature_dim

REMEDY = "extract the features again with `python -m tfvisrec.vision.features`"


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "features.npy"
    np.save(path, np.arange(12, dtype=np.float32).reshape(4, 3))
    return path


def _dataset(path):
    return types.SimpleNamespace(path=str(path.parent), num_items=4)


def test_a_good_matrix_reads_whole_and_by_its_header(good):
    np.testing.assert_array_equal(read_feature_matrix(str(good)), np.arange(12).reshape(4, 3))
    assert stored_feature_dim(_dataset(good)) == 3


@pytest.mark.parametrize("damage, message", [
    (lambda data: b"item,f1\n1,0.5\n", "not a .npy file"),
    (lambda data: data[:60], r"cut short or damaged \(EOF: reading array header"),
    (lambda data: data[:-8], r"cut short or damaged \("),
])
def test_a_damaged_matrix_is_named_with_its_remedy(good, damage, message):
    good.write_bytes(damage(good.read_bytes()))
    for read in (lambda: read_feature_matrix(str(good)), lambda: stored_feature_dim(_dataset(good))):
        with pytest.raises(DataError, match=message) as err:
            read()
        assert str(err.value).startswith(f"{good}: ") and str(err.value).endswith(REMEDY)


def test_a_pickled_matrix_is_refused(good):
    np.save(good, np.array([{"a": 1}] * 4, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="cut short or damaged"):
        read_feature_matrix(str(good))
