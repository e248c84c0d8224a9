"""The catalogue's item features a servable stores (models scoring the catalogue from its
features, e.g. VisRank with max pooling): the table's tensors taken over by the servable's
variables, with the file's numbers, the variables read densely without a copy."""
import numpy as np

import tfvisrec  # noqa: F401  (Keras 2 before TensorFlow)
import tensorflow as tf

from tfvisrec.data.dataset import load_dataset
from tfvisrec.models import registry
from tfvisrec.serving import catalogue
from tfvisrec.serving.servable import Servable
from tfvisrec.training import building


def test_catalogue_features_are_tensors_and_served_as_variables_of_the_files_numbers(low_rank_dataset):
    dataset = load_dataset(low_rank_dataset)
    stored = np.random.default_rng(0).normal(size=(dataset.num_items, 12)).astype(np.float32)
    np.save(f"{dataset.path}/features.npy", stored)
    model = building.build_model(registry.new_config("visrank", visrank_pooling="max"), dataset)
    features = catalogue.item_features(model, dataset, as_of=0)
    assert all(isinstance(value, tf.Tensor) for value in features.values())   # numpy: two copies more
    np.testing.assert_array_equal(features["features"].numpy(), stored)
    served = Servable(model, dataset).catalogue_features
    assert set(served) == {"item", "features"}
    assert all(isinstance(variable, tf.Variable) for variable in served.values())
    np.testing.assert_array_equal(served["features"].numpy(), stored)
    np.testing.assert_array_equal(served["item"].numpy(), np.arange(dataset.num_items))
    first, second = served["features"].value(), served["features"].value()
    assert np.shares_memory(np.from_dlpack(first), np.from_dlpack(second))   # not in copy-on-read mode
