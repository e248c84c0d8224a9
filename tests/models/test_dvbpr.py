"""DVBPR: predictor, Siamese pair scores, loss and cold-start scoring against numpy."""

import numpy as np

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf
import tf_keras as keras

from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo

U, I, K, S = 4, 7, 3, 16
L2_USER, DECAY = 0.3, 0.02


def _build(**overrides):
    settings = dict(model="dvbpr", visual_dim=K, image_size=S, fc_width=8, dropout=0.0,
                    l2_user=L2_USER, weight_decay=DECAY, init_stddev=0.5)
    settings.update(overrides)
    keras.utils.set_random_seed(settings.get("seed", 0))
    return registry.build(registry.new_config(settings.pop("model"), **settings), DataInfo(num_users=U, num_items=I))


def _images(shape, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape + (S, S, 3)).astype(np.float32)


def _phi(model, images):
    """Φ(X) in numpy, one image at a time (independent of the model's batching)."""
    flat = images.reshape((-1, S, S, 3))
    out = np.stack([model.backbone(flat[k:k + 1], training=False).numpy()[0] for k in range(len(flat))])
    return out.reshape(images.shape[:-3] + (K,))


def _batch(num_negatives=1, seed=2):
    rng = np.random.default_rng(seed)
    neg_shape = (5,) if num_negatives == 1 else (5, num_negatives)
    return {"user": rng.integers(0, U, 5),
            "pos": {"item": rng.integers(0, I, 5), "image": _images((5,), seed + 1)},
            "neg": {"item": rng.integers(0, I, neg_shape), "image": _images(neg_shape, seed + 2)}}


class DVBPRTest(tf.test.TestCase):

    def test_registered_and_factorising(self):
        model = _build()
        self.assertEqual(model.registered_name, "dvbpr")
        self.assertEqual(model.item_feature_keys, ("item", "image"))
        self.assertTrue(model.factorised and model.trainable_by_gradient)
        self.assertEqual(model.backbone.spec["name"], "cnnf")
        self.assertEqual(model.backbone.output_dim, K)

    def test_score_is_eq_3(self):
        model = _build()
        theta = model.user_factors.numpy()
        users = np.array([0, 3, 3, 1])
        images = _images((4,))
        expected = np.sum(theta[users] * _phi(model, images), -1)
        self.assertAllClose(model.score(users, {"image": images}), expected, atol=1e-5)
        many = _images((4, 3), seed=5)
        expected_many = np.sum(theta[users][:, None] * _phi(model, many), -1)
        self.assertAllClose(model.score(users, {"image": many}), expected_many, atol=1e-5)

    def test_vectors_factorise_the_score(self):
        model = _build()
        images = _images((I,))
        u = model.user_vectors(np.arange(U)).numpy()
        v = model.item_vectors({"item": np.arange(I), "image": images}).numpy()
        self.assertAllClose(u, model.user_factors.numpy())
        self.assertAllClose(v, _phi(model, images), atol=1e-5)
        pairs = model.score(np.repeat(np.arange(U), I), {"image": np.tile(images, (U, 1, 1, 1))})
        self.assertAllClose(u @ v.T, pairs.numpy().reshape(U, I), atol=1e-5)

    def test_siamese_pair_scores_share_one_network(self):
        model = _build()
        for n in (1, 3):
            batch = _batch(n)
            pos, neg = model.pair_scores(batch, training=False)
            self.assertAllClose(pos, model.score(batch["user"], batch["pos"]), atol=1e-5)
            self.assertAllClose(neg, model.score(batch["user"], batch["neg"]), atol=1e-5)
            self.assertEqual(neg.shape, (5,) if n == 1 else (5, n))

    def test_loss_is_bpr_plus_penalties(self):
        for n in (1, 3):
            model = _build()
            batch = _batch(n)
            theta = model.user_factors.numpy()[batch["user"]]
            pos = np.sum(theta * _phi(model, batch["pos"]["image"]), -1)
            phi_neg = _phi(model, batch["neg"]["image"])
            neg = np.sum((theta if n == 1 else theta[:, None]) * phi_neg, -1)
            diff = pos - neg if n == 1 else pos[:, None] - neg
            kernels = [layer.kernel.numpy() for layer in model.backbone.submodules
                       if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
            self.assertLen(kernels, 8)   # conv1-5, fc6, fc7, output layer
            expected = (np.mean(np.log1p(np.exp(-diff))) + L2_USER * np.mean(np.sum(theta ** 2, -1))
                        + DECAY * sum(0.5 * np.sum(k ** 2) for k in kernels))
            self.assertAllClose(model.compute_loss(batch, training=False), expected, rtol=1e-5)

    def test_a_step_trains_theta_and_the_shared_cnn(self):
        model = _build()
        batch = _batch()
        variables = model.trainable_variables
        before = [v.numpy().copy() for v in variables]
        with tf.GradientTape() as tape:
            loss = model.compute_loss(batch, training=True)
        grads = tape.gradient(loss, variables)
        keras.optimizers.SGD(0.1).apply_gradients(zip(grads, variables))
        for b, v, g in zip(before, variables, grads):
            if v is model.backbone.head.bias:
                # θ_uᵀb is the same for i and j: it cancels in x̂_ui − x̂_uj.
                self.assertAllClose(g, np.zeros_like(b))
            else:
                self.assertFalse(np.allclose(b, v.numpy()), f"{v.name} did not train")

    def test_trainable_backbone_layers_trains_only_the_top_of_the_cnn(self):
        model = _build(trainable_backbone_layers=3)
        trunk = model.backbone.trunk
        self.assertEqual(model.trained_layers, [layer.name for layer in trunk.layers[-3:]])
        trained = {v.ref() for v in model.trainable_variables}
        for name in ("conv1", "conv5"):
            self.assertFalse(any(v.ref() in trained for v in trunk.get_layer(name).weights), name)
        for weights in (trunk.get_layer("fc7").weights, model.backbone.head.weights,
                        [model.scaled_user_factors]):
            self.assertTrue(all(v.ref() in trained for v in weights))
        # Weight decay only on what trains: fc6, fc7 and the output layer.
        batch = _batch()
        theta = model.user_factors.numpy()[batch["user"]]
        diff = (np.sum(theta * _phi(model, batch["pos"]["image"]), -1)
                - np.sum(theta * _phi(model, batch["neg"]["image"]), -1))
        kernels = [trunk.get_layer("fc6").kernel, trunk.get_layer("fc7").kernel, model.backbone.head.kernel]
        expected = (np.mean(np.log1p(np.exp(-diff))) + L2_USER * np.mean(np.sum(theta ** 2, -1))
                    + DECAY * sum(0.5 * np.sum(k.numpy() ** 2) for k in kernels))
        self.assertAllClose(model.compute_loss(batch, training=False), expected, rtol=1e-5)

    def test_user_lr_multiplier_makes_theta_move_faster_under_adam(self):
        """Adam's first step moves each weight by lr · sign(g): θ = m · stored moves m·lr."""
        batch = _batch()
        for m in (1.0, 10.0):
            model = _build(user_lr_multiplier=m)
            stored = model.scaled_user_factors
            self.assertAllClose(model.user_vectors(np.arange(U)), m * stored.numpy())
            theta_before = model.user_factors.numpy()
            with tf.GradientTape() as tape:
                loss = model.compute_loss(batch, training=False)
            grad = tape.gradient(loss, stored)
            keras.optimizers.Adam(0.01).apply_gradients([(grad, stored)])
            grad = tf.convert_to_tensor(grad).numpy()
            moved = model.user_factors.numpy() - theta_before
            touched = np.abs(grad) > 1e-2   # where Adam's epsilon is negligible
            self.assertTrue(touched.any())
            self.assertAllClose(moved[touched], -m * 0.01 * np.sign(grad[touched]), rtol=1e-3)

    def test_cold_start_scores_an_unseen_image(self):
        """An item outside the catalogue is scored from its image alone: θ_uᵀ Φ(X_new)."""
        model = _build()
        new_image = _images((1,), seed=9)
        users = np.arange(U)
        scores = model.score(users, {"image": np.repeat(new_image, U, axis=0)}).numpy()
        expected = model.user_factors.numpy() @ _phi(model, new_image)[0]
        self.assertAllClose(scores, expected, atol=1e-5)
        # Ids play no part: the same image under any catalogue id scores the same.
        with_id = model.score(users, {"item": np.full(U, I - 1), "image": np.repeat(new_image, U, 0)})
        self.assertAllClose(with_id, scores)
        vector = model.item_vectors({"image": new_image}).numpy()
        self.assertAllClose(model.user_vectors(users).numpy() @ vector[0], scores, atol=1e-5)
        # Different images, different scores: the image carries the signal.
        other = model.score(users, {"image": np.repeat(_images((1,), seed=10), U, 0)}).numpy()
        self.assertGreater(np.max(np.abs(other - scores)), 1e-4)

    def test_backbone_weights_initialise_the_cnn(self):
        source = _build()
        path = tf.train.Checkpoint(model=source).write(self.get_temp_dir() + "/source/ckpt")
        fresh = _build(seed=1)
        loaded = _build(seed=1, backbone_weights=path)
        self.assertNotAllClose(fresh.backbone.trunk.weights[0], source.backbone.trunk.weights[0])
        for a, b in zip(source.backbone.trunk.weights, loaded.backbone.trunk.weights):
            self.assertAllClose(a, b)
        # The output layer (K visual factors) is the model's own, never loaded.
        self.assertAllClose(loaded.backbone.head.kernel, fresh.backbone.head.kernel)
        self.assertNotAllClose(loaded.backbone.head.kernel, source.backbone.head.kernel)

    def test_rejects_bad_sizes(self):
        with self.assertRaisesRegex(ValueError, "visual_dim"):
            _build(visual_dim=0)
        with self.assertRaisesRegex(ValueError, "user_lr_multiplier"):
            _build(user_lr_multiplier=0.0)
