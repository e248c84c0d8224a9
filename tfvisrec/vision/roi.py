"""ROI pooling of the feature maps inside each attribute region (SAERS, Hou et al. 2019, §3.1:
the region feature f_a of attribute a pools the last conv maps over its Grad-AAM box).

Each box is split into grid_size × grid_size bins, the map is bilinearly sampled at every bin
centre (`tf.image.crop_and_resize`), and the samples are averaged or max-pooled into one
C-vector per box. Boxes use the cell-edge convention of `tfvisrec.vision.regions` (0 and 1 are
the map's outer edges). Sample points closer to the border than half a cell read the border
cell (clamping, as half-pixel-centre resizing does), never zeros. A box over whole cells with
one bin per cell therefore samples exactly the cell centres: its average is the mean of those
cells and its max their maximum. Graph-safe, no AutoGraph (see `tfvisrec.vision.grad_aam`).
"""
import tensorflow as tf

POOLINGS = ("average", "max")


@tf.autograph.experimental.do_not_convert
def roi_pool(feature_map, boxes, grid_size: int = 3, pooling: str = "average") -> tf.Tensor:
    """Feature maps [B, h, w, C] and boxes [B, R, 4] (y1, x1, y2, x2) → region features [B, R, C]."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    if int(grid_size) < 1:
        raise ValueError(f"grid_size must be at least 1, got {grid_size}")
    feature_map = tf.convert_to_tensor(feature_map, tf.float32)
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    if feature_map.shape.rank != 4:
        raise ValueError(f"feature_map must be [B, h, w, C], got shape {feature_map.shape}")
    if boxes.shape.rank != 3 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be [B, regions, 4], got shape {boxes.shape}")
    batch, regions = tf.shape(boxes)[0], tf.shape(boxes)[1]
    # Edge padding by one cell keeps every bin centre (at worst half a cell outside the map)
    # inside the padded map, so crop_and_resize never extrapolates.
    padded = tf.pad(feature_map, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    samples = tf.image.crop_and_resize(
        padded, _bin_centre_boxes(tf.reshape(boxes, [-1, 4]), tf.shape(feature_map)[1:3], grid_size),
        tf.repeat(tf.range(batch), regions), [grid_size, grid_size])
    pooled = tf.reduce_mean(samples, axis=[1, 2]) if pooling == "average" else tf.reduce_max(samples, axis=[1, 2])
    return tf.reshape(pooled, tf.stack([batch, regions, tf.shape(pooled)[1]]))


def _bin_centre_boxes(boxes, map_size, grid_size):
    """Cell-edge boxes [N, 4] → crop_and_resize boxes on the 1-cell-padded map whose first and
    last sample points are the centres of the first and last bins."""
    start, end = boxes[:, :2], boxes[:, 2:]
    half_bin = (end - start) / (2.0 * grid_size)
    size = tf.cast(map_size, tf.float32)
    # Edge coordinate u is cell index u·size - 0.5, i.e. u·size + 0.5 on the padded map,
    # whose crop_and_resize coordinate is that index / (padded size - 1).
    to_padded = lambda u: (u * size + 0.5) / (size + 1.0)
    return tf.concat([to_padded(start + half_bin), to_padded(end - half_bin)], axis=1)
