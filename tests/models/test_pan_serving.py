"""An exported PAN answers `outfit_score` with the model's own scores, in process and over gRPC
through the embedded server and the shop's client; bad outfits are refused (INVALID_ARGUMENT).
Holding the backbone that made its feature maps, it answers `outfit_score_images` for the
items' photos with the scores of their ids."""
import os
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.data.dataset import load_dataset
from tfvisrec.export import export_model
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from outfit_photo_world import make_outfit_photo_world  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """PAN on the photo world's maps, trained a few steps (so its attention is not at its
    initialisation), exported with the backbone its `feature_maps.npz` records."""
    import tf_keras as keras
    from tfvisrec.data.outfit_pipeline import outfit_pairs
    from tfvisrec.vision.photo_maps import load_photo_feature_maps
    root = tmp_path_factory.mktemp("pan_export")
    world = make_outfit_photo_world(str(root))
    dataset = load_dataset(world.dataset_dir)
    model = registry.get("pan")(DataInfo.from_dataset(dataset), registry.new_config("pan", code_dim=8))
    model.prepare(dataset)
    model.build_variables()
    model.pair_weights.assign(np.random.default_rng(0).normal(size=model.pair_weights.shape))
    optimizers = model.create_optimizers(lambda: keras.optimizers.Adam(0.05))
    for batch in outfit_pairs(dataset, batch_size=8, seed=0, epoch=0).take(3):
        model.train_step(batch, optimizers)
    photos = load_photo_feature_maps(model.feature_maps_source)
    path = export_model(model, dataset, str(root / "export" / "pan"), version=1,
                        models_config=str(root / "export" / "models.config"), feature_backbone=photos)
    return model, dataset, tf.saved_model.load(path), world.photos, world.backbone


@pytest.fixture(scope="module")
def target(exported, tmp_path_factory):
    from tfvisrec.serving import model_config
    from tfvisrec.serving.model_server import ModelServer
    _, dataset, *_ = exported
    export_root = os.path.join(os.path.dirname(dataset.path), "export")
    server = ModelServer(model_config.load(os.path.join(export_root, "models.config")), port=0,
                         host="127.0.0.1", max_workers=4, local_models_roots=[export_root])
    server.start()
    yield f"127.0.0.1:{server.port}"
    server.stop(grace=1.0)


def test_outfit_score_signature_matches_the_model(exported):
    model, dataset, loaded, *_ = exported
    fn = loaded.signatures["outfit_score"]
    assert "recommend" not in loaded.signatures and "score" not in loaded.signatures
    ids = np.array(dataset.item_ids, object)
    outfits = np.array([[0, 6, 12], [5, 11, 17], [2, -1, 13]])
    users = np.array([0, 3, 1])
    items = np.where(outfits >= 0, ids[np.maximum(outfits, 0)], "")
    served = fn(user=tf.constant(np.array(dataset.user_ids, object)[users].astype(str)),
                items=tf.constant(items.astype(str)))["scores"].numpy()
    expected = model.outfit_scores(tf.constant(users), tf.constant(outfits)).numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)


@pytest.mark.parametrize("items,message", [
    ([["bottom000", "bottom001", "shoes000"]], "slot they do not belong to"),
    ([["top000", "nope", "shoes000"]], "unknown item"),
    ([["top000", "", ""]], "at least two items"),
    ([["top000", "bottom000"]], "must have 3 columns"),
])
def test_outfit_score_refuses_bad_outfits(exported, items, message):
    _, dataset, loaded, *_ = exported
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["outfit_score"](user=tf.constant([dataset.user_ids[0]]), items=tf.constant(items))


def test_outfit_score_over_grpc_equals_the_model(exported, target):
    from tfvisrec.client import InvalidArgument, RecommenderClient
    model, dataset, *_ = exported
    with RecommenderClient(target, model="pan") as client:
        got = client.outfit_score(dataset.user_ids[2], ["top003", "bottom004", "shoes005"])
        with pytest.raises(InvalidArgument, match="slot they do not belong to"):
            client.outfit_score(dataset.user_ids[2], ["shoes003", "bottom004", "top005"])
    expected = model.outfit_scores(tf.constant([2]), tf.constant([[3, 10, 17]])).numpy()[0]
    assert got == pytest.approx(float(expected), abs=1e-5)


def test_recommend_outfit_item_ranks_the_slot_by_the_models_score(exported, target):
    from tfvisrec.client import InvalidArgument, RecommenderClient
    model, dataset, loaded, *_ = exported
    fn = loaded.signatures["recommend_outfit_item"]
    out = fn(user=tf.constant([dataset.user_ids[1], dataset.user_ids[3]]),
             items=tf.constant([["top002", "bottom001", ""], ["", "bottom005", "shoes000"]]),
             slot=tf.constant(["shoes", "top"]), k=tf.constant([3, 6], tf.int32))
    for row, (user, fixed, slot) in enumerate([(1, [2, 7, -1], 2), (3, [-1, 11, 12], 0)]):
        candidates = np.arange(slot * 6, slot * 6 + 6)
        outfits = np.repeat([fixed], 6, axis=0)
        outfits[:, slot] = candidates
        scores = model.outfit_scores(tf.constant([user] * 6), tf.constant(outfits)).numpy()
        order = np.argsort(-scores, kind="stable")[:[3, 6][row]]
        got = [i.decode() for i in out["item_ids"].numpy()[row] if i]
        assert got == [dataset.item_ids[c] for c in candidates[order]]
        np.testing.assert_allclose(out["scores"].numpy()[row, :len(got)], scores[order], atol=1e-5)
    with RecommenderClient(target, model="pan") as client:
        served = client.recommend_outfit_item(dataset.user_ids[1], ["top002", "bottom001", ""], "shoes", k=3)
        assert [r.item_id for r in served] == [i.decode() for i in out["item_ids"].numpy()[0] if i]
        # shoes given in the slot asked for are left out: the answer replaces them
        instead = client.recommend_outfit_item(dataset.user_ids[1], ["top002", "bottom001", "shoes003"], "shoes", k=3)
        assert instead == served
        with pytest.raises(InvalidArgument, match="unknown slot"):
            client.recommend_outfit_item(dataset.user_ids[1], ["top002", "bottom001", ""], "hats")


def test_the_shop_cli_asks_for_outfits(exported, target, capsys):
    import json
    from tfvisrec.client.cli import main as client_main
    _, dataset, *_ = exported
    user = dataset.user_ids[1]
    assert client_main(["--target", target, "--model", "pan", "outfit-item", "--user", user,
                        "--items", "top002", "bottom001", "", "--slot", "shoes", "--k", "2"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and all(r["item_id"].startswith("shoes") for r in rows)
    assert client_main(["--target", target, "--model", "pan", "outfit-score", "--user", user,
                        "--items", "top002", "bottom001", rows[0]["item_id"]]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(rows[0]["score"], abs=1e-5)


# ---- outfit_score_images -------------------------------------------------------------------
OUTFITS = np.array([[0, 6, 12], [5, 11, 17], [2, -1, 13]])   # item indices, -1 = empty slot
USERS = np.array([0, 3, 1])


def _photo_rows(photos, outfits):
    return np.array([[photos[i] if i >= 0 else b"" for i in row] for row in outfits], object)


def test_outfit_score_images_of_the_items_photos_equals_outfit_score(exported):
    model, dataset, loaded, photos, _ = exported
    users = tf.constant(np.array(dataset.user_ids, object)[USERS].astype(str))
    served = loaded.signatures["outfit_score_images"](user=users, images=tf.constant(_photo_rows(photos, OUTFITS)))
    expected = model.outfit_scores(tf.constant(USERS), tf.constant(OUTFITS)).numpy()
    # the maps of a photo are rounded through float16 as feature_maps.npz stores them: equal up to
    # a rounding flip where the backbone's batch changes the last bit before rounding
    np.testing.assert_allclose(served["scores"].numpy(), expected, rtol=1e-3, atol=1e-7)
    # another top (of the slot's others, the one the model scores least like the first): its own
    # score, not the first one's
    tops = np.array([[top, 6, 12] for top in range(1, 6)])
    by_model = model.outfit_scores(tf.zeros([len(tops)], tf.int64), tf.constant(tops)).numpy()
    other = tops[np.argmax(np.abs(by_model - expected[0]))]
    moved = loaded.signatures["outfit_score_images"](user=users[:1], images=tf.constant(_photo_rows(photos, [other])))
    moved = moved["scores"].numpy()
    np.testing.assert_allclose(moved, model.outfit_scores(tf.constant([0]), tf.constant([other])).numpy(),
                               rtol=1e-3, atol=1e-7)
    assert abs(moved[0] - expected[0]) > 1e-2 * abs(expected[0])


@pytest.mark.parametrize("images,message", [
    ([[b"not an image", 6, 12]], "Unknown image file format"),
    ([[0, 6]], "images must have 3 columns"),
    ([[0, -1, -1]], "at least two items"),
])
def test_outfit_score_images_refuses_bad_photos(exported, images, message):
    _, dataset, loaded, photos, _ = exported
    rows = np.array([[i if isinstance(i, bytes) else photos[i] if i >= 0 else b"" for i in row] for row in images],
                    object)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["outfit_score_images"](user=tf.constant([dataset.user_ids[0]]), images=tf.constant(rows))


def test_outfit_score_images_over_grpc_and_the_shop_cli(exported, target, tmp_path, capsys):
    import json
    from tfvisrec.client import InvalidArgument, RecommenderClient
    from tfvisrec.client.cli import main as client_main
    model, dataset, _, photos, _ = exported
    files = []
    for name, item in (("top.jpg", 3), ("bottom.jpg", 10), ("shoes.jpg", 17)):
        (tmp_path / name).write_bytes(photos[item])
        files.append(str(tmp_path / name))
    expected = float(model.outfit_scores(tf.constant([2]), tf.constant([[3, 10, 17]])).numpy()[0])
    with RecommenderClient(target, model="pan") as client:
        assert client.outfit_score_images(dataset.user_ids[2], [photos[3], photos[10], files[2]]) == \
            pytest.approx(expected, rel=1e-3, abs=1e-7)
        with pytest.raises(InvalidArgument, match="at least two items"):
            client.outfit_score_images(dataset.user_ids[2], [photos[3], b"", ""])
    assert client_main(["--target", target, "--model", "pan", "outfit-score", "--user", dataset.user_ids[2],
                        "--images", *files]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(expected, rel=1e-3, abs=1e-7)


def test_an_unknown_or_foreign_backbone_is_refused_at_export(exported):
    import dataclasses
    from tfvisrec.data.errors import DataError
    from tfvisrec.vision.photo_maps import load_photo_feature_maps
    model, *_, backbone = exported
    source = model.feature_maps_source
    assert source.weights == os.path.abspath(backbone)
    with pytest.raises(DataError, match="record no backbone"):
        load_photo_feature_maps(dataclasses.replace(source, weights=""))
    with pytest.raises(DataError, match="do not exist"):
        load_photo_feature_maps(source, backbone + "-moved")
    with pytest.raises(DataError, match=r"shape \[4, 4, 256\], but the model was trained on maps of shape \[2, 2, 256\]"):
        load_photo_feature_maps(dataclasses.replace(source, shape=(2, 2, 256)))
