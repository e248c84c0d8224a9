"""feature_maps.npz records the backbone that made it; older files fall back to features.json."""
import json

import numpy as np
import pytest

from tfvisrec.data.errors import DataError
from tfvisrec.data.feature_maps import maps_arrays, read_feature_maps

MAPS = np.arange(2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3) / 7


def test_the_maps_file_records_its_backbone(tmp_path):
    spec = {"name": "cnnf", "image_size": 32, "fc_width": 16}
    np.savez(tmp_path / "feature_maps.npz", **maps_arrays(MAPS, "w/ckpt", spec))
    maps, source = read_feature_maps(str(tmp_path / "feature_maps.npz"), 2)
    np.testing.assert_array_equal(maps, MAPS.astype(np.float16).astype(np.float32))
    assert source.shape == (2, 2, 3) and source.backbone == spec
    assert source.weights.endswith("/w/ckpt") and source.weights.startswith("/")


@pytest.mark.parametrize("info,weights", [
    ({"weights": "/old/ckpt", "backbone": {"name": "cnnf"}, "feature_map_shape": [2, 2, 3]}, "/old/ckpt"),
    ({"weights": "/other/ckpt", "backbone": {"name": "cnnf"}, "feature_map_shape": [4, 4, 3]}, ""),
    (None, ""),
])
def test_older_maps_take_their_source_from_features_json_only_when_it_describes_them(tmp_path, info, weights):
    np.savez(tmp_path / "feature_maps.npz", maps=MAPS.astype(np.float16))
    if info is not None:
        (tmp_path / "features.json").write_text(json.dumps(info))
    _, source = read_feature_maps(str(tmp_path / "feature_maps.npz"), 2)
    assert source.weights == weights


def test_maps_of_the_wrong_count_or_a_missing_file_are_named(tmp_path):
    np.savez(tmp_path / "feature_maps.npz", maps=MAPS)
    with pytest.raises(DataError, match=r"shape \(2, 2, 2, 3\), expected \[5, H, W, C\]"):
        read_feature_maps(str(tmp_path / "feature_maps.npz"), 5)
    with pytest.raises(DataError, match="no item feature maps"):
        read_feature_maps(str(tmp_path / "none.npz"), 2)
