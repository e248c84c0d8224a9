"""Protocols on a hand-made dataset with known answers; model and matrix paths agree."""
import os
import types

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.data import dataset as dataset_lib
from tfvisrec.data.errors import DataError
from tfvisrec.evaluation import protocols, queries as queries_lib, scoring
from tfvisrec.models.base import DataInfo, Recommender

# user: (train items, valid item, test item). 8 items; user 4 has bought every item.
HISTORY = {0: ([0, 1, 2], 3, 5), 1: ([0, 2, 4], 6, 7), 2: ([1, 3, 5], 0, 2),
           3: ([2, 3, 5, 6], 1, 4), 4: ([0, 1, 2, 3, 4, 5], 6, 7)}
NUM_ITEMS = 8
# Training buyers: items 4, 6, 7 have fewer than 3 → cold; test items 7 (user 1), 4 (user 3).
COLD_USERS = {1, 3}


def _split(rows):
    users, items, times = zip(*rows) if rows else ((), (), ())
    return dataset_lib.Split(np.array(users, np.int64), np.array(items, np.int64),
                             np.array(times, np.int64))


def make_dataset(history=HISTORY, num_items=NUM_ITEMS, category=None):
    rows = {"train": [], "valid": [], "test": []}
    for u, (train, valid, test) in history.items():
        rows["train"] += [(u, i, 100 + i) for i in train]
        rows["valid"] += [(u, i, 200 + u) for i in np.atleast_1d(valid)]
        rows["test"] += [(u, i, 300 + u * 7 + k) for k, i in enumerate(np.atleast_1d(test))]
    splits = {k: _split(v) for k, v in rows.items()}
    table = dataset_lib.item_table(num_items, splits["train"].items, category=category, cold_threshold=3)
    num_users = max(history) + 1
    return dataset_lib.Dataset(path=None, meta={"has_time": True, "categories": ["a", "b", "c"]},
                               user_ids=[f"u{u}" for u in range(num_users)],
                               item_ids=[f"i{i}" for i in range(num_items)], **splits, **table)


# ---------------------------------------------------------------- tiny models

class Factorised(Recommender):
    """x̂(u, i) = U_u · V_i (+ t · w_i when time-aware, + C_category(i) when category-aware)."""

    def __init__(self, user_f, item_f, time_w=None, category_f=None, with_features=False):
        info = DataInfo(num_users=len(user_f), num_items=len(item_f))
        super().__init__(info, types.SimpleNamespace(num_negatives=1, seed=0, image_size=8,
                                                     features_file=""))
        self.user_f = tf.constant(user_f, tf.float32)
        self.item_f = tf.constant(item_f, tf.float32)
        self.time_w = None if time_w is None else tf.constant(time_w, tf.float32)
        self.category_f = None if category_f is None else tf.constant(category_f, tf.float32)
        self.with_features = with_features
        self.item_feature_keys = ("item",) + (("time",) if time_w is not None else ()) + \
            (("category",) if category_f is not None else ()) + (("features",) if with_features else ())

    def user_vectors(self, users, training=False):
        u = tf.gather(self.user_f, users)
        return u if self.time_w is None else tf.concat([u, tf.ones_like(u[:, :1])], axis=1)

    def item_vectors(self, items, training=False):
        v = tf.gather(self.item_f, items["item"])
        if self.category_f is not None:
            v += tf.gather(self.category_f, items["category"])
        if self.with_features:
            v += items["features"]
        if self.time_w is None:
            return v
        drift = tf.cast(items["time"], tf.float32) * tf.gather(self.time_w, items["item"])
        return tf.concat([v, drift[:, None]], axis=1)


class Pairwise(Factorised):
    """The same predictor through `score` only (the non-factorising path)."""

    factorised = False

    def score(self, users, items, training=False):
        return tf.reduce_sum(Factorised.user_vectors(self, users) *
                             Factorised.item_vectors(self, items), axis=-1)


class EmbedsItemsOnce(Pairwise):
    """A non-factorising model whose item half (here the item vectors) is computed by
    `embed_catalogue_items`; counts the calls, as a CNN branch would cost them."""

    embed_calls = 0

    def embed_catalogue_items(self, items):
        self.embed_calls += 1
        return {"vectors": Factorised.item_vectors(self, items)}

    def score_catalogue(self, users, items, times=None):
        return tf.matmul(Factorised.user_vectors(self, users), items["vectors"], transpose_b=True)


def integer_factors(seed, num_users, num_items, dim=3):
    rng = np.random.default_rng(seed)   # small integers: float32 products are exact
    return (rng.integers(-3, 4, (num_users, dim)).astype(np.float32),
            rng.integers(-3, 4, (num_items, dim)).astype(np.float32))


# ---------------------------------------------------------------- full AUC

def test_full_auc_hand_computed():
    ds = make_dataset()
    scores = np.tile(np.arange(NUM_ITEMS, dtype=np.float32), (ds.num_users, 1))
    # test item vs never-bought items: u0 5 vs {4,6,7} 1/3; u1 7 vs {1,3,5} 1; u2 2 vs {4,6,7} 0;
    # u3 4 vs {0,7} 1/2; u4 bought everything: not evaluated.
    got = protocols.evaluate_score_matrix(scores, ds, ("full_auc",))
    assert got["full_auc/auc"] == pytest.approx((1 / 3 + 1 + 0 + 0.5) / 4)
    assert got["full_auc/auc_cold"] == pytest.approx((1 + 0.5) / 2)
    assert got["full_auc/num_users"] == 4 and got["full_auc/num_cold_users"] == 2


@pytest.mark.parametrize("kind,expected", [("perfect", 1.0), ("reversed", 0.0), ("constant", 0.5)])
def test_oracles(kind, expected):
    ds = make_dataset()
    scores = np.zeros((ds.num_users, NUM_ITEMS), np.float32)
    if kind != "constant":
        scores[ds.test.users, ds.test.items] = 1.0 if kind == "perfect" else -1.0
    got = protocols.evaluate_score_matrix(scores, ds, ("full_auc", "sampled_2"), trials=3)
    for key in ("full_auc/auc", "full_auc/auc_cold", "sampled_2/auc", "sampled_2/auc_cold"):
        assert got[key] == pytest.approx(expected), key
    # the test item ranks 1st (perfect), 3rd (reversed) or uniformly 1st-3rd (constant) of 3
    discounts = {"perfect": 1.0, "reversed": 0.5, "constant": (1 + 1 / np.log2(3) + 0.5) / 3}
    assert got["sampled_2/ndcg@5"] == pytest.approx(discounts[kind])
    assert got["sampled_2/hr@5"] == 1.0


def test_interacted_items_are_never_negatives():
    ds = make_dataset()
    scores = np.zeros((ds.num_users, NUM_ITEMS), np.float32)
    scores[ds.train.users, ds.train.items] = 10.0      # bought items outrank the test item...
    scores[ds.valid.users, ds.valid.items] = 10.0
    scores[ds.test.users, ds.test.items] = 1.0         # ...which beats every never-bought item
    got = protocols.evaluate_score_matrix(scores, ds, ("full_auc", "sampled_2", "sampled_5"))
    for name in ("full_auc", "sampled_2", "sampled_5"):
        assert got[f"{name}/auc"] == 1.0, name


def test_cold_users_follow_the_test_item():
    ds = make_dataset()
    scores = np.zeros((ds.num_users, NUM_ITEMS), np.float32)
    for u, item in zip(ds.test.users, ds.test.items):
        scores[u, item] = 1.0 if u in COLD_USERS else -1.0
    got = protocols.evaluate_score_matrix(scores, ds, ("full_auc",))
    assert got["full_auc/auc_cold"] == 1.0
    assert got["full_auc/auc"] == pytest.approx(2 / 4)
    valid = protocols.evaluate_score_matrix(scores, ds, ("full_auc",), split="valid")
    assert valid["full_auc/num_users"] == 4        # user 4 has no never-bought item left
    assert valid["full_auc/num_cold_users"] == 1   # user 1's valid item 6 is cold


def test_users_with_several_held_out_items_weigh_once():
    history = dict(HISTORY)
    history[0] = ([0, 1], 3, [2, 5])                 # two test items for user 0
    ds = make_dataset(history)
    scores = np.tile(np.arange(NUM_ITEMS, dtype=np.float32), (ds.num_users, 1))
    # user 0: 2 vs {4,6,7} → 0, 5 vs {4,6,7} → 1/3; its mean 1/6 counts once.
    got = protocols.evaluate_score_matrix(scores, ds, ("full_auc",))
    assert got["full_auc/auc"] == pytest.approx((1 / 6 + 1 + 0 + 0.5) / 4)


# ---------------------------------------------------------------- sampled protocols

def test_sample_negatives_maps_ranks_to_candidates():
    excluded = np.array([0, 3, 4, 9])
    candidates = np.setdiff1d(np.arange(12), excluded)
    for n, replace in ((5, False), (20, True)):
        got = queries_lib.sample_negatives(np.random.default_rng(7), excluded, 12, n)
        rng = np.random.default_rng(7)
        picks = rng.integers(0, 8, size=n) if replace else rng.choice(8, size=n, replace=False)
        np.testing.assert_array_equal(got, candidates[picks])
    draws = np.concatenate([queries_lib.sample_negatives(np.random.default_rng(s), excluded, 12, 3)
                            for s in range(200)])
    assert set(draws) == set(candidates)


def test_sampled_auc_is_unbiased_for_full_auc():
    ds = make_dataset()
    scores = np.tile(np.arange(NUM_ITEMS, dtype=np.float32), (ds.num_users, 1))
    q = queries_lib.held_out_queries(ds, "test")
    sampled = protocols.SampledRanking(q, num_negatives=2, seed=0, trials=400)
    sampled.add(np.arange(len(q)), scores[q.users])
    np.testing.assert_array_equal(sampled.values["auc"][:, 3], 0.5)   # user 3: both candidates
    np.testing.assert_allclose(sampled.values["auc"].mean(axis=0), [1 / 3, 1, 0, 0.5], atol=0.05)


def test_negatives_drawn_with_replacement_are_reported(caplog):
    """8 items, 2 to 4 never bought per user: 5 negatives repeat some; a small shop asking for
    SAERS' sampled_500 got numbers without a word that they count repeats."""
    ds = make_dataset()
    q = queries_lib.held_out_queries(ds, "test")
    scores = np.tile(np.arange(NUM_ITEMS, dtype=np.float32), (ds.num_users, 1))
    for num_negatives, warned in ((5, True), (2, False)):
        sampled = protocols.SampledRanking(q, num_negatives=num_negatives, seed=0, trials=2)
        sampled.add(np.arange(len(q)), scores[q.users])
        caplog.clear()
        sampled.result()
        messages = [r.getMessage() for r in caplog.records]
        assert messages == (["sampled_5: 4 of 4 users have fewer than 5 items they never bought (the catalogue "
                             "has 8), so their negatives were drawn with replacement and HR@k / NDCG@k count "
                             "repeated items; full_auc ranks each held-out item against all of them"]
                            if warned else [])


def test_constant_scorer_hr_is_chance(low_rank_dataset):
    ds = dataset_lib.load_dataset(low_rank_dataset)
    got = protocols.evaluate_score_matrix(np.ones((ds.num_users, ds.num_items)), ds, ("sampled_10",))
    assert got["sampled_10/hr@5"] == pytest.approx(5 / 11)
    assert got["sampled_10/ndcg@5"] == pytest.approx(np.sum(1 / np.log2(np.arange(2, 7))) / 11)
    assert got["sampled_10/hr@5_std"] == 0.0


def test_results_do_not_depend_on_blocks_and_seed_matters(low_rank_dataset, monkeypatch):
    ds = dataset_lib.load_dataset(low_rank_dataset)
    scores = np.random.default_rng(0).normal(size=(ds.num_users, ds.num_items))
    names = ("full_auc", "sampled_10", "sampled_20")
    whole = protocols.evaluate_score_matrix(scores, ds, names, seed=3)
    monkeypatch.setattr(protocols, "BLOCK_ELEMENTS", 2 * ds.num_items + 1)   # 2 rows per block
    assert protocols.evaluate_score_matrix(scores, ds, names, seed=3) == whole
    other = protocols.evaluate_score_matrix(scores, ds, names, seed=4)
    assert other["sampled_10/auc"] != whole["sampled_10/auc"]
    assert other["full_auc/auc"] == whole["full_auc/auc"]
    assert whole["sampled_10/auc_std"] > 0


# ---------------------------------------------------------------- models

def test_factorised_and_pairwise_paths_agree_with_numpy(low_rank_dataset):
    ds = dataset_lib.load_dataset(low_rank_dataset)
    user_f, item_f = integer_factors(1, ds.num_users, ds.num_items)
    expected = user_f @ item_f.T
    users = np.array([5, 0, 17, 5])
    for model in (Factorised(user_f, item_f), Pairwise(user_f, item_f)):
        np.testing.assert_allclose(scoring.score_users(model, ds, users), expected[users])
        small = scoring.CatalogueScorer(model, ds, catalogue_batch=7, pair_batch=20)
        np.testing.assert_allclose(small(users), expected[users])
    names = ("full_auc", "sampled_10")
    reference = protocols.evaluate_score_matrix(expected, ds, names)
    assert protocols.evaluate(Factorised(user_f, item_f), ds, names) == reference
    assert protocols.evaluate(Pairwise(user_f, item_f), ds, names) == reference
    assert protocols.validate(Factorised(user_f, item_f), ds) == protocols.evaluate_score_matrix(
        expected, ds, split="valid")["full_auc/auc"]


def test_a_terminal_gets_a_progress_bar_over_the_queries_and_a_pipe_nothing(low_rank_dataset, monkeypatch):
    import io
    import re

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    ds = dataset_lib.load_dataset(low_rank_dataset)
    user_f, item_f = integer_factors(1, ds.num_users, ds.num_items)
    monkeypatch.setattr(protocols, "BLOCK_ELEMENTS", 25 * ds.num_items)   # 25 queries a block
    terminal, pipe = Terminal(), io.StringIO()
    quiet = protocols.evaluate(Factorised(user_f, item_f), ds)
    assert protocols.evaluate(Factorised(user_f, item_f), ds, progress=terminal) == quiet
    assert protocols.evaluate(Factorised(user_f, item_f), ds, progress=pipe) == quiet
    drawn = [re.sub(r" - \d+m?s", "", part).rstrip() for part in terminal.getvalue().split("\r") if part]
    assert drawn[0] == "evaluating 25/60 [============>.................]"
    assert drawn[-2:] == ["evaluating 60/60 [==============================]", "evaluating"]
    assert terminal.getvalue().endswith("\n")   # the bar ends with its line
    assert pipe.getvalue() == ""


def test_the_item_half_is_embedded_once_per_catalogue_batch_for_every_user_block():
    ds = make_dataset()
    user_f, item_f = integer_factors(8, ds.num_users, NUM_ITEMS)
    model = EmbedsItemsOnce(user_f, item_f)
    scorer = scoring.CatalogueScorer(model, ds, catalogue_batch=3, pair_batch=6)   # blocks of 2 users
    np.testing.assert_allclose(scorer(np.arange(ds.num_users)), user_f @ item_f.T)
    assert ds.num_users > 2 and model.embed_calls == -(-NUM_ITEMS // 3)


def test_time_aware_models_see_the_held_out_time():
    ds = make_dataset()
    user_f, item_f = integer_factors(2, ds.num_users, NUM_ITEMS)
    time_w = np.random.default_rng(3).integers(-2, 3, NUM_ITEMS).astype(np.float32)
    users, times = np.array([0, 1, 2, 1]), np.array([300, 307, 300, 5])
    expected = user_f[users] @ item_f.T + times[:, None] * time_w[None, :]
    for model in (Factorised(user_f, item_f, time_w), Pairwise(user_f, item_f, time_w)):
        np.testing.assert_allclose(scoring.score_users(model, ds, users, times=times), expected)
        with pytest.raises(ValueError, match="time-aware"):
            scoring.score_users(model, ds, users)
    matrix_rows = {u: user_f[u] @ item_f.T + t * time_w for u, t in zip(ds.test.users, ds.test.times)}
    matrix = np.stack([matrix_rows.get(u, np.zeros(NUM_ITEMS)) for u in range(ds.num_users)])
    assert protocols.evaluate(Factorised(user_f, item_f, time_w), ds) == \
        protocols.evaluate_score_matrix(matrix, ds)


def test_category_features_from_the_dataset_or_an_item_table():
    from tfvisrec.data.item_features import ItemFeatureTable
    category = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    ds = make_dataset(category=category)
    user_f, item_f = integer_factors(4, ds.num_users, NUM_ITEMS)
    category_f = integer_factors(5, 3, 3)[1]
    expected = user_f @ (item_f + category_f[category]).T
    model = Factorised(user_f, item_f, category_f=category_f)
    np.testing.assert_allclose(scoring.score_users(model, ds, np.arange(5)), expected)
    table = ItemFeatureTable(ds, ("item", "category"))
    np.testing.assert_allclose(scoring.score_users(model, ds, np.arange(5), item_table=table), expected)
    pairwise = Pairwise(user_f, item_f, category_f=category_f)
    np.testing.assert_allclose(scoring.score_users(pairwise, ds, np.arange(5), item_table=table), expected)


def test_pairwise_scoring_keeps_tiled_features_small():
    from tfvisrec.data.item_features import ItemFeatureTable
    ds = make_dataset()
    user_f, item_f = integer_factors(6, ds.num_users, NUM_ITEMS)
    features = integer_factors(7, 1, NUM_ITEMS)[1]
    table = ItemFeatureTable(ds, ("item", "features"), features=features)
    model = Pairwise(user_f, item_f, with_features=True)
    scorer = scoring.CatalogueScorer(model, ds, item_table=table, catalogue_batch=3, pair_bytes=64)
    np.testing.assert_allclose(scorer(np.arange(5)), user_f @ (item_f + features).T)
    with pytest.raises(DataError, match="no precomputed item features"):
        scoring.score_users(model, ds, np.arange(5))   # needs a table; the dataset has no features.npy


# ---------------------------------------------------------------- errors

def test_errors_are_clear():
    ds = make_dataset()
    scores = np.zeros((ds.num_users, NUM_ITEMS))
    with pytest.raises(ValueError, match="unknown evaluation protocol"):
        protocols.evaluate_score_matrix(scores, ds, ("full_auc", "top_k"))
    with pytest.raises(ValueError, match="expected"):
        protocols.evaluate_score_matrix(scores[:, :-1], ds)
    with pytest.raises(ValueError, match="valid or test"):
        protocols.evaluate_score_matrix(scores, ds, split="train")
    empty = make_dataset()
    empty.valid = _split([])
    with pytest.raises(DataError, match="valid split is empty"):
        protocols.validate(Factorised(*integer_factors(0, ds.num_users, NUM_ITEMS)), empty)


# ---------------------------------------------------------------- real data

def _shared_data():
    from shared_data import shared_data_dir
    path = shared_data_dir()
    return os.path.join(path, "hm") if path and os.path.isdir(os.path.join(path, "hm")) else None


@pytest.mark.skipif(_shared_data() is None, reason="../shared/data/hm not available")
def test_hm_poprank_matches_the_reference_figures(tmp_path):
    """PopRank on H&M leave-one-out: AUC 0.399 / cold 0.338 in ../shared/data/README.md.

    The figures come from one split; over split seeds they vary by about ±0.015.
    """
    from tfvisrec.data.adapters.hm import ingest_hm
    ds = dataset_lib.load_dataset(ingest_hm(_shared_data(), str(tmp_path / "hm"), with_images=False))
    popularity = np.broadcast_to(ds.train_count.astype(np.float32), (ds.num_users, ds.num_items))
    got = protocols.evaluate_score_matrix(popularity, ds, ("full_auc",))
    assert got["full_auc/num_users"] == 887
    assert got["full_auc/auc"] == pytest.approx(0.399, abs=0.03)
    assert got["full_auc/auc_cold"] == pytest.approx(0.338, abs=0.03)
    model = Factorised(np.ones((ds.num_users, 1)), ds.train_count[:, None].astype(np.float32))
    assert protocols.evaluate(model, ds, ("full_auc",)) == got
