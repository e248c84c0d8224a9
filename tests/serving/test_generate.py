"""`generate` (DVBPR eq. 9-10) and `tailor` (eq. 12, then eq. 9-10) in the graph, from one
design export shared by the module: a DVBPR exported with a GAN answers with the designs and
tailoring strips the in-process code computes; a bad category, seed or row count is
INVALID_ARGUMENT naming it; through the embedded gRPC server the client returns them decoded,
and the shop CLI writes their PNGs."""
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf
import tf_keras as keras

from tfvisrec import client as client_lib
from tfvisrec.client import cli
from tfvisrec.data import images as image_ops
from tfvisrec.data.dataset import load_dataset
from tfvisrec.design import tailoring
from tfvisrec.export import export_model
from tfvisrec.models import registry
from tfvisrec.serving import model_config
from tfvisrec.serving.design_export import DesignExport, DesignSettings
from tfvisrec.training import building

pytestmark = pytest.mark.xdist_group("design_export")

SETTINGS = DesignSettings(restarts=4, steps=6, learning_rate=0.1, eta=0.5, k=2, tailor_restarts=3,
                          tailor_fit_steps=4, tailor_steps=4, tailor_record_every=2)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(loaded SavedModel, its DesignExport, dataset, export base folder)."""
    from tiny_worlds import write_category_image_dataset
    root = tmp_path_factory.mktemp("generate")
    dataset = load_dataset(write_category_image_dataset(str(root / "world"), size=16))
    keras.utils.set_random_seed(0)
    gan = building.build_model(registry.new_config("gan", image_size=16, gan_width=8, latent_dim=8), dataset)
    dvbpr = building.build_model(registry.new_config("dvbpr", image_size=32, fc_width=8, visual_dim=4,
                                                     dropout=0.0, init_stddev=1.0), dataset)
    design = DesignExport(gan, dvbpr, dataset.categories, SETTINGS)
    base = str(root / "export" / "dvbpr")
    path = export_model(dvbpr, dataset, base, top_k=5, design=design)
    return tf.saved_model.load(path), design, dataset, base


@pytest.fixture(scope="module")
def served(exported):
    """A client of the export through the embedded gRPC server."""
    from serving_world import start_server
    server = start_server(model_config.single_model("dvbpr", exported[3]))
    target = f"127.0.0.1:{server.port}"
    client = client_lib.RecommenderClient(target, model="dvbpr", timeout=60)
    client.wait_until_ready(60)
    yield client, target
    client.close()
    server.stop(grace=1.0)


def _pixels(images):
    return np.clip(np.round((np.asarray(images) + 1) * 127.5), 0, 255)


def _png(data):
    return np.asarray(Image.open(io.BytesIO(data)))


def test_served_designs_are_the_in_process_ones(exported):
    loaded, design, dataset, _ = exported
    out = loaded.signatures["generate"](user=tf.constant(["u001", "u005"]),
                                        category=tf.constant(["bag", "top"]),
                                        seed=tf.constant([3, 4], tf.int64))
    assert out["images"].shape == (2, 2) and out["scores"].shape == (2, 2)
    for row, (user, category, seed) in enumerate([(1, "bag", 3), (5, "top", 4)]):
        mine = design.maximiser.design(user, dataset.categories.index(category), restarts=4, k=2,
                                       steps=6, learning_rate=0.1, seed=seed)
        np.testing.assert_allclose(out["scores"].numpy()[row], mine["preference"], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(_png(out["images"].numpy()[row, 0]), _pixels(mine["images"][0]), atol=2)


def test_served_tailoring_strip_is_the_in_process_one(exported):
    loaded, design, dataset, _ = exported
    photos = [dataset.image_bytes()[i] for i in (0, 4)]
    out = loaded.signatures["tailor"](user=tf.constant(["u002", "u007"]), image=tf.constant(photos),
                                      category=tf.constant(["top", "trousers"]))
    assert out["images"].shape == (2, 4) and out["scores"].shape == (2, 4)
    np.testing.assert_array_equal(out["stage"].numpy(), [[1, 1, 2, 2]] * 2)
    np.testing.assert_array_equal(out["step"].numpy(), [[2, 4, 2, 4]] * 2)
    for row, (user, category) in enumerate([(2, "top"), (7, "trousers")]):
        query = image_ops.decode_batch(tf.constant([photos[row]]), 16)[0].numpy()
        mine = tailoring.tailor(design.maximiser, user, dataset.categories.index(category), query,
                                restarts=3, fit_steps=4, design_steps=4, learning_rate=0.1, record_every=2)
        np.testing.assert_allclose(out["scores"].numpy()[row], mine["preference"], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(out["l1"].numpy()[row], mine["l1"], rtol=1e-3, atol=1e-4)
        assert out["query_scores"].numpy()[row] == pytest.approx(mine["query_preference"], rel=1e-3, abs=1e-4)
        for step in (0, 3):
            np.testing.assert_allclose(_png(out["images"].numpy()[row, step]), _pixels(mine["images"][step]),
                                       atol=2)


@pytest.mark.parametrize("signature, inputs, message", [
    ("generate", {"category": ["hats"], "seed": [0]}, "hats"),
    ("generate", {"category": ["bag"], "seed": [-1]}, "seed must be"),
    ("generate", {"category": ["bag", "top"], "seed": [0]}, "same number of rows"),
    ("tailor", {"category": ["hats"], "image": "photo"}, "hats"),
    ("tailor", {"category": ["bag"], "image": b"not an image"}, "Unknown image file format"),
])
def test_bad_input_is_named(exported, signature, inputs, message):
    loaded, _, dataset, _ = exported
    inputs = dict(inputs, user=["u001"])
    if inputs.get("image") == "photo":
        inputs["image"] = [dataset.image_bytes()[0]]
    elif "image" in inputs:
        inputs["image"] = [inputs["image"]]
    tensors = {k: tf.constant(v, tf.int64 if k == "seed" else tf.string) for k, v in inputs.items()}
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures[signature](**tensors)


def test_client_decodes_generate_and_tailor_over_grpc(exported, served):
    loaded, _, dataset, _ = exported
    served = served[0]
    made = served.generate("u003", "bag", n=2, seed=5)
    direct = loaded.signatures["generate"](user=tf.constant(["u003"] * 2), category=tf.constant(["bag"] * 2),
                                           seed=tf.constant([5, 6], tf.int64))
    assert [d.seed for d in made] == [5, 5, 6, 6]
    np.testing.assert_allclose([d.score for d in made], direct["scores"].numpy().reshape(-1), rtol=1e-5)
    assert made[0].image.dtype == np.uint8 and made[0].image.shape == (16, 16, 3)
    np.testing.assert_array_equal(made[2].image, _png(direct["images"].numpy()[1, 0]))

    photo = dataset.image_bytes()[1]
    strip = served.tailor("u003", photo, "trousers")
    direct = loaded.signatures["tailor"](user=tf.constant(["u003"]), image=tf.constant([photo]),
                                         category=tf.constant(["trousers"]))
    assert [(s.stage, s.step) for s in strip.steps] == [(1, 2), (1, 4), (2, 2), (2, 4)]
    np.testing.assert_allclose([s.score for s in strip.steps], direct["scores"].numpy()[0], rtol=1e-5)
    assert strip.query_score == pytest.approx(float(direct["query_scores"].numpy()[0]), rel=1e-5)
    np.testing.assert_array_equal(strip.steps[-1].image, _png(direct["images"].numpy()[0, -1]))
    with pytest.raises(client_lib.InvalidArgument, match="hats"):
        served.tailor("u003", photo, "hats")


def test_cli_writes_the_pngs_and_prints_the_scores(exported, served, tmp_path, capsys):
    _, _, dataset, _ = exported
    target = ["--target", served[1], "--model", "dvbpr"]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(dataset.image_bytes()[2])
    assert cli.main(["generate", *target, "--user", "u004", "--category", "top", "--n", "2",
                                "--out_dir", str(tmp_path / "designs")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed["designs"]) == 4 and sorted(os.listdir(tmp_path / "designs")) == sorted(
        os.path.basename(d["file"]) for d in printed["designs"])
    assert _png(open(printed["designs"][0]["file"], "rb").read()).shape == (16, 16, 3)
    assert cli.main(["tailor", *target, "--user", "u004", "--image", str(photo),
                                "--category", "top", "--out_dir", str(tmp_path / "strip")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [s["stage"] for s in printed["steps"]] == ["fit", "fit", "preference", "preference"]
    assert all(os.path.exists(s["file"]) for s in printed["steps"]) and "query_score" in printed
