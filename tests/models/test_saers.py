"""SAERS and its ablation variants: the attention, item embedding and score (eq. 4-8), the
catalogue scores, the explanation and the penalty against numpy, on tiny built models."""
import dataclasses

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.data.errors import DataError
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo

U, I, A, C, F, D, H, K = 5, 9, 3, 4, 6, 2, 3, 2
L2 = dict(l2_user=0.1, l2_item=0.2, l2_bias=0.3, l2_visual=0.05, l2_attention=0.07)
FIXED = ["saers_fixed", "vbpr_saf", "saf_only", "saers_no_saf"]


def _build(name, **overrides):
    settings = dict(visual_dim=D, attention_dim=H, embedding_dim=K, feature_norm="l2", image_size=32,
                    fc_width=8, dropout=0.0, **L2)
    settings.update(overrides)
    info = DataInfo(num_users=U, num_items=I, feature_dim=F, region_shape=(A, C))
    read = {f.name for f in dataclasses.fields(registry.config_class(name))}
    model = registry.build(registry.new_config(name, **{k: v for k, v in settings.items() if k in read}), info)
    model.build_variables()
    return model


def _randomise(model, seed=0):
    """Random values for the recommender's own weights → {name: value} (the CNN keeps its own)."""
    rng = np.random.default_rng(seed)
    values = {}
    for w in model.weights:
        name = w.name.split("/")[-1].split(":")[0]
        if "backbone" in w.name or w.dtype != tf.float32:
            continue
        value = rng.normal(size=w.shape).astype(np.float32)
        w.assign(value)
        values[name] = value
    return values


def _items(seed=1, shape=(6,)):
    rng = np.random.default_rng(seed)
    return {"item": rng.integers(0, I, shape), "features": rng.normal(size=shape + (F,)).astype(np.float32),
            "regions": rng.gamma(1.0, size=shape + (A, C)).astype(np.float32),
            "region_boxes": rng.uniform(size=shape + (A, 4)).astype(np.float32),
            "region_classes": rng.integers(0, 3, shape + (A,)).astype(np.int32),
            "image": rng.uniform(-1, 1, shape + (32, 32, 3)).astype(np.float32)}


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _np_attention(w, u, e):
    """Eq. 5-6 written out: a two-layer MLP on the concatenation [f(u); E^k f_a^k], softmax over k."""
    u = np.broadcast_to(u[..., None, :], e.shape)
    hidden = np.maximum(np.concatenate([u, e], -1) @ np.concatenate([w["W_u"], w["W_e"]], 0) + w["b"], 0)
    beta = hidden @ w["w"]
    beta = np.exp(beta - beta.max(-1, keepdims=True))
    return beta / beta.sum(-1, keepdims=True)


def _np_score(name, w, users, items, global_embedding=None):
    """x̂(u, i) = f(u)ᵀ(Σ_k α^k E^k f_a^k(i) + f_g(i)) (+ β_i + γ_uᵀγ_i) (eq. 4-8)."""
    extra = np.ndim(items["item"]) - 1
    lift = lambda x: x.reshape(x.shape[:1] + (1,) * extra + x.shape[1:])  # noqa: E731
    u = lift(w["user_preferences"][users])
    total = 0.0
    if name != "saers_no_saf":
        e = np.einsum("...ac,acd->...ad", _unit(items["regions"]), w["E"])
        alpha = np.full(e.shape[:-1], 1.0 / A) if name == "saf_only" else _np_attention(w, u, e)
        total = total + np.sum(alpha * np.sum(u[..., None, :] * e, -1), -1)
    if name != "saf_only":
        g = _unit(items["features"]) @ w["global_projection"] if global_embedding is None else global_embedding
        total = total + np.sum(u * g, -1)
    if name == "vbpr_saf":
        i = items["item"]
        total = total + w["item_bias"][i] + np.sum(lift(w["user_factors"][users]) * w["item_factors"][i], -1)
    return total


def _keys(model, items):
    return {k: v for k, v in items.items() if k in model.item_feature_keys}


@pytest.mark.parametrize("name", FIXED)
def test_scores_of_pairs_and_of_negatives_match_numpy(name):
    model = _build(name)
    w = _randomise(model)
    users = np.array([0, 3, 4, 1, 1, 2])
    for shape in [(6,), (6, 3)]:
        items = _items(seed=len(shape), shape=shape)
        got = model.score(tf.constant(users), _keys(model, items)).numpy()
        np.testing.assert_allclose(got, _np_score(name, w, users, items), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", FIXED)
def test_catalogue_scores_match_the_pairwise_scores(name):
    model = _build(name)
    w = _randomise(model, seed=3)
    users, items = np.array([4, 0, 2]), _items(seed=5, shape=(I,))
    items["item"] = np.arange(I)
    got = model.score_catalogue(tf.constant(users), model.embed_catalogue_items(_keys(model, items))).numpy()
    expected = np.stack([_np_score(name, w, np.full(I, u), items) for u in users])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_saers_global_branch_is_the_cnn_and_trains_with_the_attention():
    model = _build("saers", trainable_backbone_layers=-1)
    w = _randomise(model, seed=4)
    users, items = np.array([1, 2, 0]), _items(seed=6, shape=(3,))
    phi = model.backbone(tf.constant(items["image"]), training=False).numpy()
    got = model.score(tf.constant(users), _keys(model, items)).numpy()
    np.testing.assert_allclose(got, _np_score("saers", w, users, items, global_embedding=phi), rtol=1e-4, atol=1e-4)
    catalogue = _items(seed=14, shape=(I,))
    catalogue["item"] = np.arange(I)
    whole = model.score_catalogue(tf.constant(users), model.embed_catalogue_items(_keys(model, catalogue))).numpy()
    pairs = np.stack([model.score(tf.constant(np.full(I, u)), _keys(model, catalogue)).numpy() for u in users])
    np.testing.assert_allclose(whole, pairs, rtol=1e-4, atol=1e-4)
    batch = {"user": tf.constant(users), "pos": _keys(model, items), "neg": _keys(model, _items(seed=7, shape=(3,)))}
    with tf.GradientTape() as tape:
        loss = model.compute_loss(batch)
    variables = model.trainable_variables
    moved = {id(v) for v, g in zip(variables, tape.gradient(loss, variables))
             if g is not None and np.abs(tf.convert_to_tensor(g).numpy()).sum() > 0}
    for part in (model.attention, model.projections):
        assert {id(v) for v in part.trainable_variables} <= moved, part.name
    assert {id(v) for v in model.backbone.trainable_variables} & moved
    assert id(model.scaled_user_preferences) in moved


def test_explanation_weights_top_attribute_classes_and_boxes():
    model = _build("saers_fixed")
    w = _randomise(model, seed=8)
    users, items = np.array([2, 2, 0, 4]), _items(seed=9, shape=(4,))
    got = {k: v.numpy() for k, v in model.explain(tf.constant(users), items).items()}
    e = np.einsum("bac,acd->bad", _unit(items["regions"]), w["E"])
    alpha = _np_attention(w, w["user_preferences"][users], e)
    np.testing.assert_allclose(got["weights"], alpha, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got["weights"].sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(got["top_attribute"], alpha.argmax(-1))
    np.testing.assert_array_equal(got["classes"], items["region_classes"])
    np.testing.assert_array_equal(got["boxes"], items["region_boxes"])
    average = _build("saf_only").explain(tf.constant(users), items)["weights"].numpy()
    np.testing.assert_allclose(average, np.full((4, A), 1.0 / A))
    with pytest.raises(TypeError, match="saers_no_saf has no attribute features"):
        _build("saers_no_saf").explain(tf.constant(users), items)


def test_attention_warm_up_fuses_by_the_average_then_by_the_attention():
    """attention_warmup_epochs W: α = 1/A (SAFo, eq. 4) in the epochs before W, eq. 6 from
    epoch W on or once the trainer has ended the warm-up stage (min_stage 1); the catalogue
    scores follow the pairwise ones in both stages."""
    model = _build("saers_fixed", attention_warmup_epochs=2)
    w = _randomise(model, seed=11)
    users, items = np.array([2, 2, 0, 4]), _items(seed=12, shape=(4,))
    learned = _np_attention(w, w["user_preferences"][users], np.einsum("bac,acd->bad", _unit(items["regions"]), w["E"]))
    average = np.full((4, A), 1.0 / A)
    catalogue = _items(seed=13, shape=(I,))
    catalogue["item"] = np.arange(I)
    assert model.num_stages == 2
    for epoch, min_stage, stage, alpha in [(0, 0, 0, average), (1, 0, 0, average), (2, 0, 1, learned),
                                          (0, 1, 1, learned)]:
        assert model.begin_epoch(epoch, min_stage) is False   # the trainable variables stay
        assert model.stage == stage
        np.testing.assert_allclose(model.explain(tf.constant(users), items)["weights"].numpy(), alpha,
                                   rtol=1e-4, atol=1e-6)
        whole = model.score_catalogue(tf.constant(users[:2]), model.embed_catalogue_items(_keys(model, catalogue))).numpy()
        pairs = np.stack([model.score(tf.constant(np.full(I, u)), _keys(model, catalogue)).numpy() for u in users[:2]])
        np.testing.assert_allclose(whole, pairs, rtol=1e-4, atol=1e-5)
    assert _build("saers_fixed").num_stages == 1
    with pytest.raises(ValueError, match="attention_warmup_epochs must be at least 0"):
        _build("saers_fixed", attention_warmup_epochs=-1)


def test_penalty_covers_users_projections_attention_and_item_terms():
    model = _build("vbpr_saf")
    w = _randomise(model, seed=10)
    users, pos, neg = np.array([0, 1, 1]), np.array([2, 3, 4]), np.array([5, 6, 7])
    batch = {"user": tf.constant(users), "pos": {"item": tf.constant(pos)}, "neg": {"item": tf.constant(neg)}}
    sq = lambda x: np.mean(np.sum(x ** 2, -1))  # noqa: E731
    expected = (L2["l2_user"] * (sq(w["user_preferences"][users]) + sq(w["user_factors"][users]))
                + L2["l2_visual"] * sum(np.sum(w[n] ** 2) for n in ("E", "global_projection"))
                + L2["l2_attention"] * sum(np.sum(w[n] ** 2) for n in ("W_u", "W_e", "w"))
                + L2["l2_item"] * (sq(w["item_factors"][pos]) + sq(w["item_factors"][neg]))
                + L2["l2_bias"] * (np.mean(w["item_bias"][pos] ** 2) + np.mean(w["item_bias"][neg] ** 2)))
    np.testing.assert_allclose(model.regularization(batch).numpy(), expected, rtol=1e-5)


def test_a_model_on_regions_needs_them():
    info = DataInfo(num_users=U, num_items=I, feature_dim=F)
    with pytest.raises(DataError, match="saers_fixed needs attribute regions: run `python -m tfvisrec.vision"):
        registry.build(registry.new_config("saers_fixed"), info)
    assert registry.build(registry.new_config("saers_no_saf"), info).factorised is False


def test_attention_learns_each_shoppers_driving_attribute_on_a_tiny_world():
    """Shoppers each driven by ONE of three attributes (12 per attribute) buy the items with
    their liked value of it; region features f_a^k are one-hot of the item's value of k (as
    attribute-specific as regions can be) and the global branch is silent (f_i = 0). After BPR
    training the attention (eq. 5-6) averaged over a shopper's purchases must rank the
    shopper's driver first (36 of 36 when written); with the user half W_u f(u) of the MLP
    zeroed (a user-blind attention) 22 of 36 are, so the bar of 0.9 separates the two."""
    import tf_keras as keras
    n_attributes, n_values, n_items, per_driver = 3, 4, 60, 12
    rng = np.random.default_rng(0)
    values = rng.integers(0, n_values, (n_items, n_attributes))
    drivers = np.repeat(np.arange(n_attributes), per_driver)
    liked = rng.integers(0, n_values, len(drivers))
    bought = values[:, drivers].T == liked[:, None]                                  # [U, I]
    regions = np.eye(n_values, dtype=np.float32)[values]                            # [I, A, V]
    keras.utils.set_random_seed(0)
    info = DataInfo(num_users=len(drivers), num_items=n_items, feature_dim=1, region_shape=(n_attributes, n_values))
    model = registry.build(registry.new_config("saers_fixed", visual_dim=4, attention_dim=8, init_stddev=0.03,
                                               l2_user=0.01, l2_visual=0.0, l2_attention=0.0, seed=0), info)
    model.build_variables()
    optimizer = keras.optimizers.Adam(0.05)
    items = lambda i: {"item": i, "features": tf.zeros([tf.shape(i)[0], 1]), "regions": tf.gather(regions, i)}  # noqa: E731

    @tf.function
    def step(users, pos, neg):
        with tf.GradientTape() as tape:
            loss = model.compute_loss({"user": users, "pos": items(pos), "neg": items(neg)})
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    pairs_u, pairs_i = np.nonzero(bought)
    for _ in range(250):
        k = rng.integers(0, len(pairs_u), 128)
        step(tf.constant(pairs_u[k]), tf.constant(pairs_i[k]), tf.constant(rng.integers(0, n_items, 128)))
    top = []
    for u in range(len(drivers)):
        mine = np.flatnonzero(bought[u])
        alpha = model.explain(tf.fill([len(mine)], tf.constant(u, tf.int64)),
                              {"regions": regions[mine], "region_boxes": np.zeros((len(mine), n_attributes, 4), np.float32),
                               "region_classes": values[mine].astype(np.int32)})["weights"].numpy()
        top.append(alpha.mean(0).argmax())
    assert np.mean(np.asarray(top) == drivers) >= 0.9
