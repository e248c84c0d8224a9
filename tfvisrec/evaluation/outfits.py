"""Outfit evaluation (FHN, PAN Table 1-2): AUC and NDCG@N of positive against negative outfits
per user, and fill-in-the-blank accuracy, with real-valued and with binary codes.

Results, for a split (see `data/outfit_questions.py` for the questions):

| key | what |
|---|---|
| `personal/auc`, `personal/ndcg@N` | a user's outfits against other users' outfits: taste |
| `random/auc`, `random/ndcg@N` | a user's outfits against randomly mixed ones: mostly compatibility |
| `fitb/accuracy` | the right item for a blanked slot among 4 candidates (ties share) |
| `fitb/g_only`, `fitb/p_only` | the same scored by one term of y = g + α p (eq. 4; models with `splits_outfit_scores`) |

each prefixed `real/` (tanh codes at the last slope) and `binary/` (sign codes).
"""
from typing import Dict

import numpy as np
import tensorflow as tf

from tfvisrec import metrics
from tfvisrec.data import outfit_questions
from tfvisrec.data.outfits import OutfitTable

BATCH = 4096


def outfit_scores(model, users, outfits, binary: bool = False) -> np.ndarray:
    """The model's y(u, O) for aligned users [N] and outfits [N, S], in batches."""
    (scores,) = _in_batches(lambda u, o: (model.outfit_scores(u, o, binary=binary),), users, outfits, 1)
    return scores


def evaluate_outfits(model, table: OutfitTable, split: str = "test", seed: int = 0, n: int = 10,
                     candidates: int = 4, max_negatives: int = 100) -> Dict[str, float]:
    personal = outfit_questions.personal_pairs(table, split, seed, max_negatives)
    random = outfit_questions.random_pairs(table, split, seed)
    fitb_users, fitb = outfit_questions.fitb_questions(table, split, seed, candidates)
    out = {}
    for codes, binary in (("real", False), ("binary", True)):
        for name, (users, outfits, labels) in (("personal", personal), ("random", random)):
            result = metrics.grouped_auc_ndcg(outfit_scores(model, users, outfits, binary), labels, users, n)
            out[f"{codes}/{name}/auc"] = result["auc"]
            out[f"{codes}/{name}/ndcg@{n}"] = result[f"ndcg@{n}"]
            out[f"{name}/users"] = float(result["groups"])
        q, c, s = fitb.shape
        scores = outfit_scores(model, np.repeat(fitb_users, c), fitb.reshape(-1, s), binary).reshape(q, c)
        out[f"{codes}/fitb/accuracy"] = _fitb(scores)
        if model.splits_outfit_scores:
            g, p = outfit_score_parts(model, np.repeat(fitb_users, c), fitb.reshape(-1, s), binary)
            out[f"{codes}/fitb/g_only"], out[f"{codes}/fitb/p_only"] = _fitb(g.reshape(q, c)), _fitb(p.reshape(q, c))
    out["fitb/questions"] = float(len(fitb_users))
    return out


def outfit_score_parts(model, users, outfits, binary: bool = False):
    """The two terms (g, α p) of the model's y(u, O) = g + α p (eq. 4), each [N], in batches."""
    return _in_batches(lambda u, o: model.outfit_score_parts(u, o, binary=binary), users, outfits, 2)


def _in_batches(call, users, outfits, width: int):
    """`call(users [b], outfits [b, S])` → `width` tensors [b], over users [N] and outfits
    [N, S] in batches of BATCH → `width` float64 arrays [N]. Each distinct (user, outfit) is
    scored once (`outfit_questions.distinct_pairs`), so repeats of a pair tie exactly."""
    users, outfits, back = outfit_questions.distinct_pairs(users, outfits)
    parts = [[t.numpy() for t in call(tf.constant(users[k:k + BATCH]), tf.constant(outfits[k:k + BATCH]))]
             for k in range(0, len(users), BATCH)]
    if not parts:
        return tuple(np.zeros(0) for _ in range(width))
    return tuple(np.concatenate(column).astype(np.float64)[back] for column in zip(*parts))


def _fitb(scores) -> float:
    """FITB accuracy of scores [Q, C] whose right candidate is column 0."""
    return metrics.fitb_accuracy(scores, np.zeros(len(scores), np.int64)) if len(scores) else float("nan")
