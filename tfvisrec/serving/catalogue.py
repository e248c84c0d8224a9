"""What a servable pre-computes from the dataset at export time.

- the catalogue's item vectors (factorising models: top-K is then one matrix product,
  DESIGN.md "Interfaces"), or its item features (non-factorising models score the catalogue
  through `score`);
- the training items of every user, for the optional exclusion in `recommend`;
- the item features of a *new* item seen only through its image (cold start): the image, and
  every other key unknown (`UNKNOWN_LABEL`, the schema's -1 for "none/missing").
"""
import os
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tfvisrec.data import images as image_ops
from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.models.base import numpy_item_features

UNKNOWN_LABEL = schema.NO_LABEL
# Item features the catalogue can be built from; a model needing others (e.g. `time`) gets no
# catalogue signatures until a builder for it is registered.
CATALOGUE_KEYS = frozenset({schema.ITEM, schema.IMAGE, schema.CATEGORY, schema.ATTRIBUTES,
                            schema.FEATURES})
# Item features a cold-start item can be given: its image, the rest unknown (-1).
COLD_START_KEYS = frozenset({schema.ITEM, schema.IMAGE, schema.CATEGORY, schema.ATTRIBUTES})
FEATURES_FILE = "features.npy"


def item_features(model, dataset) -> Dict[str, np.ndarray]:
    """The catalogue's non-image item features the model reads, index-aligned with items."""
    keys = tuple(model.item_feature_keys)
    features = numpy_item_features(dataset, keys)
    if schema.FEATURES in keys:
        features[schema.FEATURES] = load_precomputed_features(model, dataset)
    return features


def load_precomputed_features(model, dataset) -> np.ndarray:
    """Fixed visual features [items, F] (`--features_file`, default <dataset>/features.npy)."""
    path = getattr(model.config, "features_file", "") or (
        os.path.join(dataset.path, FEATURES_FILE) if dataset.path else "")
    if not path or not os.path.exists(path):
        raise DataError("the model reads precomputed item features but the file is missing "
                        "(pass --features_file)", path or FEATURES_FILE)
    features = np.load(path)
    if features.ndim != 2 or features.shape[0] != dataset.num_items:
        raise DataError(f"features must be [num_items={dataset.num_items}, F], got "
                        f"{list(features.shape)}", path)
    return features.astype(np.float32)


def catalogue_batches(model, dataset, batch_size: int = 256,
                      jpegs: Optional[Sequence[bytes]] = None) -> Iterator[Dict[str, tf.Tensor]]:
    """The whole catalogue as batches of the model's item features (images decoded exactly
    as in training, `tfvisrec.data.images.decode_batch`)."""
    features = item_features(model, dataset)
    needs_images = schema.IMAGE in model.item_feature_keys
    if needs_images and jpegs is None:
        jpegs = dataset.image_bytes()
    image_size = int(model.config.image_size)
    for start in range(0, dataset.num_items, batch_size):
        stop = min(start + batch_size, dataset.num_items)
        batch = {k: tf.constant(v[start:stop]) for k, v in features.items()}
        if needs_images:
            batch[schema.IMAGE] = image_ops.decode_batch(tf.constant(list(jpegs[start:stop])),
                                                         image_size)
        yield batch


def embed_catalogue(model, dataset, batch_size: int = 256,
                    jpegs: Optional[Sequence[bytes]] = None) -> np.ndarray:
    """`item_vectors` of every catalogue item, [num_items, D] (inference mode)."""
    item_vectors = tf.function(lambda items: model.item_vectors(items, training=False))
    parts: List[np.ndarray] = [item_vectors(batch).numpy()
                               for batch in catalogue_batches(model, dataset, batch_size, jpegs)]
    vectors = np.concatenate(parts, axis=0).astype(np.float32)
    if vectors.shape[0] != dataset.num_items or vectors.ndim != 2:
        raise ValueError(f"item_vectors returned {list(vectors.shape)} for "
                         f"{dataset.num_items} items; expected [items, D]")
    return vectors


def seen_items(dataset, splits: Sequence[str] = ("train",)) -> Tuple[np.ndarray, np.ndarray]:
    """Per user, the items seen in `splits`, as ragged (values, row_splits) int64 arrays."""
    per_user = dataset.user_items(splits)
    lengths = np.array([len(items) for items in per_user], np.int64)
    row_splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = (np.concatenate(per_user).astype(np.int64) if per_user and row_splits[-1]
              else np.zeros(0, np.int64))
    return values, row_splits


def cold_item_features(keys: Sequence[str], jpeg_bytes, image_size: int,
                       num_attributes: int) -> Dict[str, tf.Tensor]:
    """Item features of new items known only by their encoded image [M]: the decoded image and
    `UNKNOWN_LABEL` (-1) for item index, category and attributes. Models whose item vectors use
    an id embedding must treat a negative index as "no id" (cold item)."""
    count = tf.shape(jpeg_bytes)[0]
    features = {schema.IMAGE: image_ops.decode_batch(jpeg_bytes, image_size)}
    if schema.ITEM in keys:
        features[schema.ITEM] = tf.fill([count], tf.constant(UNKNOWN_LABEL, tf.int64))
    if schema.CATEGORY in keys:
        features[schema.CATEGORY] = tf.fill([count], tf.constant(UNKNOWN_LABEL, tf.int32))
    if schema.ATTRIBUTES in keys:
        features[schema.ATTRIBUTES] = tf.fill([count, num_attributes],
                                              tf.constant(UNKNOWN_LABEL, tf.int32))
    return features
