"""Ranking losses against their numpy formulas on tiny cases (TFRS style)."""
import numpy as np

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec import losses


def _np_softplus(x):
    return np.log1p(np.exp(x))


def _np_warp(pos, neg, num_items, margin):
    """WSABIE's sampled WARP, written as the paper's loop over the N trials."""
    total = 0.0
    for b in range(len(pos)):
        for n in range(neg.shape[1]):
            if neg[b, n] > pos[b] - margin:
                rank = (num_items - 1) // (n + 1)
                weight = sum(1.0 / k for k in range(1, rank + 1))
                total += weight * (margin - pos[b] + neg[b, n])
                break
    return total / len(pos)


class BprAndHingeTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(0)
        self.pos = rng.normal(size=5).astype(np.float32)
        self.neg = rng.normal(size=5).astype(np.float32)
        self.neg_many = rng.normal(size=(5, 3)).astype(np.float32)

    def test_bpr_loss(self):
        expected = np.mean(_np_softplus(-(self.pos - self.neg)))
        self.assertAllClose(losses.bpr_loss(self.pos, self.neg), expected)

    def test_bpr_loss_many_negatives_compares_each_pair(self):
        expected = np.mean(_np_softplus(-(self.pos[:, None] - self.neg_many)))
        self.assertAllClose(losses.bpr_loss(self.pos, self.neg_many), expected)

    def test_bpr_loss_value_at_equal_scores_is_ln2(self):
        self.assertAllClose(losses.bpr_loss([1.0, -2.0], [1.0, -2.0]), np.log(2.0))

    def test_hinge_loss(self):
        expected = np.mean(np.maximum(0.0, 0.5 - self.pos + self.neg))
        self.assertAllClose(losses.hinge_loss(self.pos, self.neg, margin=0.5), expected)

    def test_hinge_loss_many_negatives(self):
        expected = np.mean(np.maximum(0.0, 1.0 - self.pos[:, None] + self.neg_many))
        self.assertAllClose(losses.hinge_loss(self.pos, self.neg_many), expected)


class WarpTest(tf.test.TestCase):

    def test_harmonic_number(self):
        ranks = np.array([0, 1, 2, 3, 10, 999, 16600])
        expected = [sum(1.0 / k for k in range(1, r + 1)) for r in ranks]
        self.assertAllClose(losses.harmonic_number(ranks), expected, rtol=1e-5, atol=1e-6)

    def test_rank_estimate_is_floor(self):
        self.assertAllEqual(losses.warp_rank_estimate([1, 2, 3, 7], num_items=11), [10, 5, 3, 1])

    def test_hand_computed_case(self):
        # Row 0: negatives 0.2 (no violation: 0.2 <= 2 - 1), then 1.5 violates at trial 2:
        #   rank = floor(9 / 2) = 4, L = 1 + 1/2 + 1/3 + 1/4 = 25/12, hinge = 1 - 2 + 1.5 = 0.5.
        # Row 1: no violator → 0.  Row 2: first negative violates: rank 9, hinge 1 - 0 + 0.5.
        pos = np.array([2.0, 5.0, 0.0], np.float32)
        neg = np.array([[0.2, 1.5, 3.0], [0.0, 1.0, 4.0], [0.5, -3.0, 9.0]], np.float32)
        h9 = sum(1.0 / k for k in range(1, 10))
        expected = (25.0 / 12.0 * 0.5 + 0.0 + h9 * 1.5) / 3.0
        self.assertAllClose(losses.warp_loss(pos, neg, num_items=10), expected)

    def test_matches_numpy_loop(self):
        rng = np.random.default_rng(1)
        pos = rng.normal(size=40).astype(np.float32)
        neg = rng.normal(size=(40, 7)).astype(np.float32) - 1.0
        for margin in (0.1, 1.0):
            self.assertAllClose(losses.warp_loss(pos, neg, num_items=500, margin=margin),
                                _np_warp(pos, neg, 500, margin), rtol=1e-5)

    def test_no_violator_is_zero_with_zero_gradient(self):
        pos = tf.Variable([3.0, 4.0])
        neg = tf.Variable([[0.0, 1.9], [2.5, -1.0]])
        with tf.GradientTape() as tape:
            loss = losses.warp_loss(pos, neg, num_items=100)
        self.assertAllClose(loss, 0.0)
        grads = tape.gradient(loss, [pos, neg])
        self.assertAllClose(grads[0], [0.0, 0.0])
        self.assertAllClose(grads[1], np.zeros((2, 2)))

    def test_single_negative_reads_as_one_trial(self):
        pos = np.array([0.0, 3.0], np.float32)
        neg = np.array([0.5, 0.0], np.float32)
        expected = sum(1.0 / k for k in range(1, 50)) * 1.5 / 2.0
        self.assertAllClose(losses.warp_loss(pos, neg, num_items=50), expected, rtol=1e-5)

    def test_gradient_is_rank_weight_on_first_violator_only(self):
        pos = tf.Variable([1.0])
        neg = tf.Variable([[-5.0, 0.5, 2.0]])          # first violator is index 1 (trial 2)
        with tf.GradientTape() as tape:
            loss = losses.warp_loss(pos, neg, num_items=7)
        weight = 1.0 + 0.5 + 1.0 / 3.0                   # rank floor(6 / 2) = 3
        grad_pos, grad_neg = tape.gradient(loss, [pos, neg])
        self.assertAllClose(grad_pos, [-weight])
        self.assertAllClose(grad_neg, [[0.0, weight, 0.0]])


if __name__ == "__main__":
    tf.test.main()


class LsganTest(tf.test.TestCase):
    """DVBPR eq. 7 (least-squares GAN) against numpy."""

    def test_discriminator_and_generator_losses(self):
        rng = np.random.default_rng(3)
        real, fake = rng.normal(size=6).astype(np.float32), rng.normal(size=4).astype(np.float32)
        self.assertAllClose(losses.lsgan_discriminator_loss(real, fake),
                            np.mean((real - 1) ** 2) + np.mean(fake ** 2))
        self.assertAllClose(losses.lsgan_generator_loss(fake), np.mean((fake - 1) ** 2))

    def test_minima_are_the_targets(self):
        self.assertAllClose(losses.lsgan_discriminator_loss([1.0, 1.0], [0.0]), 0.0)
        self.assertAllClose(losses.lsgan_generator_loss([1.0, 1.0]), 0.0)
