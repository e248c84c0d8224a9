"""The `tf.Module` exported for one trained model: model + id tables + pre-embedded catalogue.

Signatures speak raw string ids (the dataset vocabularies) at the edge and dense indices
inside. What this module decides, once, for every signature:

- **unknown ids** (a user or item not in the training vocabulary) fail the request with
  INVALID_ARGUMENT naming the ids; there is no silent fallback;
- **empty batches** fail with INVALID_ARGUMENT (TF Serving batching needs rows), and so do
  inputs of one request with different numbers of rows (`same_rows`);
- **time-aware models** are served as of `as_of` (default: the latest training time);
- **top-K**: K is fixed at export (`top_k`, at most the catalogue size); each request asks for
  k <= K per row; the output has max(k) columns, and entries beyond a row's k, or items
  excluded as already seen, carry item id "" and score -inf. The top-K is exact
  (`top_k.exact_top_k`: by block maxima over a large catalogue, else `tf.math.top_k`).

The graph helpers below are what signature builders (`signatures.py`) compose.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import tensorflow as tf

from tfvisrec.data import images as image_ops
from tfvisrec.data import schema
from tfvisrec.map_fn import map_fn
from tfvisrec.models import base
from tfvisrec.serving import catalogue
from tfvisrec.serving.tables import dense_gather
from tfvisrec.serving.top_k import exact_top_k

NEG_INF = float("-inf")


def _id_table(ids: Sequence[str], name: str) -> tf.lookup.StaticHashTable:
    keys = tf.constant(list(ids), tf.string)
    values = tf.range(len(ids), dtype=tf.int64)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values),
                                     default_value=-1, name=name)


class Servable(tf.Module):
    """Everything a SavedModel of a trained recommender holds, besides its signatures.

    Built from an in-memory model and its `Dataset`: the catalogue is embedded once here
    (`catalogue.embed_catalogue`), so serving a factorising model is x̂(u, ·) = U_u · Vᵀ
    followed by top-K. Vᵀ is stored as such ([D, items], `catalogue_columns`): a plain matmul
    against it costs less CPU than `matmul(U, V, transpose_b=True)` for batched requests
    (32 users: 18 -> 7.6 ms for the product alone, 16.5 -> 11.7 ms with the top-K in
    bench/serving_top_k.py) and the same for one.
    """

    def __init__(self, model, dataset, top_k: int = 100, exclude_seen: bool = True,
                 batch_size: int = 256, as_of: Optional[int] = None, design=None,
                 explain_classifier=None, feature_backbone=None):
        super().__init__(name="servable")
        # DVBPR's design half (`generate`, `tailor`): a `DesignExport` with the GAN and its settings
        self.design = design
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        self.model = model
        self.item_feature_keys = tuple(model.item_feature_keys)
        self.factorised = bool(model.factorised)
        self.image_size = model.image_size if schema.IMAGE in self.item_feature_keys else 0
        self.catalogue_state = model.catalogue_state
        if self.catalogue_state not in (base.VECTORS, base.FEATURES):
            raise ValueError(f"{type(model).__name__}.catalogue_state must be {base.VECTORS!r} "
                             f"or {base.FEATURES!r}, not {self.catalogue_state!r}")
        self.num_users = dataset.num_users
        self.num_items = dataset.num_items
        self.num_attributes = int(dataset.attributes.shape[1]) if dataset.attributes.ndim == 2 else 0
        self.top_k = min(int(top_k), dataset.num_items)
        self.exclude_seen = bool(exclude_seen)
        self.as_of = catalogue.latest_time(dataset) if as_of is None else int(as_of)
        self.user_table = _id_table(dataset.user_ids, "user_ids")
        self.item_table = _id_table(dataset.item_ids, "item_ids")
        self.item_ids = tf.Variable(np.array(dataset.item_ids, dtype=object), trainable=False,
                                    dtype=tf.string, name="item_id_by_index")
        self.catalogue_columns = None
        self.catalogue_features = {}
        if self.has_catalogue:
            if self.catalogue_state == base.VECTORS:
                vectors = catalogue.embed_catalogue(model, dataset, self.as_of, batch_size)
                self.catalogue_columns = tf.Variable(np.ascontiguousarray(np.transpose(vectors)),
                                                     trainable=False, name="catalogue_columns")
            else:
                self.catalogue_features = self._stored_item_features(model, dataset)
        self.explanation = None
        if "explain" in model.extra_signatures:
            from tfvisrec.serving.explanation import ExplanationTables
            self.explanation = ExplanationTables(model, dataset, explain_classifier)
        elif explain_classifier is not None:
            raise ValueError(f"{model.registered_name} does not explain; it cannot serve explain_images")
        # outfit models: the backbone of their item feature maps (`vision.photo_maps`), for photos
        self.outfit_photos = None
        if feature_backbone is not None:
            source = model.feature_maps_source
            if source is None:
                raise ValueError(f"{model.registered_name} reads no feature maps; it cannot serve outfit_score_images")
            feature_backbone.require_shape(source.shape, source.path or None)
            self.outfit_photos = feature_backbone
        if self.exclude_seen:
            values, row_splits = catalogue.seen_items(dataset)
            self.seen_values = tf.Variable(values, trainable=False, name="seen_items")
            self.seen_row_splits = tf.Variable(row_splits, trainable=False, name="seen_row_splits")

    def _stored_item_features(self, model, dataset) -> Dict[str, tf.Variable]:
        """The catalogue's item features, each stored once: the model's own variable where it
        holds one (`Recommender.catalogue_table`: VisRank max pooling's unit features, which
        it saves anyway), else a variable of the dataset's features."""
        held = {key: model.catalogue_table(key) for key in model.item_feature_keys}
        held = {key: table for key, table in held.items() if table is not None}
        specs = model.item_feature_specs()
        for key, table in held.items():
            expected = [self.num_items, *specs[key].shape]
            if table.shape.as_list() != expected or table.dtype != specs[key].dtype:
                raise ValueError(f"{type(model).__name__}.catalogue_table({key!r}) is {table.dtype.name} "
                                 f"{table.shape.as_list()}, not {specs[key].dtype.name} {expected}")
        read = catalogue.item_features(model, dataset, self.as_of, skip=tuple(held))
        stored = {key: tf.Variable(value, trainable=False, name=f"catalogue_{key}")
                  for key, value in read.items()}
        return {**stored, **held}

    # ---- capabilities (what signature builders test in `applies`) -----------------------
    @property
    def has_catalogue(self) -> bool:
        """Can score any catalogue item: its item features can all be precomputed (outfit
        models score outfits, not items)."""
        return set(self.item_feature_keys) <= catalogue.CATALOGUE_KEYS and not self.model.scores_outfits

    @property
    def accepts_images(self) -> bool:
        """Can score new items from their image alone (cold start)."""
        keys = set(self.item_feature_keys)
        return (schema.IMAGE in keys and keys <= catalogue.COLD_START_KEYS
                and self.image_size > 0)

    # ---- id handling ---------------------------------------------------------------------
    def user_index(self, user_ids):
        """Raw user ids [...] -> indices; INVALID_ARGUMENT naming unknown ids."""
        return self._lookup(self.user_table, user_ids, "user")

    def item_index(self, item_ids):
        return self._lookup(self.item_table, item_ids, "item")

    @staticmethod
    def _lookup(table, ids, kind):
        index = table.lookup(ids)
        unknown = index < 0
        check = tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(unknown)),
            [f"unknown {kind} id(s), not in the training vocabulary:",
             tf.strings.join(['"', tf.boolean_mask(ids, unknown), '"'])], summarize=10)   # "" shows
        with tf.control_dependencies([check]):
            return tf.identity(index)

    @staticmethod
    def require_rows(tensor, name: str):
        """`tensor` unchanged, after checking its batch dimension is not empty."""
        check = tf.debugging.Assert(
            tf.shape(tensor)[0] > 0,
            [f"input '{name}' has an empty batch (0th) dimension; send at least one row"])
        with tf.control_dependencies([check]):
            return tf.identity(tensor)

    @staticmethod
    def same_rows(**inputs):
        """The inputs unchanged, in order, after checking that each has as many rows as the
        first and that it has some (INVALID_ARGUMENT naming them otherwise)."""
        first = next(iter(inputs))
        rows = tf.stack([tf.shape(value)[0] for value in inputs.values()])
        check = tf.debugging.Assert(
            tf.reduce_all(tf.equal(rows, rows[0])),
            [f"inputs {', '.join(inputs)} must have the same number of rows; got", rows])
        with tf.control_dependencies([check]):
            return [Servable.require_rows(inputs[first], first)] + [
                tf.identity(value) for name, value in inputs.items() if name != first]

    # ---- scoring -------------------------------------------------------------------------
    def user_vectors(self, user_index):
        return self.model.user_vectors(user_index, training=False)

    def catalogue_scores(self, user_index):
        """x̂(u, i) for every catalogue item: [B, num_items]."""
        if self.catalogue_state == base.VECTORS:
            return tf.matmul(self.user_vectors(user_index), self.catalogue_columns)
        features = self.catalogue_item_features()
        features.pop(schema.TIME, None)
        features = self.model.embed_catalogue_items(features)
        times = None
        if schema.TIME in self.item_feature_keys:
            times = tf.fill([1], tf.constant(self.as_of, tf.int64))

        def one_user(u):
            scores = self.model.score_catalogue(u[tf.newaxis], features, times)
            return tf.cast(scores[0], tf.float32)

        return map_fn(one_user, user_index, fn_output_signature=tf.float32)

    def catalogue_item_features(self, item_index=None):
        """The stored item features of `item_index` (all items when None), images in [-1, 1]."""
        out = {}
        for key, table in self.catalogue_features.items():
            value = table if item_index is None else dense_gather(table, item_index)
            out[key] = image_ops.normalise(value) if key == schema.IMAGE else value
        return out

    def pair_scores(self, user_index, item_index):
        """x̂(u_b, i_bn) for users [B] and catalogue items [B, N]: [B, N]."""
        if self.catalogue_state == base.VECTORS:
            columns = dense_gather(self.catalogue_columns, item_index, axis=1)
            return tf.einsum("bd,dbn->bn", self.user_vectors(user_index), columns)
        features = self.catalogue_item_features(tf.reshape(item_index, [-1]))
        return self._score_flat(user_index, tf.shape(item_index), features)

    def image_scores(self, user_index, jpeg_bytes):
        """x̂(u_b, new item from image_bn) for users [B] and encoded images [B, N]: [B, N]."""
        features = self.cold_item_features(tf.reshape(jpeg_bytes, [-1]))
        if self.factorised:
            vectors = self.model.item_vectors(features, training=False)
            vectors = tf.reshape(vectors, tf.concat([tf.shape(jpeg_bytes), [-1]], 0))
            return tf.einsum("bd,bnd->bn", self.user_vectors(user_index), vectors)
        return self._score_flat(user_index, tf.shape(jpeg_bytes), features)

    def cold_item_features(self, jpeg_bytes):
        return catalogue.cold_item_features(self.item_feature_keys, jpeg_bytes, self.image_size,
                                            self.num_attributes, self.as_of)

    def _score_flat(self, user_index, shape, features):
        users = tf.repeat(user_index, shape[1])
        scores = self.model.score(users, features, training=False)
        return tf.reshape(tf.cast(scores, tf.float32), shape)

    # ---- top-K ---------------------------------------------------------------------------
    def top_items(self, scores, user_index, k) -> Dict[str, tf.Tensor]:
        """Top-k item ids and scores per row of `scores` [B, num_items] (see module doc)."""
        k = tf.cast(k, tf.int32)
        check = tf.debugging.Assert(
            tf.reduce_all((k >= 1) & (k <= self.top_k)),
            [f"k must be between 1 and K={self.top_k} (fixed at export); got", k], summarize=10)
        with tf.control_dependencies([check]):
            k = tf.identity(k)
        if self.exclude_seen:
            scores = self._mask_seen(scores, user_index)
        values, indices = exact_top_k(scores, self.top_k)
        k_max = tf.reduce_max(k)
        values, indices = values[:, :k_max], indices[:, :k_max]
        in_k = tf.range(k_max)[tf.newaxis, :] < k[:, tf.newaxis]
        valid = in_k & (values > NEG_INF)
        return {
            "item_ids": tf.where(valid, dense_gather(self.item_ids, indices), ""),
            "scores": tf.where(valid, values, NEG_INF),
        }

    def _mask_seen(self, scores, user_index):
        seen = tf.RaggedTensor.from_row_splits(self.seen_values, self.seen_row_splits,
                                               validate=False)
        rows = tf.gather(seen, user_index)
        positions = tf.stack([rows.value_rowids(), rows.values], axis=1)
        return tf.tensor_scatter_nd_update(
            scores, positions, tf.fill([tf.shape(positions)[0]], tf.constant(NEG_INF, scores.dtype)))
