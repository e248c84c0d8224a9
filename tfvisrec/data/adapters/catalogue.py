"""A labelled catalogue (e.g. Fashion Product Images) → dataset folder without users.

`labels.csv` has an id column, an image column (path relative to the images folder or
archive member name, e.g. `images/12783.jpg`), label columns and optionally a title.
The folder has zero users and empty interaction splits, meta["kind"] = "catalogue",
category = the first label column, attributes = all label columns (missing → -1), and
items.npz gains `holdout_split` (int8: 0 train, 1 valid, 2 test) for attribute
classification, e.g. the multi-task pretraining of image backbones.
"""
import os
from typing import Optional, Sequence

from tfvisrec.data.csv_reader import HEADER_ROW, read_items
from tfvisrec.data.errors import DataError
from tfvisrec.data.image_reader import FolderImages, open_images
from tfvisrec.data.ingest import check_output, write_items_dataset
from tfvisrec.data.item_encoding import item_images, item_labels
from tfvisrec.data.split import empty_splits, holdout_split

DEFAULT_LABEL_COLUMNS = ("masterCategory", "subCategory", "articleType", "baseColour", "usage")
DEFAULT_HOLDOUT = (0.8, 0.1, 0.1)


def ingest_catalogue(labels_csv: str, images: Optional[str], out_dir: str, *,
                     label_columns: Sequence[str] = DEFAULT_LABEL_COLUMNS,
                     id_column: str = "product_id", image_column: str = "image",
                     text_columns: Sequence[str] = ("title",),
                     holdout_fractions: Sequence[float] = DEFAULT_HOLDOUT, seed: int = 0,
                     image_shards: int = 4, overwrite: bool = False,
                     require_images: bool = True, name: Optional[str] = None,
                     progress: bool = False) -> str:
    """Ingest a labelled catalogue; `images` is a folder or a tar(.gz) archive (default:
    the folder of labels.csv)."""
    check_output(out_dir, overwrite)
    label_columns = [c for c in label_columns if c]
    if not label_columns:
        raise DataError("no label columns given (--label_columns)", labels_csv)
    try:
        holdout = holdout_split(0, holdout_fractions, seed)
    except ValueError as e:
        raise DataError(str(e)) from None
    table = read_items(labels_csv, id_column=id_column, image_column=image_column,
                       category_column=label_columns[0], attribute_columns=label_columns,
                       text_columns=text_columns)
    item_ids = sorted(table.frame["item_id"])
    if not item_ids:
        raise DataError("the catalogue has no rows", table.path)
    source = open_images(images) if images else FolderImages(os.path.dirname(table.path))
    if isinstance(source, FolderImages):
        table.frame["image"] = _relative_to_folder(table.frame["image"], source.root)
    labels = item_labels(item_ids, table)
    check_every_label_column_has_values(labels, table.path)
    item_bytes = item_images(item_ids, table, source, require_images, progress=progress)
    holdout = holdout_split(len(item_ids), holdout_fractions, seed)
    meta = {"name": name or os.path.basename(os.path.abspath(out_dir)),
            "source": table.path, "adapter": "catalogue", "kind": "catalogue",
            "split": "holdout", "seed": seed, "holdout_fractions": list(holdout_fractions),
            "label_columns": list(label_columns), "has_time": False,
            "min_user_interactions": None,
            "num_holdout": {s: int((holdout == k).sum())
                            for k, s in enumerate(("train", "valid", "test"))}}
    return write_items_dataset(out_dir, meta, [], item_ids, empty_splits(), labels,
                               item_bytes, cold_threshold=0, image_shards=image_shards,
                               overwrite=overwrite, extra_item_arrays={"holdout_split": holdout})


def check_every_label_column_has_values(labels, path: str) -> None:
    """A label column empty in every row gives the attribute classifier a head of no classes."""
    for name, values in zip(labels.attribute_names, labels.attribute_values):
        if not values:
            raise DataError(f"label column {name!r} is empty in every row: leave it out of "
                            "--label_columns", path, HEADER_ROW)


def _relative_to_folder(refs, root):
    """Image paths as written (`images/1.jpg`) also work when `root` is the `images` folder."""
    def fix(ref):
        if not ref or os.path.exists(os.path.join(root, ref)):
            return ref
        base = os.path.basename(ref)
        return base if os.path.exists(os.path.join(root, base)) else ref
    return refs.map(fix)
