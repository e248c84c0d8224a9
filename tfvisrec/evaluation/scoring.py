"""Scores of users against the whole catalogue, the input of every evaluation protocol.

Factorising models (x̂(u, i) = user_vectors(u) · item_vectors(i)) embed the catalogue once
per `CatalogueScorer` (`evaluation.embedding`, shared with serving) and score blocks of users
by a matrix product. Other models (SAERS attention, PAN) score catalogue batch by catalogue
batch through their `score_catalogue` hook (`models/base.py`), on the batch's item half
embedded once (`embed_catalogue_items`), with blocks of users sized so the tiled pairs stay
within a memory budget. A scorer lives for one evaluation call only:
weights change between calls during training.

Time-aware models (`"time"` in `item_feature_keys`) see the time of the evaluated
interaction; factorising ones embed the catalogue once per group of `model.time_groups(times)`
(times with the same item vectors, e.g. one TVBPR time epoch).
"""
from typing import Dict, Iterator, Optional, Tuple

import numpy as np
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.evaluation.embedding import embed_catalogue


class CatalogueScorer:
    """`scorer(users, times)` → float32 [b, num_items]: x̂(u, i) for every item of the catalogue."""

    def __init__(self, model, dataset, item_table=None, catalogue_batch: int = 1024,
                 pair_batch: int = 65536, pair_bytes: int = 256 << 20):
        self.model = model
        self.num_items = dataset.num_items
        self.time_aware = schema.TIME in model.item_feature_keys
        self.catalogue_batch = int(catalogue_batch)
        self.pair_batch = int(pair_batch)
        self.pair_bytes = int(pair_bytes)
        self._dataset = dataset
        self._table = item_table
        self._item_vectors: Dict[int, np.ndarray] = {}

    @property
    def table(self) -> ItemFeatureTable:
        if self._table is None:
            self._table = ItemFeatureTable.for_model(self.model, self._dataset)
        return self._table

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
        if self.model.factorised:
            return self._score_factorised(users, times)
        return self._score_by_catalogue(users, times)

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
        keys = np.asarray(self.model.time_groups(times)).reshape(-1)
        groups = []
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            groups.append((int(key), int(times[rows[0]]), rows))
        return groups

    def _catalogue_vectors(self, key, time: Optional[int]) -> np.ndarray:
        if key not in self._item_vectors:
            self._item_vectors[key] = embed_catalogue(self.model, self.table, time,
                                                      self.catalogue_batch)
        return self._item_vectors[key]

    def _score_by_catalogue(self, users, times):
        """score_catalogue on blocks of users × catalogue batches, tiled pairs within budget."""
        scores = np.empty((users.size, self.num_items), np.float32)
        if users.size == 0:
            return scores
        for ids, features in self._catalogue_batches():
            width = ids.size
            features = self.model.embed_catalogue_items(features)
            item_bytes = sum(v.dtype.size * int(np.prod(v.shape[1:])) for v in features.values())
            pairs = min(self.pair_batch, self.pair_bytes // max(1, item_bytes))
            chunk = max(1, pairs // width)
            for start in range(0, users.size, chunk):
                block = slice(start, min(start + chunk, users.size))
                block_times = None if times is None else tf.constant(times[block])
                scores[block, ids] = np.asarray(self.model.score_catalogue(
                    tf.constant(users[block]), features, block_times), np.float32)
        return scores

    def _catalogue_batches(self) -> Iterator[Tuple[np.ndarray, Dict[str, tf.Tensor]]]:
        yield from self.table.catalogue_batches(self.catalogue_batch)


def score_users(model, dataset, users, item_table=None, times=None) -> np.ndarray:
    """x̂(u, i) for `users` [b] against every item → float32 [b, num_items].

    `times` [b] (the evaluated interactions' times) are required by time-aware models.
    """
    return CatalogueScorer(model, dataset, item_table=item_table)(users, times)
