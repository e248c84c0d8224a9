"""The `pointwise` training pipeline: labelled (user, item) rows for binary cross-entropy.

For each training interaction (u, i) a batch holds the row (u, i, 1) followed by
`num_negatives` rows (u, j, 0), j drawn uniformly from the items u never interacted with in
training (the negative sampling of NCF-style pointwise models such as ImgRec, Elsayed et al.
2021). A batch of `batch_size` interactions therefore holds batch_size · (1 + N) rows:

    {"user": int64 [R], "item": {item features [R]}, "label": float32 [R][, "time": int64 [R]]}

with row k · (1 + N) the k-th positive and the N rows after it its negatives.

It follows the rules of `pipelines.py`: the interactions of an epoch come in the seeded order
of `epoch_permutation` (the last batch topped up from the next one), and batch b of epoch e
is a pure function of (seed, e, b), so `start_batch` resumes mid-epoch exactly.
"""
import numpy as np
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.pipelines import batches_per_epoch, epoch_permutation, register_pipeline


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


@register_pipeline("pointwise")
def pointwise(dataset, item_table, batch_size: int, seed: int, epoch: int, start_batch: int = 0,
              steps_per_epoch: int = 0, num_negatives: int = 1, with_time: bool = False,
              **_unused) -> tf.data.Dataset:
    """Batches of labelled rows (see the module docstring); `batch_size` counts positives."""
    train = dataset.train
    n = len(train)
    if n == 0:
        raise DataError("the training split is empty", dataset.path)
    if num_negatives < 0:
        raise ValueError(f"num_negatives must be >= 0, got {num_negatives}")
    sampler = ComplementSampler(train.users, train.items, dataset.num_users, dataset.num_items)
    full = sampler.users_without_negatives(train.users)
    if num_negatives > 0 and full.size:
        raise DataError(f"user {dataset.user_ids[int(full[0])]!r} interacted with every item: "
                        "no negative can be sampled for it", dataset.path)
    num_batches = batches_per_epoch(n, batch_size, steps_per_epoch)
    order = np.concatenate([epoch_permutation(n, seed, epoch + k)
                            for k in range(-(-num_batches * batch_size // n))])
    users = tf.constant(train.users[order], tf.int64)
    items = tf.constant(train.items[order], tf.int64)
    times = tf.constant(train.times[order], tf.int64)
    group = 1 + int(num_negatives)
    labels = tf.constant(np.tile([1.0] + [0.0] * int(num_negatives), batch_size), tf.float32)

    def make_batch(b):
        lo = b * batch_size
        u, i = users[lo:lo + batch_size], items[lo:lo + batch_size]
        row_items = i[:, None]
        if num_negatives > 0:
            neg = sampler.sample(u, num_negatives, seed=tf.stack(
                [tf.cast(seed, tf.int64) * 1_000_003 + epoch, b]))
            row_items = tf.concat([row_items, neg], axis=1)
        row_items = tf.reshape(row_items, [-1])
        row_users = tf.repeat(u, group)
        batch = {"user": row_users, "item": item_table.lookup(row_items), "label": labels}
        if with_time:
            t = tf.repeat(times[lo:lo + batch_size], group)
            batch["time"] = t
            batch["item"][schema.TIME] = t
        return batch

    ds = tf.data.Dataset.range(start_batch, num_batches)
    return ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE)
