"""The catalogue embedding: `item_vectors` of every item, shared by evaluation and serving.

A factorising model (x̂(u, i) = user_vectors(u) · item_vectors(i), `models/base.py`) is
evaluated and served by one matrix product against these vectors, so both must see exactly
the same numbers: one function computes them, in inference mode, from the model's own
`ItemFeatureTable`.
"""
import weakref
from typing import Optional

import numpy as np
import tensorflow as tf

from tfvisrec.data import schema


def embed_catalogue(model, item_table, time: Optional[int] = None,
                    batch_size: int = 1024) -> np.ndarray:
    """item_vectors(i) for i = 0 … num_items − 1 → float32 [num_items, d].

    `time` (unix seconds) is given to time-aware models (`time` among their item keys) for
    every item: the catalogue as it looks at that moment."""
    item_vectors = _inference_item_vectors(model)
    parts = []
    for ids, features in item_table.catalogue_batches(batch_size):
        if time is not None:
            features = dict(features, **{schema.TIME: tf.fill([ids.size], tf.constant(int(time), tf.int64))})
        parts.append(np.asarray(item_vectors(features), np.float32))
    vectors = np.concatenate(parts, axis=0) if parts else np.zeros((0, 0), np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != item_table.num_items:
        raise ValueError(f"{type(model).__name__}.item_vectors returned shape {vectors.shape} "
                         f"for {item_table.num_items} items; expected [items, d]")
    return vectors


# One traced item_vectors per model: validation embeds the catalogue every epoch.
_ITEM_VECTOR_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _inference_item_vectors(model):
    if model not in _ITEM_VECTOR_FUNCTIONS:
        _ITEM_VECTOR_FUNCTIONS[model] = tf.function(_ItemVectors(model), reduce_retracing=True)
    return _ITEM_VECTOR_FUNCTIONS[model]


class _ItemVectors:
    """One model's item_vectors in inference mode. An object, not a lambda: TensorFlow counts
    traces per code object, which a lambda shares with every other model's, so the sixth
    model embedded in one process drew a "triggered tf.function retracing" warning."""

    def __init__(self, model):
        self.model_ref = weakref.ref(model)   # the cached function must not keep its key alive

    def __call__(self, items):
        return self.model_ref().item_vectors(items, training=False)
