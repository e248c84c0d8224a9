"""Scores of users against the whole catalogue, the input of every evaluation protocol.

Factorising models (x̂(u, i) = user_vectors(u) · item_vectors(i)) embed the catalogue once
per `CatalogueScorer` and score blocks of users by a matrix product. Other models (SAERS
attention, PAN) call `score` on (user, item) pairs, catalogue batch by catalogue batch.
A scorer lives for one evaluation call only: weights change between calls during training.

Time-aware models (`"time"` in `item_feature_keys`) see the time of the evaluated
interaction broadcast over the items scored; factorising ones embed the catalogue once per
distinct time, or once per group of `model.time_groups(times)` when the model says which
times give the same item vectors (TVBPR: one time epoch).

A non-factorising model may offer `score_catalogue(users [b], items {key: [n, ...]})` →
[b, n], scoring users against a catalogue batch without tiling it into pairs.
"""
from typing import Dict, Iterator, Optional, Tuple

import numpy as np
import tensorflow as tf

from tfvisrec.data import schema

# Item keys `models.base.numpy_item_features` provides without an ItemFeatureTable.
_TABLE_FREE_KEYS = (schema.ITEM, schema.CATEGORY, schema.ATTRIBUTES)


class CatalogueScorer:
    """`scorer(users, times)` → float32 [b, num_items]: x̂(u, i) for every item of the catalogue."""

    def __init__(self, model, dataset, item_table=None, catalogue_batch: int = 1024,
                 pair_batch: int = 65536, pair_bytes: int = 256 << 20):
        self.model = model
        self.num_items = dataset.num_items
        keys = tuple(getattr(model, "item_feature_keys", (schema.ITEM,)))
        self.time_aware = schema.TIME in keys
        self.item_keys = tuple(k for k in keys if k != schema.TIME)
        self.factorised = bool(getattr(model, "factorised", True))
        self.catalogue_batch = int(catalogue_batch)
        self.pair_batch = int(pair_batch)
        self.pair_bytes = int(pair_bytes)
        self._dataset = dataset
        self._table = item_table
        self._item_vectors: Dict[Optional[int], np.ndarray] = {}

    def __call__(self, users, times=None) -> np.ndarray:
        users = np.asarray(users, np.int64).reshape(-1)
        if self.time_aware:
            if times is None:
                raise ValueError(f"{type(self.model).__name__} is time-aware: pass the times "
                                 "of the evaluated interactions")
            times = np.asarray(times, np.int64).reshape(-1)
            if times.shape != users.shape:
                raise ValueError(f"{times.size} times for {users.size} users")
        else:
            times = None
        if self.factorised:
            return self._score_factorised(users, times)
        return self._score_pairs(users, times)

    def _score_factorised(self, users, times):
        scores = np.empty((users.size, self.num_items), np.float32)
        if users.size == 0:
            return scores
        for key, time, rows in self._time_groups(times, users.size):
            user_vecs = self.model.user_vectors(tf.constant(users[rows]), training=False)
            scores[rows] = np.asarray(user_vecs, np.float32) @ self._catalogue_vectors(key, time).T
        return scores

    def _time_groups(self, times, count):
        """[(cache key, a representative time, rows)] of the rows sharing item vectors."""
        if times is None:
            return [(None, None, np.arange(count))]
        grouping = getattr(self.model, "time_groups", None)
        keys = times if grouping is None else np.asarray(grouping(times)).reshape(-1)
        groups = []
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            groups.append((int(key), int(times[rows[0]]), rows))
        return groups

    def _catalogue_vectors(self, key, time: Optional[int]) -> np.ndarray:
        """item_vectors over the catalogue at `time`, [num_items, d], computed once per key."""
        if key not in self._item_vectors:
            parts = []
            for ids, features in self._catalogue_batches():
                if time is not None:
                    features = dict(features, **{schema.TIME: tf.fill([ids.size], tf.constant(time, tf.int64))})
                parts.append(np.asarray(self.model.item_vectors(features, training=False), np.float32))
            vectors = np.concatenate(parts, axis=0)
            if vectors.ndim != 2 or vectors.shape[0] != self.num_items:
                raise ValueError(f"{type(self.model).__name__}.item_vectors returned shape "
                                 f"{vectors.shape} for {self.num_items} items; expected [items, d]")
            self._item_vectors[key] = vectors
        return self._item_vectors[key]

    def _score_pairs(self, users, times):
        """score() on every (user, item) pair, users repeated against each catalogue batch."""
        scores = np.empty((users.size, self.num_items), np.float32)
        if users.size == 0:
            return scores
        by_catalogue = getattr(self.model, "score_catalogue", None)
        for ids, features in self._catalogue_batches():
            features = {k: tf.convert_to_tensor(v) for k, v in features.items()}
            if by_catalogue is not None and times is None:
                scores[:, ids] = np.asarray(by_catalogue(tf.constant(users), features), np.float32)
                continue
            width = ids.size
            # Tiled item features (images) must stay within `pair_bytes` per call.
            item_bytes = sum(v.dtype.size * int(np.prod(v.shape[1:])) for v in features.values())
            pairs = min(self.pair_batch, self.pair_bytes // max(1, item_bytes))
            chunk = max(1, pairs // width)
            for start in range(0, users.size, chunk):
                block = slice(start, min(start + chunk, users.size))
                repeats = block.stop - block.start
                pair_users = tf.constant(np.repeat(users[block], width))
                pair_items = {k: _tile_rows(v, repeats) for k, v in features.items()}
                if times is not None:
                    pair_items[schema.TIME] = tf.constant(np.repeat(times[block], width))
                flat = np.asarray(self.model.score(pair_users, pair_items, training=False), np.float32)
                scores[block, ids] = flat.reshape(repeats, width)
        return scores

    def _catalogue_batches(self) -> Iterator[Tuple[np.ndarray, Dict[str, tf.Tensor]]]:
        if self._table is None and not set(self.item_keys) <= set(_TABLE_FREE_KEYS):
            from tfvisrec.data.item_features import ItemFeatureTable
            config = getattr(self.model, "config", None)
            self._table = ItemFeatureTable(
                self._dataset, self.item_keys, image_size=getattr(config, "image_size", 64),
                features_file=getattr(config, "features_file", ""))
        if self._table is not None:
            yield from self._table.catalogue_batches(self.catalogue_batch)
            return
        from tfvisrec.models.base import numpy_item_features
        columns = numpy_item_features(self._dataset, self.item_keys)
        for start in range(0, self.num_items, self.catalogue_batch):
            ids = np.arange(start, min(start + self.catalogue_batch, self.num_items), dtype=np.int64)
            yield ids, {k: tf.constant(v[ids]) for k, v in columns.items()}


def _tile_rows(values, repeats: int):
    """[c, ...] → [repeats * c, ...]: the whole batch `repeats` times, in order."""
    values = tf.convert_to_tensor(values)
    multiples = tf.concat([[repeats], tf.ones([tf.rank(values) - 1], tf.int32)], axis=0)
    return tf.tile(values, multiples)


def score_users(model, dataset, users, item_table=None, times=None) -> np.ndarray:
    """x̂(u, i) for `users` [b] against every item → float32 [b, num_items].

    `times` [b] (the evaluated interactions' times) are required by time-aware models.
    """
    return CatalogueScorer(model, dataset, item_table=item_table)(users, times)
