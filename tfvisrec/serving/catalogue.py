"""What a servable pre-computes from the dataset at export time.

- what the model's `catalogue_state` asks for: the catalogue's item vectors (factorising
  models: top-K is then one matrix product, computed by `evaluation.embedding` as evaluation
  does), or its item features, decoded images included (non-factorising models score the
  catalogue through `score_catalogue`) — both read through the model's `ItemFeatureTable`, so
  an item looks the same to the servable as it did to the trainer;
- the training items of every user, for the optional exclusion in `recommend`;
- the item features of a *new* item seen only through its image (cold start): the image
  decoded by `tfvisrec.data.images.decode_batch`, **no `item` key** (it has no catalogue id;
  models fall back to the content part of the item vector, as ImgRec and DVBPR do), and
  category/attributes unknown (`UNKNOWN_LABEL`, the schema's -1 for "none/missing").

Time-aware models (`time` among the item keys, e.g. TVBPR) are served "as of" one time,
by default the latest training interaction: catalogue and cold items get that `time`.
"""
from typing import Dict, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tfvisrec.data import images as image_ops
from tfvisrec.data import schema
from tfvisrec.data.item_features import ItemFeatureTable, decode_catalogue
from tfvisrec.evaluation.embedding import embed_catalogue as embed_catalogue_vectors

UNKNOWN_LABEL = schema.NO_LABEL
# Item features the catalogue can be built from; a model needing others (e.g. `time`) gets no
# catalogue signatures until a builder for it is registered.
CATALOGUE_KEYS = frozenset({schema.ITEM, schema.IMAGE, schema.CATEGORY, schema.ATTRIBUTES,
                            schema.FEATURES, schema.TIME, schema.REGIONS})
# Item features a cold-start item can be given: its image, the rest unknown or fixed.
COLD_START_KEYS = frozenset({schema.ITEM, schema.IMAGE, schema.CATEGORY, schema.ATTRIBUTES,
                             schema.TIME})


def latest_time(dataset) -> int:
    """The latest known training timestamp (unix seconds), 0 when the dataset has none."""
    times = dataset.train.times[dataset.train.times != schema.NO_TIME]
    return int(times.max()) if times.size else 0


def feature_table(model, dataset, keys: Sequence[str]) -> ItemFeatureTable:
    """The model's item table for `keys`; images decoded per batch (no catalogue-wide cache)."""
    return ItemFeatureTable.for_model(model, dataset, cache="decode", keys=keys)


def item_features(model, dataset, as_of: int, skip: Sequence[str] = ()) -> Dict[str, tf.Tensor]:
    """Every item feature the model reads but those in `skip` (the servable has them from the
    model), index-aligned with items; images as decoded
    uint8 [items, S, S, 3] (`images.normalise` maps them to the model's [-1, 1]). Tensors, not
    numpy arrays: a tf.Variable made of a tensor takes its buffer over, while one made of a
    numpy array copies it twice (50,000 × 4,096 float32 features, 0.82 GB: 3.95 GB peak RSS from
    numpy arrays, 2.35 GB from tensors)."""
    wanted = [k for k in model.item_feature_keys if k not in skip]
    keys = [k for k in wanted if k != schema.TIME]
    ids = np.arange(dataset.num_items, dtype=np.int64)
    features = feature_table(model, dataset, [k for k in keys if k != schema.IMAGE]).lookup(ids)
    if schema.IMAGE in keys:
        features[schema.IMAGE] = decode_catalogue(dataset.image_bytes(), model.image_size)
    if schema.TIME in wanted:
        features[schema.TIME] = tf.fill([dataset.num_items], tf.constant(as_of, tf.int64))
    return features


def embed_catalogue(model, dataset, as_of: int, batch_size: int = 256) -> np.ndarray:
    """`item_vectors` of every catalogue item in inference mode: [num_items, D], exactly as
    evaluation computes them (`evaluation.embedding`)."""
    table = feature_table(model, dataset, model.item_feature_keys)
    time = as_of if schema.TIME in model.item_feature_keys else None
    return embed_catalogue_vectors(model, table, time, batch_size)


def seen_items(dataset, splits: Sequence[str] = ("train",)) -> Tuple[np.ndarray, np.ndarray]:
    """Per user, the items seen in `splits`, as ragged (values, row_splits) int64 arrays."""
    per_user = dataset.user_items(splits)
    lengths = np.array([len(items) for items in per_user], np.int64)
    row_splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = (np.concatenate(per_user).astype(np.int64) if row_splits[-1]
              else np.zeros(0, np.int64))
    return values, row_splits


def cold_item_features(keys: Sequence[str], jpeg_bytes, image_size: int, num_attributes: int,
                       as_of: int) -> Dict[str, tf.Tensor]:
    """Item features of new items known only by their encoded image [M] (see module doc)."""
    count = tf.shape(jpeg_bytes)[0]
    features = {schema.IMAGE: image_ops.decode_batch(jpeg_bytes, image_size)}
    if schema.CATEGORY in keys:
        features[schema.CATEGORY] = tf.fill([count], tf.constant(UNKNOWN_LABEL, tf.int32))
    if schema.ATTRIBUTES in keys:
        features[schema.ATTRIBUTES] = tf.fill([count, num_attributes],
                                              tf.constant(UNKNOWN_LABEL, tf.int32))
    if schema.TIME in keys:
        features[schema.TIME] = tf.fill([count], tf.constant(as_of, tf.int64))
    return features


def example_jpeg(image_size: int) -> bytes:
    """A plain grey JPEG of the model's input size (the warmup requests' image)."""
    grey = tf.fill([max(image_size, 8), max(image_size, 8), 3], tf.constant(128, tf.uint8))
    return tf.io.encode_jpeg(grey).numpy()
