"""The interface every recommender honours (see ../shared/DESIGN.md, "Interfaces").

A model is a `tf_keras.Model` that scores aligned (user, item) pairs:

    score(users, items) -> x̂(u, i)         users: int [B]; items: dict of item features [B, ...]

Factorising models also expose `user_vectors(users)` and `item_vectors(items)` with
x̂(u, i) = user_vectors(u) · item_vectors(i), so the catalogue is embedded once and top-K
is a matrix product. Training calls `compute_loss(batch)` from the one shared loop.

A training batch is `{"user": [B], "pos": {item features [B]}, "neg": {item features [B]}}`
(item features `[B, N]` when `num_negatives` N > 1), plus `"time": [B]` when the dataset has
timestamps. Item features are keyed as in `tfvisrec.data.schema` (`item`, `image`,
`category`, `attributes`, `features`, `time`); a model lists the ones it needs in
`item_feature_keys` and the pipelines attach exactly those.
"""
import dataclasses
from typing import Dict, Tuple

import numpy as np
import tensorflow as tf
import tf_keras as keras

from tfvisrec.data import schema


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What a model may know about the data when it is built (sizes, vocabularies)."""

    num_users: int
    num_items: int
    num_categories: int = 0
    attribute_cardinalities: Tuple[int, ...] = ()
    has_time: bool = False
    time_range: Tuple[int, int] = (0, 0)
    feature_dim: int = 0

    @classmethod
    def from_dataset(cls, dataset, feature_dim: int = 0) -> "DataInfo":
        times = dataset.train.times
        known = times[times != schema.NO_TIME]
        return cls(
            num_users=dataset.num_users,
            num_items=dataset.num_items,
            num_categories=len(dataset.categories),
            attribute_cardinalities=tuple(len(v) for v in dataset.attribute_values),
            has_time=dataset.has_time and known.size > 0,
            time_range=(int(known.min()), int(known.max())) if known.size else (0, 0),
            feature_dim=feature_dim,
        )


class Recommender(keras.Model):
    """Base class: BPR training over `score`, L2 regularisation added by subclasses.

    Subclasses implement `score`, and when factorising, `user_vectors`/`item_vectors`.
    """

    registered_name = "recommender"
    item_feature_keys: Tuple[str, ...] = (schema.ITEM,)
    factorised = True
    trainable_by_gradient = True
    train_pipeline = "bpr_triplets"   # the tf.data pipeline the trainer builds (data/pipelines.py)
    validation_metric = "auc"         # what early stopping watches (evaluation.protocols.validate)

    def __init__(self, data_info: DataInfo, config, **kwargs):
        super().__init__(name=kwargs.pop("name", self.registered_name), **kwargs)
        self.data_info = data_info
        self.config = config

    @property
    def num_negatives(self) -> int:
        return max(1, int(getattr(self.config, "num_negatives", 1)))

    def prepare(self, dataset) -> None:
        """Called once with the loaded `Dataset` before training (statistics, feature tables)."""

    def score(self, users, items: Dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        if not self.factorised:
            raise TypeError(f"{type(self).__name__} is not factorising, so it must override score()")
        u = self.user_vectors(users, training=training)
        v = self.item_vectors(items, training=training)
        return tf.reduce_sum(u * v, axis=-1)

    def user_vectors(self, users, training: bool = False) -> tf.Tensor:
        raise TypeError(f"{type(self).__name__} is not factorising: score the catalogue with score()")

    def item_vectors(self, items: Dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        raise TypeError(f"{type(self).__name__} is not factorising: score the catalogue with score()")

    def regularization(self, batch) -> tf.Tensor:
        """Penalty on the parameters a batch touches (the papers' lambda terms)."""
        return tf.constant(0.0)

    def compute_loss(self, batch, training: bool = True) -> tf.Tensor:
        """BPR-Opt (Rendle et al. 2009, eq. 4): -mean ln σ(x̂_ui − x̂_uj) + regularisation."""
        from tfvisrec import losses
        pos = self.score(batch["user"], batch["pos"], training=training)
        neg = self.score(batch["user"], batch["neg"], training=training)
        return losses.bpr_loss(pos, neg) + self.regularization(batch)

    def call(self, inputs, training=False):
        """Keras entry point: `inputs = {"user": ..., **item features}` → scores."""
        items = {k: v for k, v in inputs.items() if k != "user"}
        return self.score(inputs["user"], items, training=training)


def l2(*tensors) -> tf.Tensor:
    """Sum of squares of the given tensors (the ‖Θ‖² terms of the papers)."""
    return tf.add_n([tf.reduce_sum(tf.square(t)) for t in tensors])


def numpy_item_features(dataset, keys) -> Dict[str, np.ndarray]:
    """Catalogue-wide item features (for evaluation) of the non-image keys."""
    out = {}
    if schema.ITEM in keys:
        out[schema.ITEM] = np.arange(dataset.num_items, dtype=np.int64)
    if schema.CATEGORY in keys:
        out[schema.CATEGORY] = dataset.category.astype(np.int32)
    if schema.ATTRIBUTES in keys:
        out[schema.ATTRIBUTES] = dataset.attributes.astype(np.int32)
    return out
