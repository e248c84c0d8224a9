"""What a servable holds to answer `generate` and `tailor` (DVBPR §III-D): the GAN beside the
exported recommender, the GAN's category names, and the settings fixed at export:
preference maximisation's restarts m, Adam steps, step size, η and k designs returned per
request (eq. 9-10); tailoring's restarts, fit steps (eq. 12), preference steps and how often
a step is kept in the strip.

The optimisations run in the graph for exactly their step counts, so a request's cost is
known at export; row b of a `generate` request starts from `seed_b`'s random z, so the same
(user, category, seed) always returns the same designs; `tailor` always starts from seed 0's
random z, so the same (user, image, category) always returns the same strip.
"""
import dataclasses
from typing import Sequence

import tensorflow as tf

from tfvisrec.data import images as image_ops
from tfvisrec.design import tailoring
from tfvisrec.design.preference import PreferenceMaximiser
from tfvisrec.map_fn import map_fn


@dataclasses.dataclass(frozen=True)
class DesignSettings:
    restarts: int = 16
    steps: int = 50
    learning_rate: float = 0.05
    eta: float = 1.0
    k: int = 3
    tailor_restarts: int = 8
    tailor_fit_steps: int = 50
    tailor_steps: int = 50
    tailor_record_every: int = 10

    def __post_init__(self):
        if not 1 <= self.k <= self.restarts or self.steps < 1 or self.learning_rate <= 0:
            raise ValueError(f"design settings need 1 ≤ k ≤ restarts, steps ≥ 1 and a positive "
                             f"learning rate, got {self}")
        if self.tailor_restarts < 1:
            raise ValueError(f"tailoring needs tailor_restarts ≥ 1, got {self.tailor_restarts}")
        tailoring.check_steps(self.tailor_fit_steps, self.tailor_steps, self.tailor_record_every)


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
        return {"images": encode_png(images), "scores": preference, "objective": objective}

    def tailor(self, user_index, encoded_images, categories):
        """Eq. 12 then eq. 9-10 for encoded query images [B] (decoded and resized to the GAN's
        size) → {"images": PNG bytes of the strip [B, S], "scores": θ_uᵀΦ [B, S], "l1": mean
        absolute difference to the query [B, S], "stage" [B, S] (1 = fitting the query, 2 =
        preference maximisation), "step" [B, S] (within the stage), "query_scores": θ_uᵀΦ of
        the query itself [B]}."""
        s = self.settings
        categories = self.category_index(categories)
        queries = image_ops.decode_batch(encoded_images, self.maximiser.gan.image_size)
        result = tailoring.tailor_batch(
            self.maximiser, user_index, categories, queries, tf.zeros_like(user_index),
            s.tailor_restarts, s.tailor_fit_steps, s.tailor_steps, s.learning_rate,
            s.tailor_record_every)
        stage, step = tailoring.strip_stages(s.tailor_fit_steps, s.tailor_steps, s.tailor_record_every)
        rows = tf.shape(user_index)[:1]
        return {"images": encode_png(result["images"]), "scores": result["preference"],
                "l1": result["l1"], "stage": tf.tile(tf.constant(stage)[None], tf.concat([rows, [1]], 0)),
                "step": tf.tile(tf.constant(step)[None], tf.concat([rows, [1]], 0)),
                "query_scores": self.maximiser.preference(user_index, queries)}


def encode_png(images):
    """Images [B, K, s, s, 3] in [-1, 1] → PNG bytes [B, K]."""
    size = images.shape[2]
    pixels = tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0, 255), tf.uint8)
    png = map_fn(tf.io.encode_png, tf.reshape(pixels, [-1, size, size, 3]),
                 fn_output_signature=tf.string)
    return tf.reshape(png, tf.shape(images)[:2])
