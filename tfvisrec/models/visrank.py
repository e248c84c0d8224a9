"""VisRank: rank items by visual similarity to what the user bought (no gradient training).

The content-based baseline of the visual papers (VisRank in DVBPR, Kang et al. 2017): with
unit features f̂ = f / ‖f‖ and I_u⁺ the user's training items,

    mean pooling:  x̂(u, i) = 1/|I_u⁺| Σ_{j ∈ I_u⁺} cos(f_i, f_j) = p_uᵀ f̂_i,  p_u = mean_j f̂_j
    max pooling:   x̂(u, i) = max_{j ∈ I_u⁺} cos(f_i, f_j)

Mean pooling factorises (user profile p_u · item f̂_i); max pooling does not, and scores
(user, item) pairs against the user's stored item list. Profiles and lists are computed in
`prepare(dataset)` from the training split and kept in non-trainable weights, so checkpoints
and exports carry them. A user without training items scores 0 everywhere.
"""
import dataclasses

import numpy as np
import tensorflow as tf

from tfvisrec.config import ModelConfig, field
from tfvisrec.data import schema
from tfvisrec.data.row_blocks import rows_per_block
from tfvisrec.map_fn import map_fn
from tfvisrec.models import hyperparameters as hp
from tfvisrec.models.base import Recommender
from tfvisrec.models.registry import register
from tfvisrec.models.vbpr import required_feature_dim, unit_rows

POOLINGS = ("mean", "max")
# Max pooling gathers [pairs, items per user, F] floats in chunks of at most this many.
_CHUNK_ELEMENTS = 1 << 22
_ALIGN_ROWS = 64   # see `_unit_blocks`: a multiple of any CPU's packet of float32s


@dataclasses.dataclass
class VisRankConfig(ModelConfig):
    """VisRank (no trained parameters)."""

    features_file: str = hp.features_file()
    visrank_pooling: str = field("mean", "VisRank: pool the cosine similarities to the user's items by mean | max.")


@register("visrank")
class VisRank(Recommender):
    """x̂(u, i) = mean (or max, `--visrank_pooling`) cosine similarity of f_i to the user's
    training items' features (see the module docstring)."""

    item_feature_keys = (schema.ITEM, schema.FEATURES)
    config_class = VisRankConfig
    trainable_by_gradient = False

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        self.feature_dim = required_feature_dim(data_info, self.registered_name)
        self.pooling = str(config.visrank_pooling)
        if self.pooling not in POOLINGS:
            raise ValueError(f"visrank_pooling must be one of {POOLINGS}, got {self.pooling!r}")
        self.factorised = self.pooling == "mean"
        if self.factorised:
            self.user_profiles = self.add_weight(
                name="user_profiles", shape=[data_info.num_users, self.feature_dim],
                dtype=tf.float32, initializer="zeros", trainable=False)
        else:
            self.unit_features = self.add_weight(
                name="unit_features", shape=[data_info.num_items, self.feature_dim],
                dtype=tf.float32, initializer="zeros", trainable=False)
            self.user_items = None   # [users, most items per user], −1 padded; set by prepare

    def prepare(self, dataset):
        from tfvisrec.data.item_features import ItemFeatureTable
        table = ItemFeatureTable.for_model(self, dataset, keys=(schema.FEATURES,))
        # f̂ a block of rows at a time: the whole catalogue's f̂ at once (and its way into the
        # weight as a numpy array) held the features several times over
        blocks = _unit_blocks(table.matrix(schema.FEATURES), dataset.num_items, self.feature_dim)
        bought = dataset.user_items(("train",))
        if self.factorised:
            self._fill_profiles(blocks, bought)
            return
        for rows, unit in blocks:
            self.unit_features.scatter_update(tf.IndexedSlices(unit, rows))
        width = max(1, max((items.size for items in bought), default=0))
        padded = np.full((dataset.num_users, width), -1, np.int64)
        for u, items in enumerate(bought):
            padded[u, :items.size] = items
        self.user_items = tf.Variable(padded, trainable=False, name="user_items")

    def _fill_profiles(self, blocks, bought):
        """p_u = mean_j f̂_j over each user's training items `bought`, from the catalogue's f̂
        a block at a time: the sum adds a user's items in their order, as `np.mean` does."""
        sizes = np.array([items.size for items in bought], np.int64)
        users = np.repeat(np.arange(len(bought), dtype=np.int64), sizes)
        items = np.concatenate(bought).astype(np.int64) if bought else np.zeros(0, np.int64)
        order = np.argsort(items, kind="stable")     # by item; a user's items stay in order
        users, items = users[order], items[order]
        sums = np.zeros((len(bought), self.feature_dim), np.float32)
        for rows, unit in blocks:
            lo, hi = np.searchsorted(items, [int(rows[0]), int(rows[-1]) + 1])
            np.add.at(sums, users[lo:hi], unit.numpy()[items[lo:hi] - int(rows[0])])
        bought_any = sizes > 0
        sums[bought_any] /= sizes[bought_any, None]
        step = rows_per_block(sums.shape, np.float32)
        for start in range(0, len(sums), step):
            block = tf.range(start, min(start + step, len(sums)))
            self.user_profiles.scatter_update(tf.IndexedSlices(sums[start:start + step], block))

    def catalogue_table(self, key):
        """Max pooling: the servable stores `unit_features` as the catalogue's features (f̂
        scores as f does: `score` normalises its input; a row of ‖f‖ below 1e-6, which
        `unit_rows` leaves shorter than 1, would score as a unit row), not a second copy."""
        if key == schema.FEATURES and not self.factorised:
            return self.unit_features
        return None

    def _unit_table(self):
        """`unit_features` read densely: gathering rows of the variable itself would switch it
        to copy-on-read, and every dense read of it by the servable would then copy it whole."""
        return tf.convert_to_tensor(self.unit_features)

    def user_vectors(self, users, training=False):
        if not self.factorised:
            return super().user_vectors(users, training)
        return tf.gather(self.user_profiles, users)

    def item_vectors(self, items, training=False):
        if not self.factorised:
            return super().item_vectors(items, training)
        return unit_rows(items[schema.FEATURES])

    def score(self, users, items, training=False):
        """x̂(u, i) for users [B] and items [B] (→ [B]) or [B, N] (→ [B, N])."""
        unit = unit_rows(items[schema.FEATURES])
        users = tf.convert_to_tensor(users)
        if unit.shape.rank == users.shape.rank + 2:
            users = tf.broadcast_to(users[:, None], tf.shape(unit)[:-1])
        if self.factorised:
            return tf.reduce_sum(tf.gather(self.user_profiles, users) * unit, axis=-1)
        flat = self._max_similarity(tf.reshape(users, [-1]), tf.reshape(unit, [-1, self.feature_dim]))
        return tf.reshape(flat, tf.shape(users))

    def score_catalogue(self, users, items, times=None):
        """x̂(u, i) for users [B] against a catalogue batch items [N] → [B, N].

        Evaluation's fast path: per block of users one matrix product of their bought
        items' features [b·M, F] with the batch's [F, N], then the max over each user's M.
        """
        unit = unit_rows(items[schema.FEATURES])
        if self.factorised:
            return tf.matmul(tf.gather(self.user_profiles, users), unit, transpose_b=True)
        if self.user_items is None:
            raise ValueError("visrank (max pooling) has no user items yet: call prepare(dataset)")
        width = int(self.user_items.shape[1])
        block = max(1, _CHUNK_ELEMENTS // (width * max(1, int(unit.shape[0]))))
        parts = [self._max_over_bought(users[start:start + block], unit)
                 for start in range(0, int(users.shape[0]), block)]
        return tf.concat(parts, axis=0) if parts else tf.zeros([0, tf.shape(unit)[0]])

    @tf.function(reduce_retracing=True)
    def _max_over_bought(self, users, unit):
        bought = tf.gather(self.user_items, users)                                    # [b, M]
        neighbours = tf.gather(self._unit_table(), tf.maximum(bought, 0))             # [b, M, F]
        similarity = tf.einsum("bmf,nf->bmn", neighbours, unit)
        best = tf.reduce_max(tf.where((bought >= 0)[..., None], similarity, -np.inf), axis=1)
        return tf.where(tf.math.is_finite(best), best, 0.0)

    def _max_similarity(self, users, unit):
        """max_{j ∈ I_u⁺} f̂_jᵀ f̂_i for pairs users [P], unit item features [P, F], in chunks."""
        if self.user_items is None:
            raise ValueError("visrank (max pooling) has no user items yet: call prepare(dataset)")
        width = int(self.user_items.shape[1])
        chunk = max(1, _CHUNK_ELEMENTS // (width * self.feature_dim))
        count = tf.shape(users)[0]
        padding = (chunk - count % chunk) % chunk
        users = tf.reshape(tf.pad(users, [[0, padding]]), [-1, chunk])
        unit = tf.reshape(tf.pad(unit, [[0, padding], [0, 0]]), [-1, chunk, self.feature_dim])
        table = self._unit_table()

        def one_chunk(args):
            chunk_users, chunk_unit = args
            bought = tf.gather(self.user_items, chunk_users)                       # [C, M]
            neighbours = tf.gather(table, tf.maximum(bought, 0))                   # [C, M, F]
            similarity = tf.einsum("cmf,cf->cm", neighbours, chunk_unit)
            best = tf.reduce_max(tf.where(bought >= 0, similarity, -np.inf), axis=-1)
            return tf.where(tf.math.is_finite(best), best, 0.0)

        scores = map_fn(one_chunk, (users, unit), fn_output_signature=tf.float32)
        return tf.reshape(scores, [-1])[:count]


def _unit_blocks(features, num_items: int, feature_dim: int):
    """(row ids, f̂ of those rows) of the [num_items, F] `features` (a `host_matrix`), in
    consecutive blocks of about `row_blocks.BLOCK_BYTES`.

    A block's row count is a multiple of `_ALIGN_ROWS`, so that every row is normalised by the
    same instructions as when the whole catalogue was normalised at once: Eigen's vectorised
    rsqrt rounds differently from its scalar one, which takes the rows after the last full
    packet of a batch; with aligned blocks those are the same rows, and f̂ the same numbers."""
    step = rows_per_block((num_items, feature_dim), np.float32)
    step = max(_ALIGN_ROWS, step // _ALIGN_ROWS * _ALIGN_ROWS)
    for start in range(0, num_items, step):
        rows = tf.range(start, min(start + step, num_items))
        yield rows, unit_rows(tf.gather(features, rows))
