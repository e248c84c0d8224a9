"""VBPR, DeepStyle and TVBPR: predictors, factorisations, penalties and time epochs vs numpy."""
import dataclasses

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo
from tfvisrec.models.temporal import TimeEpochs, epoch_boundaries

U, I, F, K, KV, C, T = 5, 8, 6, 3, 2, 3, 3
L2 = dict(l2_user=0.1, l2_item=0.2, l2_bias=0.3, l2_visual=0.05, l2_drift=0.07)


def _build(name, **overrides):
    settings = dict(embedding_dim=K, visual_dim=KV, time_epochs=T, feature_norm="none", **L2)
    settings.update(overrides)
    info = DataInfo(num_users=U, num_items=I, num_categories=C, feature_dim=F, has_time=True)
    read = {f.name for f in dataclasses.fields(registry.config_class(name))}
    return registry.build(registry.new_config(name, **{k: v for k, v in settings.items() if k in read}), info)


def _randomise(model, seed=0):
    """Random values for every weight → {weight name: numpy value}."""
    rng = np.random.default_rng(seed)
    values = {}
    for w in model.weights:
        if w.dtype != tf.float32:
            continue
        value = rng.normal(size=w.shape).astype(np.float32)
        w.assign(value)
        values[w.name.split("/")[-1].split(":")[0]] = value
    return values


def _items(seed=1, shape=(6,), with_time=False):
    rng = np.random.default_rng(seed)
    items = {"item": rng.integers(0, I, shape), "features": rng.normal(size=shape + (F,)).astype(np.float32),
             "category": rng.integers(-1, C, shape).astype(np.int32)}
    if with_time:
        items["time"] = rng.integers(0, 100, shape).astype(np.int64)
    return items


def _users(seed=2, n=6):
    return np.random.default_rng(seed).integers(0, U, n)


def _np_vbpr(w, users, items, visual=None, visual_bias=None):
    u = lambda x: x[users] if np.ndim(items["item"]) == 1 else x[users][:, None]  # noqa: E731
    f, i = items["features"], items["item"]
    visual = f @ w["visual_projection"] if visual is None else visual
    visual_bias = f @ w["visual_bias"] if visual_bias is None else visual_bias
    return (w["item_bias"][i] + np.sum(u(w["user_factors"]) * w["item_factors"][i], -1)
            + np.sum(u(w["user_visual_factors"]) * visual, -1) + visual_bias)


def _np_bpr(pos, neg):
    return np.mean(np.log1p(np.exp(-(pos - neg))))


def _sq(x):
    return np.mean(np.sum(np.square(x), -1))


class VBPRTest(tf.test.TestCase):

    def test_registered_and_factorising(self):
        for name in ("vbpr", "deepstyle", "tvbpr"):
            model = _build(name)
            self.assertEqual(model.registered_name, name)
            self.assertTrue(model.factorised and model.trainable_by_gradient)
            self.assertIn("features", model.item_feature_keys)

    def test_score_is_eq_4_and_factorises(self):
        model = _build("vbpr")
        w = _randomise(model)
        users = _users()
        for shape in ((6,), (6, 4)):
            items = _items(shape=shape)
            self.assertAllClose(model.score(users, items), _np_vbpr(w, users, items), rtol=1e-5)
        items = _items()
        dot = np.sum(model.user_vectors(users).numpy() * model.item_vectors(items).numpy(), -1)
        self.assertAllClose(dot, _np_vbpr(w, users, items), rtol=1e-5)
        self.assertEqual(model.user_vectors(users).shape, (6, K + KV + 1))

    def test_loss_is_bpr_plus_the_papers_penalties(self):
        model = _build("vbpr")
        w = _randomise(model)
        users, pos, neg = _users(), _items(1), _items(3)
        batch = {"user": users, "pos": pos, "neg": neg}
        penalty = (L2["l2_user"] * (_sq(w["user_factors"][users]) + _sq(w["user_visual_factors"][users]))
                   + L2["l2_item"] * (_sq(w["item_factors"][pos["item"]]) + _sq(w["item_factors"][neg["item"]]))
                   + L2["l2_bias"] * (np.mean(w["item_bias"][pos["item"]] ** 2)
                                      + np.mean(w["item_bias"][neg["item"]] ** 2))
                   + L2["l2_visual"] * (np.sum(w["visual_projection"] ** 2) + np.sum(w["visual_bias"] ** 2)))
        self.assertAllClose(model.regularization(batch), penalty, rtol=1e-5)
        expected = _np_bpr(_np_vbpr(w, users, pos), _np_vbpr(w, users, neg)) + penalty
        self.assertAllClose(model.compute_loss(batch), expected, rtol=1e-5)

    def test_l2_feature_norm_scores_unit_length_features(self):
        for name in ("vbpr", "deepstyle", "tvbpr"):
            raw, unit = _build(name), _build(name, feature_norm="l2")
            _randomise(raw)
            for source, target in zip(raw.weights, unit.weights):
                target.assign(source)
            users, items = _users(), _items(with_time=True)
            normalised = dict(items, features=items["features"] / np.linalg.norm(
                items["features"], axis=-1, keepdims=True))
            self.assertAllClose(unit.score(users, items), raw.score(users, normalised), rtol=1e-5)
        with pytest.raises(ValueError, match="feature_norm must be one of"):
            _build("vbpr", feature_norm="l1")

    def test_a_gradient_reaches_every_weight(self):
        model = _build("tvbpr")
        _randomise(model)
        batch = {"user": _users(), "pos": _items(1, with_time=True), "neg": _items(3, with_time=True)}
        with tf.GradientTape() as tape:
            loss = model.compute_loss(batch)
        grads = tape.gradient(loss, model.trainable_variables)
        self.assertTrue(all(g is not None and np.any(tf.convert_to_tensor(g).numpy() != 0) for g in grads))

    def test_without_features_or_categories_a_clear_error(self):
        config = registry.new_config("vbpr")
        with pytest.raises(DataError, match="vbpr needs precomputed item features"):
            registry.build(config, DataInfo(num_users=U, num_items=I))
        config = registry.new_config("deepstyle")
        with pytest.raises(DataError, match="deepstyle needs item categories"):
            registry.build(config, DataInfo(num_users=U, num_items=I, feature_dim=F))


class DeepStyleTest(tf.test.TestCase):

    def _expected(self, w, users, items):
        c = items["category"]
        l = np.where((c >= 0)[..., None], w["category_factors"][np.maximum(c, 0)], 0.0)
        style = items["features"] @ w["visual_projection"] - l
        gu = w["user_factors"][users] if np.ndim(c) == 1 else w["user_factors"][users][:, None]
        return w["item_bias"][items["item"]] + np.sum(gu * (w["item_factors"][items["item"]] + style), -1)

    def test_score_subtracts_the_category_and_factorises(self):
        model = _build("deepstyle")
        w = _randomise(model)
        users = _users()
        for shape in ((6,), (6, 4)):
            items = _items(shape=shape)
            self.assertAllClose(model.score(users, items), self._expected(w, users, items), rtol=1e-5)
        items = _items()
        self.assertIn(-1, items["category"])
        dot = np.sum(model.user_vectors(users).numpy() * model.item_vectors(items).numpy(), -1)
        self.assertAllClose(dot, self._expected(w, users, items), rtol=1e-5)

    def test_penalty_includes_the_category_factors(self):
        model = _build("deepstyle")
        w = _randomise(model)
        users, pos, neg = _users(), _items(1), _items(3)
        lookup = lambda c: np.where((c >= 0)[:, None], w["category_factors"][np.maximum(c, 0)], 0.0)  # noqa: E731
        penalty = (L2["l2_user"] * _sq(w["user_factors"][users])
                   + L2["l2_item"] * (_sq(w["item_factors"][pos["item"]]) + _sq(w["item_factors"][neg["item"]])
                                      + _sq(lookup(pos["category"])) + _sq(lookup(neg["category"])))
                   + L2["l2_bias"] * (np.mean(w["item_bias"][pos["item"]] ** 2)
                                      + np.mean(w["item_bias"][neg["item"]] ** 2))
                   + L2["l2_visual"] * np.sum(w["visual_projection"] ** 2))
        self.assertAllClose(model.regularization({"user": users, "pos": pos, "neg": neg}), penalty, rtol=1e-5)


class TimeEpochsTest(tf.test.TestCase):

    def test_boundaries_are_quantiles_and_times_map_to_epochs(self):
        times = np.array([50, 10, -1, 30, 20, 40, 60, 70, 80, 90], np.int64)
        known = np.sort(times[times >= 0]).astype(np.float64)
        expected = np.round(np.quantile(known, [1 / 3, 2 / 3])).astype(np.int64)
        self.assertAllEqual(epoch_boundaries(times, 3), expected)
        layer = TimeEpochs(3)
        layer.fit(times)
        query = np.array([[0, expected[0] - 1, expected[0]], [expected[1], 10 ** 10, -1]])
        self.assertAllEqual(layer(query), np.searchsorted(expected, np.where(query < 0, 10 ** 11, query),
                                                          side="right"))
        self.assertAllEqual(layer(query)[1], [2, 2, 2])   # unknown time = the last epoch
        single = TimeEpochs(1)
        single.fit(times)
        self.assertAllEqual(single(query), np.zeros_like(query))

    def test_no_timestamps_is_a_clear_error(self):
        with pytest.raises(DataError, match="no interaction has a timestamp"):
            epoch_boundaries(np.full(4, -1), 2)
        with pytest.raises(ValueError, match="time_epochs must be at least 1"):
            TimeEpochs(0)


class TVBPRTest(tf.test.TestCase):

    def _expected(self, model, w, users, items):
        epochs = model.epochs(items["time"]).numpy()
        f = items["features"]
        base = f @ w["visual_projection"]
        drift = np.einsum("...f,...fk->...k", f, w["projection_drift"][epochs])
        visual = base * (1.0 + w["dimension_drift"][epochs]) + drift
        visual_bias = f @ w["visual_bias"] + np.sum(f * w["visual_bias_drift"][epochs], -1)
        return _np_vbpr(w, users, items, visual=visual, visual_bias=visual_bias)

    def test_score_uses_the_epoch_of_each_interaction(self):
        model = _build("tvbpr")
        model.epochs.fit(np.arange(100))
        w = _randomise(model)
        users = _users()
        for shape in ((6,), (6, 4)):
            items = _items(shape=shape, with_time=True)
            self.assertAllClose(model.score(users, items), self._expected(model, w, users, items), rtol=1e-4)
        items = _items(with_time=True)
        self.assertGreater(len(set(model.epochs(items["time"]).numpy())), 1)
        dot = np.sum(model.user_vectors(users).numpy() * model.item_vectors(items).numpy(), -1)
        self.assertAllClose(dot, self._expected(model, w, users, items), rtol=1e-4)

    def test_times_of_one_epoch_share_item_vectors(self):
        # the evaluation scorer embeds the catalogue once per time_groups() key
        model = _build("tvbpr")
        model.epochs.fit(np.arange(100))
        _randomise(model)
        times = np.array([0, 3, 40, 45, 99, 500])
        groups = model.time_groups(times)
        self.assertAllEqual(groups, model.epochs(times).numpy())
        self.assertEqual(groups[0], groups[1])
        self.assertNotEqual(groups[1], groups[2])
        items = _items()
        at = lambda t: model.item_vectors(dict(items, time=np.full(items["item"].shape, t))).numpy()
        self.assertAllClose(at(0), at(3))
        self.assertNotAllClose(at(3), at(40))

    def test_without_drift_it_is_vbpr(self):
        tvbpr, vbpr = _build("tvbpr"), _build("vbpr")
        w = _randomise(vbpr)
        for name in w:
            getattr(tvbpr, name).assign(w[name])
        users, items = _users(), _items(with_time=True)
        self.assertAllClose(tvbpr.score(users, items), vbpr.score(users, items), rtol=1e-5)
        batch = {"user": users, "pos": items, "neg": _items(3, with_time=True)}
        self.assertAllClose(tvbpr.regularization(batch), vbpr.regularization(batch), rtol=1e-5)
        tvbpr.dimension_drift.assign(np.ones([T, KV], np.float32))
        self.assertAllClose(tvbpr.regularization(batch),
                            vbpr.regularization(batch) + L2["l2_drift"] * T * KV, rtol=1e-5)

    def test_prepare_fits_epochs_on_training_times(self):
        from tiny_worlds import write_low_rank_dataset
        timed = load_dataset(write_low_rank_dataset(self.get_temp_dir() + "/timed", with_time=True))
        model = _build("tvbpr")
        model.prepare(timed)
        self.assertAllEqual(model.epochs.boundaries, epoch_boundaries(timed.train.times, T))
        untimed = load_dataset(write_low_rank_dataset(self.get_temp_dir() + "/untimed"))
        with pytest.raises(DataError, match="tvbpr needs interaction timestamps"):
            _build("tvbpr").prepare(untimed)
