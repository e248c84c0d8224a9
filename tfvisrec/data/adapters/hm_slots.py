"""What an H&M article is, from its product group when the article has metadata, else
predicted from its photo: its outfit slot (PAN's H&M data, issue 13) and its product group
(the GAN's category, DVBPR §III-C, issue 12).

Slots: "Garment Upper body" → top, "Garment Lower body" → bottom, "Shoes" → shoes, any other
product group → other. The attribute classifier predicts the product *type*
(`product_type_name`); a type's group is the group most of the type's rows in the articles CSV
name (one type, Umbrella, names two), its slot that group's slot. Photo predictions are stored
with the dataset built from them (`slot_predictions.npz` / `category_predictions.npz`:
`article_id` [M], `labels` [L] (the slots or the groups), `probabilities` float32 [M, L],
`source` = the classifier) so every predicted label can be traced, and reused
(`hm_outfits --slot_predictions`, `hm --category_predictions`).
"""
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from tfvisrec.data.adapters.hm import ARTICLES_FILE, TRANSACTIONS_FILE
from tfvisrec.data.errors import DataError
from tfvisrec.data.npz_file import read_npz
from tfvisrec.data.outfits import SLOTS

SLOT_OF_GROUP = {"Garment Upper body": "top", "Garment Lower body": "bottom", "Shoes": "shoes"}
OTHER = "other"
PREDICTED_SLOTS = (*SLOTS, OTHER)
SLOT_PREDICTIONS_FILE = "slot_predictions.npz"
CATEGORY_PREDICTIONS_FILE = "category_predictions.npz"
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


def group_of_type(hm_dir: str, type_column: str = TYPE_COLUMN) -> Dict[str, str]:
    """product type → the product group most of its rows name."""
    articles = read_hm_csv(hm_dir, ARTICLES_FILE, ("article_id", type_column, GROUP_COLUMN))
    articles = articles.drop_duplicates("article_id")
    group = articles.groupby(type_column)[GROUP_COLUMN].agg(lambda s: s.value_counts().index[0])
    return {str(t): str(g) for t, g in group.items()}


def slot_of_type(hm_dir: str, type_column: str = TYPE_COLUMN) -> Dict[str, str]:
    """product type → slot (top / bottom / shoes / other), through the type's product group."""
    return {t: SLOT_OF_GROUP.get(g, OTHER) for t, g in group_of_type(hm_dir, type_column).items()}


def unlabelled_articles(hm_dir: str) -> List[str]:
    """The bought articles without a metadata row (sorted): the ones whose slot is predicted."""
    bought = read_hm_csv(hm_dir, TRANSACTIONS_FILE, ("article_id",))["article_id"]
    labelled = read_hm_csv(hm_dir, ARTICLES_FILE, ("article_id",))["article_id"]
    return sorted(set(bought) - set(labelled))


class PhotoPredictions:
    """Probabilities over `labels` (slots or product groups) of articles, predicted from
    their photos by `source` (the classifier)."""

    def __init__(self, article_ids: Sequence[str], probabilities, labels: Sequence[str], source: str = ""):
        self.article_ids = [str(a) for a in article_ids]
        self.labels = tuple(str(x) for x in labels)
        self.source = source
        self.probabilities = np.asarray(probabilities, np.float32)
        if self.probabilities.shape != (len(self.article_ids), len(self.labels)):
            raise ValueError(f"probabilities have shape {self.probabilities.shape}, expected "
                             f"[{len(self.article_ids)}, {len(self.labels)}]")

    def frame(self) -> pd.DataFrame:
        """article_id → label (the most probable) and confidence (its probability)."""
        best = np.argmax(self.probabilities, axis=1)
        return pd.DataFrame({"label": np.asarray(self.labels)[best],
                             "confidence": self.probabilities[np.arange(len(best)), best]},
                            index=pd.Index(self.article_ids, name="article_id"))

    def confident(self, min_confidence: float, exclude: Sequence[str] = ()) -> pd.Series:
        """article_id → label, for the articles whose most probable label (not one of
        `exclude`) has at least `min_confidence`."""
        frame = self.frame()
        keep = ~frame["label"].isin(list(exclude)) & (frame["confidence"] >= min_confidence)
        return frame.loc[keep, "label"]

    def arrays(self) -> Dict[str, np.ndarray]:
        return {"article_id": np.asarray(self.article_ids, dtype=str), "labels": np.asarray(self.labels),
                "probabilities": self.probabilities, "source": np.asarray(self.source)}


class SlotPredictions(PhotoPredictions):
    """Slot probabilities (`PREDICTED_SLOTS`) of articles, predicted from their photos."""

    def __init__(self, article_ids: Sequence[str], probabilities, source: str = ""):
        super().__init__(article_ids, probabilities, PREDICTED_SLOTS, source)

    def confident_slots(self, min_confidence: float) -> pd.Series:
        """article_id → slot, for the articles predicted top, bottom or shoes with at least
        `min_confidence`."""
        return self.confident(min_confidence, exclude=(OTHER,))


def read_photo_predictions(path: str, file_name: str, labels: Optional[Sequence[str]] = None) -> PhotoPredictions:
    """Photo predictions from a dataset folder's `file_name` (or the file itself); with
    `labels`, a DataError unless they are the file's."""
    path = os.path.join(path, file_name) if os.path.isdir(path) else path
    if not os.path.isfile(path):
        raise DataError("no photo predictions", path)
    not_ours = "not a photo predictions file of `python -m tfvisrec.data` ({error})"
    z = read_npz(path, not_ours, ["article_id", "probabilities"], optional=("labels", "slots", "source"))
    if "labels" not in z and "slots" not in z:
        raise DataError(not_ours.format(error="it holds no labels"), path)
    stored = [str(s) for s in z.get("labels", z.get("slots"))]
    predictions = PhotoPredictions([str(a) for a in z["article_id"]], z["probabilities"], stored,
                                   str(z["source"]) if "source" in z else "")
    if labels is not None and stored != list(labels):
        raise DataError(f"labels are {stored}, expected {list(labels)}", path)
    return predictions


def read_slot_predictions(path: str) -> SlotPredictions:
    """The `slot_predictions.npz` of an outfit dataset (or the file itself)."""
    stored = read_photo_predictions(path, SLOT_PREDICTIONS_FILE, PREDICTED_SLOTS)
    return SlotPredictions(stored.article_ids, stored.probabilities, stored.source)


def read_category_predictions(path: str) -> PhotoPredictions:
    """The `category_predictions.npz` of an H&M dataset (or the file itself)."""
    return read_photo_predictions(path, CATEGORY_PREDICTIONS_FILE)
