"""Canonical CSVs (+ images) → a dataset folder: filter, index, split, encode, write.

`ingest` reads `interactions.csv` / `items.csv` / an image folder or tar archive; the
adapters (`tfvisrec.data.adapters`) build the same `Interactions` / `ItemTable` records
from other formats and call `ingest_records`, so every dataset goes through one path.
"""
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from tfvisrec.data import dataset as dataset_io
from tfvisrec.data import schema
from tfvisrec.data import split as splitting
from tfvisrec.data.csv_reader import (HEADER_ROW, Interactions, ItemTable, read_interactions,
                                      read_items)
from tfvisrec.data.errors import DataError
from tfvisrec.data.output_folder import check_replaceable
from tfvisrec.data.image_reader import open_images
from tfvisrec.data.item_encoding import ItemLabels, item_images, item_labels, with_blank_photos


def ingest(interactions_csv: str, items_csv: Optional[str] = None,
           images_dir: Optional[str] = None, out_dir: Optional[str] = None, *,
           split: str = "leave_one_out", min_user_interactions: int = 5,
           cold_threshold: int = 5, seed: int = 0, image_shards: int = 4,
           overwrite: bool = False, require_images: bool = False,
           name: Optional[str] = None, progress: bool = False,
           attribute_columns: Optional[Sequence[str]] = None, blank_photos: bool = False) -> str:
    """Ingest canonical CSVs into the dataset folder `out_dir`; returns its absolute path.

    interactions.csv: user_id,item_id[,timestamp]; items.csv: item_id,image[,category]
    [,attribute columns…][,text]; image paths are relative to `images_dir` (a folder or a
    tar archive; default: the folder of items.csv). `attribute_columns` names the columns
    kept as attributes (None: every other column); `blank_photos` gives each item without a
    photo a plain grey one, so that models that look at photos accept the dataset.
    """
    if not out_dir:
        raise DataError("no output folder given (--out)")
    check_output(out_dir, overwrite)
    records = read_interactions(interactions_csv)
    if attribute_columns is not None and not items_csv:
        raise DataError("attribute columns were named without items.csv, which holds them")
    items = read_items(items_csv, attribute_columns=attribute_columns) if items_csv else None
    if items_csv is None and images_dir:
        raise DataError("an images folder was given without items.csv, which maps items to "
                        "image files", images_dir)
    source = open_images(images_dir) if images_dir else None
    return ingest_records(
        records, out_dir, items=items, image_source=source, split=split,
        min_user_interactions=min_user_interactions, cold_threshold=cold_threshold, seed=seed,
        image_shards=image_shards, overwrite=overwrite, require_images=require_images,
        blank_photos=blank_photos, meta={"name": name or os.path.basename(os.path.abspath(out_dir)),
              "source": os.path.abspath(interactions_csv)},
        progress=progress)


def ingest_records(records: Interactions, out_dir: str, *, items: Optional[ItemTable] = None,
                   image_source=None, split: str = "leave_one_out",
                   min_user_interactions: int = 5, cold_threshold: int = 5, seed: int = 0,
                   image_shards: int = 4, overwrite: bool = False,
                   require_images: bool = False, meta: Optional[Dict] = None,
                   progress: bool = False, extra_npz: Optional[Dict[str, Dict[str, np.ndarray]]] = None,
                   blank_photos: bool = False) -> str:
    """Filter users, index ids, split, encode item labels and images, and write `out_dir`
    (with the further .npz files `extra_npz` names, e.g. how labels were predicted).

    Every interacted item must have a row in `items` when it is given. Users keep all
    their distinct items when they have at least `min_user_interactions` of them.
    """
    check_output(out_dir, overwrite)
    if blank_photos and require_images:
        raise DataError("--blank_photos and --require_images contradict each other: the first gives "
                        "items without a photo a blank one, the second refuses them")
    if split not in schema.SPLIT_PROTOCOLS:
        raise DataError(f"unknown split {split!r}; expected one of {schema.SPLIT_PROTOCOLS}")
    if split == "temporal" and not records.has_time:
        raise DataError("the temporal split needs a 'timestamp' column", records.path, HEADER_ROW)
    if items is not None:
        check_items_listed(records, items)
    frame = collapse_duplicates(records.frame)
    raw_users = frame["user_id"].nunique()
    frame = frame[splitting.users_with_at_least(frame["user_id"].to_numpy(),
                                                min_user_interactions)]
    check_splittable(frame, records.path, min_user_interactions, raw_users)

    user_ids = sorted(set(frame["user_id"]))
    item_ids = sorted(set(frame["item_id"]))
    users = np.searchsorted(np.asarray(user_ids, dtype=object), frame["user_id"].to_numpy())
    items_index = np.searchsorted(np.asarray(item_ids, dtype=object), frame["item_id"].to_numpy())
    times = frame["time"].to_numpy(np.int64)
    if split == "leave_one_out":
        splits = splitting.leave_one_out(users, items_index, times, seed)
    else:
        splits = splitting.temporal(users, items_index, times)

    labels = item_labels(item_ids, items)
    images = item_images(item_ids, items, image_source, require_images, progress=progress)
    meta = dict(meta or {})
    if blank_photos:
        images, meta["num_blank_photos"] = with_blank_photos(images, items.path if items is not None else None)
    meta.update(kind="interactions", split=split, seed=seed,
                min_user_interactions=min_user_interactions, has_time=records.has_time,
                num_raw_interactions=int(len(records.frame)), num_raw_users=int(raw_users))
    meta.setdefault("name", os.path.basename(os.path.abspath(out_dir)))
    meta.setdefault("source", records.path)
    return write_items_dataset(out_dir, meta, user_ids, item_ids, splits, labels, images,
                               cold_threshold=cold_threshold, image_shards=image_shards,
                               overwrite=overwrite, extra_npz=extra_npz)


def write_items_dataset(out_dir: str, meta: Dict, user_ids: Sequence[str],
                        item_ids: Sequence[str], splits: Dict[str, dataset_io.Split],
                        labels: ItemLabels, images: Optional[List[Optional[bytes]]], *,
                        cold_threshold: int, image_shards: int, overwrite: bool,
                        extra_item_arrays: Optional[Dict[str, np.ndarray]] = None,
                        extra_npz: Optional[Dict[str, Dict[str, np.ndarray]]] = None) -> str:
    """Compute the item table (cold flags from training counts) and write the folder."""
    table = dataset_io.item_table(len(item_ids), splits["train"].items, labels.category,
                                  labels.attributes, cold_threshold=cold_threshold)
    table.update(extra_item_arrays or {})
    test_items = np.asarray(splits["test"].items, np.int64)
    meta = dict(meta)
    meta.update(labels.meta())
    meta.update(cold_threshold=cold_threshold, num_cold_items=int(table["is_cold"].sum()),
                num_cold_test=int(table["is_cold"][test_items].sum()))
    extra = {schema.TEXTS_FILE: labels.texts} if labels.texts is not None else None
    return dataset_io.write_dataset(out_dir, meta, list(user_ids), list(item_ids), splits,
                                    table, images=images, num_shards=image_shards,
                                    overwrite=overwrite, extra_json=extra, extra_npz=extra_npz)


def check_output(out_dir: str, overwrite: bool) -> None:
    """Fail before any work when the output exists and may not be replaced."""
    check_replaceable(os.path.abspath(out_dir), overwrite, (schema.META_FILE,), "a dataset")


def collapse_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """One record per (user, item): the earliest (then first-listed) one."""
    ordered = frame.sort_values(["user_id", "item_id", "time", "row"], kind="stable")
    return ordered.drop_duplicates(["user_id", "item_id"], keep="first").reset_index(drop=True)


def check_items_listed(records: Interactions, items: ItemTable) -> None:
    """Every interacted item needs a row in the items file (its image and labels)."""
    listed = records.frame["item_id"].isin(set(items.frame["item_id"]))
    if not listed.all():
        first = records.frame[~listed].iloc[0]
        missing = records.frame.loc[~listed, "item_id"].nunique()
        raise DataError(f"item {first['item_id']!r} has no row in the items file {items.path} "
                        f"({missing} interacted items are missing from it)"
                        f"{_leading_zeros_hint(first['item_id'], items.frame['item_id'])}",
                        records.path, int(first["row"]))


def _leading_zeros_hint(item_id: str, listed_ids) -> str:
    """When the items file lists `item_id` with other leading zeros or a `.0` more or less (a
    spreadsheet or pandas read the ids as numbers), says so; else ""."""
    same_number = [i for i in listed_ids if _as_number(i) == _as_number(item_id)]
    if not same_number:
        return ""
    if same_number[0].lstrip("0") == item_id.lstrip("0"):
        return (f"; the items file has {same_number[0]!r}: leading zeros were lost (a spreadsheet "
                "read the ids as numbers?), keep the ids as text in both files")
    return (f"; the items file has {same_number[0]!r}: one file's ids were written as decimal numbers "
            "(a column read as numbers, pandas with an empty cell?), keep the ids as text in both files")


def _as_number(item_id: str) -> str:
    """`item_id` without leading zeros and without a decimal point followed by zeros only."""
    whole, point, fraction = item_id.partition(".")
    if point and fraction.strip("0") == "" and whole.isdigit():
        item_id = whole
    return item_id.lstrip("0")


def check_splittable(frame: pd.DataFrame, path: str, min_user_interactions: int,
                     raw_users: int) -> None:
    """Users left must each give one training, one validation and one test interaction."""
    if raw_users == 0:
        raise DataError("the file has no interactions, only its header (an export of an empty "
                        "selection?)", path)
    if frame.empty:
        raise DataError(f"no user has at least {min_user_interactions} distinct items "
                        f"({raw_users} users in the file), so every split would be empty; "
                        "lower --min_user_interactions or add interactions", path)
    counts = frame.groupby("user_id", sort=True).size()
    short = counts[counts < splitting.MIN_INTERACTIONS_TO_SPLIT]
    if len(short):
        user = short.index[0]
        row = int(frame.loc[frame["user_id"] == user, "row"].min())
        raise DataError(f"user {user!r} has only {int(short.iloc[0])} distinct items; a split "
                        f"needs at least {splitting.MIN_INTERACTIONS_TO_SPLIT} per user (one "
                        "train, one validation, one test): use --min_user_interactions >= "
                        f"{splitting.MIN_INTERACTIONS_TO_SPLIT}", path, row)
