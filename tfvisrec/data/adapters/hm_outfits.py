"""H&M purchases → an outfit dataset (PAN): what one customer bought in one session.

A session starts at a customer's first purchase of an article with a slot and takes every
such purchase within `window_days` − 1 days of that start (1 = the same day); the articles
with a slot (`product_group_name`: "Garment Upper body" → top, "Garment Lower body" → bottom,
"Shoes" → shoes, `hm_slots.py`) form the customer's outfit when they span a top and a bottom
(and shoes, with `require_shoes`). The articles without metadata have no slot and are left
out, unless `slot_predictions` gives them one predicted from their photo with at least
`min_confidence` (the predictions are then stored in the dataset, `slot_predictions.npz`).
An outfit takes the first top, bottom and shoes bought in the session (the shoes slot is
empty when there are none). Item text = prod_name + detail_desc (the VSE loss; none for the
unlabelled articles), photos from the archive.

Split per customer, in time: the last outfit of a customer with three or more is test, the
one before it validation; a customer's other outfits are training ones.
"""
import os
from typing import Optional

import numpy as np
import pandas as pd

from tfvisrec.data.adapters.hm import ARTICLES_FILE, IMAGES_FILE, TRANSACTIONS_FILE, image_member
from tfvisrec.data.adapters.hm_slots import (GROUP_COLUMN, SLOT_OF_GROUP, SLOT_PREDICTIONS_FILE,
                                             SlotPredictions, read_hm_csv)
from tfvisrec.data.errors import DataError
from tfvisrec.data.image_reader import open_images
from tfvisrec.data.ingest import check_output
from tfvisrec.data.outfits import EMPTY, SLOTS, OutfitTable, Outfits, write_outfit_dataset

DEFAULT_MIN_CONFIDENCE = 0.5


def session_numbers(days: np.ndarray, window_days: int) -> np.ndarray:
    """The session of each of one customer's purchase days (sorted ascending)."""
    out, start, k = np.zeros(len(days), np.int64), None, -1
    for i, d in enumerate(days):
        if start is None or d - start >= window_days:
            start, k = d, k + 1
        out[i] = k
    return out


def slotted_purchases(hm_dir: str, window_days: int = 1,
                      slot_predictions: Optional[SlotPredictions] = None,
                      min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> pd.DataFrame:
    """Purchases of articles with a slot: customer_id, article_id, day, slot, session, text, and
    slot_predicted (True where the slot comes from the photo, not the metadata)."""
    if window_days < 1:
        raise DataError(f"window_days must be at least 1, got {window_days}")
    if not 0.0 <= min_confidence <= 1.0:
        raise DataError(f"min_confidence must be within [0, 1], got {min_confidence}")
    tx = read_hm_csv(hm_dir, TRANSACTIONS_FILE, ("t_dat", "customer_id", "article_id"))
    articles = read_hm_csv(hm_dir, ARTICLES_FILE, ("article_id", GROUP_COLUMN))
    articles = articles.drop_duplicates("article_id").set_index("article_id")
    text = (articles.get("prod_name", "") + ". " + articles.get("detail_desc", "")).str.strip(". ")
    tx["slot"] = tx["article_id"].map(articles[GROUP_COLUMN].map(SLOT_OF_GROUP))
    tx["slot_predicted"] = False
    if slot_predictions is not None:
        predicted = slot_predictions.confident_slots(min_confidence)
        predicted = predicted[~predicted.index.isin(articles.index)]   # metadata wins
        from_photo = tx["article_id"].isin(predicted.index)
        tx.loc[from_photo, "slot"] = tx.loc[from_photo, "article_id"].map(predicted)
        tx["slot_predicted"] = from_photo
    tx["text"] = tx["article_id"].map(text).fillna("")
    try:
        tx["day"] = (pd.to_datetime(tx["t_dat"]) - pd.Timestamp("1970-01-01")).dt.days
    except (ValueError, TypeError) as e:
        raise DataError(f"bad t_dat: {e}", os.path.join(hm_dir, TRANSACTIONS_FILE)) from None
    tx["order"] = np.arange(len(tx))
    tx = tx.dropna(subset=["slot"]).sort_values(["customer_id", "day", "order"], kind="stable")
    tx["session"] = 0
    for _, rows in tx.groupby("customer_id").groups.items():
        tx.loc[rows, "session"] = session_numbers(tx.loc[rows, "day"].to_numpy(), window_days)
    return tx


def session_outfits(purchases: pd.DataFrame, require_shoes: bool = False) -> pd.DataFrame:
    """One row per session that spans a top and a bottom (and shoes): customer_id, day, and
    the first article of each slot ("" for no shoes)."""
    first = purchases.groupby(["customer_id", "session", "slot"], sort=False).agg(
        article_id=("article_id", "first"), day=("day", "min")).reset_index()
    wide = first.pivot(index=["customer_id", "session"], columns="slot", values="article_id")
    wide = wide.reindex(columns=list(SLOTS)).fillna("")
    wide["day"] = first.groupby(["customer_id", "session"])["day"].min()
    keep = (wide["top"] != "") & (wide["bottom"] != "")
    if require_shoes:
        keep &= wide["shoes"] != ""
    return wide[keep].reset_index().sort_values(["customer_id", "day"], kind="stable")


def ingest_hm_outfits(hm_dir: str, out_dir: str, *, window_days: int = 1, require_shoes: bool = False,
                      with_images: bool = True, overwrite: bool = False, name: Optional[str] = None,
                      slot_predictions: Optional[SlotPredictions] = None,
                      min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> str:
    check_output(out_dir, overwrite)
    purchases = slotted_purchases(hm_dir, window_days, slot_predictions, min_confidence)
    outfits = session_outfits(purchases, require_shoes)
    if outfits.empty:
        raise DataError("no session spans a top and a bottom", os.path.join(hm_dir, TRANSACTIONS_FILE))
    user_ids = sorted(outfits["customer_id"].unique())
    item_ids = sorted({a for s in SLOTS for a in outfits[s] if a})
    user_index = {u: k for k, u in enumerate(user_ids)}
    item_index = {a: k for k, a in enumerate(item_ids)}
    users = outfits["customer_id"].map(user_index).to_numpy(np.int64)
    items = np.stack([outfits[s].map(lambda a: item_index.get(a, EMPTY)).to_numpy(np.int64) for s in SLOTS], 1)
    rank_from_end = outfits.groupby("customer_id").cumcount(ascending=False).to_numpy()
    count = outfits.groupby("customer_id")["customer_id"].transform("size").to_numpy()
    split = np.where((count >= 3) & (rank_from_end == 0), 2, np.where((count >= 3) & (rank_from_end == 1), 1, 0))
    item_slot = np.full(len(item_ids), -1, np.int8)
    for s, slot in enumerate(SLOTS):
        item_slot[[item_index[a] for a in outfits[slot] if a]] = s
    table = OutfitTable(list(SLOTS), item_slot,
                        {name_: Outfits(users[split == k], items[split == k])
                         for k, name_ in enumerate(("train", "valid", "test"))})
    texts = purchases.drop_duplicates("article_id").set_index("article_id")["text"]
    images = None
    if with_images:
        source = open_images(os.path.join(hm_dir, IMAGES_FILE))
        found = dict(source.read_many([image_member(a) for a in item_ids]))
        images = [found[image_member(a)] for a in item_ids]
    meta = {"name": name or "hm-outfits", "source": os.path.abspath(hm_dir), "adapter": "hm_outfits",
            "window_days": int(window_days), "require_shoes": bool(require_shoes)}
    extra = None
    if slot_predictions is not None:
        predicted = set(purchases.loc[purchases["slot_predicted"], "article_id"])
        meta["slot_predictions"] = {
            "classifier": slot_predictions.source, "min_confidence": float(min_confidence),
            "articles_predicted": len(slot_predictions.article_ids),
            "items_with_predicted_slot": sum(a in predicted for a in item_ids),
            "file": SLOT_PREDICTIONS_FILE}
        extra = {SLOT_PREDICTIONS_FILE: slot_predictions.arrays()}
    return write_outfit_dataset(out_dir, user_ids, item_ids, table, meta=meta, images=images,
                                texts=[texts.get(a, "") for a in item_ids], overwrite=overwrite,
                                extra_npz=extra)
