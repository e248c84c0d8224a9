"""Users' true tastes: sparse weights per attribute value, and the utility they induce.

u(user, item) = Σ_a w_user[a][value_a(item)] + b_item                     (the world's "eq. 1")

With drift, w_user(t) = (1 − α(t)) w_start + α(t) w_end, α(t) = (t − t_start)/(t_end − t_start),
so u(t) = (1 − α) u_start + α u_end (the bias does not drift).

With `drivers` (attribute names), each user instead cares about ONE attribute, drawn uniformly
from them: 1–2 liked values of it (weights 1–2), every other weight 0. That attribute is the
user's driving attribute (recorded in the truth as `user_drivers`), the ground truth an
explanation (SAERS' attention) should name.
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
_DRIVER_LIKES = (1.0, (1, 2), (1.0, 2.0))   # a single driving attribute: always cared about


@dataclasses.dataclass
class Preferences:
    weights_start: np.ndarray   # float32 [users, total values]
    weights_end: np.ndarray     # float32 [users, total values] (= start without drift)
    item_bias: np.ndarray       # float32 [items]
    drivers: np.ndarray = None  # int32 [users]: attribute index of each user's one driver; -1: mixed tastes


def parse_drivers(text: str):
    """Comma-separated attribute names → a tuple of them ("" → (): mixed tastes); ValueError
    naming an unknown one."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in vocab.ATTRIBUTE_NAMES]
    if unknown:
        raise ValueError(f"unknown driving attribute {unknown[0]!r}; known: {', '.join(vocab.ATTRIBUTE_NAMES)}")
    return names


def sample_preferences(num_users, num_items, drift, popularity_scale, rng, drivers=()) -> Preferences:
    start = np.zeros((num_users, vocab.num_values()), np.float32)
    chosen = np.full(num_users, -1, np.int32)
    for u in range(num_users):
        if drivers:
            name = drivers[rng.integers(len(drivers))]
            chosen[u] = vocab.ATTRIBUTE_NAMES.index(name)
            _draw_block(start[u], name, rng, _DRIVER_LIKES, dislikes=False)
            continue
        for name in vocab.ATTRIBUTE_NAMES:
            _draw_block(start[u], name, rng)
    end = start.copy()
    if drift:
        for u in range(num_users):
            for name in _DRIFTING:
                _draw_block(end[u], name, rng)
    bias = rng.normal(0.0, popularity_scale, num_items).astype(np.float32)
    return Preferences(start, end, bias, chosen)


def utility(weights: np.ndarray, item_values: np.ndarray, item_bias: np.ndarray) -> np.ndarray:
    """float32 [users, items] true utilities (eq. 1 above)."""
    x = items_lib.one_hot(item_values)
    return (weights.astype(np.float64) @ x.T + item_bias.astype(np.float64)[None, :]).astype(np.float32)


def _draw_block(row, name, rng, likes=None, dislikes=True):
    """(Re)draw one user's weights of one attribute in place (`likes`: (probability the user
    cares, (fewest, most) liked values, weight range), default the attribute's own)."""
    a = vocab.ATTRIBUTE_NAMES.index(name)
    offset = vocab.value_offsets()[a]
    values = vocab.ATTRIBUTES[a][1]
    # "none" (not applicable) is never liked: it is not a look, just a category without the region.
    candidates = [k for k, v in enumerate(values) if v != vocab.NONE]
    row[offset:offset + len(values)] = 0.0
    p_cares, (lo, hi), (w_lo, w_hi) = likes or _LIKES[name]
    if rng.random() >= p_cares:
        return
    liked = rng.choice(candidates, size=rng.integers(lo, hi + 1), replace=False)
    row[offset + liked] = rng.uniform(w_lo, w_hi, len(liked))
    if dislikes and name == "colour" and rng.random() < _COLOUR_DISLIKE[0]:
        others = [k for k in candidates if k not in set(liked.tolist())]
        row[offset + rng.choice(others)] = -rng.uniform(*_COLOUR_DISLIKE[1])
