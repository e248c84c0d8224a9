"""Exact top-k over a large catalogue by block maxima: the same answer as `tf.math.top_k`,
several times faster on CPU once the catalogue is far larger than k.

Cut the N scores of a row into G = ceil(N / block) blocks. The k largest block maxima are k
distinct scores, so the k-th largest score overall is at least the k-th largest block maximum
t; every score of the top k is >= t, hence lies in a block whose maximum is >= t, i.e. in one
of the k best blocks. So: top-k of the G block maxima (G << N), gather those k blocks
(k * block candidates), top-k of the candidates. Work: one max pass over N plus two top-k over
G and k * block values, instead of a top-k over N (measured in bench/serving_top_k.py).

The chosen blocks are taken in catalogue order, so among equal scores the lower index comes
first, as in `tf.math.top_k`.
"""
import tensorflow as tf

DEFAULT_BLOCK = 32


def worth_blocking(num_items: int, k: int, block: int = DEFAULT_BLOCK) -> bool:
    """Blocks pay only when the candidates (k blocks) are a small part of the catalogue."""
    return num_items >= 4 * k * block


def block_top_k(scores, k: int, block: int = DEFAULT_BLOCK):
    """(values, indices) of the k largest scores of each row of `scores` [B, N] (static N >= k*block),
    equal to `tf.math.top_k(scores, k)` (see module docstring)."""
    num_items = scores.shape[-1]
    num_blocks = -(-num_items // block)
    if num_items is None or num_blocks < k:
        raise ValueError(f"block_top_k needs a static catalogue of at least k * block = {k * block} "
                         f"scores, got {num_items}")
    lowest = tf.constant(float("-inf"), scores.dtype)
    padded = tf.pad(scores, [[0, 0], [0, num_blocks * block - num_items]], constant_values=lowest)
    blocks = tf.reshape(padded, [-1, num_blocks, block])
    _, best_blocks = tf.math.top_k(tf.reduce_max(blocks, axis=2), k)          # [B, k]
    best_blocks = tf.sort(best_blocks, axis=1)                                 # catalogue order
    candidates = tf.reshape(tf.gather(blocks, best_blocks, batch_dims=1), [-1, k * block])
    values, position = tf.math.top_k(candidates, k)
    indices = tf.gather(best_blocks, position // block, batch_dims=1) * block + position % block
    return values, indices


def exact_top_k(scores, k: int, block: int = DEFAULT_BLOCK):
    """`tf.math.top_k(scores, k)`, by block maxima when the catalogue is large enough."""
    num_items = scores.shape[-1]
    if num_items is not None and worth_blocking(num_items, k, block):
        return block_top_k(scores, k, block)
    return tf.math.top_k(scores, k)
