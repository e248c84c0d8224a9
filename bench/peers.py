"""Peer libraries' BPR fitted on the training split of a tfvisrec `Dataset`, scored as matrices.

Each peer gets the same training interactions (our dense user/item indices, duplicates
removed) and returns a score matrix [num_users, num_items] aligned with our indices, so the
bench evaluates it with exactly the code that evaluates our models
(`tfvisrec.evaluation.protocols.evaluate_score_matrix`). Items with no training interaction
are part of every peer's catalogue too (they keep their initial factors or are only ever
sampled as negatives, as the library does it).

Requires the bench extras: `pip install -r bench/requirements.txt` (cornac 3.0.1, implicit 0.7.3).
"""
import dataclasses
import time
from typing import Callable, Dict

import numpy as np
import scipy.sparse


@dataclasses.dataclass
class PeerResult:
    name: str
    scores: np.ndarray      # float32 [num_users, num_items]
    fit_seconds: float


def train_matrix(dataset) -> scipy.sparse.csr_matrix:
    """Binary user × item CSR matrix of the training split (duplicate pairs count once)."""
    train = dataset.train
    values = np.ones(len(train), np.float32)
    matrix = scipy.sparse.csr_matrix(
        (values, (np.asarray(train.users, np.int64), np.asarray(train.items, np.int64))),
        shape=(dataset.num_users, dataset.num_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def fit_cornac_bpr(dataset, k: int = 10, max_iter: int = 100, learning_rate: float = 0.001,
                   lambda_reg: float = 0.01, seed: int = 0) -> PeerResult:
    """cornac's BPR (k factors + item bias, SGD over uniformly sampled negatives).

    Defaults are cornac's own except k=10 (the shared data README's reference). Our indices
    are handed over as cornac's global id maps, so cornac's item k is our item k and its
    catalogue includes the items nobody bought in training.
    """
    import cornac
    from collections import OrderedDict
    train = dataset.train
    uid_map = OrderedDict((u, u) for u in range(dataset.num_users))
    iid_map = OrderedDict((i, i) for i in range(dataset.num_items))
    triples = list(zip(np.asarray(train.users).tolist(), np.asarray(train.items).tolist(),
                       [1.0] * len(train)))
    train_set = cornac.data.Dataset.build(triples, fmt="UIR", global_uid_map=uid_map,
                                          global_iid_map=iid_map, seed=seed)
    model = cornac.models.BPR(k=k, max_iter=max_iter, learning_rate=learning_rate,
                              lambda_reg=lambda_reg, seed=seed, verbose=False)
    started = time.perf_counter()
    model.fit(train_set)
    seconds = time.perf_counter() - started
    users = np.asarray(model.get_user_vectors(), np.float32)
    items = np.asarray(model.get_item_vectors(), np.float32)
    if users.shape[0] != dataset.num_users or items.shape[0] != dataset.num_items:
        raise RuntimeError(f"cornac returned {users.shape[0]} users × {items.shape[0]} items, "
                           f"expected {dataset.num_users} × {dataset.num_items}")
    return PeerResult(f"cornac {cornac.__version__} BPR (k={k})", users @ items.T, seconds)


def fit_implicit_bpr(dataset, factors: int = 64, iterations: int = 100,
                     learning_rate: float = 0.01, regularization: float = 0.01,
                     seed: int = 0, num_threads: int = 0) -> PeerResult:
    """implicit's CPU BPR (factors + a bias column; negatives drawn from the interaction list,
    i.e. proportionally to item popularity, and checked against the user's items).

    Defaults are implicit's own except 64 factors (the shared data README's reference).
    """
    import implicit
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    matrix = train_matrix(dataset)
    model = BayesianPersonalizedRanking(factors=factors, learning_rate=learning_rate,
                                        regularization=regularization, iterations=iterations,
                                        random_state=seed, num_threads=num_threads)
    started = time.perf_counter()
    model.fit(matrix, show_progress=False)
    seconds = time.perf_counter() - started
    users = np.asarray(model.user_factors, np.float32)
    items = np.asarray(model.item_factors, np.float32)
    return PeerResult(f"implicit {implicit.__version__} BPR ({factors} factors)", users @ items.T,
                      seconds)


PEERS: Dict[str, Callable[..., PeerResult]] = {
    "cornac_bpr": fit_cornac_bpr,
    "implicit_bpr": fit_implicit_bpr,
}
