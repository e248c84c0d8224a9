"""Non-personalised reference points: a seeded random ranking and popularity ranking.

Both are the floor every paper of this project reports against (VBPR, DVBPR Table 2 list
"Random" and "PopRank"); neither is trained by gradient descent.
"""
import numpy as np
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.models.base import Recommender
from tfvisrec.models.registry import register

# 24 random bits fit a float32 mantissa exactly, so every draw is a distinct representable value.
_UNIFORM_BITS = 24


def _broadcast_users(users, item_ids):
    """Users [B] against items [B] or [B, N] → users with the items' shape."""
    users = tf.cast(users, tf.int64)
    item_ids = tf.cast(item_ids, tf.int64)
    if item_ids.shape.rank == users.shape.rank + 1:
        users = tf.broadcast_to(users[:, None], tf.shape(item_ids))
    return users, item_ids


@register("random")
class RandomRecommender(Recommender):
    """Random ranking: x̂(u, i) = U(u, i), one fixed uniform draw in (0, 1) per (user, item).

    The draw is a pure function of (seed, u, i): the FarmHash fingerprint of the three int64
    values, whose first 24 bits scaled to (0, 1) give the score. Scoring the same pair twice,
    in any batch, order or process, gives the same value, so every evaluation protocol sees
    one consistent random ranking per user (expected AUC 0.5).
    """

    factorised = False
    trainable_by_gradient = False

    def score(self, users, items, training=False):
        users, item_ids = _broadcast_users(users, items[schema.ITEM])
        seed = tf.fill(tf.shape(users), tf.constant(int(self.config.seed), tf.int64))
        keys = tf.stack([seed, users, item_ids], axis=-1)
        shape = tf.shape(keys)
        digest = tf.fingerprint(tf.reshape(keys, [-1, 3]))            # uint8 [P, 8]
        high = tf.cast(digest[:, :3], tf.int32)
        bits = high[:, 0] * 65536 + high[:, 1] * 256 + high[:, 2]
        uniform = (tf.cast(bits, tf.float32) + 0.5) / float(2 ** _UNIFORM_BITS)
        return tf.reshape(uniform, shape[:-1])


@register("poprank")
class PopRank(Recommender):
    """Popularity ranking: x̂(u, i) = |U_i^+|, the number of training interactions of item i.

    Factorised as user vector [1] · item vector [popularity], so the catalogue is scored by the
    same matrix product as the latent-factor models. The counts are a non-trainable variable
    filled by `prepare(dataset)` from `dataset.train_count` (saved with checkpoints and exports).
    """

    trainable_by_gradient = False

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        self.popularity = self.add_weight(
            name="popularity", shape=[data_info.num_items], dtype=tf.float32,
            initializer="zeros", trainable=False)

    def prepare(self, dataset):
        counts = np.asarray(dataset.train_count, np.float32)
        if counts.shape != (self.data_info.num_items,):
            raise ValueError(f"train_count has shape {counts.shape}, expected "
                             f"({self.data_info.num_items},) items")
        self.popularity.assign(counts)

    def user_vectors(self, users, training=False):
        return tf.ones(tf.concat([tf.shape(users), [1]], axis=0), tf.float32)

    def item_vectors(self, items, training=False):
        return tf.gather(self.popularity, items[schema.ITEM])[..., None]

    def score(self, users, items, training=False):
        return tf.gather(self.popularity, items[schema.ITEM])
