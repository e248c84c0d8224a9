"""SAERS' explanations served: `explain_images` (regions of a new photo computed in the
SavedModel by the attribute classifier it holds), over gRPC from the embedded server on a real
export of the tiny saers_fixed run (tests/explain_world.py)."""
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf

from serving_world import start_server
from tfvisrec.client import RecommenderClient
from tfvisrec.export import export_model
from tfvisrec.serving import model_config
from tfvisrec.training import checkpoints
from tfvisrec.vision.region_features import load_region_classifier, photo_regions

pytestmark = pytest.mark.xdist_group("explain")
USERS, ITEMS = ["u01", "u07", "u07"], [4, 4, 19]


@pytest.fixture(scope="module")
def exported(explain_run, tmp_path_factory):
    """(model, dataset, classifier, export root) with version 1 of `saers`, explain_images included
    (the classifier found through the dataset's features.json, as the export command line does)."""
    model, dataset = checkpoints.load_trained(explain_run.model_dir)
    classifier = load_region_classifier(dataset)
    root = str(tmp_path_factory.mktemp("explain_export"))
    export_model(model, dataset, os.path.join(root, "saers"), top_k=5, explain_classifier=classifier,
                 models_config=os.path.join(root, "models.config"))
    return model, dataset, classifier, root


@pytest.fixture(scope="module")
def target(exported):
    server = start_server(model_config.load(os.path.join(exported[3], "models.config")),
                          local_models_roots=[exported[3]])
    yield f"127.0.0.1:{server.port}"
    server.stop(grace=1.0)


def test_explain_images_computes_the_stored_regions_in_the_graph(exported, target):
    """Catalogue items' own JPEGs sent to explain_images give their explain answers (the same
    Grad-AAM → box → ROI pooling that made regions.npz, now inside the SavedModel), and the
    boxes are those of the classifier run outside it."""
    _, dataset, classifier, _ = exported
    jpegs = [dataset.image_bytes()[i] for i in ITEMS]
    users = np.array([u.encode() for u in USERS], object)
    with RecommenderClient(target, model="saers") as client:
        assert {"explain", "explain_images"} <= set(client.metadata())
        by_id = client.predict("explain", {"user": users,
                                           "item": np.array([dataset.item_ids[i].encode() for i in ITEMS], object)})
        by_photo = client.predict("explain_images", {"user": users, "images": np.array(jpegs, object)})
    np.testing.assert_allclose(by_photo["weights"], by_id["weights"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(by_photo["boxes"], by_id["boxes"], atol=1e-6)
    for name in ("attributes", "classes", "top_attribute"):
        assert by_photo[name].tolist() == by_id[name].tolist(), name
    np.testing.assert_allclose(by_photo["boxes"], photo_regions(classifier, tf.constant(jpegs))["boxes"].numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(by_photo["weights"].sum(axis=1), 1.0, rtol=1e-5)
