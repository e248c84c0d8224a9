"""Interactive recommendation in I-VBPR's interpretable space (the I-VBPR seed, §5).

With named features f_i [F] (`interpretable_features`), VBPR's visual terms are linear in
f_i (E stored transposed, as `visual_projection` W = Eᵀ [F, K']):

    θ_uᵀ(E f_i) + β'ᵀf_i = (W θ_u + β')ᵀ f_i = p_uᵀ f_i,

so one vector p_u [F], the user's *affinity*, says how much a unit of each named feature
("colour=red") raises the user's score. Showing p_u, letting the user move it (toward an
item, toward or away from a feature) and re-ranking by p_uᵀf_i is I-VBPR's interactive loop.
Everything here is numpy on arrays from any VBPR-family model, e.g.
`model.visual_projection.numpy()`, `model.user_visual_factors.numpy()[u]`,
`model.visual_bias.numpy()`; the f_i must be the rows the model saw (unit-length when it
was trained with `--feature_norm=l2`: `load_interpretable_features(..., norm="l2")`).
"""
from typing import Iterable, Optional, Sequence, Tuple

import numpy as np

from tfvisrec.models.interpretable_features import feature_index

NORMS = ("l1", "l2")


def visual_affinity(projection, user_visual_factors, visual_bias=None) -> np.ndarray:
    """p_u = E θ_u (+ β'): [F] for θ_u [K'], or [U, F] for θ [U, K'].

    `projection` is W = Eᵀ [F, K'] as VBPR stores it, so p_u = W θ_u. Entry k is the
    model's visual score of the one-hot item e_k (the "one-hot response" of seed eq. 5):
    θ_uᵀ(E e_k), plus β'_k when `visual_bias` [F] is given, in which case p_uᵀf_i is the
    whole visual part θ_uᵀ(E f_i) + β'ᵀf_i of x̂(u, i) (VBPR eq. 4).
    """
    projection = _matrix(projection, "projection")
    theta = np.asarray(user_visual_factors, np.float64)
    if theta.ndim not in (1, 2) or theta.shape[-1] != projection.shape[1]:
        raise ValueError(f"user_visual_factors has shape {theta.shape}; expected [K'] or [U, K'] "
                         f"with K' = {projection.shape[1]} (the projection is {projection.shape})")
    affinity = theta @ projection.T
    if visual_bias is not None:
        affinity = affinity + _vector(visual_bias, "visual_bias", projection.shape[0])
    return affinity


def normalised_affinity(affinity, norm: str = "l1") -> np.ndarray:
    """p_u / ‖p_u‖ (seed eq. 5), row by row for [U, F].

    "l1" (the default): the entries sum to one in absolute value, so |p_u,k| reads as feature
    k's share of the user's visual taste and the sign as like / dislike. "l2": unit length,
    the form cosine comparisons between users want. A zero vector stays zero.
    """
    affinity = np.asarray(affinity, np.float64)
    return affinity / np.maximum(_norm(affinity, norm), 1e-12)


def steer_toward_item(affinity, item_features, strength: float, norm: str = "l1") -> np.ndarray:
    """Seed eq. 6, "more like this item": p_u ← (1 − λ) p_u + λ ‖p_u‖ f_i / ‖f_i‖.

    The step of the seed, p_u + λ(f_i − p_u), with f_i first brought to the length of p_u:
    p_u is in score units per feature and f_i in probabilities, so subtracting them raw would
    mostly rescale p_u. λ ∈ [0, 1]; λ = 1 leaves p_u along f_i, ranking items by their
    overlap f_jᵀf_i with the chosen one. `norm` ("l1" / "l2") measures both lengths.
    """
    affinity = np.asarray(affinity, np.float64)
    if affinity.ndim != 1:
        raise ValueError(f"affinity must be one user's [F] vector, got shape {affinity.shape}")
    target = _vector(item_features, "item_features", affinity.shape[0])
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength λ must lie in [0, 1], got {strength}")
    direction = target / max(float(_norm(target, norm)), 1e-12)
    return (1.0 - strength) * affinity + strength * float(_norm(affinity, norm)) * direction


def steer_feature(affinity, feature, strength: float,
                  feature_names: Optional[Sequence[str]] = None) -> np.ndarray:
    """Seed eq. 7, "more / less of this feature": p_u ← p_u + λ e_k.

    `feature` is a column or, with `feature_names`, a name such as "colour=red". λ is in the
    units of p_u (score per unit of feature): λ > 0 steers toward feature k, λ < 0 away.
    """
    affinity = np.array(affinity, np.float64)
    if affinity.ndim != 1:
        raise ValueError(f"affinity must be one user's [F] vector, got shape {affinity.shape}")
    names = feature_names if feature_names is not None else [str(k) for k in range(affinity.shape[0])]
    if len(names) != affinity.shape[0]:
        raise ValueError(f"{len(names)} feature names for an affinity of {affinity.shape[0]} features")
    if isinstance(feature, str) and feature_names is None:
        raise ValueError(f"feature {feature!r} given by name, but no feature_names")
    affinity[feature_index(feature, names)] += strength
    return affinity


def collaborative_scores(user_factors, item_factors, item_bias=None) -> np.ndarray:
    """The non-visual terms of VBPR's x̂(u, i): γ_uᵀγ_i (+ β_i) for every item → [items]."""
    item_factors = _matrix(item_factors, "item_factors")
    scores = item_factors @ _vector(user_factors, "user_factors", item_factors.shape[1])
    if item_bias is not None:
        scores = scores + _vector(item_bias, "item_bias", item_factors.shape[0])
    return scores


def interpretable_scores(affinity, features, base_scores=None) -> np.ndarray:
    """p_uᵀ f_i for every item [items] (+ `base_scores` [items], e.g. `collaborative_scores`,
    which with the β'-including affinity gives VBPR's full x̂(u, i))."""
    features = _matrix(features, "features")
    scores = features @ _vector(affinity, "affinity", features.shape[1])
    if base_scores is not None:
        scores = scores + _vector(base_scores, "base_scores", features.shape[0])
    return scores


def top_k(scores, k: int, exclude: Iterable[int] = ()) -> np.ndarray:
    """The k best items by score, best first, leaving out `exclude` (ties: lower index first)."""
    scores = _vector(scores, "scores")
    excluded = np.unique(np.asarray(list(exclude), np.int64))
    if excluded.size and (excluded.min() < 0 or excluded.max() >= scores.shape[0]):
        raise ValueError(f"excluded items must lie in [0, {scores.shape[0]}), got {excluded.tolist()}")
    available = scores.shape[0] - excluded.size
    if not 1 <= k <= available:
        raise ValueError(f"k = {k} but the catalogue has {scores.shape[0]} items, "
                         f"{available} after the {excluded.size} excluded")
    masked = scores.copy()
    masked[excluded] = -np.inf
    order = np.argsort(-masked, kind="stable")
    return order[:k]


def recommend(affinity, features, k: int, exclude: Iterable[int] = (), base_scores=None) -> np.ndarray:
    """Top-k items for affinity p_u: `top_k(interpretable_scores(...))`."""
    return top_k(interpretable_scores(affinity, features, base_scores), k, exclude)


def nearest_items(features, item: int, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """The n items closest to `item` by cosine of their feature rows, itself left out →
    (items [n], cosines [n]), closest first."""
    features = _matrix(features, "features")
    if not 0 <= item < features.shape[0]:
        raise ValueError(f"item {item} is out of range: the catalogue has {features.shape[0]} items")
    unit = normalised_affinity(features, "l2")
    cosines = unit @ unit[item]
    neighbours = top_k(cosines, n, exclude=[item])
    return neighbours, cosines[neighbours]


def _norm(values, norm: str):
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    order = 1 if norm == "l1" else 2
    return np.linalg.norm(values, ord=order, axis=-1, keepdims=np.ndim(values) > 1)


def _vector(values, name: str, length: Optional[int] = None) -> np.ndarray:
    values = np.asarray(values, np.float64)
    if values.ndim != 1 or (length is not None and values.shape[0] != length):
        expected = f"[{length}]" if length is not None else "one-dimensional"
        raise ValueError(f"{name} has shape {values.shape}; expected {expected}")
    return values


def _matrix(values, name: str) -> np.ndarray:
    values = np.asarray(values, np.float64)
    if values.ndim != 2:
        raise ValueError(f"{name} has shape {values.shape}; expected a matrix")
    return values
