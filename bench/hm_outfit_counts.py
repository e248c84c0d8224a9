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

With `--slot_classifier RUN` (an H&M attribute classifier, `configs/hm_attributes.cfg`) or
`--slot_predictions FILE` (the `slot_predictions.npz` of an outfit dataset built with one),
the articles without metadata take the slot predicted from their photo when its probability
is at least t, for each t of `--min_confidence`; one row per (window, slot source):

    python bench/hm_outfit_counts.py --hm_dir ../shared/data/hm --windows 1,30 \
        --slot_classifier runs/hm_attributes --min_confidence 0.5,0.8
"""
import argparse
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tfvisrec.data.adapters.hm_outfits import slotted_purchases  # noqa: E402
from tfvisrec.data.adapters.hm_slots import read_slot_predictions  # noqa: E402


def count(purchases: pd.DataFrame, window_days: int, slots: str = "labelled") -> dict:
    per = purchases.groupby(["customer_id", "session", "slot"])["article_id"].nunique().unstack(fill_value=0)
    for slot in ("top", "bottom", "shoes"):
        if slot not in per:
            per[slot] = 0
    two = per[(per.top > 0) & (per.bottom > 0)]
    three = two[two.shoes > 0]
    predicted = purchases[purchases["slot_predicted"]].groupby(["customer_id", "session"]).size()
    with_predicted = two.index.isin(predicted.index)
    return {"window_days": window_days, "slots": slots,
            "top+bottom outfits": len(two), "top+bottom shoppers": two.index.get_level_values(0).nunique(),
            "top+bottom combinations": int((two.top * two.bottom).sum()),
            "top+bottom+shoes outfits": len(three),
            "top+bottom+shoes shoppers": three.index.get_level_values(0).nunique(),
            "top+bottom+shoes combinations": int((three.top * three.bottom * three.shoes).sum()),
            "top+bottom outfits with a photo-slotted purchase": int(with_predicted.sum())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hm_dir", required=True)
    parser.add_argument("--windows", default="1,7,30", help="window lengths W in days")
    parser.add_argument("--slot_classifier", help="predict the unlabelled articles' slots with this classifier")
    parser.add_argument("--slot_predictions", help="…or read them from this slot_predictions.npz")
    parser.add_argument("--min_confidence", default="0.5", help="thresholds t on the predicted slot's probability")
    args = parser.parse_args(argv)
    predictions = None
    if args.slot_classifier:
        import tfvisrec  # noqa: F401  (Keras 2 before TensorFlow)
        from tfvisrec.vision.type_groups import predict_hm_slots
        predictions = predict_hm_slots(args.slot_classifier, args.hm_dir, verbose=1)
    elif args.slot_predictions:
        predictions = read_slot_predictions(args.slot_predictions)
    rows = []
    for w in (int(w) for w in args.windows.split(",")):
        rows.append(count(slotted_purchases(args.hm_dir, w), w))
        for t in ([] if predictions is None else [float(t) for t in args.min_confidence.split(",")]):
            rows.append(count(slotted_purchases(args.hm_dir, w, predictions, t), w, f"+ photo ≥ {t:g}"))
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
