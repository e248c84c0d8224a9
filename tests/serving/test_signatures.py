"""Signatures of the in-memory servable against numpy references on the tiny world."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf

import serving_world as world_lib
from tfvisrec.serving import signatures
from tfvisrec.serving.servable import Servable

pytestmark = pytest.mark.xdist_group("serving")  # share the session world and server


def _built(world, kind, **kwargs):
    dataset, models = world
    servable = Servable(models[kind], dataset, **kwargs)
    return servable, signatures.build_signatures(servable)


def _strings(values):
    return tf.constant(np.array(values, object), tf.string)


def test_registry_applies_by_capability(world):
    dataset, models = world
    applied = {kind: [b.name for b in signatures.applicable(Servable(m, dataset, top_k=5))]
               for kind, m in models.items()}
    assert applied == {"mf": ["recommend", "score"],
                       "visual": ["recommend", "score", "score_images", "embed_items"],
                       "mlp": ["recommend", "score", "score_images"]}


def test_adding_a_signature_is_one_builder(world, monkeypatch):
    monkeypatch.setattr(signatures, "_BUILDERS", dict(signatures._BUILDERS))

    @signatures.signature("user_norm", applies=lambda s: s.factorised,
                          example=lambda ex, s: {"user": np.array([ex.user_id], object)})
    def user_norm(servable):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user")])
        def fn(user):
            return {"norm": tf.norm(servable.user_vectors(servable.user_index(user)), axis=-1)}
        return fn

    dataset, models = world
    servable, fns = _built(world, "mf", top_k=5)
    assert "user_norm" in fns and fns["serving_default"] is fns["recommend"]
    users, _ = world_lib.reference_vectors(models["mf"], dataset)
    got = fns["user_norm"](user=_strings(["u03"]))["norm"].numpy()
    np.testing.assert_allclose(got, np.linalg.norm(users[[3]], axis=1), rtol=1e-5)
    examples = signatures.Examples(user_id="u00", item_ids=["item-000", "item-001"])
    assert set(signatures.example_inputs(servable, examples)) == {
        "recommend", "score", "user_norm", "serving_default"}


@pytest.mark.parametrize("kind", ["mf", "visual", "mlp"])
@pytest.mark.parametrize("exclude_seen", [True, False])
def test_recommend_matches_numpy_top_k(world, kind, exclude_seen):
    dataset, models = world
    _, fns = _built(world, kind, top_k=8, exclude_seen=exclude_seen)
    scores = world_lib.reference_scores(models[kind], dataset)
    users = [0, 5, 11]
    out = fns["recommend"](user=_strings([dataset.user_ids[u] for u in users]),
                           k=tf.constant([8, 8, 8]))
    rows = world_lib.masked_scores(scores, dataset, users, exclude_seen)
    assert out["item_ids"].shape == (3, 8)
    for got_ids, got_scores, row in zip(out["item_ids"].numpy().astype(str), out["scores"].numpy(), rows):
        world_lib.assert_top_k_matches(got_ids, got_scores, row, dataset.item_ids)


def test_recommend_k_per_row_pads_with_empty_ids(world):
    dataset, models = world
    _, fns = _built(world, "mf", top_k=6)
    out = fns["recommend"](user=_strings(["u01", "u02"]), k=tf.constant([4, 2]))
    ids, scores = out["item_ids"].numpy(), out["scores"].numpy()
    assert ids.shape == (2, 4)
    assert all(ids[0]) and all(ids[1, :2]) and list(ids[1, 2:]) == [b"", b""]
    assert np.all(np.isneginf(scores[1, 2:])) and np.all(np.isfinite(scores[0]))


def test_top_k_is_capped_at_catalogue_size(world):
    servable, fns = _built(world, "mf", top_k=1000, exclude_seen=False)
    assert servable.top_k == world_lib.NUM_ITEMS
    out = fns["recommend"](user=_strings(["u00"]), k=tf.constant([world_lib.NUM_ITEMS]))
    assert sorted(out["item_ids"].numpy()[0].astype(str)) == sorted(world[0].item_ids)


@pytest.mark.parametrize("kind", ["mf", "visual", "mlp"])
def test_score_matches_model(world, kind):
    dataset, models = world
    _, fns = _built(world, kind, top_k=5)
    scores = world_lib.reference_scores(models[kind], dataset)
    items = [[3, 0, 29], [7, 7, 1]]
    out = fns["score"](user=_strings(["u04", "u09"]),
                       items=_strings([[dataset.item_ids[i] for i in row] for row in items]))
    np.testing.assert_allclose(out["scores"].numpy(), [scores[4, items[0]], scores[9, items[1]]],
                               rtol=1e-5, atol=1e-5)


def test_score_images_and_embed_items_match_model(world):
    dataset, models = world
    model = models["visual"]
    _, fns = _built(world, "visual", top_k=5)
    jpegs = [world_lib.jpeg(100 + i, width=31, height=17, seed=5) for i in range(3)]
    out = fns["score_images"](user=_strings(["u02"]), images=_strings([jpegs]))
    np.testing.assert_allclose(out["scores"].numpy()[0],
                               world_lib.reference_image_scores(model, 2, jpegs),
                               rtol=1e-5, atol=1e-5)
    vectors = fns["embed_items"](images=_strings(jpegs))["item_vectors"].numpy()
    images = tfvisrec.data.images.decode_batch(tf.constant(jpegs), world_lib.IMAGE_SIZE)
    expected = model.item_vectors({"image": images})
    np.testing.assert_allclose(vectors, expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda f: f["recommend"](user=_strings(["nobody", "u00"]), k=tf.constant([1, 1])),
     r"unknown user id\(s\).*nobody"),
    (lambda f: f["score"](user=_strings(["u00"]), items=_strings([["item-000", "zzz"]])),
     r"unknown item id\(s\).*zzz"),
    (lambda f: f["recommend"](user=_strings(["u00"]), k=tf.constant([0])), "k must be between 1 and K=5"),
    (lambda f: f["recommend"](user=_strings(["u00"]), k=tf.constant([6])), "k must be between 1 and K=5"),
    (lambda f: f["recommend"](user=_strings([]), k=tf.constant([], tf.int32)), "empty batch"),
    (lambda f: f["recommend"](user=_strings(["u00"]), k=tf.constant([1, 2])),
     "inputs user, k must have the same number of rows"),
    (lambda f: f["score"](user=_strings(["u00", "u01"]), items=_strings([["item-000"]])),
     "inputs user, items must have the same number of rows"),
    (lambda f: f["score_images"](user=_strings(["u00", "u01"]), images=_strings([[b"x"]])),
     "inputs user, images must have the same number of rows"),
    (lambda f: f["score_images"](user=_strings(["u00"]), images=_strings([[b"not a jpeg"]])),
     "Unknown image file format"),
])
def test_bad_inputs_fail_with_invalid_argument(visual_k5, call, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        call(visual_k5)


@pytest.fixture(scope="module")
def visual_k5(world):
    return _built(world, "visual", top_k=5)[1]
