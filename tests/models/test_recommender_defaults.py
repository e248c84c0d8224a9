"""The defaults of `models/base.py` that a new model relies on without overriding them."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.config import ModelConfig
from tfvisrec.data import schema
from tfvisrec.models.base import DataInfo, Recommender

USERS, ITEMS, DIM = 4, 7, 3


class VectorsOnly(Recommender):
    """A factorising model that implements only user_vectors and item_vectors."""

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        rng = np.random.default_rng(0)
        self.user_table = tf.constant(rng.normal(size=(USERS, DIM)), tf.float32)
        self.item_table = tf.constant(rng.normal(size=(ITEMS, DIM)), tf.float32)

    def user_vectors(self, users, training=False):
        return tf.gather(self.user_table, users)

    def item_vectors(self, items, training=False):
        return tf.gather(self.item_table, items[schema.ITEM])


def test_default_score_takes_several_negatives_per_positive():
    model = VectorsOnly(DataInfo(num_users=USERS, num_items=ITEMS), ModelConfig(num_negatives=3))
    users, pos, neg = np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3]), np.array([[4, 5, 6]] * 4)
    u, v = model.user_table.numpy(), model.item_table.numpy()
    neg_scores = np.einsum("bd,bnd->bn", u[users], v[neg])
    np.testing.assert_allclose(model.score(users, {schema.ITEM: neg}), neg_scores, rtol=1e-5)
    pos_scores = np.sum(u[users] * v[pos], -1)
    loss = model.compute_loss({"user": users, "pos": {schema.ITEM: pos}, "neg": {schema.ITEM: neg}})
    np.testing.assert_allclose(loss, np.mean(np.logaddexp(0.0, neg_scores - pos_scores[:, None])), rtol=1e-5)


class OneColumnScores(VectorsOnly):
    def score(self, users, items, training=False):
        return super().score(users, items, training=training)[:, None]


class EveryUserByEveryItem(VectorsOnly):
    def score(self, users, items, training=False):
        return tf.matmul(self.user_vectors(users), self.item_vectors(items), transpose_b=True)


class OneScorePerRow(VectorsOnly):
    """Sums over the negatives: right for items [B], silently wrong for items [B, N]."""

    def score(self, users, items, training=False):
        scores = super().score(users, items, training=training)
        return tf.reduce_sum(scores, -1) if scores.shape.rank == 2 else scores


@pytest.mark.parametrize("cls, negatives, shape, items", [
    (OneColumnScores, 1, r"\[2, 1\]", r"\[2\]"),
    (EveryUserByEveryItem, 1, r"\[2, 2\]", r"\[2\]"),
    (OneScorePerRow, 3, r"\[2\]", r"\[2, 3\]")])
def test_a_score_of_the_wrong_shape_is_named_when_the_model_is_built(cls, negatives, shape, items):
    """Else training would fit [B, B] scores silently, [B, 1] would pass until a reshape, and
    [B] for N negatives would compare each positive with the sum of its negatives."""
    model = cls(DataInfo(num_users=USERS, num_items=ITEMS), ModelConfig(num_negatives=negatives))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.score gave shape {shape} for items {items}; "
                                         r"it must give one score per \(user, item\) pair"):
        model.build_variables()


def test_a_score_right_for_one_negative_builds_when_one_is_asked():
    OneScorePerRow(DataInfo(num_users=USERS, num_items=ITEMS), ModelConfig(num_negatives=1)).build_variables()
