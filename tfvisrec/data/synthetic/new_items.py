"""Garments that are in no catalogue yet: drawn like the world's items, with the taste a user
of the world would have for them (cold start proper: only the photo is known).

    values, jpegs = draw_new_items(5, size=64, seed=1)
    taste = user_taste(load_truth(world), "u0001", values)   # true utility without popularity
"""
import io
from typing import List, Tuple

import numpy as np

from tfvisrec.data.synthetic import drawing
from tfvisrec.data.synthetic import items as items_lib
from tfvisrec.data.synthetic import users as users_lib


def draw_new_items(count: int, size: int = 64, seed: int = 0,
                   jpeg_quality: int = 92) -> Tuple[np.ndarray, List[bytes]]:
    """→ (attribute values int32 [count, A], JPEG bytes of each), drawn as `generate_world` draws."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(99,)))
    values = items_lib.sample_item_values(count, rng)
    jpegs = []
    for row in values:
        image = drawing.draw_item(items_lib.value_names(row), size, rng).image
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=jpeg_quality)
        jpegs.append(buffer.getvalue())
    return values, jpegs


def user_taste(truth, user, values: np.ndarray) -> np.ndarray:
    """float32 [count]: the user's true utility of each new item (the world's eq. 1), without
    the popularity bias b_i, which a garment nobody has seen yet does not have."""
    weights = truth.user_weights[truth.user_index(user)][None, :]
    return users_lib.utility(weights, values, np.zeros(len(values), np.float32))[0]


def describe(values_row) -> str:
    """"red stripes top", "blue solid shoes"."""
    names = items_lib.value_names(values_row)
    return f"{names['colour']} {names['pattern']} {names['category']}"
