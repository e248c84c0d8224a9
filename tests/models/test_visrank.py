"""VisRank: mean / max cosine similarity to the user's training items, against numpy; its unit
features and profiles are computed a block of rows at a time, to the same numbers."""
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)

from tfvisrec.config import TrainConfig
from tfvisrec.data import dataset as dataset_lib
from tfvisrec.data import row_blocks
from tfvisrec.evaluation import protocols
from tfvisrec.evaluation.scoring import score_users
from tfvisrec.models import registry, visrank
from tfvisrec.models.base import DataInfo

NUM_USERS, NUM_ITEMS, F = 5, 9, 4
# user → (train items, valid item, test item); user 4 has no training items
HISTORY = {0: ([0, 1, 2], 3, 4), 1: ([5, 6], 7, 8), 2: ([1, 3, 5, 7], 0, 2), 3: ([8], 6, 4), 4: ([], 1, 3)}


def _write_dataset(folder, history, num_users, num_items):
    """A leave-one-out dataset folder of `history`: user → (train items, valid items, test items)."""
    splits = {name: ([], [], []) for name in ("train", "valid", "test")}
    for u, parts in history.items():
        for name, items in zip(("train", "valid", "test"), parts):
            splits[name][0].extend([u] * len(items))
            splits[name][1].extend(items)
            splits[name][2].extend([-1] * len(items))
    splits = {k: dataset_lib.Split(*(np.array(a, np.int64) for a in v)) for k, v in splits.items()}
    name = os.path.basename(folder)
    return dataset_lib.write_dataset(
        folder, {"name": name, "split": "leave_one_out", "cold_threshold": 1},
        [f"u{u}" for u in range(num_users)], [f"i{i}" for i in range(num_items)], splits,
        dataset_lib.item_table(num_items, splits["train"].items))


@pytest.fixture
def tiny(tmp_path):
    """(dataset with features.npy, features) — one feature row is all zero."""
    path = _write_dataset(str(tmp_path / "tiny"), {u: (train, [valid], [test]) for u, (train, valid, test)
                                                   in HISTORY.items()}, NUM_USERS, NUM_ITEMS)
    features = np.random.default_rng(0).normal(size=(NUM_ITEMS, F)).astype(np.float32)
    features[2] = 0.0
    np.save(os.path.join(path, "features.npy"), features)
    return dataset_lib.load_dataset(path), features


def _expected(features, pooling):
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = features / np.maximum(norms, 1e-6)
    cosine = unit @ unit.T
    scores = np.zeros((NUM_USERS, NUM_ITEMS), np.float32)
    for u, (train, _, _) in HISTORY.items():
        if train:
            scores[u] = cosine[:, train].mean(1) if pooling == "mean" else cosine[:, train].max(1)
    return scores


def _build(dataset, pooling):
    config = registry.new_config("visrank", visrank_pooling=pooling)
    model = registry.build(config, DataInfo.from_dataset(dataset, feature_dim=F))
    model.prepare(dataset)
    return model


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_scores_are_pooled_cosine_similarities(tiny, pooling, monkeypatch):
    dataset, features = tiny
    # max pooling scores in chunks: make them 2 pairs wide so several chunks and padding run
    monkeypatch.setattr(visrank, "_CHUNK_ELEMENTS", 2 * 4 * F)
    model = _build(dataset, pooling)
    expected = _expected(features, pooling)
    users = np.repeat(np.arange(NUM_USERS), NUM_ITEMS)
    items = np.tile(np.arange(NUM_ITEMS), NUM_USERS)
    scores = model.score(users, {"item": items, "features": features[items]}).numpy()
    np.testing.assert_allclose(scores.reshape(NUM_USERS, NUM_ITEMS), expected, rtol=1e-5, atol=1e-6)
    grid = model.score(np.arange(NUM_USERS), {"item": np.tile(np.arange(NUM_ITEMS), (NUM_USERS, 1)),
                                              "features": np.tile(features, (NUM_USERS, 1, 1))})
    np.testing.assert_allclose(grid.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(score_users(model, dataset, np.arange(NUM_USERS)), expected, rtol=1e-5, atol=1e-6)
    assert not expected[4].any() and not expected[:, 2].any()   # no history; zero features


def test_mean_pooling_factorises(tiny):
    dataset, features = tiny
    model = _build(dataset, "mean")
    assert model.factorised and not _build(dataset, "max").factorised
    users = np.arange(NUM_USERS)
    vectors = model.item_vectors({"item": np.arange(NUM_ITEMS), "features": features}).numpy()
    np.testing.assert_allclose(model.user_vectors(users).numpy() @ vectors.T, _expected(features, "mean"),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_the_trainer_fits_it_without_gradients(tiny, tmp_path, pooling):
    from tfvisrec.training import fit
    dataset, features = tiny
    model, summary = fit(registry.new_config("visrank", visrank_pooling=pooling),
                         TrainConfig(dataset=dataset.path, model_dir=str(tmp_path / pooling), verbose=0),
                         dataset=dataset)
    assert summary["steps"] == 0 and len(summary["history"]) == 1
    expected = protocols.evaluate_score_matrix(_expected(features, pooling), dataset, ("full_auc",), "test")
    assert protocols.evaluate(model, dataset, ("full_auc",), "test") == pytest.approx(expected, nan_ok=True)


def test_unknown_pooling_is_refused(tiny):
    with pytest.raises(ValueError, match="visrank_pooling must be one of"):
        _build(tiny[0], "median")


@pytest.fixture
def catalogue_of_150(tmp_path):
    """(dataset of 150 items, 12 users buying 0–9 each, with features.npy, the features)."""
    rng = np.random.default_rng(5)
    num_items, num_users = 150, 12
    history = {}
    for u in range(num_users):
        items = rng.choice(num_items, size=2 + u % 10, replace=False)
        history[u] = (items[2:], items[:1], items[1:2])
    path = _write_dataset(str(tmp_path / "wide"), history, num_users, num_items)
    features = rng.normal(size=(num_items, F)).astype(np.float32)
    features[7] = 0.0
    np.save(os.path.join(path, "features.npy"), features)
    return dataset_lib.load_dataset(path), features


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_prepare_normalises_a_block_of_rows_at_a_time_to_the_same_numbers(catalogue_of_150, pooling, monkeypatch):
    dataset, features = catalogue_of_150
    monkeypatch.setattr(row_blocks, "BLOCK_BYTES", 64 * F * 4)   # blocks of 64 rows
    whole = visrank.unit_rows(features).numpy()   # f̂ of the whole catalogue at once, as it was computed
    normalised = []

    def counting_unit_rows(rows):
        normalised.append(int(rows.shape[0]))
        return whole_unit_rows(rows)

    whole_unit_rows = visrank.unit_rows
    monkeypatch.setattr(visrank, "unit_rows", counting_unit_rows)
    config = registry.new_config("visrank", visrank_pooling=pooling)
    model = registry.build(config, DataInfo.from_dataset(dataset, feature_dim=F))
    model.prepare(dataset)
    assert normalised == [64, 64, 22]
    if pooling == "max":
        np.testing.assert_array_equal(model.unit_features.numpy(), whole)
        return
    expected = np.zeros((dataset.num_users, F), np.float32)
    for u, items in enumerate(dataset.user_items(("train",))):
        if items.size:
            expected[u] = whole[items].mean(axis=0)
    assert not expected[0].any() and expected[1].any()   # user 0 bought nothing in training
    np.testing.assert_array_equal(model.user_profiles.numpy(), expected)
