"""Read and write dataset folders (the format is described in `schema.py`).

`write_dataset` is the only writer: it fills a temporary sibling folder and renames it into
place at the end, so a reader never sees a half-written dataset.
"""
import dataclasses
import hashlib
import json
import os
import shutil
from typing import Dict, List, Optional, Sequence

import numpy as np

from tfvisrec import temp_folders
from tfvisrec.atomic import publish_folder, raise_naming
from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.npz_file import read_npz
from tfvisrec.data.output_folder import check_replaceable

_DAMAGED_ARRAYS = "unreadable ({error}); the dataset is damaged: ingest it again"


@dataclasses.dataclass
class Split:
    """Interactions of one split as aligned index arrays."""

    users: np.ndarray
    items: np.ndarray
    times: np.ndarray

    def __len__(self):
        return len(self.users)


@dataclasses.dataclass
class Dataset:
    """A loaded dataset folder: vocabularies, item table, the three splits and meta data."""

    path: Optional[str]
    meta: Dict
    user_ids: List[str]
    item_ids: List[str]
    train: Split
    valid: Split
    test: Split
    category: np.ndarray      # int32 [num_items], -1 = none
    attributes: np.ndarray    # int32 [num_items, num_attributes], -1 = missing
    train_count: np.ndarray   # int32 [num_items]
    is_cold: np.ndarray       # bool [num_items]
    holdout_split: Optional[np.ndarray] = None  # int8 [num_items] 0/1/2 (catalogues only)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def has_images(self) -> bool:
        return bool(self.meta.get("has_images", False))

    @property
    def has_time(self) -> bool:
        return bool(self.meta.get("has_time", False))

    @property
    def categories(self) -> List[str]:
        return list(self.meta.get("categories", []))

    @property
    def attribute_names(self) -> List[str]:
        return list(self.meta.get("attributes", {}).get("names", []))

    @property
    def attribute_values(self) -> List[List[str]]:
        return [list(v) for v in self.meta.get("attributes", {}).get("values", [])]

    def split(self, name: str) -> Split:
        if name not in schema.SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {schema.SPLITS}")
        return getattr(self, name)

    def user_items(self, splits: Sequence[str] = ("train",)) -> List[np.ndarray]:
        """Per user, the sorted distinct items it interacted with in the given splits."""
        users = np.concatenate([self.split(s).users for s in splits])
        items = np.concatenate([self.split(s).items for s in splits])
        order = np.lexsort((items, users))
        users, items = users[order], items[order]
        bounds = np.searchsorted(users, np.arange(self.num_users + 1))
        return [np.unique(items[bounds[u]:bounds[u + 1]]) for u in range(self.num_users)]

    def image_shards(self) -> List[str]:
        if self.path is None:
            return []
        import glob
        return sorted(glob.glob(os.path.join(self.path, schema.IMAGE_SHARD_GLOB)))

    def image_bytes(self) -> List[bytes]:
        """JPEG bytes of every item, index-aligned; raises DataError if any item lacks one."""
        import tensorflow as tf
        shards = self.image_shards()
        if not shards:
            raise DataError("this dataset has no item images; visual models need them", self.path)
        images: List[Optional[bytes]] = [None] * self.num_items
        spec = {"item": tf.io.FixedLenFeature([], tf.int64), "image": tf.io.FixedLenFeature([], tf.string)}
        for shard in shards:   # one at a time, so a damaged shard is named
            records = tf.data.TFRecordDataset(shard).batch(1024).map(lambda r: tf.io.parse_example(r, spec))
            try:
                for batch in records:   # parsed a batch at a time: one eager op per record costs ~1.5 ms
                    for item, image in zip(batch["item"].numpy(), batch["image"].numpy()):
                        images[int(item)] = image
            except (tf.errors.DataLossError, tf.errors.InvalidArgumentError, IndexError):
                raise DataError("image shard cut short or damaged; the dataset is damaged: ingest it again",
                                shard) from None
        missing = [self.item_ids[i] for i, b in enumerate(images) if b is None]
        if missing:
            raise DataError(f"{len(missing)} of the {self.num_items} items have no image (first: "
                            f"{missing[0]!r}); models that look at photos need one for every item: "
                            "name one in the items file for each and ingest again (with --require_images "
                            "ingest names the row of the first without), or ingest again with --blank_photos "
                            "to give each a plain grey one", self.path)
        return images  # type: ignore[return-value]


def load_dataset(path: str) -> Dataset:
    """Load a dataset folder written by `write_dataset`; clear DataError on anything missing."""
    if not os.path.isdir(path):
        raise DataError("dataset folder does not exist", path)
    meta_path = os.path.join(path, schema.META_FILE)
    if not os.path.exists(meta_path):
        raise DataError(f"not a dataset folder (no {schema.META_FILE}); create one with "
                        "`python -m tfvisrec.data ingest`", path)
    meta = _read_json(meta_path)
    if not isinstance(meta, dict):
        raise DataError("not a JSON object; the dataset is damaged: ingest it again", meta_path)
    if meta.get("format_version") != schema.FORMAT_VERSION:
        raise DataError(f"dataset format {meta.get('format_version')} is not the supported "
                        f"{schema.FORMAT_VERSION}; ingest it again", meta_path)
    user_ids = _read_vocab(os.path.join(path, schema.USERS_FILE), meta.get("num_users"))
    item_ids = _read_vocab(os.path.join(path, schema.ITEMS_FILE), meta.get("num_items"))
    interactions_path = os.path.join(path, schema.INTERACTIONS_FILE)
    z = read_npz(interactions_path, _DAMAGED_ARRAYS,
                 [f"{s}_{part}" for s in schema.SPLITS for part in ("users", "items", "times")])
    splits = {s: Split(z[f"{s}_users"], z[f"{s}_items"], z[f"{s}_times"]) for s in schema.SPLITS}
    for name, split in splits.items():
        if len(split) and (split.users.max() >= len(user_ids) or split.items.max() >= len(item_ids)
                           or min(split.users.min(), split.items.min()) < 0):
            raise DataError(f"the {name} split names users or items beyond users.txt / items.txt; "
                            "the dataset is damaged: ingest it again", interactions_path)
    table = read_npz(os.path.join(path, schema.ITEM_TABLE_FILE), _DAMAGED_ARRAYS,
                     ["category", "attributes", "train_count", "is_cold"], optional=["holdout_split"])
    return Dataset(path=path, meta=meta, user_ids=user_ids, item_ids=item_ids, **splits, **table)


def fingerprint(dataset: Dataset) -> str:
    """A digest of what a trained model's weights are tied to: the user and item ids, in index
    order, and the three splits. Ingesting other data, or the same with another --seed, changes
    it; the same ingest again, or a copy of the folder, does not."""
    digest = hashlib.sha256()
    for ids in (dataset.user_ids, dataset.item_ids):
        digest.update("\n".join(ids).encode("utf-8") + b"\0")
    for name in schema.SPLITS:
        split = dataset.split(name)
        for indices in (split.users, split.items):
            digest.update(np.ascontiguousarray(indices, np.int64).tobytes())
    return digest.hexdigest()[:16]


def load_texts(path: str) -> Optional[List[str]]:
    """Per item text (index-aligned with items.txt) of a dataset folder, or None if it has none."""
    texts_path = os.path.join(path, schema.TEXTS_FILE)
    if not os.path.exists(texts_path):
        return None
    with open(texts_path, encoding="utf-8") as f:
        return json.load(f)


def _read_vocab(path, expected=None):
    if not os.path.exists(path):
        raise DataError("missing vocabulary file", path)
    with open(path, encoding="utf-8") as f:
        ids = [line.rstrip("\n") for line in f]
    if expected is not None and len(ids) != expected:
        raise DataError(f"holds {len(ids)} ids where meta.json says {expected}; the dataset is damaged: "
                        "ingest it again", path)
    return ids


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(f"unreadable ({e}); the dataset is damaged: ingest it again", path) from None


def item_table(num_items, train_items, category=None, attributes=None, cold_threshold=5):
    """The per-item arrays of `items.npz`, with the cold flag computed from training counts."""
    train_count = np.bincount(np.asarray(train_items, np.int64), minlength=num_items).astype(np.int32)
    if category is None:
        category = np.full(num_items, schema.NO_LABEL, np.int32)
    if attributes is None:
        attributes = np.zeros((num_items, 0), np.int32)
    return {
        "category": np.asarray(category, np.int32),
        "attributes": np.asarray(attributes, np.int32).reshape(num_items, -1),
        "train_count": train_count,
        "is_cold": train_count < cold_threshold,
    }


def write_dataset(path: str, meta: Dict, user_ids: Sequence[str], item_ids: Sequence[str],
                  splits: Dict[str, Split], items: Dict[str, np.ndarray],
                  images: Optional[Sequence[Optional[bytes]]] = None, num_shards: int = 4,
                  overwrite: bool = False, extra_json: Optional[Dict[str, object]] = None,
                  extra_npz: Optional[Dict[str, Dict[str, np.ndarray]]] = None) -> str:
    """Write a dataset folder atomically (temp folder, then rename); returns `path`.

    `images`, when given, are JPEG bytes aligned with `item_ids` (None = this item has no
    image). `extra_json` maps further file names (e.g. `schema.TEXTS_FILE`) to JSON content,
    `extra_npz` further .npz file names (e.g. the outfits table) to their arrays.
    """
    path = os.path.abspath(path)
    check_replaceable(path, overwrite, (schema.META_FILE,), "a dataset")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    temp_folders.remove_abandoned(parent, f".{os.path.basename(path)}.tmp-")   # of killed ingests
    with temp_folders.held_temp_folder(parent, f".{os.path.basename(path)}.tmp-") as tmp:
        try:
            meta = dict(meta)
            meta.update(
                format_version=schema.FORMAT_VERSION,
                num_users=len(user_ids), num_items=len(item_ids),
                **{f"num_{s}": int(len(splits[s])) for s in schema.SPLITS},
                has_images=images is not None and any(b is not None for b in images),
                num_images=0 if images is None else sum(b is not None for b in images),
                num_image_shards=0 if images is None else min(num_shards, max(1, len(item_ids))),
            )
            _write_vocab(os.path.join(tmp, schema.USERS_FILE), user_ids)
            _write_vocab(os.path.join(tmp, schema.ITEMS_FILE), item_ids)
            arrays = {}
            for s in schema.SPLITS:
                arrays[f"{s}_users"] = np.asarray(splits[s].users, np.int64)
                arrays[f"{s}_items"] = np.asarray(splits[s].items, np.int64)
                arrays[f"{s}_times"] = np.asarray(splits[s].times, np.int64)
            np.savez(os.path.join(tmp, schema.INTERACTIONS_FILE), **arrays)
            np.savez(os.path.join(tmp, schema.ITEM_TABLE_FILE), **items)
            for name, content in (extra_json or {}).items():
                with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                    json.dump(content, f, ensure_ascii=False)
            for name, arrays_of_file in (extra_npz or {}).items():
                np.savez(os.path.join(tmp, name), **arrays_of_file)
            if images is not None:
                _write_image_shards(tmp, images, meta["num_image_shards"])
            with open(os.path.join(tmp, schema.META_FILE), "w", encoding="utf-8") as f:
                json.dump(meta, f, indent=2, sort_keys=True)
            # again: another ingest into `path` may have finished meanwhile (replaced only with --overwrite)
            check_replaceable(path, overwrite, (schema.META_FILE,), "a dataset")
            publish_folder(tmp, path)
        except BaseException as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise_naming(e, f"the dataset {path}")
    return path


def _write_vocab(path, ids):
    with open(path, "w", encoding="utf-8") as f:
        for i in ids:
            f.write(f"{i}\n")


def _write_image_shards(folder, images, num_shards):
    import tensorflow as tf
    writers = [tf.io.TFRecordWriter(os.path.join(folder, schema.IMAGE_SHARD_PATTERN.format(
        shard=s, num_shards=num_shards))) for s in range(num_shards)]
    try:
        for index, jpeg in enumerate(images):
            if jpeg is None:
                continue
            example = tf.train.Example(features=tf.train.Features(feature={
                "item": tf.train.Feature(int64_list=tf.train.Int64List(value=[index])),
                "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[jpeg])),
            }))
            writers[index % num_shards].write(example.SerializeToString())
    finally:
        for w in writers:
            w.close()
