"""A tiny world for serving tests: a dataset folder (JPEG images, timestamps, categories, one
attribute, fixed visual features in features.npy) and three small models
built directly (a factorising MF with item bias, a factorising visual model whose item vector
comes from a conv net over the image, and a non-factorising MLP over ids, category and image),
each trained a few BPR steps.
"""
import dataclasses
import io
import os

import numpy as np
from PIL import Image

import tfvisrec  # noqa: F401
import tensorflow as tf
import tf_keras as keras

from tfvisrec.config import ModelConfig, field
from tfvisrec.data import images as image_ops
from tfvisrec.data import schema
from tfvisrec.data.dataset import Split, item_table, load_dataset, write_dataset
from tfvisrec.data.feature_files import REGIONS_FILE
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.data.region_file import ItemRegions
from tfvisrec.models.base import DataInfo, Recommender
from tiny_worlds import write_factor_probs

NUM_USERS, NUM_ITEMS, IMAGE_SIZE, DIM, FEATURE_DIM = 12, 30, 16, 6, 10
CATEGORIES = ["top", "bottom", "shoes"]


def jpeg(index: int, width: int = 20, height: int = 14, seed: int = 0) -> bytes:
    """A small JPEG whose colours depend on `index` (non-square, to exercise padding)."""
    rng = np.random.default_rng(index * 7919 + seed)
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:] = rng.integers(0, 256, size=3, dtype=np.uint8)
    pixels[: height // 2, : width // 2] = rng.integers(0, 256, size=3, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_world(path: str) -> str:
    rng = np.random.default_rng(3)
    user_ids = [f"u{u:02d}" for u in range(NUM_USERS)]
    item_ids = [f"item-{i:03d}" for i in range(NUM_ITEMS)]
    splits = {}
    train_u, train_i, valid_u, valid_i, test_u, test_i = [], [], [], [], [], []
    for u in range(NUM_USERS):
        items = rng.choice(NUM_ITEMS, size=7, replace=False)
        train_u += [u] * 5
        train_i += list(items[:5])
        valid_u.append(u), valid_i.append(items[5])
        test_u.append(u), test_i.append(items[6])
    for name, (us, its) in {"train": (train_u, train_i), "valid": (valid_u, valid_i),
                            "test": (test_u, test_i)}.items():
        splits[name] = Split(np.array(us, np.int64), np.array(its, np.int64),
                             rng.integers(1_600_000_000, 1_700_000_000, len(us)).astype(np.int64))
    category = np.arange(NUM_ITEMS) % len(CATEGORIES)
    attributes = (np.arange(NUM_ITEMS) % 4).reshape(-1, 1)
    items = item_table(NUM_ITEMS, splits["train"].items, category=category, attributes=attributes)
    meta = {"categories": CATEGORIES, "attributes": {"names": ["colour"],
                                                     "values": [["a", "b", "c", "d"]]},
            "protocol": "leave_one_out", "seed": 3, "has_time": True}
    write_dataset(path, meta, user_ids, item_ids, splits, items,
                  images=[jpeg(i) for i in range(NUM_ITEMS)], num_shards=2)
    # fixed visual features for the models that read them (VBPR, ImgRec-Dir/FT, FM, ...)
    np.save(os.path.join(path, "features.npy"),
            rng.normal(size=(NUM_ITEMS, FEATURE_DIM)).astype(np.float32))
    # the attribute classifier's probabilities, for the interpretable models (I-VBPR, I-TVBPR)
    write_factor_probs(path, rng.normal(size=(NUM_ITEMS, 2)))
    # attribute regions for the SAERS family (2 attributes, 5 channels)
    boxes = np.sort(rng.uniform(size=(NUM_ITEMS, 2, 2, 2)), axis=2).transpose(0, 1, 3, 2).reshape(NUM_ITEMS, 2, 4)
    regions = ItemRegions(rng.gamma(1.0, size=(NUM_ITEMS, 2, 5)).astype(np.float32), boxes.astype(np.float32),
                          rng.integers(0, 3, (NUM_ITEMS, 2)).astype(np.int32), ["colour", "shape"],
                          [["a", "b", "c"], ["x", "y", "z"]])
    np.savez(os.path.join(path, REGIONS_FILE), **regions.arrays())
    return path


@dataclasses.dataclass
class TinyConfig(ModelConfig):
    """What the tiny models read: a new family declares its config like this."""

    embedding_dim: int = field(DIM, "Latent factors of the tiny models.")
    image_size: int = field(IMAGE_SIZE, "Image size the tiny image models read.")


def _normal(seed):
    return keras.initializers.RandomNormal(stddev=0.3, seed=seed)


class TinyMF(Recommender):
    """x̂(u,i) = β_i + γ_u·γ_i (BPR-MF, Rendle 2009 eq. 4 objective), bias folded into the
    vectors: user [γ_u, 1], item [γ_i, β_i]."""

    registered_name = "tiny_mf"
    item_feature_keys = (schema.ITEM,)
    config_class = TinyConfig

    def __init__(self, data_info, config):
        super().__init__(data_info, config)
        self.user_embedding = keras.layers.Embedding(data_info.num_users, DIM, embeddings_initializer=_normal(1))
        self.item_embedding = keras.layers.Embedding(data_info.num_items, DIM, embeddings_initializer=_normal(2))
        self.item_bias = keras.layers.Embedding(data_info.num_items, 1, embeddings_initializer=_normal(3))

    def user_vectors(self, users, training=False):
        gamma = self.user_embedding(users)
        return tf.concat([gamma, tf.ones_like(gamma[:, :1])], axis=-1)

    def item_vectors(self, items, training=False):
        i = items[schema.ITEM]
        return tf.concat([self.item_embedding(i), self.item_bias(i)], axis=-1)


class TinyVisual(Recommender):
    """DVBPR/ImgRec-like: item vector = CNN(image) + id embedding (none for a cold item, which
    comes without the `item` key)."""

    registered_name = "tiny_visual"
    item_feature_keys = (schema.ITEM, schema.IMAGE)
    config_class = TinyConfig

    def __init__(self, data_info, config):
        super().__init__(data_info, config)
        self.user_embedding = keras.layers.Embedding(data_info.num_users, DIM, embeddings_initializer=_normal(4))
        self.item_embedding = keras.layers.Embedding(data_info.num_items, DIM, embeddings_initializer=_normal(5))
        self.conv = keras.layers.Conv2D(4, 3, strides=2, activation="relu",
                                        kernel_initializer=keras.initializers.GlorotUniform(6))
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.project = keras.layers.Dense(DIM, kernel_initializer=keras.initializers.GlorotUniform(7))

    def user_vectors(self, users, training=False):
        return self.user_embedding(users)

    def item_vectors(self, items, training=False):
        visual = self.project(self.pool(self.conv(items[schema.IMAGE])))
        if schema.ITEM not in items:
            return visual
        return visual + self.item_embedding(items[schema.ITEM])


class TinyMLP(Recommender):
    """Non-factorising image model: x̂(u,i) = MLP([e_u, e_i, e_category(i), conv(image_i)]);
    a new item known only by its image has e_i = 0 and an unknown category (zeros)."""

    registered_name = "tiny_mlp"
    item_feature_keys = (schema.ITEM, schema.IMAGE, schema.CATEGORY)
    config_class = TinyConfig
    factorised = False

    def __init__(self, data_info, config):
        super().__init__(data_info, config)
        self.user_embedding = keras.layers.Embedding(data_info.num_users, DIM, embeddings_initializer=_normal(8))
        self.item_embedding = keras.layers.Embedding(data_info.num_items, DIM, embeddings_initializer=_normal(9))
        self.category_embedding = keras.layers.Embedding(len(CATEGORIES), 2, embeddings_initializer=_normal(10))
        self.conv = keras.layers.Conv2D(3, 3, strides=2, activation="relu",
                                        kernel_initializer=keras.initializers.GlorotUniform(13))
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.hidden = keras.layers.Dense(8, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(11))
        self.out = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(12))

    def score(self, users, items, training=False):
        image = self.pool(self.conv(items[schema.IMAGE]))
        count = tf.shape(image)[0]
        item = (self.item_embedding(items[schema.ITEM]) if schema.ITEM in items
                else tf.zeros([count, DIM]))
        category = tf.fill([count], -1) if schema.CATEGORY not in items else items[schema.CATEGORY]
        known = tf.cast(category >= 0, tf.float32)[:, None]
        x = tf.concat([self.user_embedding(users), item, image,
                       known * self.category_embedding(tf.maximum(category, 0))], axis=-1)
        return tf.squeeze(self.out(self.hidden(x)), axis=-1)


MODELS = {"mf": TinyMF, "visual": TinyVisual, "mlp": TinyMLP}


def build_model(kind: str, dataset):
    config = TinyConfig(model=MODELS[kind].registered_name, seed=1)
    return MODELS[kind](DataInfo.from_dataset(dataset), config)


def catalogue_inputs(model, dataset):
    """Every item's features for this model (decoded images included), as numpy."""
    keys = [k for k in model.item_feature_keys if k != "image"]
    features = {k: v.numpy() for k, v in
                ItemFeatureTable(dataset, keys).lookup(np.arange(dataset.num_items)).items()}
    if schema.IMAGE in model.item_feature_keys:
        features[schema.IMAGE] = image_ops.decode_batch(
            tf.constant(dataset.image_bytes()), IMAGE_SIZE).numpy()
    return features


def train(model, dataset, steps: int = 15, batch_size: int = 16, seed: int = 0):
    """A few BPR steps through the model's own compute_loss (trained, not random, weights)."""
    rng = np.random.default_rng(seed)
    catalogue = catalogue_inputs(model, dataset)
    optimizer = keras.optimizers.Adam(0.05)
    for _ in range(steps):
        rows = rng.integers(0, len(dataset.train), batch_size)
        negatives = rng.integers(0, dataset.num_items, batch_size)
        batch = {"user": tf.constant(dataset.train.users[rows]),
                 "pos": {k: tf.constant(v[dataset.train.items[rows]]) for k, v in catalogue.items()},
                 "neg": {k: tf.constant(v[negatives]) for k, v in catalogue.items()}}
        with tf.GradientTape() as tape:
            loss = model.compute_loss(batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return model


def make_world(folder: str):
    """(dataset, {kind: trained model}) in `folder`."""
    path = os.path.join(folder, "dataset")
    if not os.path.exists(path):
        write_world(path)
    dataset = load_dataset(path)
    return dataset, {kind: train(build_model(kind, dataset), dataset) for kind in MODELS}


# ---- numpy references (what the signatures must reproduce) -----------------------------

def reference_vectors(model, dataset):
    """(user vectors [U, D], item vectors [I, D]) computed by the model itself."""
    features = {k: tf.constant(v) for k, v in catalogue_inputs(model, dataset).items()}
    users = model.user_vectors(tf.range(dataset.num_users, dtype=tf.int64)).numpy()
    return users, model.item_vectors(features, training=False).numpy()


def reference_scores(model, dataset):
    """x̂(u, i) for every user and item [U, I], through the model's own `score`."""
    features = catalogue_inputs(model, dataset)
    rows = []
    for u in range(dataset.num_users):
        users = tf.fill([dataset.num_items], tf.constant(u, tf.int64))
        rows.append(model.score(users, {k: tf.constant(v) for k, v in features.items()}).numpy())
    return np.stack(rows)


def masked_scores(scores, dataset, users, exclude_seen=True):
    """float64 rows of `scores` for `users`, their training items at -inf (if excluded)."""
    scores = np.array(scores[users], np.float64)
    if exclude_seen:
        seen = dataset.user_items(("train",))
        for row, u in enumerate(users):
            scores[row, seen[u]] = -np.inf
    return scores


def assert_top_k_matches(got_ids, got_scores, reference_row, item_ids, rtol=1e-5, atol=1e-5):
    """A served top-k (ids and scores, best first) equals numpy's top of `reference_row`
    (-inf = excluded) up to float rounding: each id is distinct, its reported score is its
    own reference score, and that score is the one its rank deserves. Ids may thus differ
    from numpy's order only between scores within rounding of each other, which scores
    computed in other batch shapes may order either way."""
    got_ids = [str(i) for i in got_ids]
    assert len(set(got_ids)) == len(got_ids), got_ids
    index = {item: i for i, item in enumerate(item_ids)}
    row = np.asarray(reference_row, np.float64)
    own = row[[index[i] for i in got_ids]]
    np.testing.assert_allclose(np.asarray(got_scores, np.float64), own, rtol=rtol, atol=atol)
    np.testing.assert_allclose(own, np.sort(row)[::-1][:len(got_ids)], rtol=rtol, atol=atol)


def reference_image_scores(model, user, jpegs):
    """x̂(user, new item) for JPEG bytes, through the model (a new item has no `item` id)."""
    items = {schema.IMAGE: image_ops.decode_batch(tf.constant(jpegs), IMAGE_SIZE)}
    users = tf.fill([len(jpegs)], tf.constant(user, tf.int64))
    return model.score(users, items).numpy()


def start_server(config, **kwargs):
    """The embedded server on a free loopback port, polling fast (for version swaps)."""
    from tfvisrec.serving.model_server import ModelServer
    kwargs.setdefault("poll_wait_seconds", 0.2)
    server = ModelServer(config, port=0, host="127.0.0.1", max_workers=16, **kwargs)
    server.start()
    return server
