"""How many outfits the H&M sample yields (PAN's data section of issue 13): a customer's
purchases on one day, or within a window of W days, that span the upper body, the lower body
(and shoes) form that customer's outfit. Only the articles with metadata have a known slot
(product_group_name: "Garment Upper body" → top, "Garment Lower body" → bottom, "Shoes" → shoes).

    python bench/hm_outfit_counts.py --hm_dir ../shared/data/hm --windows 1,7,30

Prints, per window: outfits (one per customer session) and shoppers for top + bottom and for
top + bottom + shoes, and the number of (top, bottom[, shoes]) combinations the sessions hold.
A session starts at a customer's first purchase of a slotted article and takes every such
purchase within W − 1 days of that start; W = 1 is the same day (as the H&M outfit dataset,
`tfvisrec/data/adapters/hm_outfits.py`).
"""
import argparse
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tfvisrec.data.adapters.hm_outfits import slotted_purchases  # noqa: E402


def count(purchases: pd.DataFrame, window_days: int) -> dict:
    per = purchases.groupby(["customer_id", "session", "slot"])["article_id"].nunique().unstack(fill_value=0)
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
    rows = [count(slotted_purchases(args.hm_dir, int(w)), int(w)) for w in args.windows.split(",")]
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
