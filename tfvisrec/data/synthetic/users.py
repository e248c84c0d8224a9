"""Users' true tastes: sparse weights per attribute value, and the utility they induce.

u(user, item) = Σ_a w_user[a][value_a(item)] + b_item                     (the world's "eq. 1")

With drift, w_user(t) = (1 − α(t)) w_start + α(t) w_end, α(t) = (t − t_start)/(t_end − t_start),
so u(t) = (1 − α) u_start + α u_end (the bias does not drift).
"""
import dataclasses

import numpy as np

from tfvisrec.data.synthetic import items as items_lib
from tfvisrec.data.synthetic import vocabulary as vocab

# attribute → (probability the user cares, (fewest, most) liked values, weight range)
_LIKES = {
    "category": (1.0, (1, 2), (1.0, 2.0)),
    "colour": (1.0, (1, 2), (1.0, 2.0)),
    "pattern": (1.0, (1, 1), (0.5, 1.5)),
    "sleeve": (0.5, (1, 1), (0.5, 1.5)),
    "neckline": (0.4, (1, 1), (0.5, 1.5)),
    "print": (0.4, (1, 1), (0.5, 1.5)),
}
_COLOUR_DISLIKE = (0.5, (0.5, 1.5))   # probability of one disliked colour, weight range
_DRIFTING = ("colour", "pattern")       # blocks redrawn for the end-of-period taste


@dataclasses.dataclass
class Preferences:
    weights_start: np.ndarray   # float32 [users, total values]
    weights_end: np.ndarray     # float32 [users, total values] (= start without drift)
    item_bias: np.ndarray       # float32 [items]


def sample_preferences(num_users, num_items, drift, popularity_scale, rng) -> Preferences:
    start = np.zeros((num_users, vocab.num_values()), np.float32)
    for u in range(num_users):
        for name in vocab.ATTRIBUTE_NAMES:
            _draw_block(start[u], name, rng)
    end = start.copy()
    if drift:
        for u in range(num_users):
            for name in _DRIFTING:
                _draw_block(end[u], name, rng)
    bias = rng.normal(0.0, popularity_scale, num_items).astype(np.float32)
    return Preferences(start, end, bias)


def utility(weights: np.ndarray, item_values: np.ndarray, item_bias: np.ndarray) -> np.ndarray:
    """float32 [users, items] true utilities (eq. 1 above)."""
    x = items_lib.one_hot(item_values)
    return (weights.astype(np.float64) @ x.T + item_bias.astype(np.float64)[None, :]).astype(np.float32)


def _draw_block(row, name, rng):
    """(Re)draw one user's weights of one attribute in place."""
    a = vocab.ATTRIBUTE_NAMES.index(name)
    offset = vocab.value_offsets()[a]
    values = vocab.ATTRIBUTES[a][1]
    # "none" (not applicable) is never liked: it is not a look, just a category without the region.
    candidates = [k for k, v in enumerate(values) if v != vocab.NONE]
    row[offset:offset + len(values)] = 0.0
    p_cares, (lo, hi), (w_lo, w_hi) = _LIKES[name]
    if rng.random() >= p_cares:
        return
    liked = rng.choice(candidates, size=rng.integers(lo, hi + 1), replace=False)
    row[offset + liked] = rng.uniform(w_lo, w_hi, len(liked))
    if name == "colour" and rng.random() < _COLOUR_DISLIKE[0]:
        others = [k for k in candidates if k not in set(liked.tolist())]
        row[offset + rng.choice(others)] = -rng.uniform(*_COLOUR_DISLIKE[1])
