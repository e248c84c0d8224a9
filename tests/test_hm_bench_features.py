"""bench/hm_features.py: the H&M bench's fixed features and SAERS regions, made once per
backbone (on the tiny explain world, tests/explain_world.py, standing in for H&M)."""
import json
import os
import shutil
import sys

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)

from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.region_file import read_regions

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.hm_features import ensure_features, needs_regions, reads_any  # noqa: E402

pytestmark = pytest.mark.xdist_group("explain")


def test_only_models_that_read_regions_ask_for_them():
    assert needs_regions(["configs/hm_vbpr.cfg", "configs/hm_saers_fixed.cfg"])
    assert needs_regions(["configs/hm_saf_only.cfg"]) and needs_regions(["configs/hm_vbpr_saf.cfg"])
    assert not needs_regions(["configs/hm_vbpr.cfg", "configs/hm_ivbpr.cfg", "configs/hm_itvbpr.cfg",
                              "configs/hm_saers_no_saf.cfg"])


def test_the_bench_tells_photo_and_visual_models_by_what_they_read():
    photos = ("image",)
    assert all(reads_any(f"configs/{name}.cfg", photos) for name in ("hm_dvbpr", "hm_imgrec_ete", "hm_saers"))
    assert not any(reads_any(f"configs/{name}.cfg", photos) for name in ("hm_vbpr", "imgrec_ft", "hm_saers_fixed"))
    visual = ("image", "features", "regions")
    assert reads_any("configs/hm_saf_only.cfg", visual) and reads_any("configs/visrank.cfg", visual)
    assert not reads_any("configs/hm_bprmf.cfg", visual) and not reads_any("configs/poprank.cfg", visual)


def _mtime(folder, name):
    return os.stat(os.path.join(folder, name)).st_mtime_ns


def test_regions_written_once_and_dropped_with_features_of_other_weights(explain_run, tmp_path):
    import tf_keras as keras
    from explain_world import CARDINALITIES, CLASSIFIER_SIZE
    from tfvisrec.vision import attributes
    folder = str(tmp_path / "dataset")
    shutil.copytree(explain_run.dataset_dir, folder)
    os.remove(os.path.join(folder, "regions.npz"))
    dataset = load_dataset(folder)
    stored = read_regions(os.path.join(explain_run.dataset_dir, "regions.npz"), dataset.num_items)
    features_made = _mtime(folder, "features.npy")

    ensure_features(dataset, explain_run.classifier, regions=True)
    assert _mtime(folder, "features.npy") == features_made       # same weights: features kept
    made = read_regions(os.path.join(folder, "regions.npz"), dataset.num_items)
    np.testing.assert_allclose(made.features, stored.features, atol=1e-5)
    np.testing.assert_array_equal(made.classes, stored.classes)
    regions_made = _mtime(folder, "regions.npz")
    ensure_features(dataset, explain_run.classifier, regions=True)
    assert _mtime(folder, "regions.npz") == regions_made         # nothing to redo

    keras.utils.set_random_seed(1)
    other = attributes.AttributeNetwork(CARDINALITIES, {"name": "cnnf", "image_size": CLASSIFIER_SIZE,
                                                        "fc_width": 16, "dropout": 0.0, "weight_decay": 0.0})
    other_weights = str(tmp_path / "other" / "weights")
    other.save_weights(other_weights)
    ensure_features(dataset, other_weights)
    with open(os.path.join(folder, "features.json")) as f:
        assert json.load(f)["weights"] == os.path.abspath(other_weights)
    assert not os.path.exists(os.path.join(folder, "regions.npz"))   # made from the old weights
