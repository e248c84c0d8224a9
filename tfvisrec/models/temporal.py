"""Time epochs: the training period cut into `time_epochs` spans at quantiles of its timestamps.

TVBPR (He & McAuley 2016b, "Ups and Downs") lets visual parameters take one value per
time epoch rather than one per second. The paper splits its 11 years of Amazon reviews into
epochs with (roughly) equal numbers of interactions; here the boundaries are the quantiles
k/T (k = 1 … T−1) of the training timestamps, so every epoch holds about 1/T of the training
interactions. The boundaries live in a non-trainable weight: they are saved with checkpoints
and exports, and a restored model maps times to the epochs it was trained with.
"""
import numpy as np
import tensorflow as tf
import tf_keras as keras

from tfvisrec.data import schema
from tfvisrec.data.errors import DataError


def epoch_boundaries(times, num_epochs: int) -> np.ndarray:
    """int64 [num_epochs − 1]: the k/T quantiles (k = 1 … T−1) of the known times (≥ 0)."""
    times = np.asarray(times, np.int64).reshape(-1)
    known = times[times != schema.NO_TIME]
    if known.size == 0:
        raise DataError("no interaction has a timestamp; temporal models need them "
                        "(a timestamp column in interactions.csv)")
    quantiles = np.arange(1, num_epochs, dtype=np.float64) / num_epochs
    return np.quantile(known.astype(np.float64), quantiles).round().astype(np.int64)


class TimeEpochs(keras.layers.Layer):
    """Unix seconds → epoch index in [0, T): the number of boundaries ≤ t.

    A time before the first boundary falls in epoch 0, one after the last in epoch T − 1.
    An unknown time (`schema.NO_TIME`, e.g. a serving request without a date) is read as
    "now", the last epoch.
    """

    def __init__(self, num_epochs: int, **kwargs):
        super().__init__(name=kwargs.pop("name", "time_epochs"), **kwargs)
        if int(num_epochs) < 1:
            raise ValueError(f"time_epochs must be at least 1, got {num_epochs}")
        self.num_epochs = int(num_epochs)
        self.boundaries = self.add_weight(
            name="boundaries", shape=[self.num_epochs - 1], dtype=tf.int64,
            initializer="zeros", trainable=False)

    def fit(self, times) -> np.ndarray:
        """Set the boundaries from training timestamps; returns them."""
        boundaries = epoch_boundaries(times, self.num_epochs)
        self.boundaries.assign(boundaries)
        return boundaries

    def call(self, times):
        times = tf.cast(tf.convert_to_tensor(times), tf.int64)
        flat = tf.reshape(times, [1, -1])
        epochs = tf.searchsorted(self.boundaries[None, :], flat, side="right", out_type=tf.int32)
        epochs = tf.reshape(epochs, tf.shape(times))
        return tf.where(times == schema.NO_TIME, self.num_epochs - 1, epochs)

    def one_hot(self, times):
        """float32 [..., T]: the epoch of each time as a one-hot row."""
        return tf.one_hot(self(times), self.num_epochs, dtype=tf.float32)
