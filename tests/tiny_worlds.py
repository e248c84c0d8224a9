"""Tiny datasets for fast tests, written through the real `write_dataset`."""
import numpy as np

from tfvisrec.data import dataset as dataset_lib
from tfvisrec.data.synthetic.category_world import (  # noqa: F401  (re-exported for tests)
    CATEGORY_COLOURS, draw_garment, write_category_image_dataset)


def write_low_rank_dataset(path, num_users=60, num_items=40, per_user=8, seed=0, with_time=False,
                           attribute_probs=False):
    """Users pick items by a rank-2 utility; leave-one-out split; returns the folder path.
    With `attribute_probs`, also an `attribute_probs.npz` that reads the item factors as two
    named attributes (`write_factor_probs`), the f_i of I-VBPR."""
    rng = np.random.default_rng(seed)
    user_f, item_f = rng.normal(size=(num_users, 2)), rng.normal(size=(num_items, 2))
    utility = user_f @ item_f.T
    splits = {"train": ([], [], []), "valid": ([], [], []), "test": ([], [], [])}
    for u in range(num_users):
        p = np.exp(2 * utility[u]); p /= p.sum()
        items = rng.choice(num_items, size=per_user, replace=False, p=p)
        times = np.sort(rng.integers(1_500_000_000, 1_600_000_000, size=per_user)) if with_time \
            else np.full(per_user, -1)
        for k, (i, t) in enumerate(zip(items, times)):
            name = "test" if k == 0 else "valid" if k == 1 else "train"
            for arr, v in zip(splits[name], (u, i, t)):
                arr.append(v)
    splits = {k: dataset_lib.Split(*(np.array(a, np.int64) for a in v)) for k, v in splits.items()}
    table = dataset_lib.item_table(num_items, splits["train"].items)
    meta = {"name": "low_rank", "kind": "interactions", "split": "leave_one_out", "seed": seed,
            "has_time": with_time, "cold_threshold": 5}
    folder = dataset_lib.write_dataset(path, meta, [f"u{u:03d}" for u in range(num_users)],
                                       [f"i{i:03d}" for i in range(num_items)], splits, table)
    if attribute_probs:
        write_factor_probs(folder, item_f)
    return folder


FACTOR_ATTRIBUTES = {"tone": ("dark", "mid", "light"), "shape": ("slim", "wide")}


def write_factor_probs(folder, item_factors):
    """attribute_probs.npz with "tone" a softmax over (−2f₀, 0, 2f₀) and "shape" over
    (−2f₁, 2f₁) of each item's two factors: probabilities that carry the utility's signal."""
    f = np.asarray(item_factors, np.float64)
    arrays = {"names": np.array(list(FACTOR_ATTRIBUTES))}
    for name, logits in (("tone", np.stack([-2 * f[:, 0], 0 * f[:, 0], 2 * f[:, 0]], 1)),
                         ("shape", np.stack([-2 * f[:, 1], 2 * f[:, 1]], 1))):
        probs = np.exp(logits - logits.max(1, keepdims=True))
        arrays[f"prob_{name}"] = (probs / probs.sum(1, keepdims=True)).astype(np.float32)
        arrays[f"values_{name}"] = np.array(FACTOR_ATTRIBUTES[name])
    np.savez(f"{folder}/attribute_probs.npz", **arrays)


def write_era_drift_dataset(path, num_users=200, num_items=120, mean_interactions=16.0,
                            change_points="0.3,0.65", trend_scale=2.0, seed=0):
    """A style world without images whose colour and pattern in fashion change for everyone
    at `change_points` (`synthetic/eras.py`): the synthetic generator's tastes and purchases,
    `features.npy` = each item's one-hot attribute values (the "visual features"), and a
    leave-last-out split by time (each user's last purchase is the test, the one before the
    validation). Returns (folder, true change times [E − 1] in unix seconds)."""
    from tfvisrec.data.synthetic import SyntheticConfig, eras
    from tfvisrec.data.synthetic import interactions as interactions_lib
    from tfvisrec.data.synthetic import items as items_lib
    from tfvisrec.data.synthetic import users as users_lib
    config = SyntheticConfig(num_users=num_users, num_items=num_items, mean_interactions=mean_interactions,
                             min_interactions=8, cold_fraction=0.0, change_points=change_points,
                             trend_scale=trend_scale, seed=seed)
    config.validate()
    rng = np.random.default_rng(seed)
    values = items_lib.sample_item_values(num_items, rng)
    prefs = users_lib.sample_preferences(num_users, num_items, False, config.popularity_scale, rng)
    utility = users_lib.utility(prefs.weights_start, values, prefs.item_bias)
    changes = eras.change_times(eras.parse_change_points(change_points), config.time_range())
    trends = eras.sample_era_trends(len(changes) + 1, trend_scale, rng)
    bought = interactions_lib.sample_purchases(utility, utility, config, rng,
                                               eras.era_utilities(trends, values), changes)
    splits = {"train": ([], [], []), "valid": ([], [], []), "test": ([], [], [])}
    for u in range(num_users):
        mine = np.flatnonzero(bought.users == u)
        mine = mine[np.argsort(bought.times[mine], kind="stable")]
        for k, row in enumerate(mine[::-1]):
            name = "test" if k == 0 else "valid" if k == 1 else "train"
            for arr, v in zip(splits[name], (u, bought.items[row], bought.times[row])):
                arr.append(v)
    splits = {k: dataset_lib.Split(*(np.array(a, np.int64) for a in v)) for k, v in splits.items()}
    table = dataset_lib.item_table(num_items, splits["train"].items)
    meta = {"name": "era_drift", "kind": "interactions", "split": "leave_last_out", "seed": seed,
            "has_time": True, "cold_threshold": 5}
    folder = dataset_lib.write_dataset(path, meta, [f"u{u:04d}" for u in range(num_users)],
                                       [f"i{i:04d}" for i in range(num_items)], splits, table)
    np.save(f"{folder}/features.npy", items_lib.one_hot(values).astype(np.float32))
    return folder, changes
