"""Fashion-trend tracking with named features (the I-VBPR seed, §6, eq. 8).

TVBPR's visual space moves with the time epoch t (`tvbpr.TVBPR`; W = Eᵀ is
`visual_projection` [F, K'], w(t) `dimension_drift` [T, K'], ΔE(t)ᵀ `projection_drift`
[T, F, K'], Δβ'(t) `visual_bias_drift` [T, F]):

    E(t) f_i = (1 + w(t)) ⊙ (E f_i) + ΔE(t) f_i,        β'(t) = β' + Δβ'(t).

Fed with interpretable features, the influence of named feature k in epoch t is what the
one-hot item e_k scores with the average user (seed eq. 8):

    influence_k(t) = (1/|U|) Σ_u θ_uᵀ E(t) e_k  [+ β'_k(t)]
                   = θ̄ᵀ ((1 + w(t)) ⊙ W_k + ΔW_k(t))  [+ β'_k + Δβ'_k(t)],

W_k being row k of W and θ̄ the mean θ_u. Why this form: the score is linear in θ_u, so the
mean over users is the score of the mean user, computed in O(F K') per epoch; and e_k asks
about feature k alone, which is what a trend is (red rising, stripes falling). With the bias
(the default) it is the average rise of x̂(u, i, t) per unit of feature k, the part every user
shares included; e_k has unit length, so it holds as it stands for models trained with
`--feature_norm=l2` too.
"""
import csv
import dataclasses
import io
from typing import List, Sequence

import numpy as np

from tfvisrec import atomic


@dataclasses.dataclass(frozen=True)
class FeatureTrends:
    """influence [epochs, F], the epochs' boundaries [epochs − 1] (unix seconds: epoch t
    spans [boundaries[t−1], boundaries[t]), the first and last open) and the feature names."""

    influence: np.ndarray
    boundaries: np.ndarray
    feature_names: List[str]


def feature_influence(projection, dimension_drift, projection_drift, user_visual_factors,
                      visual_bias=None, visual_bias_drift=None, users=None) -> np.ndarray:
    """influence_k(t) of the module docstring → [T, F]; the bias term only when both
    `visual_bias` [F] and `visual_bias_drift` [T, F] are given. `users` (indices) restricts
    the mean to some users, e.g. those active in a season."""
    projection = np.asarray(projection, np.float64)
    dimension_drift = np.asarray(dimension_drift, np.float64)
    projection_drift = np.asarray(projection_drift, np.float64)
    theta = np.asarray(user_visual_factors, np.float64)
    if projection.ndim != 2:
        raise ValueError(f"projection has shape {projection.shape}; expected [F, K']")
    (num_features, visual_dim), num_epochs = projection.shape, dimension_drift.shape[0]
    _expect_shape(dimension_drift, "dimension_drift", (num_epochs, visual_dim))
    _expect_shape(projection_drift, "projection_drift", (num_epochs, num_features, visual_dim))
    if theta.ndim != 2 or theta.shape[1] != visual_dim:
        raise ValueError(f"user_visual_factors has shape {theta.shape}; expected [U, {visual_dim}]")
    if users is not None:
        theta = theta[np.asarray(users, np.int64)]
    if theta.shape[0] == 0:
        raise ValueError("no users to average over")
    mean_user = theta.mean(axis=0)                                          # θ̄ [K']
    influence = epoch_projections(projection, dimension_drift, projection_drift) @ mean_user  # [T, F]
    if (visual_bias is None) != (visual_bias_drift is None):
        raise ValueError("give both visual_bias and visual_bias_drift, or neither")
    if visual_bias is not None:
        visual_bias = np.asarray(visual_bias, np.float64)
        visual_bias_drift = np.asarray(visual_bias_drift, np.float64)
        _expect_shape(visual_bias, "visual_bias", (num_features,))
        _expect_shape(visual_bias_drift, "visual_bias_drift", (num_epochs, num_features))
        influence = influence + visual_bias + visual_bias_drift
    return influence


def epoch_projections(projection, dimension_drift, projection_drift) -> np.ndarray:
    """W(t) = (1 + w(t)) ⊙ W + ΔW(t) for every epoch: [T, F, K'] (W = Eᵀ [F, K'], so
    W(t)ᵀ f_i = E(t) f_i of the module docstring)."""
    projection, dimension_drift = np.asarray(projection, np.float64), np.asarray(dimension_drift, np.float64)
    return (1.0 + dimension_drift)[:, None, :] * projection + np.asarray(projection_drift, np.float64)


def model_feature_trends(model, feature_names: Sequence[str], include_visual_bias: bool = True,
                         users=None) -> FeatureTrends:
    """`feature_influence` of a trained TVBPR-like model (its weights by the names above)."""
    names = list(feature_names)
    if len(names) != model.feature_dim:
        raise ValueError(f"{len(names)} feature names for a model of {model.feature_dim} features")
    bias = (model.visual_bias.numpy(), model.visual_bias_drift.numpy()) if include_visual_bias else (None, None)
    influence = feature_influence(
        model.visual_projection.numpy(), model.dimension_drift.numpy(), model.projection_drift.numpy(),
        model.user_visual_factors.numpy(), *bias, users=users)
    return FeatureTrends(influence, model.epochs.boundaries.numpy().astype(np.int64), names)


TIME_COLUMNS = ("epoch", "start", "end")


def trends_csv_text(trends: FeatureTrends) -> str:
    """One row per epoch: epoch, start, end (unix seconds, empty where open), then one column
    per feature."""
    num_epochs = trends.influence.shape[0]
    if trends.boundaries.shape != (num_epochs - 1,) or trends.influence.shape[1] != len(trends.feature_names):
        raise ValueError(f"influence {trends.influence.shape}, {trends.boundaries.shape[0]} boundaries and "
                         f"{len(trends.feature_names)} names do not agree")
    edges = [None] + [int(b) for b in trends.boundaries] + [None]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(TIME_COLUMNS) + list(trends.feature_names))
    for t in range(num_epochs):
        times = ["" if edge is None else edge for edge in (edges[t], edges[t + 1])]
        writer.writerow([t] + times + [repr(float(v)) for v in trends.influence[t]])
    return out.getvalue()


def write_trends_csv(path: str, trends: FeatureTrends) -> None:
    """`trends_csv_text` to `path`, atomically (temporary file, then rename)."""
    atomic.write_text(path, trends_csv_text(trends))


def read_trends_csv(path: str) -> FeatureTrends:
    """The FeatureTrends `write_trends_csv` wrote."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    if tuple(header[:len(TIME_COLUMNS)]) != TIME_COLUMNS or not body:
        raise ValueError(f"{path}: not a trends file (header {header[:3]}, {len(body)} epochs)")
    influence = np.array([[float(v) for v in row[len(TIME_COLUMNS):]] for row in body], np.float64)
    boundaries = np.array([int(row[2]) for row in body[:-1]], np.int64)
    return FeatureTrends(influence.reshape(len(body), -1), boundaries, header[len(TIME_COLUMNS):])


def _expect_shape(array, name: str, shape) -> None:
    if array.shape != tuple(shape):
        raise ValueError(f"{name} has shape {array.shape}; expected {list(shape)}")

