"""The catalogue's item features a servable stores (models scoring the catalogue from its
features, e.g. VisRank with max pooling): the table's tensors taken over by the servable's
variables, with the file's numbers, the variables read densely without a copy; a feature the
model holds already (`Recommender.catalogue_table`) is its variable, stored once."""
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (Keras 2 before TensorFlow)
import tensorflow as tf

from tfvisrec.data.dataset import load_dataset
from tfvisrec.export import export_model
from tfvisrec.models import registry
from tfvisrec.serving import catalogue
from tfvisrec.serving.servable import Servable
from tfvisrec.training import building


def _visrank_max(low_rank_dataset, width=12):
    """(dataset with random features [items, width], VisRank with max pooling, the features)."""
    dataset = load_dataset(low_rank_dataset)
    stored = np.random.default_rng(0).normal(size=(dataset.num_items, width)).astype(np.float32)
    np.save(f"{dataset.path}/features.npy", stored)
    model = building.build_model(registry.new_config("visrank", visrank_pooling="max"), dataset)
    return dataset, model, stored


def test_catalogue_features_are_tensors_and_served_as_variables_of_the_files_numbers(low_rank_dataset):
    dataset, model, stored = _visrank_max(low_rank_dataset)
    features = catalogue.item_features(model, dataset, as_of=0)
    assert all(isinstance(value, tf.Tensor) for value in features.values())   # numpy: two copies more
    np.testing.assert_array_equal(features["features"].numpy(), stored)
    assert set(catalogue.item_features(model, dataset, as_of=0, skip=("features",))) == {"item"}
    served = Servable(model, dataset).catalogue_features
    assert set(served) == {"item", "features"}
    assert all(isinstance(variable, tf.Variable) for variable in served.values())
    assert served["features"] is model.unit_features   # f / ‖f‖, held by the model already
    np.testing.assert_allclose(served["features"].numpy(),
                               stored / np.linalg.norm(stored, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(served["item"].numpy(), np.arange(dataset.num_items))
    first, second = served["item"].value(), served["item"].value()
    assert np.shares_memory(np.from_dlpack(first), np.from_dlpack(second))   # not in copy-on-read mode


def test_visrank_max_pooling_exports_its_item_features_once(low_rank_dataset, tmp_path):
    """Its unit features are the served catalogue's features, not a second [items, F] table
    beside them (20,000 × 1,024 features: variables/ 164.2 MB → 82.3 MB)."""
    dataset, model, stored = _visrank_max(low_rank_dataset, width=7)
    path = export_model(model, dataset, str(tmp_path / "visrank"), top_k=3)
    saved = tf.train.list_variables(os.path.join(path, "variables", "variables"))
    tables = [name for name, shape in saved if shape == list(stored.shape)]
    assert tables == ["model/unit_features/.ATTRIBUTES/VARIABLE_VALUE"]


def test_a_held_table_of_another_shape_is_refused(low_rank_dataset, monkeypatch):
    dataset, model, stored = _visrank_max(low_rank_dataset, width=5)
    wrong = tf.Variable(tf.zeros([dataset.num_items - 1, 5]))
    monkeypatch.setattr(model, "catalogue_table", lambda key: wrong if key == "features" else None)
    with pytest.raises(ValueError, match=r"catalogue_table\('features'\) is float32 \[39, 5\], not float32 \[40, 5\]"):
        Servable(model, dataset)
