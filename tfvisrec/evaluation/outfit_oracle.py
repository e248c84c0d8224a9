"""The synthetic outfit world's truth as an outfit scorer, for benches and tests: what the
shoppers' choice model (`data/synthetic/outfit_world.py`) ranks first.

A shopper picks among compatible outfits only, with probability ∝ exp(utility / T), so the
best guess of her outfit is a compatible one first, then the one with the most details she
likes. The scorer mirrors eq. 4's split y = g + α p: g = `COMPATIBLE_BONUS` when the
colours harmonise (0 otherwise), larger than any utility gap, and p = the utility (her taste
for the outfit's details), so `outfit_score_parts` gives the ceilings of compatibility alone
and of taste alone.
"""
import numpy as np
import tensorflow as tf

COMPATIBLE_BONUS = 100.0


class WorldOracle:
    """Scores (user, outfit) pairs from `outfit_truth.npz` (item colours and details, the
    colour harmony, the shoppers' taste); same calls as the outfit models."""

    uses_attention = False
    splits_outfit_scores = True

    def __init__(self, truth_path: str):
        with np.load(truth_path) as z:
            self.colour, self.detail = z["item_colour"], z["item_detail"]
            self.harmony, self.taste = z["harmony"], z["taste"]
        if np.abs(self.taste).max() * 3 * 2 >= COMPATIBLE_BONUS:      # 3 slots: a utility gap < bonus
            raise ValueError(f"{truth_path}: tastes too large for the oracle's compatibility bonus")

    def outfit_score_parts(self, users, outfits, binary: bool = False):
        """(g, p) [N]: the compatibility bonus and the shopper's utility of the outfit's details."""
        users, items = np.asarray(users), np.asarray(outfits)
        c = self.colour[items]
        compatible = self.harmony[c[:, 0], c[:, 1]] & self.harmony[c[:, 1], c[:, 2]]
        utility = self.taste[users[:, None], self.detail[items]].sum(axis=1)
        return tf.constant(COMPATIBLE_BONUS * compatible), tf.constant(utility.astype(np.float64))

    def outfit_scores(self, users, outfits, binary: bool = False):
        g, p = self.outfit_score_parts(users, outfits)
        return g + p
