"""Evaluation metrics of the papers, vectorised in numpy (TensorFlow only for SSIM).

Ranking metrics resolve ties by their expectation over a uniformly random order of the tied
items: a tied negative counts 0.5 in AUC, and HR@N / NDCG@N are averaged over every place
the positive could take among the negatives that tie with it. A constant scorer therefore
gets exactly the scores of a random ranker (AUC 0.5, HR@N = N / (negatives + 1)), and AUC,
HR and NDCG follow one rule. A NaN score makes the metrics of its row NaN (never silently 0).

Every function takes one row per query (a user and its held-out item); `mean_std`
aggregates the per-row values.
"""
from typing import Dict, Sequence, Tuple, Union

import numpy as np

ExcludeSpec = Union[None, np.ndarray, Sequence[Sequence[int]]]


def exclusion_mask(exclude: ExcludeSpec, shape: Tuple[int, int]) -> np.ndarray:
    """bool [U, I], True where an item is not a candidate negative of that row.

    `exclude` is a bool mask of that shape, or one sequence of item indices per row.
    """
    num_rows, num_items = shape
    if exclude is None:
        return np.zeros(shape, bool)
    if isinstance(exclude, np.ndarray) and exclude.dtype == bool:
        if exclude.shape != tuple(shape):
            raise ValueError(f"exclude mask has shape {exclude.shape}, scores have {tuple(shape)}")
        return exclude.copy()
    if len(exclude) != num_rows:
        raise ValueError(f"{len(exclude)} exclusion lists for {num_rows} score rows")
    lengths = np.fromiter((len(e) for e in exclude), np.int64, count=num_rows)
    cols = (np.concatenate([np.asarray(e, np.int64).ravel() for e in exclude])
            if lengths.sum() else np.zeros(0, np.int64))
    if cols.size and (cols.min() < 0 or cols.max() >= num_items):
        raise ValueError(f"excluded item index out of range [0, {num_items})")
    mask = np.zeros(shape, bool)
    mask[np.repeat(np.arange(num_rows), lengths), cols] = True
    return mask


def auc_per_user(scores, pos_items, exclude: ExcludeSpec = None) -> np.ndarray:
    """AUC of each row's positive item against all its candidate negatives, float64 [U].

    The AUC of VBPR (He & McAuley 2016, eq. 9) / DVBPR (Kang et al. 2017, sec. 5.2):
    AUC(u) = 1/|E(u)| Σ_{j ∈ E(u)} δ(x̂_ui > x̂_uj), with ties counting 0.5. The candidate
    negatives E(u) are all items except the positive and the excluded ones (`exclude`: a
    bool mask [U, I] or per-row index lists, see `exclusion_mask`). Rows with no candidate
    negative, or with a NaN among the compared scores, get NaN.
    """
    scores = np.asarray(scores)
    pos_items = np.asarray(pos_items, np.int64)
    _check_rows(scores, pos_items)
    rows = np.arange(scores.shape[0])
    candidates = ~exclusion_mask(exclude, scores.shape)
    candidates[rows, pos_items] = False
    pos_score = scores[rows, pos_items][:, None]
    below = np.count_nonzero((scores < pos_score) & candidates, axis=1)
    tied = np.count_nonzero((scores == pos_score) & candidates, axis=1)
    num_neg = np.count_nonzero(candidates, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (below + 0.5 * tied) / num_neg
    has_nan = np.isnan(pos_score[:, 0]) | np.any(np.isnan(scores) & candidates, axis=1)
    auc[has_nan | (num_neg == 0)] = np.nan
    return auc


def sampled_ranking_metrics(pos_score, neg_scores,
                            cutoffs: Sequence[int] = (5, 10, 20)) -> Dict[str, np.ndarray]:
    """AUC, HR@N and NDCG@N of the positive ranked among its N sampled negatives.

    pos_score [U], neg_scores [U, N] → {"auc", "hr@N", "ndcg@N"}: float64 [U] per row.
    With g negatives scoring above the positive and e tied with it, the positive's rank is
    uniform over g+1 … g+e+1, so HR@N = |{r ≤ N}| / (e+1) and
    NDCG@N = Σ_{r ≤ N} 1/log2(1+r) / (e+1) (one relevant item: IDCG = 1), as in the sampled
    protocols of DVBPR (Kang et al. 2017) and SAERS (Hou et al. 2019).
    """
    pos = np.asarray(pos_score, np.float64)
    neg = np.asarray(neg_scores, np.float64)
    if neg.ndim != 2 or pos.shape != (neg.shape[0],):
        raise ValueError(f"expected pos_score [U] and neg_scores [U, N]; got {pos.shape} and {neg.shape}")
    above = np.count_nonzero(neg > pos[:, None], axis=1)
    tied = np.count_nonzero(neg == pos[:, None], axis=1)
    below = np.count_nonzero(neg < pos[:, None], axis=1)
    has_nan = np.isnan(pos) | np.any(np.isnan(neg), axis=1)
    num_neg = neg.shape[1]
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["auc"] = (below + 0.5 * tied) / num_neg
    # discount[r] = Σ_{k=1..r} 1/log2(1+k): DCG gained by ranks 1..r.
    discount = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, num_neg + 3)))])
    for n in cutoffs:
        first, last = np.minimum(above, n), np.minimum(above + tied + 1, n)
        out[f"hr@{n}"] = (last - first) / (tied + 1.0)
        out[f"ndcg@{n}"] = (discount[last] - discount[first]) / (tied + 1.0)
    for values in out.values():
        values[has_nan] = np.nan
    return out


def mean_std(values) -> Tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value) of `values`."""
    values = np.asarray(values, np.float64).ravel()
    if values.size == 0:
        return float("nan"), float("nan")
    std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return float(np.mean(values)), std


def fitb_accuracy(scores, answer) -> float:
    """Fill-in-the-blank accuracy (Han et al. 2017; PAN, Song et al.): the answer must score highest.

    scores [Q, C] over each question's C candidates, answer [Q] the right candidate's column.
    A tie for first place earns 1/(number tied), the expectation of a random pick; a
    question with a NaN score makes the result NaN.
    """
    scores = np.asarray(scores, np.float64)
    answer = np.asarray(answer, np.int64)
    _check_rows(scores, answer)
    right = scores[np.arange(scores.shape[0]), answer][:, None]
    beaten = np.any(scores > right, axis=1)
    tied = np.count_nonzero(scores == right, axis=1)
    accuracy = np.where(beaten, 0.0, 1.0 / np.maximum(tied, 1))
    accuracy[np.any(np.isnan(scores), axis=1)] = np.nan
    return float(np.mean(accuracy))


def inception_score(class_probs, splits: int = 10) -> Tuple[float, float]:
    """Inception score (Salimans et al. 2016): exp E_x KL(p(y|x) ‖ p(y)), mean and std over splits.

    class_probs [N, C] are a classifier's softmax outputs for N generated images; they are
    cut into `splits` consecutive parts and p(y) is the mean of each part (as in the
    original implementation, whose std is also the population one, ddof=0). 0 · log 0 counts 0.
    """
    probs = np.asarray(class_probs, np.float64)
    if probs.ndim != 2:
        raise ValueError(f"class_probs must be [N, C]; got shape {probs.shape}")
    if not 1 <= splits <= probs.shape[0]:
        raise ValueError(f"need 1 <= splits <= N; got splits={splits}, N={probs.shape[0]}")
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("class_probs rows must be probability vectors (non-negative, summing to 1)")
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0)
        scores.append(np.exp(terms.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def ssim_diversity(images, filter_size: int = 11, pair_batch: int = 256) -> float:
    """Mean pairwise 1 − SSIM over all pairs of images (diversity of generated designs).

    SSIM (Wang et al. 2004) as `tf.image.ssim` computes it (11×11 Gaussian window, σ 1.5,
    per channel, averaged); the GAN of Kang et al. 2017 (sec. 6) reports this diversity.
    images: uint8 [N, H, W, C], N ≥ 2, H and W ≥ filter_size.
    """
    import tensorflow as tf
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"images must be uint8 [N, H, W, C]; got {images.dtype} {images.shape}")
    n, height, width = images.shape[:3]
    if n < 2:
        raise ValueError("ssim_diversity needs at least 2 images")
    if min(height, width) < filter_size:
        raise ValueError(f"images of {height}x{width} are smaller than the {filter_size}x{filter_size} SSIM window")
    first, second = np.triu_indices(n, k=1)
    total = 0.0
    for start in range(0, first.size, pair_batch):
        a = tf.constant(images[first[start:start + pair_batch]])
        b = tf.constant(images[second[start:start + pair_batch]])
        total += float(tf.reduce_sum(1.0 - tf.image.ssim(a, b, max_val=255, filter_size=filter_size)))
    return total / first.size


def _check_rows(scores, index):
    if scores.ndim != 2 or index.shape != (scores.shape[0],):
        raise ValueError(f"expected scores [U, I] and an index [U]; got {scores.shape} and {index.shape}")
    if index.size and (index.min() < 0 or index.max() >= scores.shape[1]):
        raise ValueError(f"index out of range [0, {scores.shape[1]})")


def colour_statistics(images) -> np.ndarray:
    """Per-channel mean and standard deviation over every pixel of images [N, H, W, C] → [2C]."""
    pixels = np.asarray(images, np.float64).reshape(-1, np.shape(images)[-1])
    return np.concatenate([pixels.mean(axis=0), pixels.std(axis=0)])


def colour_gap(generated: Sequence[np.ndarray], real: Sequence[np.ndarray]) -> float:
    """How far generated images are from real ones in colour, per category: the mean over
    categories k of ‖colour_statistics(generated[k]) − colour_statistics(real[k])‖₂
    (0 when each category's pixels have the real mean and spread of every channel)."""
    if len(generated) != len(real) or not real:
        raise ValueError(f"one generated and one real image set per category, got "
                         f"{len(generated)} and {len(real)}")
    return float(np.mean([np.linalg.norm(colour_statistics(g) - colour_statistics(r))
                          for g, r in zip(generated, real)]))


def grouped_auc_ndcg(scores, labels, groups, n: int = 10) -> Dict[str, float]:
    """AUC and NDCG@n of positive against negative outfits within each group (a user), as
    FHN's `evaluate-rank` and PAN's Table 1: per group, AUC = the share of (positive,
    negative) pairs ranked right (ties 0.5), NDCG@n of the binary relevance ranked by score
    (ties broken by the expected gain over their random order); averaged over the groups
    that have both a positive and a negative. A group with a NaN score gets NaN for both, so
    the averages are NaN too. → {"auc", "ndcg@n", "groups"}."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, bool)
    groups = np.asarray(groups)
    aucs, ndcgs = [], []
    for g in np.unique(groups):
        rows = groups == g
        s, y = scores[rows], labels[rows]
        if y.all() or not y.any():
            continue
        if np.isnan(s).any():   # NaN compares false both ways: it would count as a loss
            aucs.append(float("nan"))
            ndcgs.append(float("nan"))
            continue
        pos, neg = s[y][:, None], s[~y][None, :]
        aucs.append(float(np.mean((pos > neg) + 0.5 * (pos == neg))))
        ndcgs.append(_ndcg_with_ties(s, y, n))
    return {"auc": float(np.mean(aucs)) if aucs else float("nan"),
            f"ndcg@{n}": float(np.mean(ndcgs)) if ndcgs else float("nan"), "groups": len(aucs)}


def _ndcg_with_ties(scores, relevant, n):
    """NDCG@n of one ranking; a block of tied scores shares its places' mean discount."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], relevant[order].astype(np.float64)
    discount = 1.0 / np.log2(np.arange(2, len(s) + 2))
    discount[n:] = 0.0
    dcg = 0.0
    for value in np.unique(s):
        block = s == value
        dcg += y[block].sum() * discount[block].mean()
    ideal = discount[:int(y.sum())].sum()
    return dcg / ideal if ideal > 0 else float("nan")
