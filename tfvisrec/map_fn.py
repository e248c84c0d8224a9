"""`tf.map_fn` that leaves TensorFlow's global variable scope as it found it when `fn` raises.

`tf.map_fn` sets the variable scope's caching device (to each op's device) while it builds
`fn`, and resets it only after a build that succeeded. An exception from `fn` (an export
refusing a model that scores no users, raised while its signature is traced) left the caching
device set in the process's one variable scope, which graphs inside `tf.function` share, and
from then on every `tf.distribute` scope entered in that process failed with "Caching devices
is not yet supported when eager execution is enabled", itself leaving the strategy half entered.
"""
import tensorflow as tf


def map_fn(fn, elems, **kwargs):
    """`tf.map_fn(fn, elems, **kwargs)`; on an exception, the variable scope's caching device is
    put back before it propagates."""
    scope = tf.compat.v1.get_variable_scope()
    caching_device = scope.caching_device
    try:
        return tf.map_fn(fn, elems, **kwargs)
    except BaseException:
        scope.set_caching_device(caching_device)
        raise
