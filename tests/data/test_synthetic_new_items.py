"""Garments outside the catalogue (tfvisrec/data/synthetic/new_items.py), as the demo scores them."""
import io

import numpy as np
from PIL import Image

from tfvisrec.data.synthetic import SyntheticConfig, generate_world, load_truth
from tfvisrec.data.synthetic import new_items


def test_new_items_are_seeded_jpegs_of_the_drawn_values():
    values, jpegs = new_items.draw_new_items(4, size=48, seed=5)
    again, same = new_items.draw_new_items(4, size=48, seed=5)
    other, different = new_items.draw_new_items(4, size=48, seed=6)
    assert np.array_equal(values, again) and jpegs == same and jpegs != different
    assert values.shape == (4, 6)
    for jpeg in jpegs:
        image = Image.open(io.BytesIO(jpeg))
        assert image.format == "JPEG" and image.size == (48, 48)
    assert all(len(new_items.describe(row).split()) == 3 for row in values)


def test_user_taste_is_the_true_utility_without_popularity(tmp_path):
    truth = load_truth(generate_world(str(tmp_path / "w"), SyntheticConfig(num_users=5, num_items=24, seed=2)))
    for user in truth.user_ids[:3]:
        u = truth.user_index(user)
        np.testing.assert_allclose(new_items.user_taste(truth, user, truth.item_values),
                                   truth.utility[u] - truth.item_bias, rtol=1e-5, atol=1e-5)
