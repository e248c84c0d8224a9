"""image_sheets.grid: the geometry of a sheet, its checks, and a long title widening it."""
import numpy as np
import pytest

from tfvisrec import image_sheets


def _images(rows=2, cols=3, size=8):
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (rows, cols, size, size, 3), dtype=np.uint8)


def test_images_are_placed_on_a_white_sheet_at_their_cells():
    images = _images()
    sheet = image_sheets.grid(images, pad=2)
    assert sheet.dtype == np.uint8 and sheet.shape == (2 * (8 + 2) + 2, 3 * (8 + 2) + 2, 3)
    np.testing.assert_array_equal(sheet[2:10, 2:10], images[0, 0])
    np.testing.assert_array_equal(sheet[12:20, 22:30], images[1, 2])
    assert (sheet[0, :] == 255).all()


def test_scale_repeats_pixels_and_a_long_title_widens_the_sheet():
    images = _images(1, 2)
    sheet = image_sheets.grid(images, scale=2, pad=2)
    np.testing.assert_array_equal(sheet[2:18, 2:18], images[0, 0].repeat(2, 0).repeat(2, 1))
    titled = image_sheets.grid(images, title="x" * 60, scale=2, pad=2)
    assert titled.shape[0] > sheet.shape[0] and titled.shape[1] > 60 * 4 > sheet.shape[1]
    ink = np.flatnonzero((titled[2:14] < 128).any(axis=(0, 2)))
    assert ink.max() < titled.shape[1] - 1  # the whole title is drawn, nothing cut at the edge


def test_a_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"grid needs images \[rows, columns, H, W, 3\]"):
        image_sheets.grid(np.zeros((2, 8, 8, 3), np.uint8))
