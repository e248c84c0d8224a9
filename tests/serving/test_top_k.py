"""Exact top-k by block maxima (tfvisrec/serving/top_k.py) against numpy and tf.math.top_k."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf

from tfvisrec.serving.top_k import block_top_k, exact_top_k


def _scores(rows=4, items=1003, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(rows, items)).astype(np.float32)
    scores[0, rng.choice(items, items // 3, replace=False)] = -np.inf  # items excluded as seen
    scores[1, :] = np.round(scores[1, :], 1)                         # many ties
    scores[2, items // 2:items // 2 + 40] = 9.0                    # the top-k in few blocks
    return scores


@pytest.mark.parametrize("block", [4, 8, 25])
def test_block_top_k_equals_the_exact_top_k(block):
    scores, k = _scores(), 20
    values, indices = block_top_k(tf.constant(scores), k, block)
    np.testing.assert_array_equal(values.numpy(), -np.sort(-scores, axis=1)[:, :k])
    # the same items as tf.math.top_k, ties included (lower index first)
    np.testing.assert_array_equal(indices.numpy(), tf.math.top_k(scores, k).indices.numpy())
    np.testing.assert_array_equal(np.take_along_axis(scores, indices.numpy(), 1), values.numpy())


def test_exact_top_k_falls_back_on_small_or_dynamic_catalogues():
    scores = _scores(items=50)
    values, indices = exact_top_k(tf.constant(scores), 10)   # 50 < 4 * k * block
    np.testing.assert_array_equal(indices.numpy(), tf.math.top_k(scores, 10).indices.numpy())
    dynamic = tf.function(lambda s: exact_top_k(s, 10)[1],
                          input_signature=[tf.TensorSpec([None, None], tf.float32)])
    np.testing.assert_array_equal(dynamic(scores).numpy(), indices.numpy())
    with pytest.raises(ValueError, match="at least k \\* block"):
        block_top_k(tf.constant(scores), 10, block=8)
