"""A large per-item matrix (the catalogue's precomputed features) held once in memory, as a
non-trainable variable on the CPU filled block by block.

Why not `tf.constant(array)`: measured on a 0.82 GB `features.npy` (50,000 × 4,096 float32,
`bench/feature_loading_memory.py`), the constant took the matrix three times over at its peak
besides the numpy array it came from: `tf.constant` copies a numpy array twice on its way into
TensorFlow (one copy let go only at the next op), and a tf.data pipeline whose function captures
a tensor gets another for as long as its iterator lives (tf.data's static optimisations rewrite
the dataset's graph with every captured tensor serialised into it by value). A captured variable
goes into that graph as its handle, and rows written into it a block at a time need one block
beside it: the peak is the matrix once (plus `row_blocks.BLOCK_BYTES`).
"""
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf

from tfvisrec.data.row_blocks import Block


def host_matrix(shape: Sequence[int], dtype, blocks: Iterable[Block], name: str):
    """A `dtype` array of `shape` whose rows are `blocks` ((first row, rows) covering every row,
    each converted by `np.asarray(rows, dtype)`), as a non-trainable tf.Variable on the CPU; read
    it with `tf.gather` (`read_value()` would copy it whole).

    Inside a distribution strategy's scope a variable would be mirrored on each of its devices
    (and `scatter_update` would fill one of them): there it is a constant, as it always was."""
    dtype = np.dtype(dtype)
    if tf.distribute.has_strategy():
        matrix = np.zeros(shape, dtype)
        for start, rows in blocks:
            matrix[start:start + len(rows)] = rows
        return tf.constant(matrix)
    with tf.init_scope(), tf.device("/CPU:0"):
        variable = tf.Variable(tf.zeros(shape, dtype), trainable=False, name=name)
        for start, rows in blocks:
            variable.scatter_update(tf.IndexedSlices(np.asarray(rows, dtype),
                                                     tf.range(start, start + len(rows))))
    return variable
