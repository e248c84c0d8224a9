"""`tables.dense_gather` reads a served variable without switching it to copy-on-read."""
import numpy as np

import tfvisrec  # noqa: F401
import tensorflow as tf

from tfvisrec.serving.tables import dense_gather


def copies_on_read(variable) -> bool:
    """True when a dense read of `variable` copies it (copy-on-read mode, serving/tables.py):
    two dense reads then hold two buffers instead of sharing the variable's."""
    first, second = variable.value(), variable.value()
    return not np.shares_memory(np.from_dlpack(first), np.from_dlpack(second))


def test_dense_gather_keeps_dense_reads_free_where_a_sparse_gather_does_not():
    values = np.arange(40, dtype=np.float32).reshape(10, 4)
    dense, sparse = tf.Variable(values), tf.Variable(values)
    index = tf.constant([3, 0, 3])
    gather = tf.function(lambda: (dense_gather(dense, index), tf.gather(sparse, index)))
    by_dense_read, by_resource_gather = gather()
    np.testing.assert_array_equal(by_dense_read.numpy(), values[[3, 0, 3]])
    np.testing.assert_array_equal(by_resource_gather.numpy(), values[[3, 0, 3]])
    assert not copies_on_read(dense)
    assert copies_on_read(sparse)  # the premise: TensorFlow's ResourceGather switches the mode
