"""SAERS' explanations served: `explain_images` (regions of a new photo computed in the
SavedModel by the attribute classifier it holds) and the client's typed `explain` record, over
gRPC from the embedded server on a real export of the tiny saers_fixed run (tests/explain_world.py)."""
import json
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf

from serving_world import start_server
from tfvisrec.client import Explanation, RecommenderClient
from tfvisrec.client.cli import main as client_main
from tfvisrec.data.region_file import read_regions, regions_path
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
    stored = read_regions(regions_path(dataset), dataset.num_items).class_probabilities[ITEMS]
    np.testing.assert_allclose(by_id["class_probabilities"], stored)
    np.testing.assert_allclose(by_photo["class_probabilities"], stored, rtol=1e-4, atol=1e-6)
    for name in ("attributes", "classes", "top_attribute"):
        assert by_photo[name].tolist() == by_id[name].tolist(), name
    np.testing.assert_allclose(by_photo["boxes"], photo_regions(classifier, tf.constant(jpegs))["boxes"].numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(by_photo["weights"].sum(axis=1), 1.0, rtol=1e-5)


def test_the_export_loads_without_warnings_of_unrestored_values(exported, tensorflow_log):
    """The SavedModel tracks the classifier's weights, not the network with its PretrainingSpec
    (a PythonState that tf.saved_model.load cannot revive): every load used to warn.

    TensorFlow warns when the loaded object is deleted; `del` frees it (no cycle holds it), and
    that fails this test on the old export. No gc.collect(): in a pytest worker, where cyclic
    collection is off (tests/conftest.py), it scans all the garbage of the worker's earlier
    tests (17-36 s in a full run, 0.3 s alone)."""
    import logging
    loaded = tf.saved_model.load(os.path.join(exported[3], "saers", "1"))
    assert "explain_images" in loaded.signatures
    del loaded
    warnings = [r.getMessage() for r in tensorflow_log if r.levelno >= logging.WARNING]
    assert not warnings, warnings


def test_client_explain_returns_a_typed_record_over_grpc(exported, target):
    model, dataset, _, _ = exported
    regions = read_regions(regions_path(dataset), dataset.num_items)
    users = tf.constant([dataset.user_ids.index("u07")], tf.int64)
    features = {k: tf.constant(v[[19]]) for k, v in
                {"regions": regions.features, "region_boxes": regions.boxes, "region_classes": regions.classes}.items()}
    expected = model.explain(users, features)
    with RecommenderClient(target, model="saers") as client:
        got = client.explain("u07", dataset.item_ids[19])
        photo = client.explain_image("u07", dataset.image_bytes()[19])
    assert isinstance(got, Explanation)
    assert (got.user, got.item, photo.item) == ("u07", dataset.item_ids[19], None)
    np.testing.assert_allclose(got.weights, expected["weights"].numpy()[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.boxes, regions.boxes[19])
    assert got.attributes == regions.names
    assert got.classes == [regions.values[a][c] for a, c in enumerate(regions.classes[19])]
    assert got.top_attribute == regions.names[int(expected["top_attribute"].numpy()[0])]
    np.testing.assert_allclose(got.class_probabilities, regions.class_probabilities[19])
    np.testing.assert_allclose(photo.class_probabilities, got.class_probabilities, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(photo.weights, got.weights, rtol=1e-4, atol=1e-6)
    assert got.ranked()[0][0] == got.top_attribute


def test_shop_cli_prints_the_explanation(exported, target, tmp_path, capsys):
    _, dataset, _, _ = exported
    photo = tmp_path / "new.jpg"
    photo.write_bytes(dataset.image_bytes()[4])
    assert client_main(["explain", "--target", target, "--model", "saers", "--user", "u01",
                        "--item", dataset.item_ids[4]]) == 0
    by_id = capsys.readouterr().out
    assert client_main(["explain", "--target", target, "--model", "saers", "--user", "u01",
                        "--image", str(photo)]) == 0
    by_photo = capsys.readouterr().out
    assert client_main(["explain", "--target", target, "--model", "saers", "--user", "u01", "--item", ""]) == 1
    assert 'INVALID_ARGUMENT: unknown item id(s), not in the training vocabulary: ""' in capsys.readouterr().err
    first, second = json.loads(by_id), json.loads(by_photo)
    assert first["item"] == dataset.item_ids[4] and second["image"] == str(photo)
    assert [a["attribute"] for a in first["attributes"]] == [a["attribute"] for a in second["attributes"]]
    np.testing.assert_allclose([a["weight"] for a in first["attributes"]],
                               [a["weight"] for a in second["attributes"]], rtol=1e-4, atol=1e-6)
    assert first["top_attribute"] == first["attributes"][0]["attribute"]      # ranked by weight
    regions = read_regions(regions_path(dataset), dataset.num_items)
    by_name = dict(zip(regions.names, regions.class_probabilities[4].tolist()))
    for entry in first["attributes"]:
        assert entry["value_probability"] == pytest.approx(by_name[entry["attribute"]], rel=1e-6)


def test_an_export_that_predates_class_probabilities_reads_as_unknown():
    """An answer without `class_probabilities` (an export made before it was served) still
    makes a record: the probabilities unknown (NaN), None in the JSON."""
    outputs = {"attributes": np.array([[b"colour", b"shape"]], object), "weights": np.array([[0.25, 0.75]], np.float32),
               "classes": np.array([[b"red", b"round"]], object), "boxes": np.zeros((1, 2, 4), np.float32),
               "top_attribute": np.array([b"shape"], object)}
    record = Explanation.from_outputs(outputs, 0, "u01", "i1")
    assert np.isnan(record.class_probabilities).all() and record.class_probabilities.shape == (2,)
    assert [a["value_probability"] for a in record.to_dict()["attributes"]] == [None, None]
    record = Explanation.from_outputs({**outputs, "class_probabilities": np.array([[0.9, 0.4]], np.float32)}, 0, "u01")
    assert [(a["attribute"], a["value"], a["value_probability"]) for a in record.to_dict()["attributes"]] == [
        ("shape", "round", pytest.approx(0.4)), ("colour", "red", pytest.approx(0.9))]
