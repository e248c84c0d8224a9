"""What a servable computes for a photo outside the catalogue (`explain_images`) follows the
`region_feature` recorded in the catalogue's regions.npz, so a model trained on the attribute
probabilities is served probabilities, and one trained on ROI features ROI features."""
import os
import types

import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.region_file import read_regions, regions_path
from tfvisrec.serving.explanation import ExplanationTables
from tfvisrec.vision import features, region_features

pytestmark = pytest.mark.xdist_group("explain")
ITEMS = [0, 4, 19]


@pytest.mark.parametrize("region_feature", ["roi", "probabilities"])
def test_a_photo_gets_the_region_features_the_catalogue_was_made_with(explain_run, tmp_path, region_feature):
    dataset = load_dataset(explain_run.dataset_dir)
    classifier = region_features.load_region_classifier(dataset)
    stored = region_features.extract_regions(classifier, dataset, region_feature=region_feature)
    features.write_regions(str(tmp_path), stored)
    tables = ExplanationTables(types.SimpleNamespace(regions_file=str(tmp_path / "regions.npz")), dataset, classifier)
    assert tables.region_feature == region_feature
    got, class_probabilities = tables.photo_features(tf.constant([dataset.image_bytes()[i] for i in ITEMS]))
    np.testing.assert_allclose(class_probabilities.numpy(), stored.class_probabilities[ITEMS], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(tables.item_class_probabilities(tf.constant(ITEMS, tf.int64)).numpy(),
                               stored.class_probabilities[ITEMS])
    assert got[schema.REGIONS].shape[-1] == stored.shape[1]
    np.testing.assert_allclose(got[schema.REGIONS].numpy(), stored.features[ITEMS], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[schema.REGION_BOXES].numpy(), stored.boxes[ITEMS], atol=1e-6)
    if region_feature == "probabilities":
        np.testing.assert_allclose(stored.features.sum(-1), 1.0, rtol=1e-5)


def test_regions_written_before_class_probabilities_serve_them_as_unknown(explain_run, tmp_path):
    dataset = load_dataset(explain_run.dataset_dir)
    arrays = read_regions(regions_path(dataset), dataset.num_items).arrays()
    np.savez(tmp_path / "old.npz", **{k: v for k, v in arrays.items() if k != "class_probabilities"})
    tables = ExplanationTables(types.SimpleNamespace(regions_file=str(tmp_path / "old.npz")), dataset)
    got = tables.item_class_probabilities(tf.constant(ITEMS, tf.int64)).numpy()
    assert got.shape == (len(ITEMS), len(arrays["names"])) and np.isnan(got).all()
