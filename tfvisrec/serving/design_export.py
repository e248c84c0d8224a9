"""What a servable holds to answer `generate` (DVBPR §III-D): the GAN beside the exported
recommender, the GAN's category names, and the preference-maximisation settings fixed at
export (restarts m, Adam steps, step size, η, k designs returned per request).

The optimisation runs in the graph for exactly `steps` steps, so a request's cost is known
at export; row b of a request starts from `seed_b`'s random z, so the same (user, category,
seed) always returns the same designs.
"""
import dataclasses
from typing import Sequence

import tensorflow as tf

from tfvisrec.design.preference import PreferenceMaximiser


@dataclasses.dataclass(frozen=True)
class DesignSettings:
    restarts: int = 16
    steps: int = 50
    learning_rate: float = 0.05
    eta: float = 1.0
    k: int = 3

    def __post_init__(self):
        if not 1 <= self.k <= self.restarts or self.steps < 1 or self.learning_rate <= 0:
            raise ValueError(f"design settings need 1 ≤ k ≤ restarts, steps ≥ 1 and a positive "
                             f"learning rate, got {self}")


class DesignExport(tf.Module):
    """The GAN and its settings inside a recommender's SavedModel (see the module docstring)."""

    def __init__(self, gan, recommender, categories: Sequence[str], settings: DesignSettings):
        super().__init__(name="design")
        if len(categories) != gan.num_categories:
            raise ValueError(f"the GAN has {gan.num_categories} categories, {len(categories)} names given")
        self.maximiser = PreferenceMaximiser(gan, recommender, eta=settings.eta)
        self.settings = settings
        self.category_names = list(categories)
        self.category_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(self.category_names, tf.string),
                                                tf.range(len(self.category_names), dtype=tf.int64)),
            default_value=-1, name="category_names")

    def category_index(self, names):
        """Category names [B] → GAN category indices; INVALID_ARGUMENT naming unknown ones."""
        index = self.category_table.lookup(names)
        unknown = index < 0
        check = tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(unknown)),
            ["unknown category name(s), not among the GAN's categories:",
             tf.boolean_mask(names, unknown)], summarize=10)
        with tf.control_dependencies([check]):
            return tf.cast(index, tf.int32)

    @staticmethod
    def checked_seeds(seeds):
        negative = seeds < 0
        check = tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(negative)),
            ["seed must be ≥ 0; got", tf.boolean_mask(seeds, negative)], summarize=10)
        with tf.control_dependencies([check]):
            return tf.identity(seeds)

    def generate(self, user_index, categories, seeds):
        """→ {"images": PNG bytes [B, k], "scores": θ_uᵀΦ [B, k], "objective": eq. 10 [B, k]}."""
        s = self.settings
        images, preference, objective = self.maximiser.design_batch(
            user_index, self.category_index(categories), self.checked_seeds(seeds),
            s.restarts, s.steps, s.learning_rate, s.k)
        size = self.maximiser.gan.image_size
        pixels = tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0, 255), tf.uint8)
        png = tf.map_fn(tf.io.encode_png, tf.reshape(pixels, [-1, size, size, 3]),
                        fn_output_signature=tf.string)
        return {"images": tf.reshape(png, tf.shape(preference)), "scores": preference,
                "objective": objective}
