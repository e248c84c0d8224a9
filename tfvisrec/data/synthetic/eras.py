"""Fashion eras: a community-wide trend that changes abruptly at known change points.

With `--change_points=0.45,0.8` the period is cut into eras at those fractions of the date
range, and every era has its own trend over the attribute values: one colour and one pattern
are "in" (weight `trend_scale`), the same for every shopper, and a different pair in the next
era, when the pair before is "out" (weight −`trend_scale`). A purchase at time t then follows

    u(user, i, t) = u(user, i) + trendᵀ_{era(t)} x_i                   (x_i: one-hot values)

on top of the shoppers' own tastes (which may also drift, `--drift`). This is the drift TVBPR
(He & McAuley 2016b) is built for: shared visual dimensions whose weight moves by epoch, and
epochs whose boundaries are to be found; the truth records the change times to check them.
"""
from typing import Sequence

import numpy as np

from tfvisrec.data.synthetic import items as items_lib
from tfvisrec.data.synthetic import vocabulary as vocab

TRENDING = ("colour", "pattern")   # the attributes whose "in" value changes with the era


def parse_change_points(text: str) -> np.ndarray:
    """"0.45,0.8" → float64 [E − 1] in (0, 1), increasing; '' → none (one era)."""
    if not str(text).strip():
        return np.zeros([0], np.float64)
    try:
        points = np.array([float(p) for p in str(text).split(",")], np.float64)
    except ValueError:
        raise ValueError(f"change_points must be comma-separated fractions in (0, 1), got {text!r}") from None
    if np.any(points <= 0.0) or np.any(points >= 1.0) or np.any(np.diff(points) <= 0):
        raise ValueError(f"change_points must be increasing fractions in (0, 1), got {text!r}")
    return points


def change_times(points: Sequence[float], time_range) -> np.ndarray:
    """int64 [E − 1]: the unix second at which each era after the first starts."""
    start, end = time_range
    return np.round(start + np.asarray(points, np.float64) * (end - start)).astype(np.int64)


def era_of(times, changes) -> np.ndarray:
    """The era index of each time: the number of change times ≤ t."""
    return np.searchsorted(np.asarray(changes, np.int64), np.asarray(times, np.int64), side="right")


def sample_era_trends(num_eras: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """float32 [E, V]: per era, weight `scale` on one value of each `TRENDING` attribute,
    never the value of the era before (a trend changes at a change point), which then weighs
    −`scale` (it has just gone out of fashion)."""
    trends = np.zeros((num_eras, vocab.num_values()), np.float32)
    for name in TRENDING:
        a = vocab.ATTRIBUTE_NAMES.index(name)
        offset, count = vocab.value_offsets()[a], len(vocab.ATTRIBUTES[a][1])
        previous = -1
        for era in range(num_eras):
            value = int(rng.choice([v for v in range(count) if v != previous]))
            trends[era, offset + value] = scale
            if previous >= 0:
                trends[era, offset + previous] = -scale
            previous = value
    return trends


def era_utilities(trends: np.ndarray, item_values: np.ndarray) -> np.ndarray:
    """float32 [E, I]: trendᵀ_e x_i for every era and item."""
    return (trends.astype(np.float64) @ items_lib.one_hot(item_values).T).astype(np.float32)
