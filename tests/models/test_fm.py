"""Factorization Machine: the O(kn) identity, the predictor and its factorisation vs numpy."""
import itertools

import numpy as np

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo
from tfvisrec.models.fm import pairwise_interactions

U, I, F, K = 4, 7, 5, 3
L2 = dict(l2_user=0.1, l2_item=0.2, l2_bias=0.3, l2_visual=0.05)


def _naive_pairwise(x, v):
    """Σ_{a<b} ⟨v_a, v_b⟩ x_a x_b by the double loop (Rendle 2010, eq. 1)."""
    return sum(np.dot(v[a], v[b]) * x[a] * x[b] for a, b in itertools.combinations(range(len(x)), 2))


def _build(norm="none", item_interactions=True):
    config = registry.new_config("fm", embedding_dim=K, feature_norm=norm,
                                 fm_item_interactions=item_interactions, **L2)
    model = registry.build(config, DataInfo(num_users=U, num_items=I, feature_dim=F))
    rng = np.random.default_rng(0)
    weights = {}
    for w in model.weights:
        weights[w.name.split("/")[-1].split(":")[0]] = value = rng.normal(size=w.shape).astype(np.float32)
        w.assign(value)
    return model, weights


def _naive_fm(w, user, item, features):
    """ŷ(x) − w_0 − w_u over the dense x = [onehot(u), onehot(i), f] (w_0, w_u cancel in BPR)."""
    x = np.concatenate([np.eye(U)[user], np.eye(I)[item], features])
    v = np.concatenate([w["user_factors"], w["item_factors"], w["feature_factors"]])
    linear = np.concatenate([np.zeros(U), w["item_weights"], w["feature_weights"]])
    return float(linear @ x + _naive_pairwise(x, v))


class FMTest(tf.test.TestCase):

    def test_lemma_3_1_matches_the_double_loop(self):
        rng = np.random.default_rng(1)
        for n in (1, 2, 9):
            x, v = rng.normal(size=n), rng.normal(size=(n, K))
            factor_sum = (v * x[:, None]).sum(0)
            squared_sum = float(np.sum(v ** 2 * x[:, None] ** 2))
            self.assertAllClose(pairwise_interactions(factor_sum[None], np.array([squared_sum]))[0],
                                _naive_pairwise(x, v), rtol=1e-5)

    def test_score_is_the_fm_over_one_hots_and_visual_features(self):
        model, w = _build()
        rng = np.random.default_rng(2)
        users, items = rng.integers(0, U, 6), rng.integers(0, I, (6, 3))
        features = rng.normal(size=(6, 3, F)).astype(np.float32)
        expected = np.array([[_naive_fm(w, users[b], items[b, n], features[b, n]) for n in range(3)]
                             for b in range(6)])
        self.assertAllClose(model.score(users, {"item": items, "features": features}), expected, rtol=1e-4)
        self.assertAllClose(model.score(users, {"item": items[:, 0], "features": features[:, 0]}),
                            expected[:, 0], rtol=1e-4)

    def test_user_and_item_vectors_reproduce_the_score(self):
        model, _ = _build()
        rng = np.random.default_rng(3)
        users = rng.integers(0, U, 8)
        items = {"item": rng.integers(0, I, 8), "features": rng.normal(size=(8, F)).astype(np.float32)}
        dot = np.sum(model.user_vectors(users).numpy() * model.item_vectors(items).numpy(), -1)
        self.assertAllClose(dot, model.score(users, items), rtol=1e-4)
        self.assertEqual(model.item_vectors(items).shape, (8, K + 1))

    def test_without_item_interactions_only_the_users_interactions_remain(self):
        model, w = _build(item_interactions=False)
        rng = np.random.default_rng(6)
        users, items = rng.integers(0, U, 6), rng.integers(0, I, (6, 3))
        features = rng.normal(size=(6, 3, F)).astype(np.float32)
        v_u = w["user_factors"][users][:, None]
        expected = (np.sum(v_u * (w["item_factors"][items] + features @ w["feature_factors"]), -1)
                    + features @ w["feature_weights"])
        self.assertAllClose(model.score(users, {"item": items, "features": features}), expected, rtol=1e-4)
        flat = {"item": items[:, 0], "features": features[:, 0]}
        dot = np.sum(model.user_vectors(users).numpy() * model.item_vectors(flat).numpy(), -1)
        self.assertAllClose(dot, expected[:, 0], rtol=1e-4)

    def test_l2_feature_norm_uses_unit_length_features(self):
        (raw, _), (unit, _) = _build(), _build("l2")
        rng = np.random.default_rng(5)
        users, items = rng.integers(0, U, 6), rng.integers(0, I, 6)
        features = rng.normal(size=(6, F)).astype(np.float32)
        self.assertAllClose(unit.score(users, {"item": items, "features": features}),
                            raw.score(users, {"item": items, "features": features / np.linalg.norm(
                                features, axis=1, keepdims=True)}), rtol=1e-5)

    def test_penalty_and_loss(self):
        model, w = _build()
        rng = np.random.default_rng(4)
        users = rng.integers(0, U, 5)
        pos = {"item": rng.integers(0, I, 5), "features": rng.normal(size=(5, F)).astype(np.float32)}
        neg = {"item": rng.integers(0, I, 5), "features": rng.normal(size=(5, F)).astype(np.float32)}
        sq = lambda x: np.mean(np.sum(x ** 2, -1))  # noqa: E731
        penalty = (L2["l2_user"] * sq(w["user_factors"][users])
                   + L2["l2_item"] * (sq(w["item_factors"][pos["item"]]) + sq(w["item_factors"][neg["item"]]))
                   + L2["l2_bias"] * (np.mean(w["item_weights"][pos["item"]] ** 2)
                                      + np.mean(w["item_weights"][neg["item"]] ** 2))
                   + L2["l2_visual"] * (np.sum(w["feature_factors"] ** 2) + np.sum(w["feature_weights"] ** 2)))
        batch = {"user": users, "pos": pos, "neg": neg}
        self.assertAllClose(model.regularization(batch), penalty, rtol=1e-5)
        s_pos = np.array([_naive_fm(w, u, i, f) for u, i, f in zip(users, pos["item"], pos["features"])])
        s_neg = np.array([_naive_fm(w, u, i, f) for u, i, f in zip(users, neg["item"], neg["features"])])
        self.assertAllClose(model.compute_loss(batch),
                            np.mean(np.log1p(np.exp(-(s_pos - s_neg)))) + penalty, rtol=1e-4)
