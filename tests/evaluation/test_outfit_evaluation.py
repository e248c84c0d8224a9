"""Outfit evaluation's scoring against a numpy reference."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec import metrics
from tfvisrec.evaluation import outfits as outfit_eval


class PlaceDependentScorer:
    """y(u, O) = u + Σ O / 10, plus 1e-6 × the row's place in its batch: a stand-in for
    TensorFlow kernels that round one pair's score differently in another place of a batch
    (PAN on the synthetic outfit world: up to 6e-8 apart)."""

    def outfit_scores(self, users, outfits, binary=False):
        true = tf.cast(users, tf.float64) + tf.reduce_sum(tf.cast(outfits, tf.float64), axis=1) / 10
        return true + 1e-6 * tf.range(tf.shape(users)[0], dtype=tf.float64)


def test_a_users_outfit_that_is_also_her_negative_ties_with_itself():
    # User 0's outfits [1, 2] and [3, 4]; her negatives include [1, 2] (a randomly mixed
    # outfit can come out as one she chose).
    users = np.array([0, 0, 0, 0, 1, 1, 1])
    outfits = np.array([[1, 2], [3, 4], [1, 2], [0, 1], [5, 6], [1, 2], [3, 4]])
    labels = np.array([True, True, False, False, True, False, False])
    scores = outfit_eval.outfit_scores(PlaceDependentScorer(), users, outfits)
    true = users + outfits.sum(axis=1) / 10
    # numpy reference: per user, (positive, negative) pairs, ties 0.5, on the true scores
    aucs = []
    for u in (0, 1):
        pos, neg = true[(users == u) & labels], true[(users == u) & ~labels]
        aucs.append(np.mean([(p > q) + 0.5 * (p == q) for p in pos for q in neg]))
    assert aucs == [pytest.approx(0.875), pytest.approx(1.0)]
    got = metrics.grouped_auc_ndcg(scores, labels, users, n=10)
    assert got["auc"] == pytest.approx(np.mean(aucs), abs=1e-12)
    # PAN's validation scores its questions the same way
    from tfvisrec.models.pan import _scores as validation_scores
    np.testing.assert_array_equal(validation_scores(PlaceDependentScorer(), users, outfits), scores)
