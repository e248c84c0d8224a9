"""Tiny datasets for fast tests, written through the real `write_dataset`."""
import numpy as np

from tfvisrec.data import dataset as dataset_lib


def write_low_rank_dataset(path, num_users=60, num_items=40, per_user=8, seed=0, with_time=False):
    """Users pick items by a rank-2 utility; leave-one-out split; returns the folder path."""
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
    return dataset_lib.write_dataset(path, meta, [f"u{u:03d}" for u in range(num_users)],
                                     [f"i{i:03d}" for i in range(num_items)], splits, table)
