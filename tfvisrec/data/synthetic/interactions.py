"""Purchases: each user buys distinct items, one at a time, by a softmax over true utility.

At a purchase time t the user picks item i among the items released by t and not bought yet
with probability ∝ exp(u_t(user, i) / temperature) (Gumbel-max sampling), so a user's basket
is a Plackett–Luce draw without replacement. Cold items are released late and so collect
few buyers.
"""
import dataclasses

import numpy as np

from tfvisrec.data.synthetic import eras


@dataclasses.dataclass
class Purchases:
    users: np.ndarray        # int64 [n] user index
    items: np.ndarray        # int64 [n] item index
    times: np.ndarray        # int64 [n] unix seconds
    release: np.ndarray      # int64 [items] first second an item can be bought
    is_cold: np.ndarray      # bool [items] released late


def sample_releases(config, rng):
    """Release second and cold flag of every item (warm items exist from the start)."""
    start, end = config.time_range()
    release = np.full(config.num_items, start, np.int64)
    cold = np.zeros(config.num_items, bool)
    cold[rng.choice(config.num_items, size=config.num_cold_items(), replace=False)] = True
    first = end - int(config.cold_window * (end - start))
    release[cold] = rng.integers(first, end, size=int(cold.sum()), endpoint=True)
    return release, cold


def sample_purchases(utility_start, utility_end, config, rng, era_utility=None, changes=()) -> Purchases:
    """utility_* are float32 [users, items]; they differ only with drift. `era_utility`
    [eras, items] is added by the era of the purchase time (`eras.py`, change times `changes`)."""
    num_users, num_items = utility_start.shape
    start, end = config.time_range()
    release, cold = sample_releases(config, rng)
    most = min(num_items // 3, num_items - int(cold.sum()))
    extra = rng.exponential(config.mean_interactions - config.min_interactions, num_users)
    counts = np.minimum(config.min_interactions + np.round(extra).astype(np.int64), most)
    times = rng.integers(start, end, size=(num_users, counts.max()), endpoint=True)
    # Each user's own purchase times spread over the whole period, sorted; unused slots last.
    times = np.sort(np.where(np.arange(counts.max())[None, :] < counts[:, None], times,
                             np.iinfo(np.int64).max), axis=1)
    bought = np.zeros((num_users, num_items), bool)
    choices = np.full((num_users, counts.max()), -1, np.int64)
    for k in range(counts.max()):
        active = np.flatnonzero(counts > k)
        t = times[active, k]
        alpha = ((t - start) / float(end - start))[:, None]
        u = (1.0 - alpha) * utility_start[active] + alpha * utility_end[active]
        if era_utility is not None:
            u = u + era_utility[eras.era_of(t, changes)]
        logits = u / config.temperature + rng.gumbel(size=u.shape)
        logits[bought[active] | (release[None, :] > t[:, None])] = -np.inf
        pick = np.argmax(logits, axis=1)
        choices[active, k] = pick
        bought[active, pick] = True
    keep = choices >= 0
    users = np.broadcast_to(np.arange(num_users)[:, None], choices.shape)[keep]
    return Purchases(users=users.astype(np.int64), items=choices[keep], times=times[keep],
                     release=release, is_cold=cold)
