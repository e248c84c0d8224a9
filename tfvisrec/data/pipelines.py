"""tf.data training pipelines, chosen by a model's `train_pipeline` name.

Every pipeline is a pure function of (dataset, seed, epoch, start batch): the batches of an
epoch are the same on every run and every worker, so resuming from a checkpoint continues
exactly where training stopped, without replaying the skipped batches.
"""
from typing import Callable, Dict

import numpy as np
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.data.negatives import NegativeSampler, check_every_user_has_a_negative

_PIPELINES: Dict[str, Callable] = {}


def register_pipeline(name: str):
    def decorate(fn):
        _PIPELINES[name] = fn
        return fn
    return decorate


def make_pipeline(name: str, **kwargs) -> tf.data.Dataset:
    if name not in _PIPELINES:
        _load_pipeline_modules()
    if name not in _PIPELINES:
        raise ValueError(f"unknown training pipeline {name!r}; known: {sorted(_PIPELINES)}")
    return _PIPELINES[name](**kwargs)


def _load_pipeline_modules():
    import importlib
    for module in ("tfvisrec.data.catalogue_pipeline", "tfvisrec.data.pointwise_pipeline"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise


def batches_per_epoch(num_examples: int, batch_size: int, steps_per_epoch: int = 0) -> int:
    if steps_per_epoch > 0:
        return steps_per_epoch
    return max(1, -(-num_examples // batch_size))


def epoch_permutation(num_examples: int, seed: int, epoch: int) -> np.ndarray:
    """The order of training examples in `epoch` (a pure function of seed and epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


@register_pipeline("bpr_triplets")
def bpr_triplets(dataset, item_table, batch_size: int, seed: int, epoch: int,
                 start_batch: int = 0, steps_per_epoch: int = 0, num_negatives: int = 1,
                 with_time: bool = False, **_unused) -> tf.data.Dataset:
    """Batches {"user", "pos": features, "neg": features[, "time"]} of triplets (u, i, j).

    One epoch visits each training interaction (u, i) once in a seeded order (the last batch
    is topped up from the next permutation, so every batch is full and splits evenly across
    replicas); j is sampled uniformly from the items u never interacted with (exactly, see
    `NegativeSampler`). Batch b of epoch e is fully determined by (seed, e, b), so
    `start_batch` resumes mid-epoch exactly.
    """
    train = dataset.train
    n = len(train)
    if n == 0:
        raise ValueError("the training split is empty")
    num_batches = batches_per_epoch(n, batch_size, steps_per_epoch)
    order = np.concatenate([epoch_permutation(n, seed, epoch + k)
                            for k in range(-(-num_batches * batch_size // n))])
    users = tf.constant(train.users[order], tf.int64)
    items = tf.constant(train.items[order], tf.int64)
    times = tf.constant(train.times[order], tf.int64)
    sampler = NegativeSampler(train.users, train.items, dataset.num_users, dataset.num_items)
    check_every_user_has_a_negative(sampler.complement, dataset)

    def make_batch(b):
        lo = b * batch_size
        hi = lo + batch_size
        u, i = users[lo:hi], items[lo:hi]
        neg = sampler.sample(u, num_negatives, seed=tf.stack([tf.cast(seed, tf.int64) * 1_000_003 + epoch, b]))
        if num_negatives == 1:
            neg = neg[:, 0]
        batch = {"user": u, "pos": item_table.lookup(i), "neg": item_table.lookup(neg)}
        if with_time:
            t = times[lo:hi]
            batch["time"] = t
            batch["pos"][schema.TIME] = t
            batch["neg"][schema.TIME] = t if num_negatives == 1 else tf.repeat(t[:, None], num_negatives, 1)
        return batch

    ds = tf.data.Dataset.range(start_batch, num_batches)
    return ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE)
