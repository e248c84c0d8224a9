"""I-VBPR / I-TVBPR: fed from attribute_probs.npz, clear errors without it, and the numpy
view the interactive tools use (visual_weights + collaborative_terms) equals the model's x̂."""
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.data.attribute_probs import read_attribute_probs
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.models import interactive, registry
from tfvisrec.models.ivbpr import collaborative_terms, visual_weights
from tfvisrec.training.building import build_model

VALUES = {"colour": ["red", "blue", "black"], "sleeve": ["short", "long"]}


def _write_probs(folder, num_items, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"names": np.array(list(VALUES))}
    for name, values in VALUES.items():
        logits = rng.normal(size=(num_items, len(values)))
        arrays[f"prob_{name}"] = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
        arrays[f"values_{name}"] = np.array(values)
    np.savez(os.path.join(folder, "attribute_probs.npz"), **arrays)


@pytest.fixture(scope="module")
def timed_dataset(tmp_path_factory):
    from tiny_worlds import write_low_rank_dataset
    path = write_low_rank_dataset(str(tmp_path_factory.mktemp("ivbpr") / "lowrank"), with_time=True)
    return load_dataset(path)


def _model(name, dataset, **values):
    if name == "itvbpr":
        values["time_epochs"] = 3
    config = registry.new_config(name, embedding_dim=3, visual_dim=2, feature_norm="none", **values)
    return build_model(config, dataset)


@pytest.mark.parametrize("name", ["ivbpr", "itvbpr"])
def test_without_the_probabilities_file_the_error_names_the_command(name, timed_dataset):
    if os.path.exists(os.path.join(timed_dataset.path, "attribute_probs.npz")):
        os.remove(os.path.join(timed_dataset.path, "attribute_probs.npz"))
    with pytest.raises(DataError, match=r"attribute_probs.npz: no attribute probabilities: run "
                                        r"`python -m tfvisrec.vision.features --backbone_weights"):
        _model(name, timed_dataset)


@pytest.mark.parametrize("name", ["ivbpr", "itvbpr"])
def test_the_numpy_view_is_the_models_score(name, timed_dataset):
    _write_probs(timed_dataset.path, timed_dataset.num_items)
    model = _model(name, timed_dataset)
    probs, names = read_attribute_probs(timed_dataset.path)
    assert model.feature_dim == probs.shape[1] == len(names) == 5
    table = ItemFeatureTable.for_model(model, timed_dataset)
    np.testing.assert_allclose(table.lookup(np.arange(timed_dataset.num_items))["features"].numpy(), probs)

    rng = np.random.default_rng(3)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    user, items = 7, np.arange(timed_dataset.num_items)
    time = int(timed_dataset.train.times.max())    # the last epoch
    inputs = {"item": items, "features": probs}
    if name == "itvbpr":
        inputs["time"] = np.full(items.shape, time, np.int64)
    expected = model.score(tf.fill([len(items)], user), inputs).numpy()
    projection, bias = visual_weights(model, epoch=-1)
    affinity = interactive.visual_affinity(projection, model.user_visual_factors.numpy()[user], bias)
    scores = interactive.interpretable_scores(affinity, probs, collaborative_terms(model, user))
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)


def test_an_epoch_out_of_range_is_a_clear_error(timed_dataset):
    _write_probs(timed_dataset.path, timed_dataset.num_items)
    with pytest.raises(ValueError, match="epoch 3 is out of range: the model has 3 time epochs"):
        visual_weights(_model("itvbpr", timed_dataset), epoch=3)


def test_a_features_file_of_probabilities_elsewhere(timed_dataset, tmp_path):
    _write_probs(str(tmp_path), timed_dataset.num_items, seed=5)
    model = _model("ivbpr", timed_dataset, features_file=str(tmp_path / "attribute_probs.npz"))
    table = ItemFeatureTable.for_model(model, timed_dataset)
    np.testing.assert_allclose(table.lookup(np.arange(4))["features"].numpy(),
                               read_attribute_probs(str(tmp_path))[0][:4])
