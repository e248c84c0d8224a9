"""An exported PAN answers `outfit_score` with the model's own scores, in process and over gRPC
through the embedded server and the shop's client; bad outfits are refused (INVALID_ARGUMENT)."""
import os

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world, write_outfit_world
from tfvisrec.export import export_model
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("pan_export")
    world = make_outfit_world(OutfitWorldConfig(num_users=4, items_per_slot=6, outfits_per_user=4,
                                                valid_per_user=1, test_per_user=1, candidates=30))
    dataset = load_dataset(write_outfit_world(world, str(root / "w")))
    model = registry.get("pan")(DataInfo.from_dataset(dataset), registry.new_config("pan", code_dim=8))
    model.prepare(dataset)
    model.build_variables()
    model.pair_weights.assign(np.random.default_rng(0).normal(size=model.pair_weights.shape))
    path = export_model(model, dataset, str(root / "export" / "pan"), version=1,
                        models_config=str(root / "export" / "models.config"))
    return model, dataset, tf.saved_model.load(path)


@pytest.fixture(scope="module")
def target(exported, tmp_path_factory):
    from tfvisrec.serving import model_config
    from tfvisrec.serving.model_server import ModelServer
    _, dataset, _ = exported
    export_root = os.path.join(os.path.dirname(dataset.path), "export")
    server = ModelServer(model_config.load(os.path.join(export_root, "models.config")), port=0,
                         host="127.0.0.1", max_workers=4, local_models_roots=[export_root])
    server.start()
    yield f"127.0.0.1:{server.port}"
    server.stop(grace=1.0)


def test_outfit_score_signature_matches_the_model(exported):
    model, dataset, loaded = exported
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
    _, dataset, loaded = exported
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["outfit_score"](user=tf.constant([dataset.user_ids[0]]), items=tf.constant(items))


def test_outfit_score_over_grpc_equals_the_model(exported, target):
    from tfvisrec.client import InvalidArgument, RecommenderClient
    model, dataset, _ = exported
    with RecommenderClient(target, model="pan") as client:
        got = client.outfit_score(dataset.user_ids[2], ["top003", "bottom004", "shoes005"])
        with pytest.raises(InvalidArgument, match="slot they do not belong to"):
            client.outfit_score(dataset.user_ids[2], ["shoes003", "bottom004", "top005"])
    expected = model.outfit_scores(tf.constant([2]), tf.constant([[3, 10, 17]])).numpy()[0]
    assert got == pytest.approx(float(expected), abs=1e-5)


def test_recommend_outfit_item_ranks_the_slot_by_the_models_score(exported, target):
    from tfvisrec.client import InvalidArgument, RecommenderClient
    model, dataset, loaded = exported
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
        with pytest.raises(InvalidArgument, match="unknown slot"):
            client.recommend_outfit_item(dataset.user_ids[1], ["top002", "bottom001", ""], "hats")


def test_the_shop_cli_asks_for_outfits(exported, target, capsys):
    import json
    from tfvisrec.client.cli import main as client_main
    _, dataset, _ = exported
    user = dataset.user_ids[1]
    assert client_main(["--target", target, "--model", "pan", "outfit-item", "--user", user,
                        "--items", "top002", "bottom001", "", "--slot", "shoes", "--k", "2"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and all(r["item_id"].startswith("shoes") for r in rows)
    assert client_main(["--target", target, "--model", "pan", "outfit-score", "--user", user,
                        "--items", "top002", "bottom001", rows[0]["item_id"]]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(rows[0]["score"], abs=1e-5)
