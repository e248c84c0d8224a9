"""Preference maximisation (DVBPR §III-D, eq. 9-11): the item a shopper would like most,
generated rather than retrieved.

Kang et al. 2017 search the latent space of the category-conditional GAN for the image a
trained DVBPR scores highest for user u, while the discriminator keeps it realistic:

    δ̂(u, c) = G_c(tanh z'*),  z'* = argmax_z'  θ_uᵀ Φ(Δ G_c(tanh z')) − η (D_c(G_c(tanh z')) − 1)²   (eq. 9-10)

z = tanh(z') keeps z in G's domain [-1, 1]^Z without a constraint; Δ resizes G's images to
DVBPR's input size (bilinear, differentiable); η trades preference against realism. m random
starts are optimised at once, as one batch (64 in the paper), by Adam for a fixed number of
steps (a graph with no data-dependent stopping, so it can be served). From the m results,
either the top k by objective, or k drawn without replacement with probability
softmax(objective / T) (eq. 11), which returns more varied images.
"""
from typing import Callable, Dict

import numpy as np
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.map_fn import map_fn

ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


def ascend(objective: Callable[[tf.Tensor], tf.Tensor], z_raw, steps, learning_rate,
           record_every=0):
    """Maximise objective(z') [m] for every row of z' [m, Z] by Adam, `steps` steps (the rows
    are independent). → (final z', z' after every `record_every`-th step [R, m, Z] (R = 0 when
    `record_every` is 0), objective before each step [steps, m]).

    A `tf.while_loop` written out (no AutoGraph needed), so it runs eagerly, inside any
    `tf.function` and in serving signatures traced with `autograph=False`; `steps`,
    `learning_rate` and `record_every` may be Python numbers or scalar tensors."""
    z_raw = tf.convert_to_tensor(z_raw, tf.float32)
    steps = tf.convert_to_tensor(steps, tf.int32)
    learning_rate = tf.cast(learning_rate, tf.float32)
    record_every = tf.convert_to_tensor(record_every, tf.int32)

    def step(t, z, first, second, trail, history):
        with tf.GradientTape() as tape:
            tape.watch(z)
            value = objective(z)
            total = tf.reduce_sum(value)
        gradient = -tape.gradient(total, z)
        first = ADAM_BETA1 * first + (1.0 - ADAM_BETA1) * gradient
        second = ADAM_BETA2 * second + (1.0 - ADAM_BETA2) * tf.square(gradient)
        count = tf.cast(t + 1, tf.float32)
        corrected = (first / (1.0 - ADAM_BETA1 ** count)) / (
            tf.sqrt(second / (1.0 - ADAM_BETA2 ** count)) + ADAM_EPSILON)
        z = z - learning_rate * corrected
        return t + 1, z, first, second, trail.write(t, z), history.write(t, value)

    zeros = tf.zeros_like(z_raw)
    _, z_raw, _, _, trail, history = tf.while_loop(
        lambda t, *_: t < steps, step,
        (tf.constant(0), z_raw, zeros, zeros,
         tf.TensorArray(tf.float32, size=steps, element_shape=z_raw.shape),
         tf.TensorArray(tf.float32, size=steps)))
    every = tf.maximum(record_every, 1)
    recorded = tf.cond(record_every > 0,
                       lambda: tf.gather(trail.stack(), tf.range(every - 1, steps, every)),
                       lambda: tf.zeros(tf.concat([[0], tf.shape(z_raw)], 0)))
    return z_raw, recorded, history.stack()


def scores_images_alone(recommender) -> bool:
    """Whether `recommender` scores an item from its image alone (DVBPR), as eq. 10 needs: a
    generated image has no item id's embedding, features or regions."""
    keys = set(recommender.item_feature_keys)
    return schema.IMAGE in keys and not keys - {schema.ITEM, schema.IMAGE}


class PreferenceMaximiser(tf.Module):
    """The objective of eq. 10 for a trained GAN and a trained image recommender.

    `gan` is the registered `gan` model (its `generator` G and `discriminator` D);
    `recommender` scores items from their image alone (DVBPR: x̂(u, i) = θ_uᵀ Φ(X_i)).
    """

    def __init__(self, gan, recommender, eta: float = 1.0):
        super().__init__(name="preference_maximiser")
        if not scores_images_alone(recommender):
            raise ValueError(f"preference maximisation needs a recommender that scores an item "
                             f"from its image alone (DVBPR); {recommender.name} reads "
                             f"{list(recommender.item_feature_keys)}")
        if eta < 0:
            raise ValueError(f"eta must be ≥ 0, got {eta}")
        self.gan, self.recommender, self.eta = gan, recommender, float(eta)
        self.latent_dim = int(gan.latent_dim)

    def generate(self, z_raw, categories):
        """G_c(tanh z') in inference mode → images [m, S, S, 3] in [-1, 1]."""
        return self.gan.generator(tf.tanh(z_raw), categories, training=False)

    def preference(self, users, images):
        """θ_uᵀ Φ(Δ X): the recommender's score of images of any size, resized to its own."""
        size = self.recommender.image_size
        if images.shape[1] != size or images.shape[2] != size:
            images = tf.image.resize(images, [size, size], method="bilinear")
        return self.recommender.score(users, {schema.IMAGE: images}, training=False)

    def realism_penalty(self, images, categories):
        """(D_c(X) − 1)²: 0 when the discriminator takes X for a real item of category c."""
        return tf.square(self.gan.discriminator(images, categories, training=False) - 1.0)

    def objective(self, users, categories, z_raw):
        """Eq. 10 per row → (objective [m], preference [m], images [m, S, S, 3])."""
        images = self.generate(z_raw, categories)
        preference = self.preference(users, images)
        return preference - self.eta * self.realism_penalty(images, categories), preference, images

    def random_starts(self, count: int, seed) -> tf.Tensor:
        """z' whose tanh is uniform in [-1, 1]^Z (G's training noise): artanh of uniform."""
        u = tf.random.stateless_uniform([count, self.latent_dim], seed, -0.999, 0.999)
        return tf.atanh(u)

    @tf.function(reduce_retracing=True)
    def _maximise(self, users, categories, z_raw, steps, learning_rate, record_every):
        final, recorded, history = ascend(lambda z: self.objective(users, categories, z)[0], z_raw,
                                          steps, learning_rate, record_every)
        objective, preference, images = self.objective(users, categories, final)
        return {"z_raw": final, "objective": objective, "preference": preference, "images": images,
                "recorded_z_raw": recorded, "history": history}

    def maximise(self, users, categories, z_raw, steps: int = 100, learning_rate: float = 0.05,
                 record_every: int = 0) -> Dict[str, tf.Tensor]:
        """Eq. 9 from the starts z' [m, Z] for users [m] and categories [m] (one restart per
        row) → {"z_raw", "objective", "preference", "images" (after the last step),
        "recorded_z_raw" [R, m, Z], "history" (objective before each step) [steps, m]}."""
        users = tf.convert_to_tensor(users, tf.int64)
        categories = tf.convert_to_tensor(categories, tf.int32)
        return self._maximise(users, categories, tf.convert_to_tensor(z_raw, tf.float32),
                              tf.constant(int(steps)), tf.constant(float(learning_rate)),
                              tf.constant(int(record_every)))

    def design(self, user: int, category: int, restarts: int = 64, k: int = 3, steps: int = 100,
               learning_rate: float = 0.05, seed: int = 0, sample: bool = False,
               temperature: float = 1.0) -> Dict[str, np.ndarray]:
        """δ̂(u, c): `restarts` random starts optimised as one batch, then the top k by
        objective (or k sampled by eq. 11 when `sample`) → numpy {"images" [k, S, S, 3],
        "objective" [k], "preference" [k], "start_preference" [k] (each pick's score at its
        random start), and "all_images", "all_objective", "all_preference" of every restart}."""
        if not 1 <= k <= restarts:
            raise ValueError(f"k must be between 1 and the number of restarts ({restarts}), got {k}")
        starts = self.random_starts(restarts, [int(seed), 0])
        users = tf.fill([restarts], tf.constant(int(user), tf.int64))
        categories = tf.fill([restarts], tf.constant(int(category), tf.int32))
        result = self.maximise(users, categories, starts, steps, learning_rate)
        objective = result["objective"]
        picks = top_k_or_sample(objective, k, sample, seed, temperature)
        start_preference = self.preference(users, self.generate(starts, categories))
        out = {"images": tf.gather(result["images"], picks).numpy(),
               "objective": tf.gather(objective, picks).numpy(),
               "preference": tf.gather(result["preference"], picks).numpy(),
               "start_preference": tf.gather(start_preference, picks).numpy()}
        out.update({f"all_{key}": result[key].numpy() for key in ("images", "objective", "preference")})
        return out


    def design_batch(self, users, categories, seeds, restarts: int, steps: int,
                     learning_rate: float, k: int):
        """δ̂ for B requests at once, as graph ops (a serving signature's body): row b optimises
        `restarts` starts drawn from seed_b (as `design(seed=seed_b)` draws them) for `steps`
        Adam steps → (images [B, k, S, S, 3], preference [B, k], objective [B, k]), the top k
        of each row by objective."""
        seeds = tf.cast(seeds, tf.int64)
        starts = map_fn(
            lambda s: self.random_starts(restarts, tf.stack([s, tf.constant(0, tf.int64)])), seeds,
            fn_output_signature=tf.TensorSpec([restarts, self.latent_dim], tf.float32))
        row_users = tf.repeat(tf.cast(users, tf.int64), restarts)
        row_categories = tf.repeat(tf.cast(categories, tf.int32), restarts)
        final, _, _ = ascend(lambda z: self.objective(row_users, row_categories, z)[0],
                             tf.reshape(starts, [-1, self.latent_dim]), steps, learning_rate)
        objective, preference, images = self.objective(row_users, row_categories, final)
        objective = tf.reshape(objective, [-1, restarts])
        picks = tf.math.top_k(objective, k).indices
        size = self.gan.image_size
        images = tf.reshape(images, [-1, restarts, size, size, 3])
        return (tf.gather(images, picks, batch_dims=1),
                tf.gather(tf.reshape(preference, [-1, restarts]), picks, batch_dims=1),
                tf.gather(objective, picks, batch_dims=1))


def softmax_sample(objective, k: int, seed, temperature: float = 1.0) -> tf.Tensor:
    """k indices drawn without replacement with probability softmax(objective / T) (eq. 11),
    by the Gumbel top-k trick (stateless: the same seed, the same draw); objective [m] → [k],
    or [b, m] → [b, k] with an independent draw per row."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logits = tf.convert_to_tensor(objective, tf.float32) / float(temperature)
    u = tf.random.stateless_uniform(tf.shape(logits), seed, 1e-20, 1.0)
    return tf.math.top_k(logits - tf.math.log(-tf.math.log(u)), k).indices


def top_k_or_sample(objective, k: int, sample: bool, seed: int = 0,
                    temperature: float = 1.0) -> tf.Tensor:
    """The indices of the k designs to return: the best k, or eq. 11's sample."""
    return (softmax_sample(objective, k, [int(seed), 1], temperature) if sample
            else tf.math.top_k(tf.convert_to_tensor(objective, tf.float32), k).indices)
