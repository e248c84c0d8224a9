"""Feature extraction: penultimate features and attribute probabilities per item, written atomically."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.data import images as images_lib
from tfvisrec.data.errors import DataError
from tfvisrec.data.feature_maps import read_feature_maps
from tfvisrec.vision import backbones, features

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.xdist_group("vision_trained_run")   # share one training run


def _decoded_catalogue(dataset, size):
    jpegs = dataset.image_bytes()
    return images_lib.normalise(tf.stack([images_lib.decode_to_uint8(b, size) for b in jpegs]))


def test_features_and_probabilities_match_the_classifier_item_by_item(trained_run, catalogue):
    model_dir, model = trained_run
    feats, probs, info = features.extract(catalogue, model_dir, batch_size=40)
    images = _decoded_catalogue(catalogue, 32)
    assert feats.shape == (catalogue.num_items, 32) and feats.dtype == np.float32
    np.testing.assert_allclose(feats, model.backbone.penultimate(images).numpy(), rtol=1e-4, atol=1e-5)
    expected = model.attribute_probabilities(images)
    for a, name in enumerate(["colour", "shape", "usage"]):
        np.testing.assert_allclose(probs[name], expected[a].numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(probs[name].sum(axis=1), 1.0, rtol=1e-5)
    assert info["feature_dim"] == 32 and info["attributes"]["names"] == ["colour", "shape", "usage"]


def test_feature_maps_are_the_last_convolutional_maps(trained_run, catalogue, tmp_path):
    model_dir, model = trained_run
    feats, _, info, maps = features.extract(catalogue, model_dir, batch_size=40, with_feature_maps=True)
    expected = model.backbone.feature_map_model()(_decoded_catalogue(catalogue, 32)).numpy()
    assert maps.dtype == np.float16 and list(maps.shape[1:]) == info["feature_map_shape"]
    np.testing.assert_allclose(maps.astype(np.float32), expected, rtol=2e-3, atol=2e-3)
    features.write_outputs(str(tmp_path), feats, None, info, maps)
    with np.load(tmp_path / "feature_maps.npz") as z:
        np.testing.assert_array_equal(z["maps"], maps)
    _, source = read_feature_maps(str(tmp_path / "feature_maps.npz"), catalogue.num_items)
    assert source.weights == os.path.abspath(model_dir) and source.backbone["name"] == "cnnf"
    assert source.shape == tuple(info["feature_map_shape"])


def test_outputs_are_written_whole_and_a_stale_probability_file_is_removed(tmp_path):
    feats = np.arange(6, dtype=np.float32).reshape(3, 2)
    probs = {"colour": np.full((3, 2), 0.5, np.float32)}
    info = {"attributes": {"names": ["colour"], "values": [["red", "blue"]]}, "feature_dim": 2}
    features.write_outputs(str(tmp_path), feats, probs, info)
    assert sorted(os.listdir(tmp_path)) == ["attribute_probs.npz", "features.json", "features.npy"]
    np.testing.assert_array_equal(np.load(tmp_path / "features.npy"), feats)
    with np.load(tmp_path / "attribute_probs.npz") as z:
        assert list(z["names"]) == ["colour"] and list(z["values_colour"]) == ["red", "blue"]
        np.testing.assert_array_equal(z["prob_colour"], probs["colour"])
    features.write_outputs(str(tmp_path), feats, None, {"attributes": None})
    assert sorted(os.listdir(tmp_path)) == ["features.json", "features.npy"]


_KILLED_MIDWAY = """
import os, signal, sys
import numpy as np
from tfvisrec.vision import features
folder = sys.argv[1]
with features.one_run(folder):   # another classifier's features, then killed before its probabilities
    features.write_outputs(folder, np.ones((3, 2), np.float32), None, {"weights": "runB", "attributes": None})
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_files_of_a_run_killed_midway_are_refused_until_it_runs_again(tmp_path):
    from types import SimpleNamespace
    from tfvisrec.data.attribute_probs import read_attribute_probs
    from tfvisrec.data.item_features import features_path
    from tfvisrec.data.region_file import ItemRegions, regions_path
    from tfvisrec.vision.region_features import classifier_path
    dataset = SimpleNamespace(path=str(tmp_path), num_items=3)
    probs = {"colour": np.full((3, 2), 0.5, np.float32)}
    info = {"weights": str(tmp_path), "backbone": {"name": "cnnf"},
            "attributes": {"names": ["colour"], "values": [["red", "blue"]]}}
    regions = ItemRegions(np.zeros((3, 1, 2), np.float32), np.zeros((3, 1, 4), np.float32),
                          np.zeros((3, 1), np.int32), ["colour"], [["red", "blue"]])

    def run_a():
        with features.one_run(str(tmp_path)):
            features.write_outputs(str(tmp_path), np.zeros((3, 2), np.float32), probs, info,
                                   np.zeros((3, 1, 1, 2), np.float16))
            features.write_regions(str(tmp_path), regions)

    def readers():
        return [lambda: features_path(dataset), lambda: read_attribute_probs(str(tmp_path)),
                lambda: regions_path(dataset), lambda: classifier_path(str(tmp_path)),
                lambda: read_feature_maps(str(tmp_path / "feature_maps.npz"), 3)]

    run_a()
    assert "features.incomplete" not in os.listdir(tmp_path)
    for read in readers():
        read()
    killed = subprocess.run([sys.executable, "-c", _KILLED_MIDWAY, str(tmp_path)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    # features.npy and features.json are B's now, attribute_probs.npz, regions.npz, feature_maps.npz A's
    for read in readers():
        with pytest.raises(DataError, match="tfvisrec.vision.features` run writing here did not finish .* "
                                            "may be a mix of two runs; run it again"):
            read()
    run_a()
    for read in readers():
        read()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tfvisrec.vision.features", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_into_the_dataset_and_fails_cleanly(trained_run, catalogue_dir, tmp_path):
    model_dir, _ = trained_run
    dataset_dir = str(tmp_path / "copy")
    shutil.copytree(catalogue_dir, dataset_dir)
    ok = _cli(f"--backbone_weights={model_dir}", f"--dataset={dataset_dir}", "--verbose=0")
    assert ok.returncode == 0, ok.stderr
    assert "96 items × 32 features, 3 attributes" in ok.stdout
    assert np.load(os.path.join(dataset_dir, "features.npy")).shape == (96, 32)
    with open(os.path.join(dataset_dir, "features.json")) as f:
        assert json.load(f)["backbone"]["name"] == "cnnf"
    assert not [n for n in os.listdir(dataset_dir)
                if n.startswith(".") and n != ".features.lock" or n == "features.incomplete"]
    wrong = _cli(f"--backbone_weights={model_dir}", f"--dataset={dataset_dir}", "--fc_width=64")
    assert wrong.returncode == 2 and "error:" in wrong.stderr
    assert "fc_width is 32 in these weights, not 64" in wrong.stderr


def test_weights_that_do_not_exist_or_disagree_with_the_flags(trained_run, catalogue, tmp_path):
    model_dir, _ = trained_run
    with pytest.raises(DataError, match="nothing: weights path is neither a checkpoint nor a folder"):
        features.extract(catalogue, str(tmp_path / "nothing"))
    with pytest.raises(DataError, match="image_size is 32 in these weights, not 64"):
        features.extract(catalogue, model_dir, image_size=64)


def test_a_bare_backbone_gives_features_only(tmp_path, catalogue):
    source = backbones.build_backbone("alexnet", 32, fc_width=24)
    source.trunk.save_weights(str(tmp_path / "alexnet.h5"))
    feats, probs, info = features.extract(catalogue, str(tmp_path / "alexnet.h5"), backbone_name="alexnet",
                                          image_size=32, fc_width=24)
    assert probs is None and info["attributes"] is None
    np.testing.assert_allclose(feats, source.penultimate(_decoded_catalogue(catalogue, 32)).numpy(),
                               rtol=1e-4, atol=1e-5)
