"""TVBPR's learned time epochs: the DP against brute force, θ_i(t) and x̂(u, i, t) against numpy,
and on a world whose fashion changes at two known times, TVBPR with learned epochs beats VBPR
and finds those times."""
import dataclasses
import itertools
import json
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.config import TrainConfig
from tfvisrec.data.dataset import load_dataset
from tfvisrec.models import epoch_segmentation as seg
from tfvisrec.models import registry
from tfvisrec.training.building import build_model

pytestmark = pytest.mark.xdist_group("tvbpr_drift")


def _brute_force(table, min_bins=1):
    num_bins, num_epochs = table.shape
    best = (-np.inf, None)
    for cuts in itertools.combinations(range(1, num_bins), num_epochs - 1):
        lengths = np.diff([0, *cuts, num_bins])
        if lengths.min() < min_bins:
            continue
        epochs = np.searchsorted(np.asarray(cuts), np.arange(num_bins), side="right")
        best = max(best, (table[np.arange(num_bins), epochs].sum(), tuple(epochs)), key=lambda x: x[0])
    return best


@pytest.mark.parametrize("num_bins, num_epochs, min_bins, seed", [
    (7, 3, 1, 0), (9, 4, 1, 1), (6, 1, 1, 2), (5, 5, 1, 3), (10, 3, 2, 4), (12, 3, 3, 5), (9, 3, 3, 6), (8, 2, 3, 7)])
def test_the_dynamic_programme_finds_the_best_segmentation(num_bins, num_epochs, min_bins, seed):
    table = np.random.default_rng(seed).normal(size=(num_bins, num_epochs))
    epochs, total = seg.best_segmentation(table, min_bins)
    expected_total, expected_epochs = _brute_force(table, min_bins)
    assert total == pytest.approx(expected_total)
    assert tuple(epochs) == expected_epochs
    edges = np.arange(num_bins + 1) * 100 + 1000
    boundaries = seg.boundaries_of(epochs, edges)
    assert seg.segmentation_objective(table, boundaries, edges) == pytest.approx(total)


def test_impossible_segmentations_are_clear_errors():
    with pytest.raises(ValueError, match="cannot be cut"):
        seg.best_segmentation(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="3 time epochs of at least 2 bins cannot be cut from 5"):
        seg.best_segmentation(np.zeros((5, 3)), min_bins=2)


def test_bins_cover_the_training_period():
    edges = seg.bin_edges([100, -1, 150, 300], 4)
    assert edges[0] == 100 and edges[-1] == 301 and len(edges) == 5
    np.testing.assert_array_equal(seg.bin_of([100, 150, 300, 50, 999], edges), [0, 1, 3, 0, 3])


@pytest.fixture(scope="module")
def timed_dataset(tmp_path_factory):
    from tiny_worlds import write_low_rank_dataset
    path = write_low_rank_dataset(str(tmp_path_factory.mktemp("tvbpr") / "lowrank"), with_time=True)
    np.save(os.path.join(path, "features.npy"),
            np.random.default_rng(5).normal(size=(40, 6)).astype(np.float32))
    return load_dataset(path)


def test_theta_and_score_against_numpy(timed_dataset):
    """x̂(u, i, t) = β_i + β_i,ep + γ_uᵀγ_i + θ_uᵀ(E f_i ⊙ w_ep + ΔE_ep f_i) + (β' + Δβ'_ep)ᵀ f_i."""
    config = registry.new_config("tvbpr", embedding_dim=3, visual_dim=2, time_epochs=3, feature_norm="none",
                                 epoch_segmentation="learned", time_bins=6, item_bias_drift=True)
    model = build_model(config, timed_dataset)
    rng = np.random.default_rng(1)
    for weight in model.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    boundaries = model.bin_edges[[2, 5]]
    model.epochs.boundaries.assign(boundaries)
    w = {v.name.split("/")[-1].split(":")[0]: v.numpy().astype(np.float64) for v in model.trainable_weights}
    features = np.load(os.path.join(timed_dataset.path, "features.npy")).astype(np.float64)
    users, items = np.array([0, 3, 7, 11]), np.array([1, 5, 9, 30])
    times = np.array([model.bin_edges[0], boundaries[0] - 1, boundaries[0], boundaries[1] + 7])
    epochs = np.array([0, 0, 1, 2])
    for u, i, t, e in zip(users, items, times, epochs):
        f = features[i]
        theta_i = (f @ w["visual_projection"]) * (1 + w["dimension_drift"][e]) + f @ w["projection_drift"][e]
        expected = (w["item_bias"][i] + w["item_bias_drift"][i, e] + w["user_factors"][u] @ w["item_factors"][i]
                    + w["user_visual_factors"][u] @ theta_i + (w["visual_bias"] + w["visual_bias_drift"][e]) @ f)
        got = model.score(tf.constant([u]), {"item": tf.constant([i]), "features": tf.constant(f[None], tf.float32),
                                             "time": tf.constant([t], tf.int64)}).numpy()[0]
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-4)
        got_theta = model.visual_embedding({"features": tf.constant(f[None], tf.float32),
                                            "time": tf.constant([t], tf.int64)}).numpy()[0]
        np.testing.assert_allclose(got_theta, theta_i, rtol=1e-4, atol=1e-4)
    # the DP's table: per bin and epoch e, Σ over the bin's purchases of the mean over their
    # sampled negatives of ln σ(x̂_ui − x̂_uj), both scored with epoch e's parameters
    def all_scores(e):      # x̂ [users, items] with epoch e's parameters
        theta = (features @ w["visual_projection"]) * (1 + w["dimension_drift"][e]) + features @ w["projection_drift"][e]
        bias = w["item_bias"] + w["item_bias_drift"][:, e] + features @ (w["visual_bias"] + w["visual_bias_drift"][e])
        return w["user_factors"] @ w["item_factors"].T + w["user_visual_factors"] @ theta.T + bias

    users, pos, neg, bins = model._segmentation_sample(0)
    expected = np.zeros((6, 3))
    for e in range(3):
        scores = all_scores(e)
        diffs = scores[users, pos][:, None] - scores[users[:, None], neg]
        np.add.at(expected[:, e], bins, np.mean(-np.logaddexp(0.0, -diffs), axis=1))
    np.testing.assert_allclose(model.bin_log_likelihoods(0), expected, rtol=1e-3, atol=1e-3)


def _learned_epochs_model_with_random_weights(timed_dataset, seed):
    """A TVBPR with learned epochs (3 epochs over 6 time bins) whose weights are random normals."""
    config = registry.new_config("tvbpr", embedding_dim=3, visual_dim=2, time_epochs=3,
                                 epoch_segmentation="learned", time_bins=6, item_bias_drift=True)
    model = build_model(config, timed_dataset)
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    return model


def test_the_segmentation_reads_the_tables_features_without_copying_them(timed_dataset):
    """bin_log_likelihoods gathers its items' f_i from the table's own variable (not a copy of every
    row looked up), to the numbers it had with the copy."""
    from tfvisrec.data.item_features import ItemFeatureTable
    model = _learned_epochs_model_with_random_weights(timed_dataset, seed=2)
    table = ItemFeatureTable.for_model(model, timed_dataset)
    copied = table.lookup(np.arange(timed_dataset.num_items))["features"]    # how the rows were held
    object.__setattr__(model, "_feature_matrix", copied)
    expected = model.bin_log_likelihoods(0)
    object.__setattr__(model, "_feature_matrix", None)
    np.testing.assert_array_equal(model.bin_log_likelihoods(0), expected)
    matrix = model._item_features()
    assert isinstance(matrix, tf.Variable) and not matrix.trainable
    assert not any(v is matrix for v in model.variables)    # not a weight: checkpoints stay as they were


def test_the_segmentation_scores_in_batches_that_keep_their_features_within_the_budget(timed_dataset, monkeypatch):
    """The interactions' gathered f_i stay within `_SEGMENTATION_BATCH_BYTES` a batch (at 4,096
    features that was 0.6 GB for 4,096 interactions), to the numbers of one batch of them all."""
    from tfvisrec.models import tvbpr
    model = _learned_epochs_model_with_random_weights(timed_dataset, seed=3)
    users = model._segmentation_sample(0)[0]
    one_batch = model.bin_log_likelihoods(0, batch_size=len(users))
    items, feature_dim = 1 + model.num_negatives, int(model._item_features().shape[-1])
    assert tvbpr.segmentation_batch_size(9, 4096) == (64 << 20) // (4 * 9 * 4096)
    assert tvbpr.segmentation_batch_size(9, 16) == 4096
    monkeypatch.setattr(tvbpr, "_SEGMENTATION_BATCH_BYTES", 4 * items * feature_dim * 7)
    scored = []
    real_user_vectors = model.user_vectors
    object.__setattr__(model, "user_vectors", lambda u: scored.append(int(u.shape[0])) or real_user_vectors(u))
    np.testing.assert_allclose(model.bin_log_likelihoods(0), one_batch, rtol=1e-5, atol=1e-5)
    assert max(scored) == 7 and sum(scored) == len(users) > 7


def test_training_segments_on_the_trainers_table(timed_dataset, tmp_path, monkeypatch):
    """Trained with learned epochs, the segmentation gathers f_i from the trainer's item table: the
    features are loaded once (a table of its own held them twice), to the same numbers."""
    from tfvisrec.data import item_features
    from tfvisrec.training import fit
    loaded = []
    real_host_matrix = item_features.host_matrix
    monkeypatch.setattr(item_features, "host_matrix",
                        lambda *args, **kwargs: loaded.append(kwargs["name"]) or real_host_matrix(*args, **kwargs))
    config = registry.new_config("tvbpr", embedding_dim=3, visual_dim=2, time_epochs=3,
                                 epoch_segmentation="learned", time_bins=6, segment_every=1)
    model, _ = fit(config, dataclasses.replace(TrainConfig(), dataset=timed_dataset.path, model_dir=str(tmp_path),
                                               epochs=1, batch_size=32, verbose=0))
    assert loaded == ["item_features"] and model.segmentation_rounds
    on_the_trainers = model.bin_log_likelihoods(0)
    object.__setattr__(model, "_feature_matrix", None)     # a table of its own, as before
    np.testing.assert_array_equal(model.bin_log_likelihoods(0), on_the_trainers)


@pytest.fixture(scope="module")
def drift_runs(tmp_path_factory):
    from tiny_worlds import write_era_drift_dataset
    from tfvisrec.evaluation import protocols
    from tfvisrec.training import fit
    root = tmp_path_factory.mktemp("drift")
    folder, changes = write_era_drift_dataset(str(root / "data"), num_users=200, mean_interactions=20.0)
    dataset = load_dataset(folder)
    common = dict(embedding_dim=8, visual_dim=8, feature_norm="none", num_negatives=4, l2_item=0.03,
                  l2_bias=0.1, init_stddev=0.03)
    runs = {}
    for name, extra in (("vbpr", {}), ("tvbpr", dict(time_epochs=3, l2_drift=0.0005, epoch_segmentation="learned",
                                                     segment_every=3, time_bins=20))):
        model_dir = str(root / name)
        model, _ = fit(registry.new_config(name, **common, **extra),
                       dataclasses.replace(TrainConfig(), dataset=folder, model_dir=model_dir, epochs=9,
                                           batch_size=128, learning_rate=0.02, eval_every_epochs=100, verbose=0))
        runs[name] = (model, model_dir, protocols.evaluate(model, dataset, ["full_auc"], split="test")["full_auc/auc"])
    return runs, changes


def test_learned_epochs_beat_vbpr_on_the_drift_world(drift_runs):
    runs, _ = drift_runs
    assert runs["tvbpr"][2] > runs["vbpr"][2] + 0.04, {k: v[2] for k, v in runs.items()}


def test_learned_boundaries_line_up_with_the_true_change_points(drift_runs):
    runs, changes = drift_runs
    model, model_dir, _ = runs["tvbpr"]
    width = np.diff(model.bin_edges).max()
    learned = model.epochs.boundaries.numpy()
    assert np.all(np.abs(learned - changes) <= width), (learned, changes, width)
    with open(os.path.join(model_dir, "time_epochs.json")) as f:
        record = json.load(f)
    assert record["segmentation"] == "learned" and record["boundaries"] == [int(b) for b in learned]
    assert len(record["epochs"]) == 3 and record["rounds"], record
    from tfvisrec.training.checkpoints import load_trained
    restored, _ = load_trained(model_dir)
    np.testing.assert_array_equal(restored.epochs.boundaries.numpy(), learned)
