"""Exact negative sampling: j ∉ I_u⁺, uniformly, inside the tf.data graph.

Shared by the BPR triplet pipeline (`pipelines.py`) and the pointwise pipeline: neither
ever returns a training positive as a negative, however many items a user has bought.
"""
import numpy as np
import tensorflow as tf

from tfvisrec.data.errors import DataError

NEGATIVE_TRIES = 8


class ComplementSampler:
    """Exactly uniform j ∉ I_u⁺ (never a training positive, whatever the user's history).

    With u's positives sorted p_0 < p_1 < …, the gap g_m = p_m − m counts the non-positive
    items below p_m, so the r-th non-positive item (r ~ U{0 … |I| − |I_u⁺| − 1}) is
    j = r + #{m : g_m ≤ r}: one binary search in the sorted keys u·|I| + g_m.
    """

    def __init__(self, users: np.ndarray, items: np.ndarray, num_users: int, num_items: int):
        self.num_items = int(num_items)
        keys = np.unique(np.asarray(users, np.int64) * self.num_items + np.asarray(items, np.int64))
        key_users = keys // self.num_items
        counts = np.bincount(key_users, minlength=num_users).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        rank_in_user = np.arange(keys.size, dtype=np.int64) - starts[key_users]
        gaps = keys - rank_in_user            # u·|I| + (p_m − m), sorted
        self.num_free = self.num_items - counts
        self._gaps = tf.constant(gaps if gaps.size else np.array([-1], np.int64), tf.int64)
        self._starts = tf.constant(starts, tf.int64)
        self._free = tf.constant(self.num_free, tf.int64)

    def users_without_negatives(self, users) -> np.ndarray:
        """The users among `users` who interacted with every item."""
        users = np.unique(np.asarray(users, np.int64))
        return users[self.num_free[users] <= 0]

    def sample(self, users, num_negatives: int, seed):
        """int64 [B, num_negatives]: items each user never interacted with, uniformly."""
        users = tf.cast(users, tf.int64)
        free = tf.gather(self._free, users)[:, None]
        uniform = tf.random.stateless_uniform(tf.stack([tf.size(users), num_negatives]), seed,
                                              dtype=tf.float64)
        rank = tf.minimum(tf.cast(tf.floor(uniform * tf.cast(free, tf.float64)), tf.int64), free - 1)
        query = users[:, None] * self.num_items + rank
        below = tf.searchsorted(self._gaps, tf.reshape(query, [-1]), side="right", out_type=tf.int64)
        below = tf.reshape(below, tf.shape(query)) - tf.gather(self._starts, users)[:, None]
        return rank + below


class NegativeSampler:
    """Exactly uniform j ∉ I_u⁺ for BPR's triplets (D_S, Rendle et al. 2009 §4.1).

    Each negative takes the first of `NEGATIVE_TRIES` uniform candidates that is not a
    training positive (rejection sampling, uniform over the non-positives); when every try
    hits a positive (a user who bought most items) it takes a `ComplementSampler` draw
    instead, also uniform over the non-positives. The mixture is therefore exactly uniform
    and never a positive, and its draws equal the plain rejection sampler's wherever a try
    succeeds, which keeps earlier seeded runs' numbers.
    """

    def __init__(self, users: np.ndarray, items: np.ndarray, num_users: int, num_items: int):
        self.num_items = int(num_items)
        keys = np.unique(np.asarray(users, np.int64) * self.num_items + np.asarray(items, np.int64))
        self.keys = tf.constant(keys if keys.size else np.array([-1], np.int64), tf.int64)
        self.complement = ComplementSampler(users, items, num_users, num_items)

    def is_positive(self, users, items):
        keys = tf.cast(users, tf.int64) * self.num_items + tf.cast(items, tf.int64)
        flat = tf.reshape(keys, [-1])
        index = tf.searchsorted(self.keys, flat)
        index = tf.minimum(index, tf.size(self.keys, out_type=index.dtype) - 1)
        return tf.reshape(tf.equal(tf.gather(self.keys, index), flat), tf.shape(keys))

    def sample(self, users, num_negatives: int, seed):
        """int64 [B, num_negatives]: items the users never interacted with in training."""
        users = tf.cast(users, tf.int64)
        shape = tf.stack([tf.size(users), num_negatives, NEGATIVE_TRIES])
        cand = tf.random.stateless_uniform(shape, seed, minval=0, maxval=self.num_items, dtype=tf.int64)
        rejected = self.is_positive(tf.reshape(users, [-1, 1, 1]), cand)
        first_ok = tf.argmin(tf.cast(rejected, tf.int32), axis=-1)  # first accepted try (0 if none)
        picked = tf.gather(cand, first_ok, batch_dims=2)
        fallback = self.complement.sample(
            users, num_negatives, tf.random.experimental.stateless_fold_in(seed, 1))
        return tf.where(tf.reduce_all(rejected, axis=-1), fallback, picked)


def check_every_user_has_a_negative(sampler: ComplementSampler, dataset) -> None:
    """DataError naming the first training user who interacted with every item."""
    full = sampler.users_without_negatives(dataset.train.users)
    if full.size:
        raise DataError(f"user {dataset.user_ids[int(full[0])]!r} interacted with every item: "
                        "no negative can be sampled for it", dataset.path)
