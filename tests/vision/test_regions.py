"""Attribute regions (SAERS §3.1): threshold, largest 4-connected component, cell-edge box."""
import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.vision import regions


def _numpy_region_box(grid, fraction=0.2):
    """Flood fill reference: the cell-edge box of the largest 4-connected component."""
    h, w = grid.shape
    mask = (grid >= fraction * grid.max()) & (grid > 0)
    seen = np.zeros_like(mask)
    best = None
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        cells, stack = [], [start]
        seen[start] = True
        while stack:
            r, c = stack.pop()
            cells.append((r, c))
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    stack.append((rr, cc))
        key = (len(cells), sum(grid[cell] for cell in cells))
        if best is None or key > best[0]:
            best = (key, np.array(cells))
    if best is None:
        return np.array([0.0, 0.0, 1.0, 1.0])
    rows, cols = best[1][:, 0], best[1][:, 1]
    return np.array([rows.min() / h, cols.min() / w, (rows.max() + 1) / h, (cols.max() + 1) / w])


def test_box_of_the_larger_blob_with_the_cell_edge_convention():
    grid = np.zeros((5, 8), np.float32)
    grid[0, 0:2] = 1.0                  # small but strong
    grid[2:4, 4:7] = 0.5                # larger: rows 2..3, cols 4..6
    np.testing.assert_allclose(regions.region_boxes(grid[None]).numpy(), [[2 / 5, 4 / 8, 4 / 5, 7 / 8]])
    one_cell = np.zeros((4, 6), np.float32)
    one_cell[3, 5] = 2.0
    np.testing.assert_allclose(regions.region_boxes(one_cell[None]).numpy(), [[3 / 4, 5 / 6, 1.0, 1.0]])


def test_diagonal_neighbours_are_not_connected():
    grid = np.zeros((5, 5), np.float32)
    for i in range(4):
        grid[i, i] = 1.0                # 8-connected this would be the largest (4 cells)
    grid[4, 0:2] = 0.5                  # 4-connected pair: the largest component
    np.testing.assert_allclose(regions.region_boxes(grid[None]).numpy(), [[4 / 5, 0.0, 1.0, 2 / 5]])
    labels = regions.component_labels(tf.constant(grid[None] > 0)).numpy()[0]
    assert len({labels[i, i] for i in range(4)}) == 4 and labels[4, 0] == labels[4, 1]


def test_a_winding_component_is_labelled_as_one():
    grid = np.zeros((7, 7), np.float32)
    grid[0, :] = grid[:, 6] = grid[6, :] = grid[2:, 0] = grid[2, :5] = grid[2:5, 4] = grid[4, 2:5] = 1.0
    grid[0, 0] = 0.0                    # a spiral whose two ends are far apart along it
    labels = regions.component_labels(tf.constant(grid[None] > 0)).numpy()[0]
    assert len(np.unique(labels[grid > 0])) == 1
    np.testing.assert_allclose(regions.region_boxes(grid[None]).numpy()[0], _numpy_region_box(grid))


def _numpy_bilinear(grid, height, width):
    """Half-pixel-centre bilinear resize, border values held beyond the outer cell centres."""
    def axis(n_in, n_out):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.minimum(np.floor(src).astype(int), n_in - 1)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, src - low
    (r0, r1, fy), (c0, c1, fx) = axis(grid.shape[0], height), axis(grid.shape[1], width)
    rows = grid[r0] * (1 - fy)[:, None] + grid[r1] * fy[:, None]
    return rows[:, c0] * (1 - fx)[None] + rows[:, c1] * fx[None]


def test_boxes_of_the_map_upsampled_to_the_image_fall_between_cell_edges():
    grid = np.zeros((4, 4), np.float32)
    grid[1, 2] = 1.0
    # 4 → 16: rows 3..8 reach 20 % of the upsampled peak (0.875²) where the cell spans 4..7.
    np.testing.assert_allclose(regions.region_boxes(grid[None], size=16).numpy(),
                               [[3 / 16, 7 / 16, 9 / 16, 13 / 16]])
    np.testing.assert_allclose(regions.region_boxes(grid[None]).numpy(), [[1 / 4, 2 / 4, 2 / 4, 3 / 4]])
    two_blobs = np.zeros((5, 6), np.float32)
    two_blobs[0, 0] = 1.0               # strong but small
    two_blobs[3:5, 3:6] = 0.45          # weaker, larger: still the largest after upsampling
    rng = np.random.default_rng(2)
    maps = np.stack([two_blobs, rng.uniform(0, 1, (5, 6)) * (rng.uniform(size=(5, 6)) < 0.4)]).astype(np.float32)
    for size in [(20, 18), (15, 12)]:
        got = regions.region_boxes(maps, size=size).numpy()
        for grid, box in zip(maps, got):
            np.testing.assert_allclose(regions.upsample(grid[None], size).numpy()[0],
                                       _numpy_bilinear(grid, *size), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(box, _numpy_region_box(_numpy_bilinear(grid, *size)), atol=1e-6)
    assert got[0][0] > 0.5 and got[0][1] > 0.4


def test_an_all_zero_map_gives_the_whole_map():
    maps = np.zeros((2, 3, 4), np.float32)
    maps[1, 1, 1] = 1.0
    np.testing.assert_allclose(regions.region_boxes(maps).numpy(), [[0, 0, 1, 1], [1 / 3, 1 / 4, 2 / 3, 2 / 4]])


def test_the_threshold_fraction_is_respected_at_its_boundary():
    grid = np.zeros((4, 6), np.float32)
    grid[0, 0] = 4.0
    grid[2:4, 1:5] = 1.0                # exactly 25 % of the maximum
    np.testing.assert_allclose(regions.region_boxes(grid[None], 0.25).numpy(), [[0.5, 1 / 6, 1.0, 5 / 6]])
    np.testing.assert_allclose(regions.region_boxes(grid[None], 0.26).numpy(), [[0.0, 0.0, 0.25, 1 / 6]])
    mask = regions.threshold_mask(grid[None], 0.25).numpy()[0]
    np.testing.assert_array_equal(mask, grid >= 1.0)


def test_a_batch_of_random_maps_against_the_flood_fill_reference():
    rng = np.random.default_rng(0)
    maps = (rng.uniform(0, 1, (3, 4, 6, 5)) * (rng.uniform(size=(3, 4, 6, 5)) < 0.5)).astype(np.float32)
    for fraction in (0.2, 0.5):
        got = regions.region_boxes(maps, fraction).numpy()
        assert got.shape == (3, 4, 4)
        for index in np.ndindex(3, 4):
            np.testing.assert_allclose(got[index], _numpy_region_box(maps[index], fraction), err_msg=str(index))


def test_ties_in_size_go_to_the_larger_activation_mass():
    grid = np.zeros((3, 7), np.float32)
    grid[0, 0:2] = 0.6
    grid[2, 4:6] = [1.0, 0.3]           # same size, larger sum
    np.testing.assert_allclose(regions.region_boxes(grid[None]).numpy(), [[2 / 3, 4 / 7, 1.0, 6 / 7]])


def test_runs_in_a_tf_function_with_unknown_map_sizes_and_an_empty_batch():
    boxes = tf.function(regions.region_boxes, input_signature=[tf.TensorSpec([None, None, None])])
    rng = np.random.default_rng(1)
    for shape in ((2, 3, 5), (1, 6, 2)):
        maps = rng.uniform(-0.5, 1, shape).astype(np.float32)
        np.testing.assert_allclose(boxes(maps).numpy(), [_numpy_region_box(m) for m in maps])
    assert boxes(np.zeros((0, 3, 4), np.float32)).shape == (0, 4)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"threshold_fraction must be in \(0, 1\]"):
        regions.region_boxes(np.ones((1, 2, 2), np.float32), 0.0)
    with pytest.raises(ValueError, match=r"threshold_fraction must be in \(0, 1\]"):
        regions.region_boxes(np.ones((1, 2, 2), np.float32), 1.5)
    with pytest.raises(ValueError, match=r"maps must be \[N, h, w\]"):
        regions.region_boxes(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"mask must be \[N, h, w\]"):
        regions.component_labels(np.ones((2, 2), bool))
