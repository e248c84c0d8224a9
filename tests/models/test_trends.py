"""Fashion-trend tracking (I-VBPR seed §6, eq. 8) on a hand-set TVBPR, against numpy."""
import os

import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)

from tfvisrec.models import registry, trends
from tfvisrec.models.base import DataInfo

U, I, F, KV, T = 4, 5, 3, 2, 3
NAMES = ["colour=red", "colour=blue", "pattern=striped, wide"]      # a comma, for the CSV


@pytest.fixture(scope="module")
def tvbpr():
    config = registry.new_config("tvbpr", embedding_dim=2, visual_dim=KV, time_epochs=T, feature_norm="none")
    info = DataInfo(num_users=U, num_items=I, num_categories=0, feature_dim=F, has_time=True)
    model = registry.build(config, info)
    model.epochs.fit(np.arange(300))
    rng = np.random.default_rng(0)
    for weight in model.weights:
        if weight.dtype.name == "float32":
            weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    return model


def _numpy_influence(model, bias=True):
    """(1/|U|) Σ_u θ_uᵀ E(t) e_k (+ β'_k + Δβ'_k(t)), user by user, feature by feature."""
    W, w, dW = model.visual_projection.numpy(), model.dimension_drift.numpy(), model.projection_drift.numpy()
    theta = model.user_visual_factors.numpy()
    out = np.zeros((T, F))
    for t in range(T):
        for k in range(F):
            e_k = np.eye(F)[k]
            projected = (1 + w[t]) * (e_k @ W) + e_k @ dW[t]          # E(t) e_k [K']
            out[t, k] = np.mean([theta[u] @ projected for u in range(U)])
            if bias:
                out[t, k] += model.visual_bias.numpy()[k] + model.visual_bias_drift.numpy()[t, k]
    return out


def test_influence_matches_numpy_and_the_models_own_scores(tvbpr):
    result = trends.model_feature_trends(tvbpr, NAMES)
    np.testing.assert_allclose(result.influence, _numpy_influence(tvbpr), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(result.boundaries, tvbpr.epochs.boundaries.numpy())
    assert result.feature_names == NAMES and result.influence.shape == (T, F)
    without = trends.model_feature_trends(tvbpr, NAMES, include_visual_bias=False)
    np.testing.assert_allclose(without.influence, _numpy_influence(tvbpr, bias=False), rtol=1e-5, atol=1e-5)
    # the model's visual score of the one-hot item e_k at a time of epoch t, averaged over users
    times = [0, 150, 299]
    for t, time in enumerate(times):
        items = {"item": np.zeros([1, F], np.int64), "features": np.eye(F, dtype=np.float32)[None],
                 "time": np.full([1, F], time, np.int64)}
        visual = np.stack([tvbpr.visual_embedding(items)[0].numpy() @ tvbpr.user_visual_factors.numpy()[u]
                           for u in range(U)]).mean(0) + tvbpr.visual_bias_term(items)[0].numpy()
        assert tvbpr.epochs(np.array([time])).numpy()[0] == t
        np.testing.assert_allclose(result.influence[t], visual, rtol=1e-4, atol=1e-4)


def test_influence_over_some_users(tvbpr):
    some = trends.model_feature_trends(tvbpr, NAMES, include_visual_bias=False, users=[1, 3])
    theta = tvbpr.user_visual_factors.numpy()[[1, 3]].mean(0)
    W, w, dW = tvbpr.visual_projection.numpy(), tvbpr.dimension_drift.numpy(), tvbpr.projection_drift.numpy()
    expected = np.stack([((1 + w[t]) * W + dW[t]) @ theta for t in range(T)])
    np.testing.assert_allclose(some.influence, expected, rtol=1e-5, atol=1e-5)


def test_csv_round_trips_atomically(tvbpr, tmp_path):
    result = trends.model_feature_trends(tvbpr, NAMES)
    path = str(tmp_path / "out" / "trends.csv")
    trends.write_trends_csv(path, result)
    assert os.listdir(tmp_path / "out") == ["trends.csv"]               # no temporary file left
    back = trends.read_trends_csv(path)
    np.testing.assert_array_equal(back.influence, result.influence)
    np.testing.assert_array_equal(back.boundaries, result.boundaries)
    assert back.feature_names == NAMES
    lines = open(path, encoding="utf-8").read().splitlines()
    assert lines[0] == 'epoch,start,end,colour=red,colour=blue,"pattern=striped, wide"'
    b = result.boundaries
    assert [line.split(",")[:3] for line in lines[1:]] == [["0", "", str(b[0])], ["1", str(b[0]), str(b[1])],
                                                           ["2", str(b[1]), ""]]


def test_bad_inputs_raise_clear_errors(tvbpr):
    W, w, dW = np.zeros((F, KV)), np.zeros((T, KV)), np.zeros((T, F, KV))
    theta = np.zeros((U, KV))
    with pytest.raises(ValueError, match="2 feature names for a model of 3 features"):
        trends.model_feature_trends(tvbpr, NAMES[:2])
    with pytest.raises(ValueError, match=r"projection_drift has shape \(3, 2, 2\); expected \[3, 3, 2\]"):
        trends.feature_influence(W, w, dW[:, :2], theta)
    with pytest.raises(ValueError, match=r"dimension_drift has shape \(3, 3\); expected \[3, 2\]"):
        trends.feature_influence(W, np.zeros((T, 3)), dW, theta)
    with pytest.raises(ValueError, match=r"user_visual_factors has shape \(4, 3\); expected \[U, 2\]"):
        trends.feature_influence(W, w, dW, np.zeros((U, 3)))
    with pytest.raises(ValueError, match="give both visual_bias and visual_bias_drift, or neither"):
        trends.feature_influence(W, w, dW, theta, visual_bias=np.zeros(F))
    with pytest.raises(ValueError, match=r"visual_bias_drift has shape \(2, 3\); expected \[3, 3\]"):
        trends.feature_influence(W, w, dW, theta, np.zeros(F), np.zeros((2, F)))
    with pytest.raises(ValueError, match="no users to average over"):
        trends.feature_influence(W, w, dW, theta, users=[])
    with pytest.raises(ValueError, match="not a trends file"):
        trends.read_trends_csv(os.path.join(os.path.dirname(__file__), "conftest.py"))
    bad = trends.FeatureTrends(np.zeros((T, F)), np.zeros(T, np.int64), NAMES)
    with pytest.raises(ValueError, match="do not agree"):
        trends.trends_csv_text(bad)
