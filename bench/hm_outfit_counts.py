"""How many outfits the H&M sample yields (PAN's data section of issue 13): a customer's
purchases on one day, or within a window of W days, that span the upper body, the lower body
(and shoes) form that customer's outfit. Only the articles with metadata have a known slot
(product_group_name: "Garment Upper body" → top, "Garment Lower body" → bottom, "Shoes" → shoes).

    python bench/hm_outfit_counts.py --hm_dir ../shared/data/hm --windows 1,7,30

Prints, per window: outfits (one per customer session) and shoppers for top + bottom and for
top + bottom + shoes, and the number of (top, bottom[, shoes]) combinations the sessions hold.
A session starts at a customer's first purchase and takes every purchase within W − 1 days of
that start; W = 1 is the same day.
"""
import argparse
import os

import numpy as np
import pandas as pd

SLOTS = {"Garment Upper body": "top", "Garment Lower body": "bottom", "Shoes": "shoes"}


def sessions(dates: np.ndarray, window_days: int) -> np.ndarray:
    """Session number of each of a customer's purchase dates (sorted, in days)."""
    out, start, k = np.zeros(len(dates), np.int64), None, -1
    for i, d in enumerate(dates):
        if start is None or d - start >= window_days:
            start, k = d, k + 1
        out[i] = k
    return out


def count(purchases: pd.DataFrame, window_days: int) -> dict:
    p = purchases.sort_values(["customer_id", "day"]).copy()
    p["session"] = 0
    for _, rows in p.groupby("customer_id").groups.items():
        p.loc[rows, "session"] = sessions(p.loc[rows, "day"].to_numpy(), window_days)
    per = p.groupby(["customer_id", "session", "slot"])["article_id"].nunique().unstack(fill_value=0)
    for slot in ("top", "bottom", "shoes"):
        if slot not in per:
            per[slot] = 0
    two = per[(per.top > 0) & (per.bottom > 0)]
    three = two[two.shoes > 0]
    return {"window_days": window_days,
            "top+bottom outfits": len(two), "top+bottom shoppers": two.index.get_level_values(0).nunique(),
            "top+bottom combinations": int((two.top * two.bottom).sum()),
            "top+bottom+shoes outfits": len(three),
            "top+bottom+shoes shoppers": three.index.get_level_values(0).nunique(),
            "top+bottom+shoes combinations": int((three.top * three.bottom * three.shoes).sum())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hm_dir", required=True)
    parser.add_argument("--windows", default="1,7,30", help="window lengths W in days")
    args = parser.parse_args(argv)
    tx = pd.read_csv(os.path.join(args.hm_dir, "transactions_train_sample.csv"),
                     dtype={"article_id": str, "customer_id": str})
    articles = pd.read_csv(os.path.join(args.hm_dir, "articles_train_sample.csv"), dtype={"article_id": str})
    slot = articles.set_index("article_id")["product_group_name"].map(SLOTS)
    tx["slot"] = tx["article_id"].map(slot)
    tx["day"] = (pd.to_datetime(tx["t_dat"]) - pd.Timestamp("2018-01-01")).dt.days
    labelled = tx["article_id"].isin(articles["article_id"])
    print(f"purchases {len(tx)}, articles {tx.article_id.nunique()}, with metadata "
          f"{tx.loc[labelled, 'article_id'].nunique()} ({labelled.mean():.0%} of purchases); "
          f"slotted purchases: " + ", ".join(f"{s} {int((tx.slot == s).sum())}" for s in ("top", "bottom", "shoes")))
    slotted = tx.dropna(subset=["slot"])
    rows = [count(slotted, int(w)) for w in args.windows.split(",")]
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
