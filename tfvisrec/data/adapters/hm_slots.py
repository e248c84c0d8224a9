"""The outfit slot of an H&M article: from its product group when the article has metadata,
else predicted from its photo (PAN's H&M data, issue 13).

Slots: "Garment Upper body" → top, "Garment Lower body" → bottom, "Shoes" → shoes, any other
product group → other. The attribute classifier predicts the product *type*
(`product_type_name`); a type's slot is that of its product group in the articles CSV (the
group most of the type's rows name: one type, Umbrella, names two). The photo predictions
are stored with the outfit dataset (`slot_predictions.npz`: `article_id` [M], `slots` [4],
`probabilities` float32 [M, 4], `source` = the classifier) so every predicted slot can be
traced, and reused for another dataset (`hm_outfits --slot_predictions`).
"""
import dataclasses
import os
from typing import Dict, List, Sequence

import numpy as np
import pandas as pd

from tfvisrec.data.adapters.hm import ARTICLES_FILE, TRANSACTIONS_FILE
from tfvisrec.data.errors import DataError
from tfvisrec.data.outfits import SLOTS

SLOT_OF_GROUP = {"Garment Upper body": "top", "Garment Lower body": "bottom", "Shoes": "shoes"}
OTHER = "other"
PREDICTED_SLOTS = (*SLOTS, OTHER)
SLOT_PREDICTIONS_FILE = "slot_predictions.npz"
TYPE_COLUMN = "product_type_name"
GROUP_COLUMN = "product_group_name"


def read_hm_csv(hm_dir: str, name: str, columns: Sequence[str]) -> pd.DataFrame:
    """One CSV of the H&M folder as strings (ids keep their leading zeros); DataError naming
    the file when it or one of `columns` is missing."""
    path = os.path.join(hm_dir, name)
    if not os.path.exists(path):
        raise DataError("file does not exist", path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"missing columns {missing}", path)
    return frame


def slot_of_type(hm_dir: str, type_column: str = TYPE_COLUMN) -> Dict[str, str]:
    """product type → slot (top / bottom / shoes / other), through the type's product group."""
    articles = read_hm_csv(hm_dir, ARTICLES_FILE, ("article_id", type_column, GROUP_COLUMN))
    articles = articles.drop_duplicates("article_id")
    group = articles.groupby(type_column)[GROUP_COLUMN].agg(lambda s: s.value_counts().index[0])
    return {str(t): SLOT_OF_GROUP.get(g, OTHER) for t, g in group.items()}


def unlabelled_articles(hm_dir: str) -> List[str]:
    """The bought articles without a metadata row (sorted): the ones whose slot is predicted."""
    bought = read_hm_csv(hm_dir, TRANSACTIONS_FILE, ("article_id",))["article_id"]
    labelled = read_hm_csv(hm_dir, ARTICLES_FILE, ("article_id",))["article_id"]
    return sorted(set(bought) - set(labelled))


@dataclasses.dataclass
class SlotPredictions:
    """Slot probabilities of articles, predicted from their photos."""

    article_ids: List[str]
    probabilities: np.ndarray   # float32 [M, len(PREDICTED_SLOTS)]
    source: str = ""            # the classifier that predicted them

    def __post_init__(self):
        self.probabilities = np.asarray(self.probabilities, np.float32)
        if self.probabilities.shape != (len(self.article_ids), len(PREDICTED_SLOTS)):
            raise ValueError(f"probabilities have shape {self.probabilities.shape}, expected "
                             f"[{len(self.article_ids)}, {len(PREDICTED_SLOTS)}]")

    def frame(self) -> pd.DataFrame:
        """article_id → slot (the most probable) and confidence (its probability)."""
        best = np.argmax(self.probabilities, axis=1)
        return pd.DataFrame({"slot": np.asarray(PREDICTED_SLOTS)[best],
                             "confidence": self.probabilities[np.arange(len(best)), best]},
                            index=pd.Index(self.article_ids, name="article_id"))

    def confident_slots(self, min_confidence: float) -> pd.Series:
        """article_id → slot, for the articles predicted top, bottom or shoes with at least
        `min_confidence`."""
        frame = self.frame()
        keep = (frame["slot"] != OTHER) & (frame["confidence"] >= min_confidence)
        return frame.loc[keep, "slot"]

    def arrays(self) -> Dict[str, np.ndarray]:
        return {"article_id": np.asarray(self.article_ids, dtype=str), "slots": np.asarray(PREDICTED_SLOTS),
                "probabilities": self.probabilities, "source": np.asarray(self.source)}


def read_slot_predictions(path: str) -> SlotPredictions:
    """The `slot_predictions.npz` of an outfit dataset (or the file itself)."""
    path = os.path.join(path, SLOT_PREDICTIONS_FILE) if os.path.isdir(path) else path
    if not os.path.isfile(path):
        raise DataError("no slot predictions", path)
    with np.load(path) as z:
        if [str(s) for s in z["slots"]] != list(PREDICTED_SLOTS):
            raise DataError(f"slots are {list(z['slots'])}, expected {list(PREDICTED_SLOTS)}", path)
        return SlotPredictions([str(a) for a in z["article_id"]], z["probabilities"],
                               str(z["source"]) if "source" in z.files else "")
