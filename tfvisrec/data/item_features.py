"""Per-item features (ids, images, categories, attributes, fixed visual features) as tensors.

The table is built once from a dataset and looked up inside tf.data pipelines and evaluation.
Images come from an in-memory uint8 cache when the catalogue fits (decoded once, in
parallel), or are decoded from JPEG bytes per lookup otherwise.
"""
import contextlib
import os
import sys
from typing import Dict, Optional, Sequence

import numpy as np
import tensorflow as tf
from absl import logging

from tfvisrec.data import images, schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.attribute_probs import MAKE_COMMAND, read_attribute_probs
from tfvisrec.data.feature_files import FEATURES_FILE, PROBS_FILE, require_one_run
from tfvisrec.data.host_matrix import host_matrix
from tfvisrec.data.region_file import read_regions, regions_path
from tfvisrec.data.row_blocks import array_blocks, npy_blocks
from tfvisrec.progress import EpochProgress, is_terminal

_NPY_MAGIC = b"\x93NUMPY"


class ItemFeatureTable:
    """Looks up the item features a model declares in `item_feature_keys`."""

    def __init__(self, dataset, keys: Sequence[str], image_size: int = 0, cache: str = "auto",
                 cache_mb: int = 4096, features: Optional[np.ndarray] = None,
                 features_file: str = "", default_features_file: str = FEATURES_FILE,
                 regions_file: str = ""):
        self.keys = tuple(k for k in keys if k != schema.TIME)
        self.num_items = dataset.num_items
        self.image_size = int(image_size)
        self._tensors: Dict[str, tf.Tensor] = {}   # by item key; features, regions: `host_matrix`
        self._jpegs = None
        if schema.CATEGORY in self.keys:
            self._tensors[schema.CATEGORY] = tf.constant(dataset.category, tf.int32)
        if schema.ATTRIBUTES in self.keys:
            self._tensors[schema.ATTRIBUTES] = tf.constant(dataset.attributes, tf.int32)
        if schema.FEATURES in self.keys:
            self._tensors[schema.FEATURES] = _load_features(dataset, features, features_file,
                                                            default_features_file)
        region_keys = [k for k in schema.REGION_KEYS if k in self.keys]
        if region_keys:
            regions = read_regions(regions_path(dataset, regions_file), dataset.num_items)
            arrays = {schema.REGIONS: (regions.features, tf.float32),
                      schema.REGION_BOXES: (regions.boxes, tf.float32),
                      schema.REGION_CLASSES: (regions.classes, tf.int32)}
            for key in region_keys:
                array, dtype = arrays[key]
                # f_a^k(i) [items, A, C] can be as large as the features: held once, as they are
                self._tensors[key] = (host_matrix(array.shape, np.float32, array_blocks(array), name=key)
                                      if key == schema.REGIONS else tf.constant(array, dtype))
        if schema.IMAGE in self.keys:
            if self.image_size < 1:
                raise ValueError("an item table with images needs the model's image_size")
            self._init_images(dataset, cache, cache_mb)

    @classmethod
    def for_model(cls, model, dataset, cache: str = "auto", cache_mb: int = 4096,
                  keys: Optional[Sequence[str]] = None) -> "ItemFeatureTable":
        """The table of the features `model` reads (its `item_feature_keys`, or `keys`), at
        its `image_size`, from its `features_file` (else the dataset's file the model names
        in `default_features_file`) and `regions_file`: the one way training, evaluation and
        serving see an item. cache: `memory` (decode every image once), `decode` (per
        lookup) or `auto` (memory when it fits in `cache_mb`)."""
        return cls(dataset, model.item_feature_keys if keys is None else keys,
                   image_size=model.image_size, cache=cache, cache_mb=cache_mb,
                   features_file=model.features_file,
                   default_features_file=model.default_features_file,
                   regions_file=model.regions_file)

    def matrix(self, key: str):
        """The stored [items, ...] table of item key `key` (not images decoded per lookup). The
        precomputed features and region features are non-trainable CPU variables
        (`host_matrix`): read rows of them with `tf.gather`; reading one whole copies it."""
        return self._tensors[key]

    @property
    def feature_dim(self) -> int:
        """Width F of the precomputed features (0 without them)."""
        table = self._tensors.get(schema.FEATURES)
        return 0 if table is None else int(table.shape[-1])

    def _init_images(self, dataset, cache, cache_mb):
        if cache not in ("auto", "memory", "decode"):
            raise ValueError(f"image cache must be auto | memory | decode, not {cache!r}")
        jpegs = dataset.image_bytes()
        cache_bytes = self.num_items * self.image_size ** 2 * 3
        if cache == "memory" or (cache == "auto" and cache_bytes <= cache_mb * 2 ** 20):
            self._tensors[schema.IMAGE] = decode_catalogue(jpegs, self.image_size)
            self.image_mode = "memory"
        else:
            self._jpegs = tf.constant(jpegs, tf.string)
            self.image_mode = "decode"

    def lookup(self, item_ids) -> Dict[str, tf.Tensor]:
        """Features of `item_ids` (any shape); images come out float32 in [-1, 1]."""
        item_ids = tf.convert_to_tensor(item_ids, tf.int64)
        out = {}
        if schema.ITEM in self.keys:
            out[schema.ITEM] = item_ids
        for key, table in self._tensors.items():
            value = tf.gather(table, item_ids)
            out[key] = images.normalise(value) if key == schema.IMAGE else value
        if self._jpegs is not None:
            flat = tf.reshape(item_ids, [-1])
            decoded = images.decode_batch(tf.gather(self._jpegs, flat), self.image_size)
            out[schema.IMAGE] = tf.reshape(
                decoded, tf.concat([tf.shape(item_ids), tf.shape(decoded)[1:]], 0))
        return out

    def catalogue_batches(self, batch_size: int = 1024):
        """(item ids [b], features) over the whole catalogue in index order."""
        for start in range(0, self.num_items, batch_size):
            ids = np.arange(start, min(start + batch_size, self.num_items), dtype=np.int64)
            yield ids, self.lookup(ids)


def decode_catalogue(jpegs, image_size: int, stream=None) -> tf.Tensor:
    """Decode every image once, in parallel, into a uint8 [items, S, S, 3] tensor; on a terminal
    (`stream`, default stderr) with a bar, as this takes ~1.5 ms an image (30 s for 20k items)
    before a command's own progress starts. Logs and pipes get nothing."""
    logging.info("decoding %d images at %dpx into memory", len(jpegs), image_size)
    stream = stream if stream is not None else sys.stderr
    progress = EpochProgress(len(jpegs), verbose=1 if is_terminal(stream) else 0, stream=stream,
                             label=f"decoding images at {image_size}px", unit="image")
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(jpegs, tf.string))
    ds = ds.map(lambda b: images.decode_to_uint8(b, image_size),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(1024)
    batches, done = [], 0
    for batch in ds:
        batches.append(batch)
        done += int(batch.shape[0])
        progress.update(done)
    progress.close()
    return tf.concat(batches, axis=0)


def features_path(dataset, features_file: str = "", default_name: str = FEATURES_FILE) -> str:
    """The precomputed features a model reads: `features_file`, else the dataset's own
    `default_name` (`features.npy`, or `attribute_probs.npz` for the interpretable models)."""
    path = features_file or (os.path.join(dataset.path, default_name) if dataset.path else "")
    if path:
        require_one_run(path)
    if not path or not os.path.exists(path):
        if default_name == PROBS_FILE and not features_file:
            raise DataError(f"no attribute probabilities: run `{MAKE_COMMAND}`", path or None)
        raise DataError("no precomputed item features; run `python -m tfvisrec.vision.features` "
                        "or pass --features_file", path or None)
    return path


def read_feature_matrix(path: str) -> np.ndarray:
    """[items, F] from a `.npy` matrix or an `attribute_probs.npz` (its columns in order)."""
    if path.endswith(".npz"):
        return read_attribute_probs(path)[0]
    return _read_npy(path)


def stored_feature_dim(dataset, features_file: str = "", default_name: str = FEATURES_FILE) -> int:
    """F of the stored [items, F] features (for a .npy, read from its header only)."""
    path = features_path(dataset, features_file, default_name)
    shape = read_feature_matrix(path).shape if path.endswith(".npz") else _read_npy(path, mmap_mode="r").shape
    if len(shape) != 2 or shape[0] != dataset.num_items:
        raise DataError(f"item features have shape {tuple(shape)}, expected "
                        f"[{dataset.num_items}, F]", path)
    return int(shape[1])


_REMEDY = "extract the features again with `python -m tfvisrec.vision.features`"


def _read_npy(path: str, mmap_mode=None) -> np.ndarray:
    """np.load of a feature matrix; DataError naming the file when it is cut short, pickled or
    not a .npy file at all (numpy's own words would not say which file)."""
    _check_npy(path)
    with _npy_errors(path):
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)


def _check_npy(path: str):
    try:
        with open(path, "rb") as f:
            is_npy = f.read(len(_NPY_MAGIC)) == _NPY_MAGIC
    except OSError as e:
        raise DataError(f"cannot read the feature matrix ({e.strerror or e})", path) from None
    if not is_npy:
        raise DataError(f"not a .npy file: {_REMEDY}", path)


@contextlib.contextmanager
def _npy_errors(path: str):
    """numpy's errors reading the .npy file at `path` inside the block, as a DataError naming it."""
    try:
        yield
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"the feature matrix is cut short or damaged ({str(e).splitlines()[0]}): {_REMEDY}",
                        path) from None


def _load_features(dataset, features, features_file, default_name):
    """The float32 [items, F] features as a `host_matrix`: a `.npy` file is read into it block
    by block (never whole beside it)."""
    path = None
    if features is None:
        path = features_path(dataset, features_file, default_name)
        if path.endswith(".npz"):
            features, path = read_feature_matrix(path), None
    if path:
        _check_npy(path)
        with _npy_errors(path):
            shape, _, blocks = npy_blocks(path)
    else:
        features = np.asarray(features)
        shape, blocks = features.shape, array_blocks(features)
    if len(shape) != 2 or shape[0] != dataset.num_items:
        raise DataError(f"item features have shape {shape}, expected "
                        f"[{dataset.num_items}, F]", features_file or None)
    with _npy_errors(path) if path else contextlib.nullcontext():
        return host_matrix(shape, np.float32, blocks, name="item_features")
