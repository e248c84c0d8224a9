"""The canonical outfits table: who wore which top, bottom (and shoes), split train/valid/test.

An outfit dataset is an ordinary dataset folder (`schema.py`: vocabularies, item table,
images, interactions = every item of a user's outfits, in the outfit's split) plus
`outfits.npz`:

| array | content |
|---|---|
| `slots` | the slot names, e.g. `["top", "bottom", "shoes"]` |
| `item_slot` | int8 [items]: the slot index of each item (-1 = fits no slot) |
| `{split}_users`, `{split}_items` | the positive outfits: int64 [N], int64 [N, S] (-1 = slot left empty) |
| `{split}_neg_users`, `{split}_neg_items` (optional) | fixed negative outfits (Polyvore-U's `tuples_*_nega`) |
| `fitb_users`, `fitb_candidates` (optional) | fill-in-the-blank questions: [Q], [Q, C, S], the first candidate right |

Everything is checked on write and on load (`DataError` naming the file and the array); the
folder is written through `write_dataset`, so it appears complete or not at all.
"""
import dataclasses
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from tfvisrec.data import dataset as dataset_lib
from tfvisrec.data import schema
from tfvisrec.data.errors import DataError

OUTFITS_FILE = "outfits.npz"
SLOTS = ("top", "bottom", "shoes")
EMPTY = -1


@dataclasses.dataclass
class Outfits:
    """Outfits of one split (positives, or negatives) as aligned arrays."""

    users: np.ndarray   # int64 [N]
    items: np.ndarray   # int64 [N, S], -1 = empty slot

    def __len__(self):
        return len(self.users)


@dataclasses.dataclass
class OutfitTable:
    slots: List[str]
    item_slot: np.ndarray                       # int8 [items]
    positives: Dict[str, Outfits]               # by split
    negatives: Dict[str, Outfits] = dataclasses.field(default_factory=dict)
    fitb_users: Optional[np.ndarray] = None     # [Q]
    fitb_candidates: Optional[np.ndarray] = None  # [Q, C, S]

    @property
    def num_slots(self) -> int:
        return len(self.slots)

    def split(self, name: str) -> Outfits:
        if name not in schema.SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {schema.SPLITS}")
        return self.positives[name]

    def to_arrays(self) -> Dict[str, np.ndarray]:
        arrays = {"slots": np.asarray(self.slots), "item_slot": np.asarray(self.item_slot, np.int8)}
        for kind, table in (("", self.positives), ("neg_", self.negatives)):
            for split, outfits in table.items():
                arrays[f"{split}_{kind}users"] = np.asarray(outfits.users, np.int64)
                arrays[f"{split}_{kind}items"] = np.asarray(outfits.items, np.int64)
        if self.fitb_candidates is not None:
            arrays["fitb_users"] = np.asarray(self.fitb_users, np.int64)
            arrays["fitb_candidates"] = np.asarray(self.fitb_candidates, np.int64)
        return arrays

    def check(self, num_users: int, num_items: int, path: Optional[str] = None) -> None:
        """DataError naming the first bad array of the table."""
        s = self.num_slots
        if s < 2:
            raise DataError(f"an outfit needs at least 2 slots, got {self.slots}", path)
        if np.shape(self.item_slot) != (num_items,):
            raise DataError(f"item_slot has shape {np.shape(self.item_slot)}, expected ({num_items},)", path)
        groups = [(f"{k}", o) for k, o in self.positives.items()]
        groups += [(f"{k}_neg", o) for k, o in self.negatives.items()]
        for name, o in groups:
            _check_outfits(name, o, s, num_users, num_items, self.item_slot, path)
        if not len(self.positives.get("train", Outfits(np.zeros(0), np.zeros((0, s))))):
            raise DataError("no training outfits", path)
        if self.fitb_candidates is not None:
            c = np.asarray(self.fitb_candidates)
            if c.ndim != 3 or c.shape[2] != s or c.shape[0] != len(self.fitb_users):
                raise DataError(f"fitb_candidates has shape {c.shape}, expected "
                                f"[{len(self.fitb_users)}, C, {s}]", path)
            flat = Outfits(np.repeat(self.fitb_users, c.shape[1]), c.reshape(-1, s))
            _check_outfits("fitb", flat, s, num_users, num_items, self.item_slot, path)


def _check_outfits(name, outfits, num_slots, num_users, num_items, item_slot, path):
    users, items = np.asarray(outfits.users), np.asarray(outfits.items)
    if items.ndim != 2 or items.shape != (len(users), num_slots):
        raise DataError(f"{name} outfits have items of shape {items.shape}, expected "
                        f"[{len(users)}, {num_slots}]", path)
    bad = np.flatnonzero((users < 0) | (users >= num_users))
    if bad.size:
        raise DataError(f"{name} outfit {bad[0]} has user index {users[bad[0]]}, outside "
                        f"0..{num_users - 1}", path)
    bad = np.argwhere((items < EMPTY) | (items >= num_items))
    if bad.size:
        r, c = bad[0]
        raise DataError(f"{name} outfit {r} has item index {items[r, c]} in slot {c}, outside "
                        f"0..{num_items - 1}", path)
    filled = np.count_nonzero(items != EMPTY, axis=1)
    bad = np.flatnonzero(filled < 2)
    if bad.size:
        raise DataError(f"{name} outfit {bad[0]} has {filled[bad[0]]} item(s); an outfit needs 2", path)
    slot_of = np.where(items == EMPTY, np.arange(num_slots)[None, :],
                       np.asarray(item_slot)[np.maximum(items, 0)])
    bad = np.argwhere(slot_of != np.arange(num_slots)[None, :])
    if bad.size:
        r, c = bad[0]
        raise DataError(f"{name} outfit {r}: item {items[r, c]} of slot {item_slot[items[r, c]]} "
                        f"stands in slot {c}", path)


def slot_pools(table: OutfitTable, split: str) -> List[np.ndarray]:
    """Per slot, the sorted items the split's outfits put in that slot (DataError when a slot
    is never filled: no outfit of it can be mixed)."""
    items = table.split(split).items
    pools = [np.unique(items[:, s][items[:, s] != EMPTY]) for s in range(table.num_slots)]
    for name, pool in zip(table.slots, pools):
        if pool.size == 0:
            raise DataError(f"no {split} outfit fills slot {name!r}")
    return pools


def mix_outfits(pools: Sequence[np.ndarray], template: np.ndarray, rng) -> np.ndarray:
    """Randomly mixed outfits [N, S]: each filled slot of `template` [N, S] gets an item drawn
    uniformly from its pool, the empty ones stay empty."""
    out = np.stack([pool[rng.integers(pool.size, size=len(template))] for pool in pools], axis=1)
    return np.where(template == EMPTY, EMPTY, out).astype(np.int64)


def write_outfit_dataset(path: str, user_ids: Sequence[str], item_ids: Sequence[str],
                         table: OutfitTable, meta: Optional[Dict] = None,
                         images: Optional[Sequence[Optional[bytes]]] = None,
                         texts: Optional[Sequence[str]] = None, overwrite: bool = False,
                         extra_npz: Optional[Dict[str, Dict[str, np.ndarray]]] = None) -> str:
    """Check `table` and write the dataset folder with `outfits.npz` (atomically); `extra_npz`
    adds further .npz files (e.g. precomputed feature maps)."""
    table.check(len(user_ids), len(item_ids), path)
    splits = {}
    for split in schema.SPLITS:
        o = table.positives.get(split, Outfits(np.zeros(0, np.int64), np.zeros((0, table.num_slots), np.int64)))
        users = np.repeat(np.asarray(o.users, np.int64), table.num_slots)
        items = np.asarray(o.items, np.int64).reshape(-1)
        keep = items != EMPTY
        splits[split] = dataset_lib.Split(users[keep], items[keep], np.full(keep.sum(), schema.NO_TIME, np.int64))
    category = np.asarray(table.item_slot, np.int32)
    items_arrays = dataset_lib.item_table(len(item_ids), splits["train"].items, category=category)
    meta = {**(meta or {}), "kind": "outfits", "categories": list(table.slots),
            "split_protocol": "outfits", "has_time": False,
            "num_outfits": {s: int(len(o)) for s, o in table.positives.items()}}
    extra_json = {schema.TEXTS_FILE: list(texts)} if texts is not None else None
    return dataset_lib.write_dataset(path, meta, user_ids, item_ids, splits, items_arrays,
                                     images=images, overwrite=overwrite, extra_json=extra_json,
                                     extra_npz={OUTFITS_FILE: table.to_arrays(), **(extra_npz or {})})


def load_outfits(dataset) -> OutfitTable:
    """The outfits table of a loaded dataset folder (DataError when it has none or it is bad)."""
    path = os.path.join(dataset.path or "", OUTFITS_FILE)
    if not dataset.path or not os.path.exists(path):
        raise DataError("no outfits table: outfit models train on an outfit dataset "
                        "(`python -m tfvisrec.data outfits_synthetic|polyvore_u ...`)", path)
    with np.load(path) as z:
        files = set(z.files)
        slots = [str(s) for s in z["slots"]]
        positives, negatives = {}, {}
        for split in schema.SPLITS:
            if f"{split}_users" in files:
                positives[split] = Outfits(z[f"{split}_users"], z[f"{split}_items"])
            if f"{split}_neg_users" in files:
                negatives[split] = Outfits(z[f"{split}_neg_users"], z[f"{split}_neg_items"])
        table = OutfitTable(slots, z["item_slot"], positives, negatives,
                            z["fitb_users"] if "fitb_users" in files else None,
                            z["fitb_candidates"] if "fitb_candidates" in files else None)
    table.check(dataset.num_users, dataset.num_items, path)
    return table
