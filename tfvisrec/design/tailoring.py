"""Tailoring an existing item to a shopper (DVBPR §III-D, eq. 12).

First find the point of the GAN's latent space whose image is nearest to the query item X
(L1 distance, eq. 12), then continue from there with preference maximisation (eq. 9-10), so
the result stays close to the item while moving towards the shopper's taste:

    z'_0 = argmin_z' ‖G_c(tanh z') − X‖₁        then   z'_t = Adam ascent of eq. 10 from z'_0

Both stages keep their intermediate images: the strip of the paper's Figure 6.
"""
from typing import Dict

import numpy as np
import tensorflow as tf

from tfvisrec.design.preference import PreferenceMaximiser, ascend


@tf.function(reduce_retracing=True)
def _fit(maximiser, categories, query, z_raw, steps, learning_rate, record_every):
    def negative_l1(z):
        images = maximiser.generate(z, categories)
        return -tf.reduce_mean(tf.abs(images - query[None]), axis=[1, 2, 3])
    final, recorded, _ = ascend(negative_l1, z_raw, steps, learning_rate, record_every)
    return final, recorded, -negative_l1(final)


def mean_l1(images, query) -> np.ndarray:
    """Per image, the mean absolute pixel difference to the query (images in [-1, 1])."""
    return np.mean(np.abs(np.asarray(images) - np.asarray(query)[None]), axis=(1, 2, 3))


def tailor(maximiser: PreferenceMaximiser, user: int, category: int, query, restarts: int = 16,
           fit_steps: int = 100, design_steps: int = 100, learning_rate: float = 0.05,
           record_every: int = 10, seed: int = 0) -> Dict[str, np.ndarray]:
    """Eq. 12 then eq. 9-10 for one query image [S, S, 3] in [-1, 1] at the GAN's size.

    Stage 1 fits `restarts` random starts at once and keeps the nearest; stage 2 maximises
    the user's preference from it. → numpy {"images" [n, S, S, 3]: the nearest start's image
    after every `record_every` steps of stage 1, then after every `record_every` steps of
    stage 2; "stage" [n] (1 or 2); "step" [n]; "preference" [n] θ_uᵀΦ of each; "l1" [n]
    mean absolute difference to the query; "query_preference": the query's own score}."""
    size = maximiser.gan.image_size
    query = tf.convert_to_tensor(query, tf.float32)
    if tuple(query.shape) != (size, size, 3):
        raise ValueError(f"the query image must be [{size}, {size}, 3] (the GAN's size), got {query.shape}")
    if record_every < 1 or fit_steps % record_every or design_steps % record_every:
        raise ValueError(f"record_every ({record_every}) must divide fit_steps ({fit_steps}) "
                         f"and design_steps ({design_steps})")
    categories = tf.fill([restarts], tf.constant(int(category), tf.int32))
    starts = maximiser.random_starts(restarts, [int(seed), 2])
    final, recorded, l1 = _fit(maximiser, categories, query, starts, tf.constant(int(fit_steps)),
                               tf.constant(float(learning_rate)), tf.constant(int(record_every)))
    best = int(tf.argmin(l1))
    fitted = recorded[:, best]                                                  # [R1, Z]
    users = tf.constant([int(user)], tf.int64)
    result = maximiser.maximise(users, categories[:1], final[best:best + 1], design_steps,
                                learning_rate, record_every)
    designed = result["recorded_z_raw"][:, 0]                                   # [R2, Z]
    z_raw = tf.concat([fitted, designed], axis=0)
    count = int(z_raw.shape[0])
    images = maximiser.generate(z_raw, tf.fill([count], tf.constant(int(category), tf.int32)))
    preference = maximiser.preference(tf.fill([count], users[0]), images).numpy()
    fit_count = int(fitted.shape[0])
    steps = np.r_[np.arange(1, fit_count + 1), np.arange(1, count - fit_count + 1)] * record_every
    return {"images": images.numpy(), "stage": np.r_[np.ones(fit_count, int), np.full(count - fit_count, 2)],
            "step": steps, "preference": preference, "l1": mean_l1(images.numpy(), query.numpy()),
            "query_preference": float(maximiser.preference(users, query[None]).numpy()[0])}
