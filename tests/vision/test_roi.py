"""ROI pooling of attribute regions against numpy: cell means, and bilinear bin-centre samples."""
import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.vision import roi


def _numpy_roi_pool(feature_map, box, grid_size, pooling):
    """One item [h, w, C], one cell-edge box: bilinear samples at the bin centres (clamped to
    the border cells' centres), then pooled."""
    h, w, _ = feature_map.shape
    y1, x1, y2, x2 = box
    centres = lambda lo, hi: lo + (np.arange(grid_size) + 0.5) * (hi - lo) / grid_size
    samples = []
    for v in centres(y1, y2):
        for u in centres(x1, x2):
            p = np.clip(v * h - 0.5, 0, h - 1)
            q = np.clip(u * w - 0.5, 0, w - 1)
            p0, q0 = int(np.floor(p)), int(np.floor(q))
            p1, q1 = min(p0 + 1, h - 1), min(q0 + 1, w - 1)
            dp, dq = p - p0, q - q0
            samples.append((1 - dp) * ((1 - dq) * feature_map[p0, q0] + dq * feature_map[p0, q1])
                           + dp * ((1 - dq) * feature_map[p1, q0] + dq * feature_map[p1, q1]))
    samples = np.stack(samples)
    return samples.mean(axis=0) if pooling == "average" else samples.max(axis=0)


def _feature_map(shape=(2, 4, 6, 3), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_a_whole_cell_box_with_one_bin_per_cell_pools_exactly_those_cells():
    feature_map = _feature_map()                               # [2, 4, 6, 3]
    cases = [((1, 2), (2, 3)), ((0, 3), (1, 4)), ((3, 3), (5, 5)), ((1, 3), (3, 5))]    # rows, cols
    boxes = np.array([[[r0 / 4, c0 / 6, (r1 + 1) / 4, (c1 + 1) / 6] for (r0, r1), (c0, c1) in cases]] * 2,
                     np.float32)
    for pooling, reduce in (("average", np.mean), ("max", np.max)):
        for r, ((r0, r1), (c0, c1)) in enumerate(cases):
            got = roi.roi_pool(feature_map, boxes, grid_size=r1 - r0 + 1, pooling=pooling).numpy()[:, r]
            expected = reduce(feature_map[:, r0:r1 + 1, c0:c1 + 1], axis=(1, 2))
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=f"{pooling} {r}")
    square = feature_map[:, :, :4]
    whole = roi.roi_pool(square, np.tile([[[0, 0, 1, 1]]], (2, 1, 1)), 4, "average").numpy()
    np.testing.assert_allclose(whole[:, 0], square.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["average", "max"])
def test_any_box_against_numpy_bilinear_sampling_at_bin_centres(pooling):
    feature_map = _feature_map(seed=1)
    boxes = np.array([[[0.1, 0.2, 0.7, 0.9], [0.0, 0.0, 0.25, 1.0 / 6]],      # second: one cell
                      [[0.5, 0.0, 0.75, 1.0], [0.0, 0.0, 1.0, 1.0]]], np.float32)
    for grid_size in (1, 2, 3):
        got = roi.roi_pool(feature_map, boxes, grid_size, pooling).numpy()
        assert got.shape == (2, 2, 3)
        for b, r in np.ndindex(2, 2):
            np.testing.assert_allclose(got[b, r], _numpy_roi_pool(feature_map[b], boxes[b, r], grid_size, pooling),
                                       rtol=1e-5, atol=1e-5, err_msg=f"{b, r, grid_size}")


def test_a_one_cell_map_an_empty_batch_and_a_tf_function_with_unknown_sizes():
    pool = tf.function(lambda f, b: roi.roi_pool(f, b, 3),
                       input_signature=[tf.TensorSpec([None, None, None, 2]), tf.TensorSpec([None, None, 4])])
    feature_map = _feature_map((1, 1, 1, 2), seed=2)
    np.testing.assert_allclose(pool(feature_map, [[[0, 0, 1, 1], [0.2, 0.3, 0.4, 0.9]]]).numpy(),
                               np.repeat(feature_map[:, 0], 2, axis=1), rtol=1e-6)
    feature_map = _feature_map((1, 3, 5, 2), seed=3)
    box = np.array([0.3, 0.1, 0.9, 0.6], np.float32)
    np.testing.assert_allclose(pool(feature_map, box[None, None]).numpy()[0, 0],
                               _numpy_roi_pool(feature_map[0], box, 3, "average"), rtol=1e-5, atol=1e-6)
    assert pool(np.zeros((0, 3, 4, 2), np.float32), np.zeros((0, 5, 4), np.float32)).shape == (0, 5, 2)


def test_bad_inputs_are_refused():
    feature_map, boxes = _feature_map(), np.zeros((2, 1, 4), np.float32)
    with pytest.raises(ValueError, match="pooling must be one of average, max"):
        roi.roi_pool(feature_map, boxes, pooling="sum")
    with pytest.raises(ValueError, match="grid_size must be at least 1"):
        roi.roi_pool(feature_map, boxes, grid_size=0)
    with pytest.raises(ValueError, match=r"feature_map must be \[B, h, w, C\]"):
        roi.roi_pool(feature_map[0], boxes)
    with pytest.raises(ValueError, match=r"boxes must be \[B, regions, 4\]"):
        roi.roi_pool(feature_map, boxes[:, 0])
