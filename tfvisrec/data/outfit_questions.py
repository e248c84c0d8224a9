"""The questions outfit models are evaluated on, from one split of an outfits table (numpy, seeded).

- `personal`: each user's outfits of the split (label 1) against outfits other users chose
  in that split (label 0; FHN's "hard" negatives, at most `max_negatives` per user, drawn from
  the eligible ones): only a model of the user's taste ranks these right, compatibility alone
  cannot. An outfit the user chose herself, in any split of the table (the same items in every
  slot as one of hers), is never her negative, though another user chose it too: in her own
  split it would be her positive and her negative at once, and one she chose in training is
  known to be to her taste (a model that learned it would be counted wrong).
- `random`: each user's outfits against randomly mixed ones (the table's fixed negatives of
  the split when it has them, as Polyvore-U's `tuples_*_nega`; else `per_positive` drawn per
  outfit from the split's items of each slot): mostly incompatible, the non-personal task.
- `fitb`: fill in the blank (FHN): one filled slot of each outfit blanked, the right item
  among `candidates` − 1 other items of that slot; the table's `fitb_*` questions on the test
  split when it has them. The right candidate is column 0.

Pairs are `(users [N], outfits [N, S], labels [N] bool)`; each user is a group.
"""
from typing import Tuple

import numpy as np

from tfvisrec.data.outfit_owners import outfit_owners, owns
from tfvisrec.data.outfits import EMPTY, OutfitTable, mix_outfits, slot_pools

Pairs = Tuple[np.ndarray, np.ndarray, np.ndarray]


def personal_pairs(table: OutfitTable, split: str, seed: int = 0, max_negatives: int = 100) -> Pairs:
    pos = table.split(split)
    rng = np.random.default_rng([seed, 11])
    chosen_by = _outfits_chosen_by(table, pos.items)
    users, outfits, labels = [], [], []
    for u in np.unique(pos.users):
        mine = np.flatnonzero(pos.users == u)
        others = np.flatnonzero((pos.users != u) & ~chosen_by(u))
        if others.size > max_negatives:
            others = np.sort(rng.choice(others, max_negatives, replace=False))
        rows = np.concatenate([mine, others])
        users.append(np.full(rows.size, u))
        outfits.append(pos.items[rows])
        labels.append(np.arange(rows.size) < mine.size)
    return _join(users, outfits, labels, table.num_slots)


def _outfits_chosen_by(table: OutfitTable, outfits: np.ndarray):
    """→ `chosen_by(u)`: bool [N], whether each of `outfits` [N, S] is identical to an outfit
    user u chose in any split of `table`'s positives (`outfit_owners`)."""
    owners = outfit_owners(table)

    def chosen_by(u):
        return owns(owners, np.full(len(outfits), u, np.int64), outfits)
    return chosen_by


def random_pairs(table: OutfitTable, split: str, seed: int = 0, per_positive: int = 1) -> Pairs:
    pos = table.split(split)
    if split in table.negatives:
        neg = table.negatives[split]
        neg_users, neg_items = neg.users, neg.items
    else:
        rng = np.random.default_rng([seed, 12])
        template = np.repeat(pos.items, per_positive, axis=0)
        neg_users = np.repeat(pos.users, per_positive)
        neg_items = mix_outfits(slot_pools(table, split), template, rng)
    users = np.concatenate([pos.users, neg_users])
    outfits = np.concatenate([pos.items, neg_items])
    labels = np.arange(len(users)) < len(pos)
    return users.astype(np.int64), outfits.astype(np.int64), labels


def fitb_questions(table: OutfitTable, split: str, seed: int = 0, candidates: int = 4):
    """→ (users [Q], candidate outfits [Q, C, S]); candidate 0 is right."""
    if split == "test" and table.fitb_candidates is not None:
        return np.asarray(table.fitb_users, np.int64), np.asarray(table.fitb_candidates, np.int64)
    pos = table.split(split)
    rng = np.random.default_rng([seed, 13])
    pools = slot_pools(table, split)
    questions = np.repeat(pos.items[:, None, :], candidates, axis=1)
    keep = np.ones(len(pos), bool)
    for q, outfit in enumerate(pos.items):
        slot = rng.choice(np.flatnonzero(outfit != EMPTY))
        wrong = pools[slot][pools[slot] != outfit[slot]]
        if wrong.size < candidates - 1:
            keep[q] = False
            continue
        questions[q, 1:, slot] = rng.choice(wrong, candidates - 1, replace=False)
    return pos.users[keep].astype(np.int64), questions[keep].astype(np.int64)


def distinct_pairs(users, outfits):
    """The distinct (user, outfit) rows of users [N] and outfits [N, S] → (users [M],
    outfits [M, S], back [N]) with users[back], outfits[back] the rows given.

    Scorers score each distinct pair once: the same outfit can be a user's positive and her
    negative (a randomly mixed outfit can come out as one she chose), and TensorFlow's
    kernels may round one pair's score differently in another place of a batch, which would
    turn that tie (0.5) into a win or a loss."""
    users, outfits = np.asarray(users, np.int64), np.asarray(outfits, np.int64)
    if not len(users):
        return users, outfits, np.zeros(0, np.int64)
    pairs, back = np.unique(np.concatenate([users[:, None], outfits.reshape(len(users), -1)], axis=1),
                            axis=0, return_inverse=True)
    return pairs[:, 0], pairs[:, 1:], back.reshape(-1)


def _join(users, outfits, labels, num_slots) -> Pairs:
    if not users:
        return np.zeros(0, np.int64), np.zeros((0, num_slots), np.int64), np.zeros(0, bool)
    return (np.concatenate(users).astype(np.int64), np.concatenate(outfits).astype(np.int64),
            np.concatenate(labels))
