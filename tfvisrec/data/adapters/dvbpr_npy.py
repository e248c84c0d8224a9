"""DVBPR's partitioned `.npy` (e.g. AmazonFashion6ImgPartitioned.npy) → dataset folder.

The file is a Python-2 pickle of `[user_train, user_validation, user_test, Item, usernum,
itemnum]` (Kang et al. 2017, code of "Visually-Aware Fashion Recommendation and Design
with Generative Image Models"): `user_*[u]` lists the interactions of user u, each a dict
with b'productid' (the item index; also b'reviewerID', b'time'… when present) or a plain
item index; `Item[i][b'imgs']` holds JPEG bytes and `Item[i][b'c']` the category (a
one-hot vector in the Amazon data). Dict keys may be bytes or str. The given split is kept
as is (split "given"), with DVBPR's user and item indices.
"""
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tfvisrec.data import schema
from tfvisrec.data.dataset import Split
from tfvisrec.data.errors import DataError
from tfvisrec.data.image_reader import Progress, to_jpeg
from tfvisrec.data.ingest import check_output, write_items_dataset
from tfvisrec.data.item_encoding import encode_labels, no_labels

TIME_KEYS = ("time", "unixReviewTime")


def load_npy(path: str):
    """The six-element DVBPR list; DataError when the file is missing or has another layout."""
    if not os.path.isfile(path):
        raise DataError("DVBPR .npy file does not exist", path)
    try:
        data = np.load(path, encoding="bytes", allow_pickle=True)
    except Exception as e:  # pickle and numpy raise many kinds of errors on foreign files
        raise DataError(f"cannot load as a DVBPR .npy pickle: {type(e).__name__}: {e}", path) from None
    data = list(data) if isinstance(data, np.ndarray) and data.dtype == object else data
    if not isinstance(data, (list, tuple)) or len(data) != 6:
        raise DataError("expected [user_train, user_validation, user_test, Item, usernum, "
                        "itemnum]", path)
    return data


def ingest_dvbpr_npy(npy_path: str, out_dir: str, *, cold_threshold: int = 5,
                     image_shards: int = 4, overwrite: bool = False,
                     require_images: bool = True, name: Optional[str] = None,
                     progress: bool = False) -> str:
    """Write the DVBPR file's users, items, split and images as a dataset folder."""
    check_output(out_dir, overwrite)
    user_train, user_valid, user_test, item_table, usernum, itemnum = load_npy(npy_path)
    usernum, itemnum = int(usernum), int(itemnum)
    path = os.path.abspath(npy_path)
    splits, reviewer_ids, has_time = {}, {}, True
    for split_name, per_user in (("train", user_train), ("valid", user_valid), ("test", user_test)):
        records = _records(per_user, usernum, itemnum, path, split_name, reviewer_ids)
        has_time &= all(t != schema.NO_TIME for _, _, t in records) and bool(records)
        users, items, times = (np.array(c, np.int64).reshape(-1) for c in zip(*records)) \
            if records else (np.zeros(0, np.int64),) * 3
        order = np.lexsort((items, users))
        splits[split_name] = Split(users[order], items[order], times[order])
    user_ids = _unique_or_index([reviewer_ids.get(u) for u in range(usernum)])
    item_ids = _unique_or_index([_get(_item(item_table, i, path), "asin") for i in range(itemnum)])
    labels = no_labels(itemnum)
    categories = [_category(_get(_item(item_table, i, path), "c")) for i in range(itemnum)]
    labels.category, labels.categories = _encode_categories(categories)
    images = _images(item_table, itemnum, path, require_images, progress)
    meta = {"name": name or os.path.splitext(os.path.basename(path))[0], "source": path,
            "adapter": "dvbpr_npy", "kind": "interactions", "split": "given", "seed": None,
            "min_user_interactions": None, "has_time": bool(has_time)}
    return write_items_dataset(out_dir, meta, user_ids, item_ids, splits, labels, images,
                               cold_threshold=cold_threshold, image_shards=image_shards,
                               overwrite=overwrite)


def _records(per_user, usernum, itemnum, path, split_name, reviewer_ids) -> List[Tuple[int, int, int]]:
    if not hasattr(per_user, "items"):
        raise DataError(f"user_{split_name} is not a dict of user → interactions", path)
    records = []
    for user, entries in per_user.items():
        if not isinstance(user, (int, np.integer)) or not 0 <= user < usernum:
            raise DataError(f"user_{split_name} has user {user!r} outside 0..{usernum - 1}", path)
        if isinstance(entries, np.ndarray):
            entries = entries.tolist()
        if isinstance(entries, dict) or not isinstance(entries, (list, tuple)):
            entries = [entries]
        for entry in entries:
            item = _get(entry, "productid") if isinstance(entry, dict) else entry
            if isinstance(entry, (tuple, list)):
                item = entry[0]
            if not isinstance(item, (int, np.integer)) or not 0 <= item < itemnum:
                raise DataError(f"user_{split_name}[{user}] has item {item!r}, not an index in "
                                f"0..{itemnum - 1}", path)
            time = _time(entry)
            reviewer = _get(entry, "reviewerID") if isinstance(entry, dict) else None
            if reviewer is not None:
                reviewer_ids.setdefault(int(user), _text(reviewer))
            records.append((int(user), int(item), time))
    return records


def _images(item_table, itemnum, path, require_images, progress) -> Optional[List[Optional[bytes]]]:
    counter = Progress(itemnum, "verifying images") if progress else None
    try:
        images = [_image(item_table, i, path, require_images, counter) for i in range(itemnum)]
    finally:
        if counter:
            counter.close()
    return images if any(b is not None for b in images) else None


def _image(item_table, i, path, require_images, counter) -> Optional[bytes]:
    if counter:
        counter.step()
    data = _get(_item(item_table, i, path), "imgs")
    if data is None:
        if require_images:
            raise DataError(f"Item[{i}] has no b'imgs' JPEG bytes, and images are required", path)
        return None
    try:
        return to_jpeg(bytes(data))
    except (ValueError, TypeError) as e:
        raise DataError(f"Item[{i}] image does not decode ({e})", path) from None


def _item(item_table, i, path) -> Dict:
    try:
        entry = item_table[i]
    except (KeyError, IndexError):
        raise DataError(f"Item has no entry for item {i}", path) from None
    return entry if isinstance(entry, dict) else {}


def _get(entry, key):
    """entry[key] for a str key, accepting the bytes keys of Python-2 pickles."""
    if not isinstance(entry, dict):
        return None
    if key in entry:
        return entry[key]
    return entry.get(key.encode())


def _time(entry) -> int:
    for key in TIME_KEYS:
        value = _get(entry, key)
        if value is not None:
            return int(value)
    if isinstance(entry, (tuple, list)) and len(entry) > 1:
        return int(entry[1])
    return schema.NO_TIME


def _category(value) -> str:
    """DVBPR's category: a one-hot vector (→ its index), an index, or a name; "" = none."""
    if value is None:
        return ""
    if isinstance(value, (bytes, str)):
        return _text(value)
    array = np.asarray(value)
    if array.ndim == 1 and array.size > 1:
        return str(int(np.argmax(array))) if array.any() else ""
    return str(int(array.reshape(-1)[0]))


def _encode_categories(categories: Sequence[str]):
    """Like encode_labels, but category indices ("0", "1", …, "10") keep numeric order."""
    known = [c for c in categories if c]
    if known and all(c.isdigit() for c in known):
        vocab = sorted(set(known), key=int)
        lookup = {v: k for k, v in enumerate(vocab)}
        return np.array([lookup.get(c, schema.NO_LABEL) for c in categories], np.int32), vocab
    return encode_labels(categories)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _unique_or_index(names: Sequence[Optional[str]]) -> List[str]:
    """Raw ids from the file when every index has a distinct one, else the indices as text."""
    texts = [_text(n) if n is not None else None for n in names]
    if all(t is not None for t in texts) and len(set(texts)) == len(texts):
        return texts
    return [str(k) for k in range(len(names))]
