"""I-VBPR's interpretable features and interactive steering (seed §5) against numpy."""
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)

from tfvisrec.data.errors import DataError
from tfvisrec.models import interactive as ia
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo
from tfvisrec.models.interpretable_features import load_interpretable_features

ATTRIBUTES = {"colour": ["red", "blue", "black"], "pattern": ["plain", "striped"], "sleeve": ["short", "long"]}
NAMES = [f"{a}={v}" for a, values in ATTRIBUTES.items() for v in values]
F, KV, ITEMS = len(NAMES), 3, 40


def _probabilities(seed=0, items=ITEMS):
    """{attribute: softmax rows [items, |values|]}, peaked so that items differ clearly."""
    rng = np.random.default_rng(seed)
    out = {}
    for attribute, values in ATTRIBUTES.items():
        logits = 3.0 * rng.normal(size=(items, len(values)))
        out[attribute] = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    return out


def _write_probs(folder, probs, **override):
    arrays = {"names": np.asarray(list(ATTRIBUTES), dtype=str)}
    for attribute, values in ATTRIBUTES.items():
        arrays[f"prob_{attribute}"] = probs[attribute]
        arrays[f"values_{attribute}"] = np.asarray(values, dtype=str)
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = os.path.join(folder, "attribute_probs.npz")
    np.savez(path, **arrays)
    return path


@pytest.fixture
def features():
    return np.concatenate(list(_probabilities().values()), axis=1).astype(np.float64)


@pytest.fixture
def affinity():
    return np.random.default_rng(5).normal(size=F)


# --- interpretable features -------------------------------------------------------------

def test_loads_one_named_column_per_attribute_value(tmp_path):
    probs = _probabilities(items=4)
    _write_probs(tmp_path, probs)
    loaded = load_interpretable_features(str(tmp_path), num_items=4)
    assert loaded.names == NAMES
    np.testing.assert_array_equal(loaded.matrix, np.concatenate(list(probs.values()), axis=1))
    assert loaded.index("pattern=striped") == 4
    unit = load_interpretable_features(str(tmp_path), norm="l2").matrix
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="unknown feature 'colour=green'; the features are: colour=red"):
        loaded.index("colour=green")


def test_missing_corrupt_or_inconsistent_files_raise_data_errors(tmp_path):
    with pytest.raises(DataError, match="attribute_probs.npz: no attribute probabilities: run"):
        load_interpretable_features(str(tmp_path))
    (tmp_path / "attribute_probs.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="not a readable .npz file"):
        load_interpretable_features(str(tmp_path))
    probs = _probabilities(items=4)
    cases = [
        (dict(names=None), "has no `names` array"),
        (dict(values_pattern=None), "attribute 'pattern' has no values_pattern"),
        (dict(prob_sleeve=np.zeros((4, 3), np.float32)),
         r"prob_sleeve has shape \(4, 3\); expected \[items, 2\]"),
        (dict(prob_sleeve=np.zeros((5, 2), np.float32)), "prob_sleeve has 5 rows, the attributes before it 4"),
        (dict(prob_colour=np.full((4, 3), np.nan, np.float32)), "prob_colour holds non-finite"),
    ]
    for override, message in cases:
        _write_probs(tmp_path, probs, **override)
        with pytest.raises(DataError, match=message):
            load_interpretable_features(str(tmp_path))
    _write_probs(tmp_path, probs)
    with pytest.raises(DataError, match="has 4 items, the dataset 7"):
        load_interpretable_features(str(tmp_path), num_items=7)


# --- affinity ---------------------------------------------------------------------------

def test_affinity_is_the_projection_applied_to_the_visual_factors():
    rng = np.random.default_rng(1)
    projection, theta, bias = rng.normal(size=(F, KV)), rng.normal(size=(4, KV)), rng.normal(size=F)
    expected = np.array([[sum(projection[k, d] * theta[u, d] for d in range(KV)) for k in range(F)]
                         for u in range(4)])
    np.testing.assert_allclose(ia.visual_affinity(projection, theta[2]), expected[2])
    np.testing.assert_allclose(ia.visual_affinity(projection, theta), expected)
    np.testing.assert_allclose(ia.visual_affinity(projection, theta, bias), expected + bias)
    # entry k is the visual score of the one-hot item e_k (seed eq. 5's one-hot responses)
    one_hot_scores = np.eye(F) @ projection @ theta[2] + np.eye(F) @ bias
    np.testing.assert_allclose(ia.visual_affinity(projection, theta[2], bias), one_hot_scores)


def test_affinity_reproduces_a_vbpr_models_visual_score():
    settings = dict(embedding_dim=2, visual_dim=KV, feature_norm="none")
    model = registry.build(registry.new_config("vbpr", **settings),
                           DataInfo(num_users=3, num_items=5, num_categories=0, feature_dim=F))
    rng = np.random.default_rng(2)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    features = rng.random((5, F)).astype(np.float32)
    user, items = 1, {"item": np.arange(5)[None], "features": features[None]}
    scores = model.score(np.array([user]), items).numpy()[0]
    affinity = ia.visual_affinity(model.visual_projection.numpy(), model.user_visual_factors.numpy()[user],
                                  model.visual_bias.numpy())
    base = ia.collaborative_scores(model.user_factors.numpy()[user], model.item_factors.numpy(),
                                   model.item_bias.numpy())
    np.testing.assert_allclose(ia.interpretable_scores(affinity, features, base), scores, rtol=1e-4, atol=1e-4)


def test_normalised_affinity(affinity):
    l1, l2 = ia.normalised_affinity(affinity), ia.normalised_affinity(affinity, "l2")
    assert np.isclose(np.abs(l1).sum(), 1.0) and np.isclose(np.linalg.norm(l2), 1.0)
    np.testing.assert_allclose(np.sign(l1), np.sign(affinity))
    np.testing.assert_allclose(l1 * np.abs(affinity).sum(), affinity)
    np.testing.assert_allclose(ia.normalised_affinity(7.0 * affinity), l1)           # scale-free
    rows = ia.normalised_affinity(np.stack([affinity, -2 * affinity, np.zeros(F)]))
    np.testing.assert_allclose(rows, np.stack([l1, -l1, np.zeros(F)]))               # zero stays zero
    with pytest.raises(ValueError, match="norm must be one of"):
        ia.normalised_affinity(affinity, "max")


# --- steering ---------------------------------------------------------------------------

def _ranks(affinity, features):
    """rank[i] of every item (0 = best) by p_uᵀ f_i."""
    order = ia.recommend(affinity, features, features.shape[0])
    ranks = np.empty_like(order)
    ranks[order] = np.arange(order.size)
    return ranks


def test_boosting_a_feature_raises_the_share_of_items_strong_in_it_monotonically(features, affinity):
    k, top = NAMES.index("colour=blue"), 8       # the feature this user likes least
    strong = features[:, k] >= 0.5
    assert 5 < strong.sum() < ITEMS - 5
    shares = []
    for strength in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0):
        steered = ia.steer_feature(affinity, "colour=blue", strength, NAMES)
        np.testing.assert_allclose(steered - affinity, strength * np.eye(F)[k])
        shares.append(strong[ia.recommend(steered, features, top)].mean())
    assert all(a <= b for a, b in zip(shares, shares[1:])), shares
    assert shares[0] == 0.0 and shares[-1] == 1.0 and len(set(shares)) > 4, shares
    liked = NAMES.index("pattern=striped")
    striped = features[:, liked] >= 0.5
    assert striped[ia.recommend(affinity, features, top)].mean() > 0.5
    away = ia.steer_feature(affinity, liked, -8.0)                       # λ < 0: steer away
    assert striped[ia.recommend(away, features, top)].mean() == 0.0


def test_steering_toward_an_item_moves_it_and_its_neighbours_up(features, affinity):
    before = _ranks(affinity, features)
    chosen = int(np.argsort(before)[-5])                    # near the bottom of the ranking
    neighbours, cosines = ia.nearest_items(features, chosen, 3)
    assert chosen not in neighbours and np.all(np.diff(cosines) <= 0)
    previous = before
    for strength in (0.25, 0.5, 0.75, 1.0):
        steered = ia.steer_toward_item(affinity, features[chosen], strength)
        ranks = _ranks(steered, features)
        assert ranks[chosen] <= previous[chosen]
        assert ranks[neighbours].mean() <= previous[neighbours].mean()
        previous = ranks
    assert previous[chosen] < before[chosen] - 10
    assert np.all(previous[neighbours] < before[neighbours])
    np.testing.assert_allclose(ia.steer_toward_item(affinity, features[chosen], 0.0), affinity)
    along = ia.steer_toward_item(affinity, features[chosen], 1.0)      # p_u along f_X, same ‖·‖₁
    np.testing.assert_allclose(along, np.abs(affinity).sum() * features[chosen] / features[chosen].sum())


def test_nearest_items_by_cosine(features):
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    cosines = unit @ unit[3]
    cosines[3] = -np.inf
    items, values = ia.nearest_items(features, 3, 4)
    np.testing.assert_array_equal(items, np.argsort(-cosines)[:4])
    np.testing.assert_allclose(values, cosines[items])


def test_top_k_excludes_items_and_breaks_ties_by_index():
    scores = np.array([1.0, 3.0, 2.0, 3.0, 0.0])
    np.testing.assert_array_equal(ia.top_k(scores, 3), [1, 3, 2])
    np.testing.assert_array_equal(ia.top_k(scores, 3, exclude=[1, 2]), [3, 0, 4])


def test_bad_inputs_raise_clear_errors(features, affinity):
    with pytest.raises(ValueError, match=r"user_visual_factors has shape \(4,\); expected .* with K' = 3"):
        ia.visual_affinity(np.zeros((F, KV)), np.zeros(4))
    with pytest.raises(ValueError, match=r"visual_bias has shape \(3,\); expected \[7\]"):
        ia.visual_affinity(np.zeros((F, KV)), np.zeros(KV), np.zeros(3))
    with pytest.raises(ValueError, match=r"affinity has shape \(6,\); expected \[7\]"):
        ia.interpretable_scores(affinity[:6], features)
    with pytest.raises(ValueError, match=r"item_features has shape \(6,\); expected \[7\]"):
        ia.steer_toward_item(affinity, features[0, :6], 0.5)
    with pytest.raises(ValueError, match=r"strength λ must lie in \[0, 1\]"):
        ia.steer_toward_item(affinity, features[0], 1.5)
    with pytest.raises(ValueError, match="unknown feature 'colour=green'"):
        ia.steer_feature(affinity, "colour=green", 1.0, NAMES)
    with pytest.raises(ValueError, match="given by name, but no feature_names"):
        ia.steer_feature(affinity, "colour=red", 1.0)
    with pytest.raises(ValueError, match="feature column 7 is out of range"):
        ia.steer_feature(affinity, 7, 1.0)
    with pytest.raises(ValueError, match=f"k = 41 but the catalogue has {ITEMS} items, {ITEMS} after the 0 "):
        ia.recommend(affinity, features, ITEMS + 1)
    with pytest.raises(ValueError, match=f"k = {ITEMS} but the catalogue has {ITEMS} items, {ITEMS - 2} after"):
        ia.recommend(affinity, features, ITEMS, exclude=[0, 1])
    with pytest.raises(ValueError, match="excluded items must lie in"):
        ia.recommend(affinity, features, 2, exclude=[ITEMS])
    with pytest.raises(ValueError, match="item 40 is out of range"):
        ia.nearest_items(features, ITEMS, 2)


def test_an_attribute_of_one_value_is_not_an_items_look():
    """A shop of one brand: `brand=acme` is 1.00 on every item and used to head every item's
    looks in `python -m tfvisrec.interactive`; the looks are the attributes that tell items apart."""
    from types import SimpleNamespace
    from tfvisrec import interactive as command
    names = ["brand=acme", "colour=red", "colour=blue", "pattern=plain", "pattern=dots"]
    matrix = np.array([[1.0, 0.9, 0.1, 0.3, 0.7], [1.0, 0.2, 0.8, 0.6, 0.4]], np.float32)
    trained = SimpleNamespace(features=SimpleNamespace(names=names, matrix=matrix),
                              dataset=SimpleNamespace(item_ids=["a", "b"]))
    ranked = command._ranked(trained, np.ones(5, np.float32), np.zeros(2, np.float32), set(), 2)
    assert {r["item"]: r["looks"] for r in ranked} == {"a": ["colour=red 0.90", "pattern=dots 0.70"],
                                                       "b": ["colour=blue 0.80", "pattern=plain 0.60"]}
