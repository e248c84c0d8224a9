"""Polyvore-U (Lu et al. 2019, FHN's release; PAN's data) → an outfit dataset folder.

FHN's layout, one folder per data set (`tuples_630`, `tuples_519`, `tuples_53`, `tuples_32`):

| file | content |
|---|---|
| `image_list_top`, `image_list_bottom`, `image_list_shoe` | one image file name per line; line k is item k of that slot |
| `tuples_{train,val,test}_posi` | CSV `user,top,bottom,shoe` (with that header): a user's outfits, per-slot item indices |
| `tuples_{train,val,test}_nega` (optional) | negative outfits, same format (randomly mixed) |
| `fill_in_blank_test` (optional) | CSV of 4 outfits per row, `user,top,bottom,shoe` repeated, the first right |

Images (optional) are `<image_dir>/<name>` (FHN: `images/291x291`). Item ids become
`top/<name>`, `bottom/<name>`, `shoes/<name>`; users keep their indices as ids. The
variable-length files (`user,top,top,bottom,shoe`) are not read: an error says so.
"""
import csv
import os
from typing import List, Optional

import numpy as np

from tfvisrec.data.errors import DataError
from tfvisrec.data.ingest import check_output
from tfvisrec.data.outfits import SLOTS, OutfitTable, Outfits, write_outfit_dataset

LIST_FILES = ("image_list_top", "image_list_bottom", "image_list_shoe")
HEADER = ["user", "top", "bottom", "shoe"]
PHASES = {"train": "train", "valid": "val", "test": "test"}
FITB_FILE = "fill_in_blank_test"


def ingest_polyvore_u(tuples_dir: str, out_dir: str, image_dir: Optional[str] = None,
                      overwrite: bool = False, name: Optional[str] = None) -> str:
    """Write the outfits of a Polyvore-U `tuples_n` folder (and its images) as a dataset folder."""
    check_output(out_dir, overwrite)
    if not os.path.isdir(tuples_dir):
        raise DataError("Polyvore-U tuples folder does not exist", tuples_dir)
    names = [_read_list(os.path.join(tuples_dir, f)) for f in LIST_FILES]
    offsets = np.cumsum([0] + [len(n) for n in names])[:-1]
    sizes = [len(n) for n in names]
    positives, negatives = {}, {}
    for split, phase in PHASES.items():
        positives[split] = _read_tuples(os.path.join(tuples_dir, f"tuples_{phase}_posi"), sizes, offsets)
        nega = os.path.join(tuples_dir, f"tuples_{phase}_nega")
        if os.path.exists(nega):
            negatives[split] = _read_tuples(nega, sizes, offsets)
    fitb_users = fitb = None
    fitb_path = os.path.join(tuples_dir, FITB_FILE)
    if os.path.exists(fitb_path):
        fitb_users, fitb = _read_fitb(fitb_path, sizes, offsets)
    groups = list(positives.values()) + list(negatives.values())
    num_users = 1 + max(int(o.users.max()) for o in groups if len(o))
    item_slot = np.repeat(np.arange(len(SLOTS), dtype=np.int8), sizes)
    table = OutfitTable(list(SLOTS), item_slot, positives, negatives, fitb_users, fitb)
    item_ids = [f"{slot}/{n}" for slot, slot_names in zip(SLOTS, names) for n in slot_names]
    images = None
    if image_dir:
        images = [_read_image(image_dir, n) for slot_names in names for n in slot_names]
    meta = {"name": name or os.path.basename(os.path.abspath(out_dir)), "source": "polyvore_u",
            "tuples_dir": os.path.abspath(tuples_dir)}
    return write_outfit_dataset(out_dir, [str(u) for u in range(num_users)], item_ids, table,
                                meta=meta, images=images, overwrite=overwrite)


def _read_list(path) -> List[str]:
    if not os.path.exists(path):
        raise DataError("missing Polyvore-U image list", path)
    with open(path, encoding="utf-8") as f:
        names = [line.strip() for line in f]
    for row, n in enumerate(names, start=1):
        if not n:
            raise DataError("empty image name", path, row)
    if not names:
        raise DataError("empty image list", path)
    return names


def _rows(path):
    if not os.path.exists(path):
        raise DataError("missing Polyvore-U tuples file", path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise DataError("empty tuples file", path)
    return rows


def _read_tuples(path, sizes, offsets) -> Outfits:
    rows = _rows(path)
    header = [h.strip() for h in rows[0]]
    if header != HEADER:
        detail = " (variable-length outfits with two tops are not supported)" if header.count("top") > 1 else ""
        raise DataError(f"header is {','.join(header)}, expected {','.join(HEADER)}{detail}", path, 1)
    values = np.asarray([_parse(r, len(HEADER), path, k) for k, r in enumerate(rows[1:], start=2)],
                        np.int64).reshape(-1, len(HEADER))
    return Outfits(values[:, 0], _to_items(values[:, 1:], sizes, offsets, path, row0=2))


def _read_fitb(path, sizes, offsets):
    rows = _rows(path)
    width = len(rows[0])
    if width % len(HEADER) or [h.strip() for h in rows[0][:4]] != HEADER:
        raise DataError(f"header must repeat {','.join(HEADER)}", path, 1)
    values = np.asarray([_parse(r, width, path, k) for k, r in enumerate(rows[1:], start=2)],
                        np.int64).reshape(len(rows) - 1, -1, len(HEADER))
    bad = np.argwhere(values[:, :, 0] != values[:, :1, 0])
    if bad.size:
        raise DataError("a question's candidates belong to different users", path, int(bad[0][0]) + 2)
    flat = _to_items(values[:, :, 1:].reshape(-1, 3), sizes, offsets, path, row0=2,
                     per_row=values.shape[1])
    return values[:, 0, 0], flat.reshape(values.shape[0], values.shape[1], 3)


def _parse(row, width, path, line):
    if len(row) != width:
        raise DataError(f"{len(row)} columns, expected {width}", path, line)
    try:
        return [int(v) for v in row]
    except ValueError:
        raise DataError(f"non-integer value in {row}", path, line) from None


def _to_items(indices, sizes, offsets, path, row0, per_row=1):
    """Per-slot item indices → global ones (the slots' blocks in order)."""
    bad = np.argwhere((indices < 0) | (indices >= np.asarray(sizes)[None, :]))
    if bad.size:
        r, s = bad[0]
        raise DataError(f"{HEADER[s + 1]} index {indices[r, s]} is not in {LIST_FILES[s]} "
                        f"({sizes[s]} images)", path, row0 + int(r) // per_row)
    return indices + np.asarray(offsets)[None, :]


def _read_image(image_dir, name) -> bytes:
    path = os.path.join(image_dir, name)
    if not os.path.isfile(path):
        raise DataError("missing image", path)
    with open(path, "rb") as f:
        return f.read()
