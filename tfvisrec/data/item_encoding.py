"""Turn an ItemTable's strings into the label arrays and images of a dataset folder.

Categories and attribute values become indices into sorted vocabularies (-1 = unknown),
so the same input always gives the same indices.
"""
import dataclasses
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from tfvisrec.data import schema
from tfvisrec.data.csv_reader import ItemTable, attribute_column
from tfvisrec.data.errors import DataError
from tfvisrec.data.image_reader import FolderImages, blank_photo, read_item_images


@dataclasses.dataclass
class ItemLabels:
    """Index-aligned labels of the items of a dataset, with their vocabularies."""

    category: np.ndarray            # int32 [items], -1 unknown
    attributes: np.ndarray          # int32 [items, attributes], -1 unknown
    categories: List[str]
    attribute_names: List[str]
    attribute_values: List[List[str]]
    texts: Optional[List[str]]

    def meta(self) -> Dict:
        return {"categories": self.categories,
                "attributes": {"names": self.attribute_names, "values": self.attribute_values}}


def encode_labels(values: Sequence[str]) -> Tuple[np.ndarray, List[str]]:
    """Strings → (int32 indices into the sorted distinct non-empty values, that vocabulary)."""
    values = np.asarray(values, dtype=object)
    known = values != ""
    vocab = sorted(set(values[known].tolist()))
    lookup = {v: k for k, v in enumerate(vocab)}
    indices = np.array([lookup.get(v, schema.NO_LABEL) for v in values.tolist()], np.int32)
    return indices, vocab


def no_labels(num_items: int) -> ItemLabels:
    return ItemLabels(np.full(num_items, schema.NO_LABEL, np.int32),
                      np.zeros((num_items, 0), np.int32), [], [], [], None)


def aligned_rows(item_ids: Sequence[str], table: ItemTable) -> pd.DataFrame:
    """The table's rows in the order of `item_ids`; ids it lacks get empty values and row 0."""
    frame = table.frame.set_index("item_id").reindex(list(item_ids))
    frame["row"] = frame["row"].fillna(0).astype(np.int64)
    return frame.fillna("")


def item_labels(item_ids: Sequence[str], table: Optional[ItemTable]) -> ItemLabels:
    """Category, attribute and text arrays for `item_ids` from `table` (None → no labels)."""
    if table is None:
        return no_labels(len(item_ids))
    rows = aligned_rows(item_ids, table)
    category, categories = encode_labels(rows["category"].to_numpy())
    columns, vocabularies = [], []
    for name in table.attribute_names:
        indices, vocab = encode_labels(rows[attribute_column(name)].to_numpy())
        columns.append(indices)
        vocabularies.append(vocab)
    attributes = (np.stack(columns, axis=1) if columns
                  else np.zeros((len(item_ids), 0), np.int32))
    texts = rows["text"].astype(str).tolist() if table.has_text else None
    return ItemLabels(category, attributes, categories, list(table.attribute_names),
                      vocabularies, texts)


def item_images(item_ids: Sequence[str], table: Optional[ItemTable], source,
                require_images: bool, progress: bool = False) -> Optional[List[Optional[bytes]]]:
    """Verified JPEG bytes per item (None = no image), or None when no item names an image.

    `source` defaults to the folder of the table's file. With `require_images` every item
    must name an image; the first that does not is reported with its row.
    """
    if table is None:
        if require_images:
            raise DataError("images are required (--require_images) but no items file with an "
                            "'image' column was given")
        return None
    rows = aligned_rows(item_ids, table)
    refs = rows["image"].astype(str).tolist()
    row_numbers = rows["row"].to_numpy()

    def where(k):  # items an adapter added without a file row are named by id alone
        return (table.path, int(row_numbers[k])) if row_numbers[k] else (None, None)

    if require_images:
        missing = [k for k, ref in enumerate(refs) if not ref]
        if missing:
            k = missing[0]
            raise DataError(f"item {item_ids[k]!r} has no image, and images are required "
                            f"(--require_images); {len(missing)} of {len(refs)} items lack one",
                            *where(k))
    if not any(refs):
        return None
    if source is None:
        source = FolderImages(os.path.dirname(table.path))
    return read_item_images(refs, source, where, progress=progress)


def with_blank_photos(images: Optional[List[Optional[bytes]]],
                      items_path: Optional[str]) -> Tuple[List[bytes], int]:
    """`images` with `blank_photo()` for every item without one (ingest `--blank_photos`),
    and how many got it."""
    if images is None:
        raise DataError("--blank_photos fills the gaps of a catalogue with photos, but no item names "
                        "a photo (an items file with an 'image' column)", items_path)
    blank = blank_photo()
    return [blank if image is None else image for image in images], sum(image is None for image in images)
