"""The held-out interactions of a split as evaluation queries, with each user's non-negatives.

One query per held-out row (user u, item i, time t): i is ranked against the items u never
interacted with in any split (VBPR / DVBPR protocol). With leave-one-out there is one query
per user; with a temporal split a user may have several, and metrics are averaged per user
first so every user weighs the same.
"""
import dataclasses
from typing import List

import numpy as np

from tfvisrec.data import schema
from tfvisrec.data.errors import DataError


@dataclasses.dataclass
class Queries:
    users: np.ndarray          # int64 [Q]
    items: np.ndarray          # int64 [Q] the held-out (positive) item
    times: np.ndarray          # int64 [Q] time of the held-out interaction (-1 unknown)
    cold: np.ndarray           # bool [Q] the positive is a cold item (dataset.is_cold)
    seen: List[np.ndarray]     # per user: sorted items it interacted with in any split
    num_items: int

    def __len__(self):
        return len(self.users)

    def excluded(self, rows) -> List[np.ndarray]:
        """Per query of `rows`, the items that are not candidate negatives (sorted)."""
        return [self.seen[u] for u in self.users[rows]]

    def num_candidates(self) -> np.ndarray:
        """Candidate negatives per query: items the user never interacted with."""
        return self.num_items - np.array([self.seen[u].size for u in self.users], np.int64)


def held_out_queries(dataset, split: str = "test") -> Queries:
    """Queries of `split` ("test" or "valid"); users who interacted with every item are left out."""
    if split not in ("valid", "test"):
        raise ValueError(f"evaluate on the valid or test split, not {split!r}")
    held_out = dataset.split(split)
    if len(held_out) == 0:
        raise DataError(f"the {split} split is empty: nothing to evaluate", dataset.path)
    seen = dataset.user_items(schema.SPLITS)
    users = np.asarray(held_out.users, np.int64)
    items = np.asarray(held_out.items, np.int64)
    queries = Queries(users=users, items=items, times=np.asarray(held_out.times, np.int64),
                      cold=np.asarray(dataset.is_cold, bool)[items], seen=seen,
                      num_items=dataset.num_items)
    keep = queries.num_candidates() > 0
    if not keep.all():
        queries = dataclasses.replace(queries, users=users[keep], items=items[keep],
                                      times=queries.times[keep], cold=queries.cold[keep])
    if len(queries) == 0:
        raise DataError(f"no {split} user has an item left to rank against", dataset.path)
    return queries


def per_user_mean(values: np.ndarray, users: np.ndarray, select=None):
    """Mean over users of each user's mean value (over the selected queries) → (mean, #users)."""
    if select is not None:
        values, users = values[select], users[select]
    if users.size == 0:
        return float("nan"), 0
    present, index = np.unique(users, return_inverse=True)
    sums = np.bincount(index, weights=values, minlength=present.size)
    counts = np.bincount(index, minlength=present.size)
    return float(np.mean(sums / counts)), int(present.size)


def sample_negatives(rng: np.random.Generator, excluded: np.ndarray, num_items: int,
                     num_negatives: int) -> np.ndarray:
    """`num_negatives` items drawn uniformly from those not in `excluded` (sorted, unique).

    Without replacement when there are enough candidates, with replacement otherwise.
    The k-th candidate is k + |{e ∈ excluded : e − rank(e) ≤ k}|, so no candidate list is built.
    """
    num_candidates = num_items - excluded.size
    if num_candidates >= num_negatives:
        picks = rng.choice(num_candidates, size=num_negatives, replace=False)
    else:
        picks = rng.integers(0, num_candidates, size=num_negatives)
    shifted = excluded - np.arange(excluded.size)
    return picks + np.searchsorted(shifted, picks, side="right")
