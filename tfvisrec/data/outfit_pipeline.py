"""tf.data batches of (user, positive outfit, random negative outfit) for outfit models.

A batch is `{"user": int64 [B], "pos": {"item": int64 [B, S]}, "neg": {"item": int64 [B, S]}}`
(-1 = empty slot). One epoch visits each training outfit once in a seeded order (the last
batch topped up from the next permutation, as `pipelines.py` does); the negative of each row
is a randomly mixed outfit (FHN's "RandomOnline"): every filled slot of the positive gets an
item drawn uniformly among the training items of that slot, the empty ones stay empty.
Batch b of epoch e is a pure function of (seed, e, b), so `start_batch` resumes exactly.
Hard negatives are mined inside the model from the batch (they depend on its user codes).
"""
import numpy as np
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.data.outfits import EMPTY, load_outfits, slot_pools
from tfvisrec.data.pipelines import map_epochs, register_pipeline


@register_pipeline("outfit_pairs")
def outfit_pairs(dataset, batch_size: int, seed: int, epoch: int, start_batch: int = 0,
                 steps_per_epoch: int = 0, table=None, num_epochs: int = 1, **_unused) -> tf.data.Dataset:
    """Training batches of the module docstring from the dataset's `outfits.npz`."""
    table = table if table is not None else load_outfits(dataset)
    train = table.positives["train"]
    pools = [tf.constant(p, tf.int64) for p in slot_pools(table, "train")]

    def make_batch(batch_seed, b, u, pos):
        columns = []
        for s, pool in enumerate(pools):
            pick = tf.random.stateless_uniform([batch_size], seed=tf.stack([batch_seed, b * 8 + s]),
                                               maxval=tf.shape(pool, out_type=tf.int64)[0], dtype=tf.int64)
            columns.append(tf.gather(pool, pick))
        neg = tf.where(tf.equal(pos, EMPTY), tf.constant(EMPTY, tf.int64), tf.stack(columns, axis=1))
        return {"user": u, "pos": {schema.ITEM: pos}, "neg": {schema.ITEM: neg}}

    columns = [np.asarray(train.users, np.int64), np.asarray(train.items, np.int64)]
    return map_epochs(make_batch, columns, batch_size, seed, epoch, start_batch, steps_per_epoch, num_epochs)
