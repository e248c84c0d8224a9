"""Learned time epochs: TVBPR's segmentation of the timeline, fitted by dynamic programming.

TVBPR (He & McAuley 2016b, "Ups and Downs", §4.3) does not fix where its time epochs begin:
the timeline is cut into B small time bins, an epoch is a run of consecutive bins, and the
fit alternates (coordinate ascent) between
  1. the parameters Θ with the segmentation fixed (BPR-Opt, the ordinary training steps), and
  2. the segmentation with Θ fixed: the one maximising the BPR objective
         Σ_(u,i,j,t) ln σ(x̂_ui(t) − x̂_uj(t))
     over every way of cutting the B bins into T consecutive, non-empty epochs.
Step 2 decomposes by bin: with L[b, e] the log-likelihood of the triples of bin b scored with
epoch e's parameters, the best segmentation is a monotone path through L, found by

    best[b, e] = L[b, e] + max(best[b − 1, e], best[b − 1, e − 1])        (O(B·T))

from best[0, 0] = L[0, 0] to best[B − 1, T − 1]. This module holds that numpy part (bins,
DP, boundaries); the model scores L (`TVBPR.bin_log_likelihoods`).
"""
from typing import Tuple

import numpy as np

from tfvisrec.data import schema
from tfvisrec.data.errors import DataError

SEGMENTATIONS = ("quantile", "learned")


def bin_edges(times, num_bins: int) -> np.ndarray:
    """int64 [num_bins + 1]: equal-width bins over the known training times, the last edge
    one second past the latest time (bin b spans [edges[b], edges[b + 1]))."""
    times = np.asarray(times, np.int64).reshape(-1)
    known = times[times != schema.NO_TIME]
    if known.size == 0:
        raise DataError("no interaction has a timestamp; temporal models need them "
                        "(a timestamp column in interactions.csv)")
    if int(num_bins) < 1:
        raise ValueError(f"time_bins must be at least 1, got {num_bins}")
    start, stop = int(known.min()), int(known.max()) + 1
    edges = np.round(np.linspace(start, stop, int(num_bins) + 1)).astype(np.int64)
    if np.any(np.diff(edges) <= 0):
        raise DataError(f"the training period ({stop - start} s) is too short for {num_bins} time bins")
    return edges


def bin_of(times, edges) -> np.ndarray:
    """The bin of each time [n] (times outside the edges fall in the first / last bin)."""
    bins = np.searchsorted(np.asarray(edges)[1:-1], np.asarray(times, np.int64), side="right")
    return bins.astype(np.int64)


def bin_sums(values, bins, num_bins: int) -> np.ndarray:
    """Σ of the rows of values [n, T] per bin → [num_bins, T]."""
    values = np.asarray(values, np.float64)
    out = np.zeros((int(num_bins), values.shape[1]), np.float64)
    np.add.at(out, np.asarray(bins, np.int64), values)
    return out


def best_segmentation(log_likelihood, min_bins: int = 1) -> Tuple[np.ndarray, float]:
    """The monotone assignment of B bins to T epochs (each epoch ≥ `min_bins` consecutive
    bins, bin 0 in epoch 0, bin B − 1 in epoch T − 1) maximising Σ_b L[b, epoch(b)] for
    L [B, T] → (epoch of each bin [B], the maximum). With m = min_bins,

        best[b, e] = max(best[b − 1, e] + L[b, e],  best[b − m, e − 1] + Σ_{k=b−m+1..b} L[k, e])

    (epoch e goes on, or starts at bin b − m + 1 with its first m bins); m = 1 is the recursion
    of the module docstring. Ties keep the earlier epoch (boundaries move late)."""
    table = np.asarray(log_likelihood, np.float64)
    num_bins, num_epochs = table.shape
    m = int(min_bins)
    if m < 1:
        raise ValueError(f"min_epoch_bins must be at least 1, got {min_bins}")
    if num_epochs * m > num_bins:
        raise ValueError(f"{num_epochs} time epochs of at least {m} bins cannot be cut from {num_bins} "
                         "time bins (time_bins must be at least time_epochs × min_epoch_bins)")
    cumulative = np.vstack([np.zeros((1, num_epochs)), np.cumsum(table, axis=0)])
    best = np.full((num_bins, num_epochs), -np.inf)
    started = np.zeros((num_bins, num_epochs), bool)      # epoch e's first m bins end at bin b
    best[m - 1:, 0] = cumulative[m:, 0]
    for b in range(m, num_bins):
        window = cumulative[b + 1, 1:] - cumulative[b + 1 - m, 1:]         # Σ L[b−m+1..b, e]
        start = np.concatenate([[-np.inf], best[b - m, :-1] + window])
        go_on = best[b - 1] + table[b]
        started[b] = start > go_on
        best[b] = np.maximum(go_on, start)
    epochs = np.zeros(num_bins, np.int64)
    b, e = num_bins - 1, num_epochs - 1
    while b >= 0:
        if e > 0 and started[b, e]:
            epochs[b - m + 1:b + 1] = e
            b, e = b - m, e - 1
        else:
            epochs[b] = e
            b -= 1
    return epochs, float(best[-1, -1])


def boundaries_of(bin_epochs, edges) -> np.ndarray:
    """int64 [T − 1]: the start time of each epoch after the first (the left edge of its first bin)."""
    bin_epochs = np.asarray(bin_epochs, np.int64)
    starts = np.flatnonzero(np.diff(bin_epochs)) + 1
    return np.asarray(edges, np.int64)[starts]


def segmentation_objective(log_likelihood, boundaries, edges) -> float:
    """Σ_b L[b, epoch of bin b] for the epochs that `boundaries` cut (bins by their left edge)."""
    table = np.asarray(log_likelihood, np.float64)
    epochs = np.searchsorted(np.asarray(boundaries, np.int64), np.asarray(edges, np.int64)[:-1], side="right")
    return float(table[np.arange(table.shape[0]), epochs].sum())
