"""Rows (or columns) of a served variable, read without switching it to copy-on-read.

A sparse read of a resource variable (`tf.gather(variable, index)` = ResourceGather) puts the
variable in *copy-on-read* mode for the rest of the process (EnsureSparseVariableAccess,
tensorflow/core/kernels/training_op_helpers.h); from then on every dense read of it
(ReadVariableOp, tensorflow/core/kernels/resource_variable_ops.cc) copies the whole tensor.
One `score` request (or the warmup's) gathering catalogue rows therefore made every later
`recommend`, whose matmul reads the catalogue densely, copy it: 25.6 MB for 100k × 64 floats,
2.6 → 5.7 ms of CPU per call (bench/serving_load.py, README "Serving"). A dense read shares the
variable's buffer, so reading densely and then gathering costs nothing extra.
"""
import tensorflow as tf


def dense_gather(table, index, axis: int = 0):
    """`tf.gather(table, index, axis=axis)` through a dense read of `table` (module docstring)."""
    return tf.gather(tf.convert_to_tensor(table), index, axis=axis)
