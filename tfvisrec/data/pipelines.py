"""tf.data training pipelines, chosen by a model's `train_pipeline` name.

Every pipeline is a pure function of (dataset, seed, epoch, start batch): the batches of an
epoch are the same on every run and every worker, so resuming from a checkpoint continues
exactly where training stopped, without replaying the skipped batches. A pipeline also takes
`num_epochs`: the epochs after the first follow in the same dataset (`map_epochs`), so the
trainer builds and iterates one dataset per run.
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
                 with_time: bool = False, num_epochs: int = 1, **_unused) -> tf.data.Dataset:
    """Batches {"user", "pos": features, "neg": features[, "time"]} of triplets (u, i, j).

    One epoch visits each training interaction (u, i) once in a seeded order (the last batch
    is topped up from the next permutation, so every batch is full and splits evenly across
    replicas); j is sampled uniformly from the items u never interacted with (exactly, see
    `NegativeSampler`). Batch b of epoch e is fully determined by (seed, e, b), so
    `start_batch` resumes mid-epoch exactly; `num_epochs` epochs follow in one dataset.
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
    return map_epochs(make_batch, training_columns(dataset), batch_size, seed, epoch, start_batch,
                      steps_per_epoch, num_epochs)


def training_columns(dataset):
    """(users, items, times) of the training interactions, int64."""
    train = dataset.train
    return [np.asarray(a, np.int64) for a in (train.users, train.items, train.times)]


def epoch_rows(columns, batch_size: int, seed: int, epoch: int, num_batches: int):
    """The example columns of `epoch` as batches: each column [n, ...] in `epoch_permutation`
    order, the last batch topped up from the next permutation, reshaped to
    [num_batches, batch_size, ...]."""
    n = len(columns[0])
    order = np.concatenate([epoch_permutation(n, seed, epoch + k)
                            for k in range(-(-num_batches * batch_size // n))])[:num_batches * batch_size]
    return [np.asarray(c)[order].reshape(num_batches, batch_size, *np.shape(c)[1:]) for c in columns]


def map_epochs(make_batch, columns, batch_size: int, seed: int, epoch: int, start_batch: int = 0,
               steps_per_epoch: int = 0, num_epochs: int = 1) -> tf.data.Dataset:
    """make_batch(batch seed, b, *column batches) mapped over batches b ≥ `start_batch` of
    `epoch`, then over every batch of the `num_epochs - 1` epochs after it, in one dataset.

    `columns` are numpy arrays with one row per training example; an epoch's batches are
    `epoch_rows` and its batch seed is a function of (seed, epoch). One dataset for a whole
    run is traced once and iterated once (rebuilt every epoch, its tracing and iterator cost
    ~150 ms an epoch); its cardinality is num_epochs · batches per epoch − start_batch.
    """
    columns = [np.asarray(c) for c in columns]
    n = len(columns[0])
    num_batches = batches_per_epoch(n, batch_size, steps_per_epoch)
    if not 0 <= start_batch <= num_batches:
        raise ValueError(f"start_batch {start_batch} is outside the epoch's 0..{num_batches} batches")
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    dtypes = [tf.as_dtype(c.dtype) for c in columns]

    def batches_of(e):
        rows = tf.numpy_function(lambda e: epoch_rows(columns, batch_size, seed, int(e), num_batches),
                                 [e], dtypes)
        for r, c in zip(rows, columns):
            r.set_shape([num_batches, batch_size, *c.shape[1:]])
        batch_seed = tf.fill([num_batches], int(seed) * 1_000_003 + e)
        return tf.data.Dataset.from_tensor_slices((batch_seed, tf.range(num_batches, dtype=tf.int64), *rows))

    ds = tf.data.Dataset.range(epoch, epoch + num_epochs).flat_map(batches_of).skip(start_batch)
    ds = ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.apply(tf.data.experimental.assert_cardinality(num_epochs * num_batches - start_batch))
    return ds.prefetch(tf.data.AUTOTUNE)


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
