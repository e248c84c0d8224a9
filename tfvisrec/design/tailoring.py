"""Tailoring an existing item to a shopper (DVBPR §III-D, eq. 12).

First find the point of the GAN's latent space whose image is nearest to the query item X
(L1 distance, eq. 12), then continue from there with preference maximisation (eq. 9-10), so
the result stays close to the item while moving towards the shopper's taste:

    z'_0 = argmin_z' ‖G_c(tanh z') − X‖₁        then   z'_t = Adam ascent of eq. 10 from z'_0

Both stages keep their intermediate images: the strip of the paper's Figure 6.
`tailor_batch` is the graph (B queries at once, fixed step counts: the `tailor` serving
signature's body); `tailor` runs it for one query and returns numpy arrays.
"""
from typing import Dict

import numpy as np
import tensorflow as tf

from tfvisrec.design.preference import PreferenceMaximiser, ascend
from tfvisrec.map_fn import map_fn

START_STREAM = 2   # the random starts of row b are random_starts(restarts, [seed_b, 2])


def check_steps(fit_steps: int, design_steps: int, record_every: int) -> None:
    if fit_steps < 1 or design_steps < 1:
        raise ValueError(f"tailoring needs fit_steps ≥ 1 and design_steps ≥ 1, got {fit_steps}, {design_steps}")
    if record_every < 1 or fit_steps % record_every or design_steps % record_every:
        raise ValueError(f"record_every ({record_every}) must divide fit_steps ({fit_steps}) "
                         f"and design_steps ({design_steps})")


def strip_stages(fit_steps: int, design_steps: int, record_every: int):
    """(stage [S]: 1 for the fit of eq. 12, 2 for preference maximisation; step [S] within it)."""
    fit, design = fit_steps // record_every, design_steps // record_every
    return (np.r_[np.ones(fit, np.int32), np.full(design, 2, np.int32)],
            np.r_[np.arange(1, fit + 1), np.arange(1, design + 1)].astype(np.int32) * record_every)


def tailor_batch(maximiser: PreferenceMaximiser, users, categories, queries, seeds, restarts: int,
                 fit_steps: int, design_steps: int, learning_rate: float,
                 record_every: int) -> Dict[str, tf.Tensor]:
    """Eq. 12 then eq. 9-10 for B queries at once, as graph ops (no AutoGraph needed).

    users [B] int64, categories [B] int32 (the GAN's), queries [B, s, s, 3] in [-1, 1] at the
    GAN's size, seeds [B] int64. Row b fits `restarts` random starts drawn from seed_b to its
    query for `fit_steps` Adam steps, keeps the nearest (L1), then maximises the user's
    preference from it for `design_steps` steps. With S = (fit_steps + design_steps) /
    record_every → {"images" [B, S, s, s, 3]: the nearest start's image after every
    `record_every` steps of the fit, then of preference maximisation; "preference" [B, S]
    θ_uᵀΦ of each; "l1" [B, S] mean absolute difference to the query}."""
    latent, size = maximiser.latent_dim, maximiser.gan.image_size
    users = tf.cast(users, tf.int64)
    categories = tf.cast(categories, tf.int32)
    starts = map_fn(
        lambda s: maximiser.random_starts(restarts, tf.stack([s, tf.constant(START_STREAM, tf.int64)])),
        tf.cast(seeds, tf.int64), fn_output_signature=tf.TensorSpec([restarts, latent], tf.float32))
    row_categories = tf.repeat(categories, restarts)
    row_queries = tf.repeat(queries, restarts, axis=0)

    def negative_l1(z):
        return -tf.reduce_mean(tf.abs(maximiser.generate(z, row_categories) - row_queries), axis=[1, 2, 3])

    final, fit_trail, _ = ascend(negative_l1, tf.reshape(starts, [-1, latent]), fit_steps,
                                 learning_rate, record_every)
    nearest = tf.argmin(tf.reshape(-negative_l1(final), [-1, restarts]), axis=1, output_type=tf.int32)
    fit_trail = tf.transpose(tf.reshape(fit_trail, [fit_steps // record_every, -1, restarts, latent]),
                             [1, 0, 2, 3])                                                # [B, R1, m, Z]
    fitted = tf.gather(fit_trail, nearest, axis=2, batch_dims=1)                          # [B, R1, Z]
    start = tf.gather(tf.reshape(final, [-1, restarts, latent]), nearest, batch_dims=1)   # [B, Z]
    _, design_trail, _ = ascend(lambda z: maximiser.objective(users, categories, z)[0], start,
                                design_steps, learning_rate, record_every)
    z_raw = tf.concat([fitted, tf.transpose(design_trail, [1, 0, 2])], axis=1)           # [B, S, Z]
    count = (fit_steps + design_steps) // record_every
    images = maximiser.generate(tf.reshape(z_raw, [-1, latent]), tf.repeat(categories, count))
    preference = maximiser.preference(tf.repeat(users, count), images)
    images = tf.reshape(images, [-1, count, size, size, 3])
    return {"images": images, "preference": tf.reshape(preference, [-1, count]),
            "l1": tf.reduce_mean(tf.abs(images - queries[:, None]), axis=[2, 3, 4])}


@tf.function(reduce_retracing=True)
def _tailor_graph(maximiser, users, categories, queries, seeds, restarts, fit_steps, design_steps,
                  learning_rate, record_every):
    return tailor_batch(maximiser, users, categories, queries, seeds, restarts, fit_steps,
                        design_steps, learning_rate, record_every)


def mean_l1(images, query) -> np.ndarray:
    """Per image, the mean absolute pixel difference to the query (images in [-1, 1])."""
    return np.mean(np.abs(np.asarray(images) - np.asarray(query)[None]), axis=(1, 2, 3))


def tailor(maximiser: PreferenceMaximiser, user: int, category: int, query, restarts: int = 16,
           fit_steps: int = 100, design_steps: int = 100, learning_rate: float = 0.05,
           record_every: int = 10, seed: int = 0) -> Dict[str, np.ndarray]:
    """Eq. 12 then eq. 9-10 for one query image [s, s, 3] in [-1, 1] at the GAN's size
    (`tailor_batch` with B = 1) → numpy {"images" [S, s, s, 3], "stage" [S] (1 or 2), "step"
    [S], "preference" [S] θ_uᵀΦ of each, "l1" [S] mean absolute difference to the query,
    "query_preference": the query's own score}."""
    size = maximiser.gan.image_size
    query = tf.convert_to_tensor(query, tf.float32)
    if tuple(query.shape) != (size, size, 3):
        raise ValueError(f"the query image must be [{size}, {size}, 3] (the GAN's size), got {query.shape}")
    check_steps(fit_steps, design_steps, record_every)
    users = tf.constant([int(user)], tf.int64)
    result = _tailor_graph(maximiser, users, tf.constant([int(category)], tf.int32), query[None],
                           tf.constant([int(seed)], tf.int64), int(restarts), int(fit_steps),
                           int(design_steps), float(learning_rate), int(record_every))
    stage, step = strip_stages(fit_steps, design_steps, record_every)
    return {"images": result["images"][0].numpy(), "stage": stage, "step": step,
            "preference": result["preference"][0].numpy(), "l1": result["l1"][0].numpy(),
            "query_preference": float(maximiser.preference(users, query[None]).numpy()[0])}
