"""Filter users and split interactions: leave-one-out, temporal, and catalogue hold-out.

All functions take dense index arrays (users, items, times) with one entry per distinct
(user, item) pair and return `Split`s sorted by (user, item). The same seed gives the same
split on every machine (numpy's PCG64 generator).
"""
from typing import Dict, Sequence, Tuple

import numpy as np

from tfvisrec.data import schema
from tfvisrec.data.dataset import Split

MIN_INTERACTIONS_TO_SPLIT = 3  # one training, one validation and one test item


def users_with_at_least(users: np.ndarray, min_count: int) -> np.ndarray:
    """Boolean mask of the records whose user has at least `min_count` records."""
    users = np.asarray(users)
    if users.size == 0:
        return np.zeros(0, bool)
    _, inverse, counts = np.unique(users, return_inverse=True, return_counts=True)
    return counts[inverse] >= min_count


def leave_one_out(users, items, times, seed: int) -> Dict[str, Split]:
    """Per user one random validation and one random test interaction; the rest train.

    The protocol of VBPR/DVBPR (He & McAuley 2016; Kang et al. 2017, sec. 5.2). Every user
    needs at least 3 interactions (checked by the caller, which can name the user).
    """
    users, items, times = _sorted(users, items, times)
    keys = np.random.default_rng(seed).random(len(users))
    # Within each user, the smallest key is the test record and the second smallest validation.
    return _assign(users, items, times, np.lexsort((keys, users)))


def temporal(users, items, times) -> Dict[str, Split]:
    """Per user the last interaction by time is test, the second last validation.

    Ties in time are broken by item index (= sorted raw item id): the larger id counts
    as later, so the split is deterministic.
    """
    users, items, times = _sorted(users, items, times)
    order = np.lexsort((-items, -times, users))
    return _assign(users, items, times, order)


def holdout_split(num_items: int, fractions: Sequence[float], seed: int) -> np.ndarray:
    """int8 per item: 0 train, 1 validation, 2 test, a seeded random partition.

    `fractions` = (train, valid, test) shares; validation and test sizes are rounded and
    training takes the rest.
    """
    fractions = np.asarray(fractions, np.float64)
    if fractions.shape != (3,) or (fractions < 0).any() or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"hold-out fractions must be three non-negative shares summing to 1, "
                         f"got {list(fractions)}")
    num_valid = int(round(num_items * fractions[1]))
    num_test = min(num_items - num_valid, int(round(num_items * fractions[2])))
    labels = np.zeros(num_items, np.int8)
    order = np.random.default_rng(seed).permutation(num_items)
    labels[order[:num_valid]] = 1
    labels[order[num_valid:num_valid + num_test]] = 2
    return labels


def _sorted(users, items, times) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    times = np.asarray(times, np.int64)
    order = np.lexsort((items, users))
    return users[order], items[order], times[order]


def _assign(users, items, times, order) -> Dict[str, Split]:
    """`order` lists records grouped by user, test first then validation then the rest."""
    first = np.ones(len(order), bool)
    first[1:] = users[order][1:] != users[order][:-1]
    rank = np.arange(len(order)) - np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    split_of = np.empty(len(order), np.int8)
    split_of[order] = np.where(rank == 0, 2, np.where(rank == 1, 1, 0))
    out = {}
    for code, name in ((0, "train"), (1, "valid"), (2, "test")):
        mask = split_of == code
        out[name] = Split(users[mask], items[mask], times[mask])
    return out


def empty_splits() -> Dict[str, Split]:
    """Three empty splits (a catalogue has no users)."""
    empty = np.zeros(0, np.int64)
    return {name: Split(empty, empty, empty) for name in schema.SPLITS}
