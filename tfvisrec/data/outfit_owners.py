"""Whose outfits: which users chose an outfit identical to a given one, in the splits of a table.

Two outfits are identical when they hold the same item in every slot (empty slots included);
a user's outfits are her positives of the splits asked for. Different users can choose
identical outfits, so an outfit another user chose can be one of hers: never her negative.
The evaluation's questions (`outfit_questions`) know every split (train, valid, test); training
(PAN's random, hard and user-specific negatives, `models/pan_owners.py`) knows only the training
split, as it knows no held-out choice (a test outfit of hers stays a negative there).

`OutfitOwners` holds sorted int64 arrays that answer "is outfit O one of user v's?" by binary
search alone, in numpy here and in a TensorFlow graph (`tf.searchsorted` on the same arrays),
without hashing: an outfit's id is found slot by slot, the id of its first s slots being the
rank of (id of its first s − 1 slots) · (num_items + 1) + item_s + 1 among those of the
table's outfits (−1 for an outfit no user chose), and the pair (v, O) is hers when
id(O) · num_users + v is among the table's (outfit, user) keys.
"""
import dataclasses
from typing import List, Optional, Sequence

import numpy as np

from tfvisrec.data.outfits import OutfitTable


@dataclasses.dataclass
class OutfitOwners:
    """The table's outfits and who chose each, as sorted keys (see the module docstring)."""

    prefix_keys: List[np.ndarray]   # per slot: sorted distinct int64 keys of the outfits' first s + 1 slots
    owner_keys: np.ndarray          # sorted distinct int64 outfit id · num_users + user
    item_radix: int                 # num_items + 1 (item ids −1 … num_items − 1 shifted to 0 … num_items)
    num_users: int


def outfit_owners(table: OutfitTable, num_users: Optional[int] = None,
                  splits: Optional[Sequence[str]] = None) -> OutfitOwners:
    """The owners of the positive outfits of `table`'s `splits` (default: all); users asked about
    are ids < `num_users` (default: 1 + the largest user id of those splits)."""
    chosen = [o for split, o in table.positives.items() if len(o) and (splits is None or split in splits)]
    items = np.concatenate([np.asarray(o.items, np.int64).reshape(len(o), -1) for o in chosen] +
                           [np.zeros((0, table.num_slots), np.int64)])
    users = np.concatenate([np.asarray(o.users, np.int64) for o in chosen] + [np.zeros(0, np.int64)])
    num_users = int(users.max(initial=-1)) + 1 if num_users is None else int(num_users)
    radix = len(table.item_slot) + 1
    if len(items) * max(radix, num_users) >= np.iinfo(np.int64).max:
        raise ValueError(f"{len(items)} outfits of {radix - 1} items are too many for int64 outfit keys")
    prefix_keys, ids = [], np.zeros(len(items), np.int64)
    for s in range(table.num_slots):
        keys = ids * radix + items[:, s] + 1
        prefix_keys.append(np.unique(keys))
        ids = np.searchsorted(prefix_keys[-1], keys)
    return OutfitOwners(prefix_keys, np.unique(ids * num_users + users), radix, num_users)


def outfit_ids(owners: OutfitOwners, outfits) -> np.ndarray:
    """int64 [N]: the id of each of `outfits` [N, S] among the table's outfits, −1 for an outfit
    that is none of them."""
    outfits = np.asarray(outfits, np.int64).reshape(len(outfits), -1)
    ids, found = np.zeros(len(outfits), np.int64), np.ones(len(outfits), bool)
    for s, sorted_keys in enumerate(owners.prefix_keys):
        ids, found_here = _find(sorted_keys, ids * owners.item_radix + outfits[:, s] + 1)
        found &= found_here
    return np.where(found, ids, -1)


def owns(owners: OutfitOwners, users, outfits) -> np.ndarray:
    """bool [N]: whether outfit `outfits`[n] is identical to one that user `users`[n] chose."""
    ids = outfit_ids(owners, outfits)
    _, found = _find(owners.owner_keys, np.maximum(ids, 0) * owners.num_users + np.asarray(users, np.int64))
    return found & (ids >= 0)


def _find(sorted_keys: np.ndarray, keys: np.ndarray):
    """→ (index of each key in `sorted_keys`, clipped into range; whether it is there)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
    index = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return index, sorted_keys[index] == keys
