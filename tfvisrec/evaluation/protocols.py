"""The evaluation protocols of the papers, chosen by name.

| name | protocol | papers |
|---|---|---|
| `full_auc` | AUC of the held-out item against every item the user never interacted with; also on the users whose held-out item is cold, and on the others (warm) | VBPR (eq. 9), DVBPR (sec. 5.2, "All items" / "Cold items") |
| `outfits` | outfit models: AUC / NDCG@10 of a user's outfits against other users' (personal) and randomly mixed (random) ones, FITB over 4 candidates (also by each term of eq. 4 alone: g, α p); real and binary codes (`evaluation/outfits.py`) | FHN, PAN |
| `sampled_N` | N negatives drawn uniformly from the user's non-interacted items, `trials` seeded repeats; AUC, HR@{5,10,20}, NDCG@{5,10,20}, mean and std over trials | DVBPR / ImgRec (N = 100), SAERS (N = 500) |

A protocol is an accumulator fed with blocks of score rows (one row per held-out query, all
items as columns), so a score matrix (`evaluate_score_matrix`: oracles, baselines) and a
model (`evaluate`: scores computed block by block by `scoring.CatalogueScorer`) share
the same code. Results are a flat dict `{"<protocol>/<metric>": float}`.
"""
import re
from typing import Callable, Dict, Sequence

import numpy as np
from absl import logging

from tfvisrec import metrics
from tfvisrec.progress import EpochProgress, is_terminal
from tfvisrec.evaluation.queries import Queries, held_out_queries, per_user_mean, sample_negatives
from tfvisrec.evaluation.scoring import CatalogueScorer

CUTOFFS = (5, 10, 20)
# Score rows per block: a block of float32 scores stays near 16 MB whatever the catalogue size.
BLOCK_ELEMENTS = 1 << 22


class FullAUC:
    """AUC against all non-interacted items (He & McAuley 2016, eq. 9), all and cold users."""

    def __init__(self, queries: Queries, seed: int = 0, trials: int = 1):
        del seed, trials  # deterministic: no sampling
        self.queries = queries
        self.auc = np.full(len(queries), np.nan)

    def add(self, rows: np.ndarray, scores: np.ndarray) -> None:
        q = self.queries
        self.auc[rows] = metrics.auc_per_user(scores, q.items[rows], q.excluded(rows))

    def result(self) -> Dict[str, float]:
        q = self.queries
        auc, num_users = per_user_mean(self.auc, q.users)
        auc_cold, num_cold = per_user_mean(self.auc, q.users, q.cold)
        auc_warm, _ = per_user_mean(self.auc, q.users, ~q.cold)
        return {"auc": auc, "auc_cold": auc_cold, "auc_warm": auc_warm,
                "num_users": float(num_users), "num_cold_users": float(num_cold)}


class SampledRanking:
    """Rank of the held-out item among `num_negatives` sampled non-interacted items.

    Trial t draws its negatives from `np.random.default_rng([seed, t])`, query by query in
    order, so the negatives do not depend on how the rows are blocked.
    """

    def __init__(self, queries: Queries, num_negatives: int, seed: int = 0, trials: int = 5,
                 cutoffs: Sequence[int] = CUTOFFS):
        if num_negatives < 1 or trials < 1:
            raise ValueError(f"need num_negatives >= 1 and trials >= 1; got {num_negatives}, {trials}")
        self.queries = queries
        self.num_negatives = int(num_negatives)
        self.cutoffs = tuple(cutoffs)
        self.rngs = [np.random.default_rng([int(seed), t]) for t in range(trials)]
        names = ["auc"] + [f"{m}@{n}" for n in self.cutoffs for m in ("hr", "ndcg")]
        self.values = {name: np.full((trials, len(queries)), np.nan) for name in names}
        self.short_rows = np.zeros(len(queries), bool)   # fewer candidates than num_negatives

    def add(self, rows: np.ndarray, scores: np.ndarray) -> None:
        q = self.queries
        excluded = q.excluded(rows)
        self.short_rows[rows] = [q.num_items - e.size < self.num_negatives for e in excluded]
        pos_scores = scores[np.arange(rows.size), q.items[rows]]
        for trial, rng in enumerate(self.rngs):
            negatives = np.stack([sample_negatives(rng, e, q.num_items, self.num_negatives)
                                  for e in excluded])
            neg_scores = np.take_along_axis(scores, negatives, axis=1)
            for name, values in metrics.sampled_ranking_metrics(
                    pos_scores, neg_scores, self.cutoffs).items():
                self.values[name][trial, rows] = values

    def result(self) -> Dict[str, float]:
        q = self.queries
        out = {}
        for name, values in self.values.items():
            out[name], out[f"{name}_std"] = metrics.mean_std(
                [per_user_mean(v, q.users)[0] for v in values])
        out["auc_cold"], out["auc_cold_std"] = metrics.mean_std(
            [per_user_mean(v, q.users, q.cold)[0] for v in self.values["auc"]])
        out["num_users"] = float(per_user_mean(self.values["auc"][0], q.users)[1])
        self._warn_of_repeated_negatives()
        return out

    def _warn_of_repeated_negatives(self) -> None:
        """A catalogue too small for N negatives (a shop of 300 items under SAERS' 500): they are
        drawn with replacement, and HR@k and NDCG@k count the repeats; say so, once."""
        short_users = np.unique(self.queries.users[self.short_rows]).size
        if short_users:
            logging.warning(
                "sampled_%d: %d of %d users have fewer than %d items they never bought (the catalogue "
                "has %d), so their negatives were drawn with replacement and HR@k / NDCG@k count "
                "repeated items; full_auc ranks each held-out item against all of them",
                self.num_negatives, short_users, np.unique(self.queries.users).size,
                self.num_negatives, self.queries.num_items)


def _sampled(num_negatives: int) -> Callable:
    def make(queries, seed=0, trials=5):
        return SampledRanking(queries, num_negatives, seed=seed, trials=trials)
    return make


PROTOCOLS: Dict[str, Callable] = {
    "full_auc": FullAUC,
    "sampled_100": _sampled(100),
    "sampled_500": _sampled(500),
}


OUTFITS = "outfits"
# Models trained on other data than shoppers' choices (their `train_pipeline`): they rank no
# items for shoppers, so no protocol applies to them.
NOT_RANKING = {"category_images": "generates garment images (python -m tfvisrec.design scores its designs "
                                  "with a DVBPR run)",
               "attributes": "classifies photos (its held-out accuracy is what its training validated)"}


def get_protocol(name: str) -> Callable:
    """The protocol factory `(queries, seed, trials)` of `name`; any `sampled_<N>` works;
    `outfits` → `evaluation.outfits.evaluate_outfits` (it reads outfits, not held-out items)."""
    if name == OUTFITS:
        from tfvisrec.evaluation.outfits import evaluate_outfits
        return evaluate_outfits
    if name in PROTOCOLS:
        return PROTOCOLS[name]
    match = re.fullmatch(r"sampled_([1-9][0-9]*)", name)
    if match:
        return _sampled(int(match.group(1)))
    raise ValueError(f"unknown evaluation protocol {name!r}; known: "
                     f"{', '.join(sorted(PROTOCOLS))} (or sampled_<N>), {OUTFITS} (outfit models)")


def _run(queries: Queries, score_rows: Callable[[np.ndarray], np.ndarray],
         protocols: Sequence[str], seed: int, trials: int, progress=None,
         validating: bool = False) -> Dict[str, float]:
    """Feed blocks of score rows to each named protocol; one flat result dict. `progress`: a
    stream (the command line's stderr) that gets a bar over the held-out queries when it is a
    terminal (a large shop: 50,000 users × 100,000 items take a minute or more); `validating`:
    training's validation, whose bar is erased when done (the epoch's line follows)."""
    if isinstance(protocols, str):
        protocols = [protocols]
    factories = {name: get_protocol(name) for name in protocols}
    if not factories:
        raise ValueError("no evaluation protocol given")
    running = {name: make(queries, seed=seed, trials=trials) for name, make in factories.items()}
    block = max(1, BLOCK_ELEMENTS // max(1, queries.num_items))
    bar = None if progress is None else EpochProgress(
        len(queries), verbose=1 if is_terminal(progress) else 0, stream=progress,
        label="validating" if validating else "evaluating", unit="query", transient=validating)
    for start in range(0, len(queries), block):
        rows = np.arange(start, min(start + block, len(queries)))
        scores = score_rows(rows)
        if scores.shape != (rows.size, queries.num_items):
            raise ValueError(f"score block has shape {scores.shape}, expected "
                             f"{(rows.size, queries.num_items)}")
        for protocol in running.values():
            protocol.add(rows, scores)
        if bar is not None:
            bar.update(rows[-1] + 1)
    if bar is not None:
        bar.close()
    return {f"{name}/{metric}": float(value)
            for name, protocol in running.items() for metric, value in protocol.result().items()}


def evaluate_score_matrix(scores, dataset, protocols: Sequence[str] = ("full_auc",),
                          split: str = "test", seed: int = 0, trials: int = 5) -> Dict[str, float]:
    """Evaluate a ready score matrix [num_users, num_items] (an oracle's utilities, a baseline)."""
    scores = np.asarray(scores)
    if scores.shape != (dataset.num_users, dataset.num_items):
        raise ValueError(f"scores have shape {scores.shape}, expected "
                         f"{(dataset.num_users, dataset.num_items)} (users × items)")
    queries = held_out_queries(dataset, split)
    return _run(queries, lambda rows: scores[queries.users[rows]], protocols, seed, trials)


def evaluate(model, dataset, protocols: Sequence[str] = ("full_auc",), split: str = "test",
             seed: int = 0, trials: int = 5, item_table=None, progress=None,
             validating: bool = False) -> Dict[str, float]:
    """Evaluate a model under the named protocols → {"full_auc/auc": …, "sampled_100/hr@10": …}.

    `item_table` (an `ItemFeatureTable`) avoids rebuilding image/feature tables when the
    caller has one; otherwise it is built when the model needs more than item ids. `progress`:
    a stream for a progress bar on a terminal, `validating` (training's validation) its kind
    (see `_run`).
    """
    protocols = [protocols] if isinstance(protocols, str) else list(protocols)
    if model.train_pipeline in NOT_RANKING:
        raise ValueError(f"{model.registered_name} ranks no items for shoppers: it "
                         f"{NOT_RANKING[model.train_pipeline]}; the protocols evaluate recommenders")
    item_protocols = [p for p in protocols if p != OUTFITS]
    if model.scores_outfits and item_protocols:
        raise ValueError(f"{model.registered_name} scores outfits, not single items: evaluate it with the "
                         f"{OUTFITS!r} protocol, not {', '.join(item_protocols)}")
    results = {}
    if OUTFITS in protocols:
        from tfvisrec.data.outfits import load_outfits
        outfit_results = get_protocol(OUTFITS)(model, load_outfits(dataset), split=split, seed=seed)
        results.update({f"{OUTFITS}/{k}": v for k, v in outfit_results.items()})
        protocols = [p for p in protocols if p != OUTFITS]
        if not protocols:
            return results
    queries = held_out_queries(dataset, split)
    scorer = CatalogueScorer(model, dataset, item_table=item_table)
    results.update(_run(queries, lambda rows: scorer(queries.users[rows], queries.times[rows]),
                        protocols, seed, trials, progress, validating))
    return results


def validate(model, dataset, num_negatives: int = 0, item_table=None, seed: int = 0,
             progress=None) -> float:
    """Validation AUC for early stopping: full AUC (num_negatives 0) or sampled, on the valid split.

    The sampled variant draws one fixed (seeded) set of negatives, the same at every epoch.
    `progress`: a stream that gets a bar over the validation queries when it is a terminal,
    erased when done.
    """
    name = "full_auc" if num_negatives == 0 else f"sampled_{int(num_negatives)}"
    results = evaluate(model, dataset, protocols=(name,), split="valid", seed=seed, trials=1,
                       item_table=item_table, progress=progress, validating=True)
    return results[f"{name}/auc"]
