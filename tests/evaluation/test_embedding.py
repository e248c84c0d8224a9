"""The catalogue embedding (`tfvisrec.evaluation.embedding`): one traced item_vectors per model."""
import numpy as np

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.evaluation import embedding


class _ScaledIds:
    """item_vectors(i) = [k · i]: a model whose vectors tell which model made them."""

    def __init__(self, k):
        self.k = k

    def item_vectors(self, items, training=False):
        return tf.cast(items["item"], tf.float32)[:, None] * self.k


class _Catalogue:
    num_items = 5

    def catalogue_batches(self, batch_size):
        for start in range(0, self.num_items, batch_size):
            ids = np.arange(start, min(start + batch_size, self.num_items))
            yield ids, {"item": tf.constant(ids)}


def test_each_model_gets_its_own_vectors_and_many_models_draw_no_retracing_warning(tensorflow_log):
    """Ten models embedded in one process (a demo, a bench table): each its own numbers, and no
    "triggered tf.function retracing" warning, which TensorFlow gave from the sixth model on
    when every model's function was a lambda of one line (traces are counted per code object)."""
    for k in range(10):
        vectors = embedding.embed_catalogue(_ScaledIds(k), _Catalogue(), batch_size=2)
        np.testing.assert_array_equal(vectors, k * np.arange(5, dtype=np.float32)[:, None])
    assert not [r for r in tensorflow_log if "retracing" in r.getMessage()], [r.getMessage() for r in tensorflow_log]
