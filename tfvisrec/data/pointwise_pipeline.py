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
from tfvisrec.data.negatives import ComplementSampler, check_every_user_has_a_negative
from tfvisrec.data.pipelines import batch_function, map_epochs, register_pipeline, training_columns


@register_pipeline("pointwise")
def pointwise(dataset, item_table, batch_size: int, seed: int, epoch: int, start_batch: int = 0,
              steps_per_epoch: int = 0, num_negatives: int = 1, with_time: bool = False,
              num_epochs: int = 1, **_unused) -> tf.data.Dataset:
    """Batches of labelled rows (see the module docstring); `batch_size` counts positives."""
    train = dataset.train
    n = len(train)
    if n == 0:
        raise DataError("the training split is empty", dataset.path)
    if num_negatives < 0:
        raise ValueError(f"num_negatives must be >= 0, got {num_negatives}")
    group = 1 + int(num_negatives)

    def build():
        sampler = ComplementSampler(train.users, train.items, dataset.num_users, dataset.num_items)
        if num_negatives > 0:
            check_every_user_has_a_negative(sampler, dataset)
        labels = tf.constant(np.tile([1.0] + [0.0] * int(num_negatives), batch_size), tf.float32)

        @tf.function
        def make_batch(seed, b, u, i, t):
            row_items = i[:, None]
            if num_negatives > 0:
                row_items = tf.concat([row_items, sampler.sample(u, num_negatives, seed=tf.stack([seed, b]))], axis=1)
            row_items = tf.reshape(row_items, [-1])
            batch = {"user": tf.repeat(u, group), "item": item_table.lookup(row_items), "label": labels}
            if with_time:
                batch["time"] = tf.repeat(t, group)
                batch["item"][schema.TIME] = batch["time"]
            return batch
        return make_batch

    make_batch = batch_function(dataset, item_table, ("pointwise", batch_size, num_negatives, with_time), build)
    return map_epochs(make_batch, training_columns(dataset), batch_size, seed, epoch, start_batch,
                      steps_per_epoch, num_epochs)
