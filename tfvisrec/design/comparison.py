"""DVBPR's Table IV, for a set of users and categories: how much each way of choosing k
items pleases the user, how good the items look, and how varied they are.

| row | the k items |
|---|---|
| `random_real` | random existing items of the category |
| `random_generated` | G_c(z) for random z |
| `retrieved` | δ(u, c): the user's top k existing items of the category (eq. 8) |
| `designed` | δ̂(u, c): the top k of `restarts` preference-maximised designs (eq. 9-10) |
| `designed_sampled` | k of the same designs drawn by eq. 11 (softmax of the objective) |

preference = mean θ_uᵀΦ(X) of the k items (each image resized to the recommender's size);
diversity = 1 − mean pairwise SSIM of the k items (`metrics.ssim_diversity`); both are means
over the (user, category) pairs. quality = the inception-style score
(`tfvisrec.design.quality`) of all the row's images pooled over users and categories, by our
own category classifier. Every image is measured at the GAN's size (real photos downsized),
so real and generated items are seen at one resolution.
"""
from typing import Dict, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tfvisrec import image_sheets, metrics
from tfvisrec.design import retrieval
from tfvisrec.design.preference import softmax_sample

ROWS = ("random_real", "random_generated", "retrieved", "designed", "designed_sampled")
COLUMNS = ("preference", "quality", "diversity")


def compare(maximiser, dataset, users: Sequence[int], categories: Sequence[Tuple[int, int]], k: int = 3,
            restarts: int = 64, steps: int = 100, learning_rate: float = 0.05, seed: int = 0,
            temperature: float = 1.0, classifier=None, rows: Sequence[str] = ROWS,
            keep_images: bool = False, item_table=None) -> Dict[str, Dict]:
    """{row: {"preference", "diversity"[, "quality" when a `classifier` is given][, "images"
    [pairs × k, S, S, 3] at the GAN's size S, category by category, and each image's preference
    score θ_uᵀΦ as "scores" [pairs × k], when `keep_images`]}} over
    every user × category (see the module docstring). `categories` are pairs (index in the
    recommender's dataset, index in the GAN's) of the same names; `rows` a subset of ROWS."""
    if k < 2:
        raise ValueError(f"diversity needs k ≥ 2 items, got {k}")
    unknown = set(rows) - set(ROWS)
    if unknown:
        raise ValueError(f"unknown rows {sorted(unknown)}; expected some of {ROWS}")
    from tfvisrec.data.item_features import ItemFeatureTable
    if item_table is None:
        item_table = ItemFeatureTable.for_model(maximiser.recommender, dataset)
    rng = np.random.default_rng(seed)
    size = maximiser.gan.image_size
    values = {row: {"preference": [], "diversity": [], "images": [], "scores": []} for row in rows}
    for category, gan_category in categories:
        of_category = np.flatnonzero(np.asarray(dataset.category) == int(category))
        if of_category.size < k:
            raise ValueError(f"category {dataset.categories[category]!r} has {of_category.size} items, "
                             f"fewer than k={k}")
        for n, user in enumerate(users):
            chosen = _choose(maximiser, dataset, item_table, rows, rng, of_category, int(user), n,
                             int(category), int(gan_category), k, restarts, steps, learning_rate,
                             int(seed), temperature)
            users_k = tf.fill([k], tf.constant(int(user), tf.int64))
            for row, images in chosen.items():
                images = tf.convert_to_tensor(images, tf.float32)
                scores = maximiser.preference(users_k, images).numpy()
                values[row]["preference"].append(float(np.mean(scores)))
                values[row]["scores"].append(scores)
                shown = tf.image.resize(images, [size, size]).numpy()
                values[row]["diversity"].append(metrics.ssim_diversity(image_sheets.to_uint8(shown)))
                values[row]["images"].append(shown)
    table = {}
    for row, columns in values.items():
        table[row] = {"preference": float(np.mean(columns["preference"])),
                      "diversity": float(np.mean(columns["diversity"]))}
        images = np.concatenate(columns["images"])
        if classifier is not None:
            table[row]["quality"] = classifier.quality(images)
        if keep_images:
            table[row]["images"] = images
            table[row]["scores"] = np.concatenate(columns["scores"])
    return table


def _choose(maximiser, dataset, item_table, rows, rng, of_category, user, n, category, gan_category,
            k, restarts, steps, learning_rate, seed, temperature) -> Dict[str, np.ndarray]:
    """The k images of every row in `rows` for one user and category."""
    chosen = {}
    real = item_table.lookup(rng.choice(of_category, size=k, replace=False))["image"]
    if "random_real" in rows:
        chosen["random_real"] = real
    if "random_generated" in rows:
        z = maximiser.random_starts(k, [seed, 10 + n])
        chosen["random_generated"] = maximiser.generate(z, tf.fill([k], gan_category))
    if "retrieved" in rows:
        chosen["retrieved"] = retrieval.retrieve(maximiser.recommender, dataset, user, category, k=k,
                                                 item_table=item_table)["images"]
    if {"designed", "designed_sampled"} & set(rows):
        made = maximiser.design(user, gan_category, restarts=restarts, k=k, steps=steps,
                                learning_rate=learning_rate, seed=seed + n)
        if "designed" in rows:
            chosen["designed"] = made["images"]
        if "designed_sampled" in rows:
            sampled = softmax_sample(made["all_objective"], k, [seed + n, 1], temperature).numpy()
            chosen["designed_sampled"] = made["all_images"][sampled]
    return chosen


def shared_categories(dataset, gan_dataset, names: Sequence[str] = (), min_items: int = 1):
    """[(index in `dataset`, index in `gan_dataset`)] of the named categories (default: every
    category of both with at least `min_items` items in `dataset`) → (pairs, names skipped)."""
    counts = np.bincount(np.asarray(dataset.category)[np.asarray(dataset.category) >= 0],
                         minlength=len(dataset.categories))
    wanted = list(names) or [c for c in dataset.categories if c in gan_dataset.categories]
    unknown = [c for c in wanted if c not in dataset.categories or c not in gan_dataset.categories]
    if unknown:
        raise ValueError(f"categories {unknown} are not categories of both datasets "
                         f"({dataset.categories} and {gan_dataset.categories})")
    pairs, skipped = [], []
    for name in wanted:
        index = dataset.categories.index(name)
        if counts[index] >= min_items:
            pairs.append((index, gan_dataset.categories.index(name)))
        else:
            skipped.append(name)
    if not pairs:
        raise ValueError(f"no category has {min_items} items or more")
    return pairs, skipped


def format_table(results: Dict[str, Dict[str, float]], title: str = "") -> str:
    """A Markdown table, one line per row, the columns of COLUMNS that were measured."""
    columns = [c for c in COLUMNS if all(c in row for row in results.values())]
    lines = [title, ""] if title else []
    lines.append("| method | " + " | ".join(columns) + " |")
    lines.append("|---|" + "---:|" * len(columns))
    for row, values in results.items():
        lines.append(f"| {row} | " + " | ".join(f"{values[c]:.4f}" for c in columns) + " |")
    return "\n".join(lines)
