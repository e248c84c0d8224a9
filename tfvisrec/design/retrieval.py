"""The retrieval baseline of DVBPR's design experiments (Kang et al. 2017, eq. 8):

    δ(u, c) = argmax_{e ∈ X_c} x̂(u, e)

the existing item of category c that the trained recommender scores highest for user u.
Generated designs (`preference.py`) are compared against it.
"""
from typing import Dict

import numpy as np

from tfvisrec.data import schema
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.evaluation.embedding import embed_catalogue


def retrieve(recommender, dataset, user: int, category: int, k: int = 3,
             item_table: ItemFeatureTable = None) -> Dict[str, np.ndarray]:
    """The top k existing items of `category` for `user` → {"items" [k] indices, "scores" [k],
    "images" [k, S, S, 3] in [-1, 1] at the recommender's image size}; fewer when the
    category has fewer items. A factorising recommender (DVBPR) embeds the catalogue once."""
    of_category = np.flatnonzero(np.asarray(dataset.category) == int(category))
    if of_category.size == 0:
        raise ValueError(f"no item of category {dataset.categories[category]!r} in {dataset.path}")
    if item_table is None:
        item_table = ItemFeatureTable.for_model(recommender, dataset)
    vectors = embed_catalogue(recommender, item_table)[of_category]
    theta = np.asarray(recommender.user_vectors(np.array([user], np.int64)))[0]
    scores = vectors @ theta
    order = np.argsort(-scores, kind="stable")[:k]
    items = of_category[order]
    return {"items": items, "scores": scores[order],
            "images": item_table.lookup(items)[schema.IMAGE].numpy()}
