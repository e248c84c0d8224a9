"""tf.data training pipelines, chosen by a model's `train_pipeline` name.

Every pipeline is a pure function of (dataset, seed, epoch, start batch): the batches of an
epoch are the same on every run and every worker, so resuming from a checkpoint continues
exactly where training stopped, without replaying the skipped batches.
"""
import weakref
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
    for module in ("tfvisrec.data.catalogue_pipeline", "tfvisrec.data.pointwise_pipeline",
                   "tfvisrec.data.category_pipeline", "tfvisrec.data.outfit_pipeline"):
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
    if len(dataset.train) == 0:
        raise ValueError("the training split is empty")

    def build():
        train = dataset.train
        sampler = NegativeSampler(train.users, train.items, dataset.num_users, dataset.num_items)
        check_every_user_has_a_negative(sampler.complement, dataset)

        @tf.function
        def make_batch(seed, b, u, i, t):
            neg = sampler.sample(u, num_negatives, seed=tf.stack([seed, b]))
            if num_negatives == 1:
                neg = neg[:, 0]
            batch = {"user": u, "pos": item_table.lookup(i), "neg": item_table.lookup(neg)}
            if with_time:
                batch["time"] = t
                batch["pos"][schema.TIME] = t
                batch["neg"][schema.TIME] = t if num_negatives == 1 else tf.repeat(t[:, None], num_negatives, 1)
            return batch
        return make_batch

    make_batch = batch_function(dataset, item_table, ("bpr_triplets", num_negatives, with_time), build)
    return map_epoch(make_batch, dataset, batch_size, seed, epoch, start_batch, steps_per_epoch)


def map_epoch(make_batch, dataset, batch_size: int, seed: int, epoch: int, start_batch: int,
              steps_per_epoch: int) -> tf.data.Dataset:
    """make_batch(batch seed, b, users [B], items [B], times [B]) mapped over the batches b ≥
    `start_batch` of `epoch`: the training interactions in `epoch_permutation` order, the last
    batch topped up from the next permutation; the batch seed is a function of (seed, epoch)."""
    train = dataset.train
    n = len(train)
    num_batches = batches_per_epoch(n, batch_size, steps_per_epoch)
    order = np.concatenate([epoch_permutation(n, seed, epoch + k)
                            for k in range(-(-num_batches * batch_size // n))])[:num_batches * batch_size]
    rows = [np.asarray(a, np.int64)[order].reshape(num_batches, batch_size)[start_batch:]
            for a in (train.users, train.items, train.times)]
    batch_seed = tf.constant(int(seed) * 1_000_003 + int(epoch), tf.int64)
    ds = tf.data.Dataset.from_tensor_slices((np.arange(start_batch, num_batches, dtype=np.int64), *rows))
    return ds.map(lambda b, u, i, t: make_batch(batch_seed, b, u, i, t),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


# Traced batch functions per item table, then per (dataset, pipeline settings): an epoch's
# pipeline only feeds one its rows, so building the pipeline every epoch traces nothing new.
_BATCH_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def batch_function(dataset, item_table, key, build: Callable):
    """`build()` (a tf.function) cached for this item table, dataset and `key`."""
    per_table = _BATCH_FUNCTIONS.setdefault(item_table, {})
    full_key = (id(dataset),) + tuple(key)
    if full_key not in per_table:
        per_table[full_key] = (dataset, build())   # the dataset kept alive: its id stays its own
    return per_table[full_key][1]
