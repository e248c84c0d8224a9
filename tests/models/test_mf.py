"""BPR-MF, MM-MF and WARP: predictor, factorisation and losses against numpy (TFRS style)."""

import numpy as np

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo

NUM_USERS, NUM_ITEMS, DIM = 5, 9, 3
L2_USER, L2_ITEM, L2_BIAS = 0.1, 0.2, 0.3


def _build(name, **overrides):
    settings = dict(embedding_dim=DIM, l2_user=L2_USER, l2_item=L2_ITEM, l2_bias=L2_BIAS)
    settings.update(overrides)
    config = registry.new_config(name, **settings)
    return registry.build(config, DataInfo(num_users=NUM_USERS, num_items=NUM_ITEMS))


def _set_weights(model, seed=0):
    rng = np.random.default_rng(seed)
    gu = rng.normal(size=(NUM_USERS, DIM)).astype(np.float32)
    gi = rng.normal(size=(NUM_ITEMS, DIM)).astype(np.float32)
    beta = rng.normal(size=NUM_ITEMS).astype(np.float32)
    model.user_factors.assign(gu)
    model.item_factors.assign(gi)
    if model.item_bias is not None:
        model.item_bias.assign(beta)
    else:
        beta = np.zeros(NUM_ITEMS, np.float32)
    return gu, gi, beta


def _np_score(gu, gi, beta, users, items):
    u = gu[users]
    if np.ndim(items) == 2:
        u = u[:, None, :]
    return np.sum(u * gi[items], axis=-1) + beta[items]


def _np_penalty(gu, gi, beta, batch, with_bias=True):
    users, pos, neg = batch["user"], batch["pos"]["item"], batch["neg"]["item"]
    penalty = (L2_USER * np.mean(np.sum(gu[users] ** 2, -1))
               + L2_ITEM * (np.mean(np.sum(gi[pos] ** 2, -1)) + np.mean(np.sum(gi[neg] ** 2, -1))))
    if with_bias:
        penalty += L2_BIAS * (np.mean(beta[pos] ** 2) + np.mean(beta[neg] ** 2))
    return penalty


def _batch(num_negatives=1, seed=1):
    rng = np.random.default_rng(seed)
    neg_shape = (6,) if num_negatives == 1 else (6, num_negatives)
    return {"user": rng.integers(0, NUM_USERS, 6), "pos": {"item": rng.integers(0, NUM_ITEMS, 6)},
            "neg": {"item": rng.integers(0, NUM_ITEMS, neg_shape)}}


class PredictorTest(tf.test.TestCase):

    def test_registered_names(self):
        for name in ("bprmf", "mmmf", "warp"):
            model = _build(name)
            self.assertEqual(model.registered_name, name)
            self.assertTrue(model.factorised and model.trainable_by_gradient)

    def test_score_matches_numpy(self):
        for use_bias in (True, False):
            model = _build("bprmf", use_item_bias=use_bias)
            gu, gi, beta = _set_weights(model)
            users = np.array([0, 4, 2, 2])
            items = np.array([8, 0, 3, 3])
            self.assertAllClose(model.score(users, {"item": items}),
                                _np_score(gu, gi, beta, users, items))
            many = np.array([[1, 2], [3, 4], [5, 6], [7, 8]])
            self.assertAllClose(model.score(users, {"item": many}),
                                _np_score(gu, gi, beta, users, many))

    def test_vectors_factorise_the_score(self):
        for use_bias in (True, False):
            model = _build("bprmf", use_item_bias=use_bias)
            gu, gi, beta = _set_weights(model)
            u = model.user_vectors(np.arange(NUM_USERS)).numpy()
            v = model.item_vectors({"item": np.arange(NUM_ITEMS)}).numpy()
            self.assertEqual(u.shape[1], DIM + int(use_bias))
            expected = gu @ gi.T + beta[None, :]
            self.assertAllClose(u @ v.T, expected)
            if use_bias:
                self.assertAllClose(u[:, -1], np.ones(NUM_USERS))
                self.assertAllClose(v[:, -1], beta)

    def test_keras_call(self):
        model = _build("warp")
        gu, gi, beta = _set_weights(model)
        out = model({"user": np.array([1, 2]), "item": np.array([3, 4])})
        self.assertAllClose(out, _np_score(gu, gi, beta, [1, 2], [3, 4]))


class LossTest(tf.test.TestCase):

    def test_bprmf_loss(self):
        for n in (1, 4):
            model = _build("bprmf")
            gu, gi, beta = _set_weights(model)
            batch = _batch(n)
            pos = _np_score(gu, gi, beta, batch["user"], batch["pos"]["item"])
            neg = _np_score(gu, gi, beta, batch["user"], batch["neg"]["item"])
            if n > 1:
                pos = pos[:, None]
            expected = np.mean(np.log1p(np.exp(-(pos - neg)))) + _np_penalty(gu, gi, beta, batch)
            self.assertAllClose(model.compute_loss(batch), expected)

    def test_mmmf_loss(self):
        model = _build("mmmf", margin=0.7, use_item_bias=False)
        gu, gi, beta = _set_weights(model)
        batch = _batch()
        pos = _np_score(gu, gi, beta, batch["user"], batch["pos"]["item"])
        neg = _np_score(gu, gi, beta, batch["user"], batch["neg"]["item"])
        expected = (np.mean(np.maximum(0.0, 0.7 - pos + neg))
                    + _np_penalty(gu, gi, beta, batch, with_bias=False))
        self.assertAllClose(model.compute_loss(batch), expected)

    def test_warp_loss(self):
        model = _build("warp", margin=1.5, num_negatives=4)
        gu, gi, beta = _set_weights(model)
        batch = _batch(4)
        pos = _np_score(gu, gi, beta, batch["user"], batch["pos"]["item"])
        neg = _np_score(gu, gi, beta, batch["user"], batch["neg"]["item"])
        ranking = 0.0
        for b in range(len(pos)):
            violators = np.flatnonzero(neg[b] > pos[b] - 1.5)
            if violators.size:
                rank = (NUM_ITEMS - 1) // (violators[0] + 1)
                ranking += np.sum(1.0 / np.arange(1, rank + 1)) * (1.5 - pos[b] + neg[b, violators[0]])
        expected = ranking / len(pos) + _np_penalty(gu, gi, beta, batch)
        self.assertAllClose(model.compute_loss(batch), expected, rtol=1e-5)

    def test_gradients_touch_only_batch_rows(self):
        model = _build("bprmf")
        _set_weights(model)
        batch = {"user": np.array([1]), "pos": {"item": np.array([2])}, "neg": {"item": np.array([5])}}
        with tf.GradientTape() as tape:
            loss = model.compute_loss(batch)
        grads = dict(zip([v.name for v in model.trainable_variables],
                         tape.gradient(loss, model.trainable_variables)))
        for name, grad in grads.items():
            dense = tf.convert_to_tensor(grad).numpy()
            touched = np.flatnonzero(np.any(np.reshape(dense, (dense.shape[0], -1)) != 0, axis=1))
            expected = [1] if "user" in name else [2, 5]
            self.assertAllEqual(touched, expected, msg=name)


class ToyTrainingTest(tf.test.TestCase):
    """Two user groups that like disjoint halves of the catalogue: training must rank them."""

    LIKES = np.array([[0, 1, 2, 3], [4, 5, 6, 7]])            # by user parity; item 8: nobody
    DISLIKES = np.array([[4, 5, 6, 7, 8], [0, 1, 2, 3, 8]])

    def _sample(self, rng, num_negatives):
        users = rng.integers(0, NUM_USERS, 32)
        pos = self.LIKES[users % 2, rng.integers(0, 4, 32)]
        neg = self.DISLIKES[(users % 2)[:, None], rng.integers(0, 5, (32, num_negatives))]
        return {"user": users, "pos": {"item": pos},
                "neg": {"item": neg if num_negatives > 1 else neg[:, 0]}}

    def _check_learns(self, name, **overrides):
        model = _build(name, l2_user=0.001, l2_item=0.001, l2_bias=0.001, **overrides)
        rng = np.random.default_rng(0)
        fixed = self._sample(rng, model.num_negatives)
        first = float(model.compute_loss(fixed))

        @tf.function
        def step(batch):
            with tf.GradientTape() as tape:
                loss = model.compute_loss(batch)
            grads = tape.gradient(loss, model.trainable_variables)
            for var, grad in zip(model.trainable_variables, grads):
                var.assign_sub(0.2 * tf.convert_to_tensor(grad))

        for _ in range(150):
            step(self._sample(rng, model.num_negatives))
        self.assertLess(float(model.compute_loss(fixed)), 0.5 * first)
        scores = (model.user_vectors(np.arange(NUM_USERS)).numpy()
                  @ model.item_vectors({"item": np.arange(NUM_ITEMS)}).numpy().T)
        for u in range(NUM_USERS):
            liked, disliked = self.LIKES[u % 2], self.DISLIKES[u % 2]
            self.assertGreater(scores[u, liked].min(), scores[u, disliked].max(), msg=f"user {u}")

    def test_bprmf_learns(self):
        self._check_learns("bprmf")

    def test_mmmf_learns(self):
        self._check_learns("mmmf")

    def test_warp_learns(self):
        self._check_learns("warp", num_negatives=3)


class FlagfileTest(tf.test.TestCase):
    """configs/<model>.cfg parse into configs whose model builds and trains one step."""

    def _parse(self, name):
        import os
        from absl import flags
        from tfvisrec import config as config_lib
        from tfvisrec.models import model_flags
        fv = flags.FlagValues()
        config_lib.define_flags(config_lib.TrainConfig, flag_values=fv)
        model_flags.define_model_flags(flag_values=fv)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        fv(["prog", f"--flagfile={os.path.join(root, 'configs', name + '.cfg')}"])
        return model_flags.model_config_from_flags(fv)

    def test_flagfiles(self):
        for name in ("random", "poprank", "bprmf", "mmmf", "warp"):
            config = self._parse(name)
            self.assertEqual(config.model, name)
            model = registry.build(config, DataInfo(num_users=NUM_USERS, num_items=NUM_ITEMS))
            if model.trainable_by_gradient:
                batch = _batch(model.num_negatives)
                self.assertTrue(np.isfinite(float(model.compute_loss(batch))))
        self.assertGreater(self._parse("warp").num_negatives, 1)
