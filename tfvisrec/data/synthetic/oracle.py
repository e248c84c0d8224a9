"""The oracle's AUC: how well the true utility ranks a held-out purchase (the ceiling for models).

Protocol (as in VBPR/DVBPR and the dataset split): per user with >= 3 purchases, one random
purchase is held out for validation and one for test; AUC = fraction of the items the user
never bought that the true utility ranks below the test item (ties count 1/2). A test item is
"cold" when it has fewer than `cold_threshold` training buyers.
"""
from typing import Dict

import numpy as np

from tfvisrec.data.synthetic.truth import Truth


def leave_one_out_oracle_auc(truth: Truth, seed: int = 0, cold_threshold: int = 5) -> Dict[str, float]:
    """{"auc", "auc_cold", "auc_warm", "num_test", "num_cold"} on one random leave-one-out split."""
    rng = np.random.default_rng(seed)
    users = truth.interactions["users"]
    items = truth.interactions["items"]
    times = truth.interactions["times"]
    num_users, num_items = len(truth.user_ids), len(truth.item_ids)
    order = np.argsort(users, kind="stable")
    bounds = np.searchsorted(users[order], np.arange(num_users + 1))
    held_out = np.zeros(len(users), bool)
    test_rows = []
    for u in range(num_users):
        rows = order[bounds[u]:bounds[u + 1]]
        if len(rows) < 3:
            continue
        valid, test = rng.choice(rows, size=2, replace=False)
        held_out[[valid, test]] = True
        test_rows.append(test)
    test_rows = np.asarray(test_rows, np.int64)
    if test_rows.size == 0:
        return {"auc": float("nan"), "auc_cold": float("nan"), "auc_warm": float("nan"),
                "num_test": 0, "num_cold": 0}
    train_count = np.bincount(items[~held_out], minlength=num_items)
    bought = np.zeros((num_users, num_items), bool)
    bought[users, items] = True
    test_users, test_items = users[test_rows], items[test_rows]
    # With drift the oracle knows the taste at the moment of the held-out purchase.
    a = truth.alpha(times[test_rows])[:, None]
    scores = (1.0 - a) * truth.utility_start[test_users] + a * truth.utility_end[test_users]
    positive = scores[np.arange(len(test_rows)), test_items][:, None]
    negative = ~bought[test_users]
    wins = ((scores < positive) + 0.5 * (scores == positive)) * negative
    auc = wins.sum(axis=1) / np.maximum(negative.sum(axis=1), 1)
    cold = train_count[test_items] < cold_threshold
    return {
        "auc": float(auc.mean()),
        "auc_cold": float(auc[cold].mean()) if cold.any() else float("nan"),
        "auc_warm": float(auc[~cold].mean()) if (~cold).any() else float("nan"),
        "num_test": int(len(test_rows)),
        "num_cold": int(cold.sum()),
    }
