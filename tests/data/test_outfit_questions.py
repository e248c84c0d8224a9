"""The personal questions: a user's outfits against outfits other users chose, never her own."""
import numpy as np

from tfvisrec.data.outfit_questions import personal_pairs
from tfvisrec.data.outfits import OutfitTable, Outfits

# items 0-2 are tops, 3-5 bottoms
TRAIN = Outfits(np.array([0, 1, 2]), np.array([[0, 3], [1, 4], [2, 5]]))
# user 1 chose user 0's test outfit [0, 4] too, and user 0's training outfit [0, 3]
TEST = Outfits(np.array([0, 1, 1, 2]), np.array([[0, 4], [0, 4], [0, 3], [2, 5]]))
SHARED = OutfitTable(slots=["top", "bottom"], item_slot=np.array([0, 0, 0, 1, 1, 1], np.int8),
                     positives={"train": TRAIN, "valid": Outfits(np.zeros(0, np.int64), np.zeros((0, 2), np.int64)),
                                "test": TEST})


def _negatives(pairs, user):
    users, outfits, labels = pairs
    return outfits[(users == user) & ~labels].tolist()


def test_an_outfit_the_user_chose_in_any_split_is_never_her_negative():
    pairs = personal_pairs(SHARED, "test")
    assert _negatives(pairs, 0) == [[2, 5]]          # not [0, 4] (hers in test), nor [0, 3] (hers in train)
    assert _negatives(pairs, 1) == [[2, 5]]          # not user 0's [0, 4]: she chose it too
    assert _negatives(pairs, 2) == [[0, 4], [0, 4], [0, 3]]
    users, outfits, labels = pairs
    assert outfits[users == 0][labels[users == 0]].tolist() == [[0, 4]]


def test_max_negatives_draws_from_the_eligible_ones_seeded():
    for seed in range(10):
        pairs = personal_pairs(SHARED, "test", seed=seed, max_negatives=1)
        assert _negatives(pairs, 0) == [[2, 5]]
        assert len(_negatives(pairs, 2)) == 1
        again = personal_pairs(SHARED, "test", seed=seed, max_negatives=1)
        for got, expected in zip(again, pairs):
            np.testing.assert_array_equal(got, expected)
