"""Acceptance 1 on the real road: synthetic world -> ingest -> trainer -> export (through the
trainer's load_trained, as the CLI does) -> embedded server -> client == the model's own
top-K, `score`, and cold-start scores from JPEG bytes (BPR-MF and DVBPR)."""
import glob
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf

from serving_world import assert_top_k_matches, start_server
from tfvisrec.client import RecommenderClient
from tfvisrec.config import TrainConfig
from tfvisrec.models import registry
from tfvisrec.data import images as image_ops
from tfvisrec.data.ingest import ingest
from tfvisrec.data.synthetic import SyntheticConfig, generate_world
from tfvisrec.export import export_model
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.serving import model_config
from tfvisrec.training import checkpoints, loop

pytestmark = pytest.mark.xdist_group("serving-pipeline")  # own fixtures: runs beside "serving"
IMAGE_SIZE = 32
MODELS = {"bprmf": dict(embedding_dim=4),
          "dvbpr": dict(visual_dim=4, image_size=IMAGE_SIZE, fc_width=16, dropout=0.0)}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    world = generate_world(str(root / "world"), SyntheticConfig(
        num_users=30, num_items=48, image_size=IMAGE_SIZE, mean_interactions=8,
        min_interactions=6, seed=4))
    dataset_dir = ingest(os.path.join(world, "interactions.csv"), os.path.join(world, "items.csv"),
                         out_dir=str(root / "dataset"))
    trained = {}
    for name, overrides in MODELS.items():
        run = str(root / "runs" / name)
        loop.fit(registry.new_config(name, **overrides),
                 TrainConfig(dataset=dataset_dir, model_dir=run, epochs=1, batch_size=32,
                             max_steps=12, verbose=0, patience=0))
        model, dataset = checkpoints.load_trained(run)
        export_model(model, dataset, str(root / "export" / name), top_k=15,
                     models_config=str(root / "export" / "models.config"))
        trained[name] = model
    config = model_config.load(str(root / "export" / "models.config"))
    server = start_server(config, local_models_roots=[str(root / "export")])
    yield trained, dataset, f"127.0.0.1:{server.port}", world
    server.stop(grace=1.0)


def _catalogue(model, dataset):
    keys = [k for k in model.item_feature_keys if k != "image"]
    features = {k: v.numpy() for k, v in
                ItemFeatureTable(dataset, keys).lookup(np.arange(dataset.num_items)).items()}
    if "image" in model.item_feature_keys:
        features["image"] = image_ops.decode_batch(tf.constant(dataset.image_bytes()), IMAGE_SIZE)
    return {k: tf.constant(v) for k, v in features.items()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_client_answers_equal_the_trained_model(served, name):
    trained, dataset, target, _ = served
    model = trained[name]
    users = model.user_vectors(tf.range(dataset.num_users, dtype=tf.int64)).numpy()
    items = model.item_vectors(_catalogue(model, dataset)).numpy()
    scores = users @ items.T
    seen = dataset.user_items(("train",))
    with RecommenderClient(target, model=name) as client:
        for u in (0, 13, dataset.num_users - 1):
            row = scores[u].astype(np.float64)
            row[seen[u]] = -np.inf
            got = client.recommend(dataset.user_ids[u], k=10)
            assert len(got) == 10
            assert_top_k_matches([r.item_id for r in got], [r.score for r in got], row, dataset.item_ids)
        picked = [3, 0, dataset.num_items - 1, dataset.num_items // 2]
        np.testing.assert_allclose(client.score(dataset.user_ids[5], [dataset.item_ids[i] for i in picked]),
                                   scores[5, picked], rtol=1e-5, atol=1e-5)


def test_dvbpr_cold_start_from_jpeg_bytes(served):
    trained, dataset, target, world = served
    model = trained["dvbpr"]
    jpegs = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(world, "images", "*.jpg")))[:5]]
    images = image_ops.decode_batch(tf.constant(jpegs), IMAGE_SIZE)
    expected = model.score(tf.fill([5], tf.constant(7, tf.int64)),
                           {"image": images}).numpy()
    with RecommenderClient(target, model="dvbpr") as client:
        np.testing.assert_allclose(client.score_images(dataset.user_ids[7], jpegs), expected,
                                   rtol=1e-5, atol=1e-5)
        assert set(client.metadata()) == {"recommend", "score", "score_images", "embed_items",
                                          "serving_default"}
