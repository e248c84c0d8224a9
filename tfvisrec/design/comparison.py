"""DVBPR's Table IV, for one category and a set of users: how much each way of choosing k
items pleases the user, and how varied the k items are.

| row | the k items |
|---|---|
| `random_real` | random existing items of the category |
| `random_generated` | G_c(z) for random z |
| `retrieved` | δ(u, c): the user's top k existing items of the category (eq. 8) |
| `designed` | δ̂(u, c): the top k of `restarts` preference-maximised designs (eq. 9-10) |
| `designed_sampled` | k of the same designs drawn by eq. 11 (softmax of the objective) |

preference = mean θ_uᵀΦ(X) of the k items (each image resized to the recommender's size);
diversity = 1 − mean pairwise SSIM of the k items (`metrics.ssim_diversity`, all shown at
the GAN's size). Each number is the mean over users.
"""
from typing import Dict, Sequence

import numpy as np
import tensorflow as tf

from tfvisrec import image_sheets, metrics
from tfvisrec.design import retrieval
from tfvisrec.design.preference import softmax_sample

ROWS = ("random_real", "random_generated", "retrieved", "designed", "designed_sampled")


def compare(maximiser, dataset, users: Sequence[int], category: int, gan_category: int, k: int = 3,
            restarts: int = 64, steps: int = 100, learning_rate: float = 0.05, seed: int = 0,
            temperature: float = 1.0, item_table=None) -> Dict[str, Dict[str, float]]:
    """{row: {"preference", "diversity"}} over `users` (see the module docstring). `category`
    indexes the recommender's dataset, `gan_category` the GAN's (the same name)."""
    if k < 2:
        raise ValueError(f"diversity needs k ≥ 2 items, got {k}")
    from tfvisrec.data.item_features import ItemFeatureTable
    if item_table is None:
        item_table = ItemFeatureTable.for_model(maximiser.recommender, dataset)
    of_category = np.flatnonzero(np.asarray(dataset.category) == int(category))
    rng = np.random.default_rng(seed)
    size = maximiser.gan.image_size
    values = {row: {"preference": [], "diversity": []} for row in ROWS}
    for n, user in enumerate(users):
        real = item_table.lookup(rng.choice(of_category, size=k, replace=False))["image"]
        z = maximiser.random_starts(k, [int(seed), 10 + n])
        made = maximiser.design(user, gan_category, restarts=restarts, k=k, steps=steps,
                                learning_rate=learning_rate, seed=int(seed) + n)
        sampled = softmax_sample(made["all_objective"], k, [int(seed) + n, 1], temperature).numpy()
        chosen = {
            "random_real": real,
            "random_generated": maximiser.generate(z, tf.fill([k], int(gan_category))),
            "retrieved": retrieval.retrieve(maximiser.recommender, dataset, user, category, k=k,
                                            item_table=item_table)["images"],
            "designed": made["images"],
            "designed_sampled": made["all_images"][sampled],
        }
        users_k = tf.fill([k], tf.constant(int(user), tf.int64))
        for row, images in chosen.items():
            images = tf.convert_to_tensor(images, tf.float32)
            values[row]["preference"].append(float(tf.reduce_mean(maximiser.preference(users_k, images))))
            shown = tf.image.resize(images, [size, size]).numpy()
            values[row]["diversity"].append(metrics.ssim_diversity(image_sheets.to_uint8(shown)))
    return {row: {name: float(np.mean(v)) for name, v in columns.items()} for row, columns in values.items()}


def format_table(results: Dict[str, Dict[str, float]], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'method':<18} {'preference':>11} {'diversity':>10}")
    for row, columns in results.items():
        lines.append(f"{row:<18} {columns['preference']:>11.4f} {columns['diversity']:>10.4f}")
    return "\n".join(lines)
