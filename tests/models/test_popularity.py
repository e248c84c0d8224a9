"""Random and PopRank: scores against numpy / their definitions on tiny cases."""
import types

import numpy as np

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo


def _build(name, num_users=4, num_items=6, **overrides):
    config = registry.new_config(name, **overrides)
    return registry.build(config, DataInfo(num_users=num_users, num_items=num_items))


class PopRankTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.counts = np.array([3, 0, 7, 1, 1, 12], np.int32)
        self.model = _build("poprank")
        self.model.prepare(types.SimpleNamespace(train_count=self.counts))

    def test_flags(self):
        self.assertTrue(self.model.factorised)
        self.assertFalse(self.model.trainable_by_gradient)
        self.assertEmpty(self.model.trainable_variables)

    def test_scores_are_training_counts(self):
        users = np.array([0, 1, 2, 3, 0, 2])
        items = np.array([0, 1, 2, 3, 4, 5])
        self.assertAllClose(self.model.score(users, {"item": items}), self.counts[items])

    def test_vectors_factorise_the_score(self):
        users = np.array([3, 1, 0])
        items = np.array([5, 2, 1])
        u = self.model.user_vectors(users)
        v = self.model.item_vectors({"item": items})
        self.assertAllEqual(u.shape, [3, 1])
        self.assertAllClose(np.sum(u * v, axis=-1), self.model.score(users, {"item": items}))
        # The catalogue as a matrix product ranks every user's items by count.
        matrix = self.model.user_vectors(np.arange(4)) @ tf.transpose(
            self.model.item_vectors({"item": np.arange(6)}))
        self.assertAllClose(matrix, np.tile(self.counts, (4, 1)))

    def test_many_negatives_shape(self):
        neg = np.array([[1, 2], [5, 0]])
        self.assertAllClose(self.model.score(np.array([0, 1]), {"item": neg}), self.counts[neg])

    def test_prepare_rejects_wrong_catalogue_size(self):
        with self.assertRaisesRegex(ValueError, "expected"):
            self.model.prepare(types.SimpleNamespace(train_count=np.ones(5, np.int32)))


class RandomTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.model = _build("random", num_users=50, num_items=80)

    def test_flags(self):
        self.assertFalse(self.model.factorised)
        self.assertFalse(self.model.trainable_by_gradient)
        self.assertEmpty(self.model.trainable_variables)

    def _matrix(self, model):
        users = np.repeat(np.arange(50), 80)
        items = np.tile(np.arange(80), 50)
        return model.score(users, {"item": items}).numpy().reshape(50, 80)

    def test_consistent_across_calls_orders_and_shapes(self):
        matrix = self._matrix(self.model)
        rng = np.random.default_rng(3)
        users = rng.integers(0, 50, size=64)
        items = rng.integers(0, 80, size=64)
        self.assertAllEqual(self.model.score(users, {"item": items}), matrix[users, items])
        neg = rng.integers(0, 80, size=(64, 5))
        self.assertAllEqual(self.model.score(users, {"item": neg}), matrix[users[:, None], neg])
        self.assertAllEqual(self._matrix(_build("random", num_users=50, num_items=80)), matrix)

    def test_seed_changes_the_draw(self):
        other = self._matrix(_build("random", num_users=50, num_items=80, seed=7))
        self.assertLess(np.mean(other == self._matrix(self.model)), 0.01)

    def test_approximately_uniform_and_independent(self):
        values = self._matrix(self.model)
        self.assertTrue(np.all((values > 0.0) & (values < 1.0)))
        self.assertLess(len(values.ravel()) - len(np.unique(values)), 5)
        # 4000 draws: bins of 0.1 expect 400 each (sd ~19); mean 0.5 (sd ~0.0046).
        hist, _ = np.histogram(values, bins=10, range=(0.0, 1.0))
        self.assertAllInRange(hist, 300, 500)
        self.assertNear(values.mean(), 0.5, 0.03)
        # Neighbouring users / items are uncorrelated (sd of the correlation ~0.016).
        self.assertLess(abs(np.corrcoef(values[:-1].ravel(), values[1:].ravel())[0, 1]), 0.08)
        self.assertLess(abs(np.corrcoef(values[:, :-1].ravel(), values[:, 1:].ravel())[0, 1]), 0.08)

    def test_bpr_loss_of_random_scores_is_finite(self):
        batch = {"user": np.array([0, 1, 2]), "pos": {"item": np.array([3, 4, 5])},
                 "neg": {"item": np.array([[6, 7], [8, 9], [10, 11]])}}
        matrix = self._matrix(self.model)
        pos = matrix[[0, 1, 2], [3, 4, 5]]
        neg = matrix[np.array([0, 1, 2])[:, None], batch["neg"]["item"]]
        expected = np.mean(np.log1p(np.exp(-(pos[:, None] - neg))))
        self.assertAllClose(self.model.compute_loss(batch), expected)


if __name__ == "__main__":
    tf.test.main()
