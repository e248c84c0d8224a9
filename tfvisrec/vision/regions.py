"""Attribute regions from Grad-AAM maps (SAERS, Hou et al. 2019, §3.1 "region extraction"):
keep the cells at or above a fraction (20 % in the paper) of the map's maximum, take the
largest 4-connected component and return its bounding box.

As in Grad-CAM's localisation (Selvaraju et al. 2017, §3 and §4.1: the map is upsampled to the input
resolution, binarised at a fraction of its maximum, and the largest segment boxed), the
Semantic Extraction Network passes `size`, the image's: the coarse map (8 × 8 for CNN-F at
64 px) is first resized bilinearly to it, so a box edge falls where the map crosses the
threshold between cell centres, not only on the edges of conv cells (a sleeve is about one
8 × 8 cell wide: a box of whole cells cannot match it with IoU ≥ 0.5).

All in-graph (no numpy, no TF Addons), batched, shapes may be unknown until run time; no
AutoGraph (see `tfvisrec.vision.grad_aam`).

Box convention: (y1, x1, y2, x2), the order and [0, 1] normalisation of
`tf.image.crop_and_resize`, measured on cell *edges*: 0 is the top (left) edge of the map and
1 its bottom (right) edge, so a component over rows r0..r1 and columns c0..c1 of an h×w map
has the box (r0/h, c0/w, (r1+1)/h, (c1+1)/w). The same numbers locate the region on the input
image (multiply by its size). `crop_and_resize` itself maps 0 and 1 to the *centres* of the
first and last pixels: on an image that is less than a pixel off; on a coarse feature map
`tfvisrec.vision.roi.roi_pool` converts exactly. A map with no positive cell gives the whole
map, (0, 0, 1, 1).
"""
import tensorflow as tf

DEFAULT_THRESHOLD_FRACTION = 0.2
WHOLE_MAP = (0.0, 0.0, 1.0, 1.0)


@tf.autograph.experimental.do_not_convert
def region_boxes(maps, threshold_fraction: float = DEFAULT_THRESHOLD_FRACTION, size=None) -> tf.Tensor:
    """Boxes [..., 4] of the largest 4-connected component of each map [..., h, w] ≥ fraction · max;
    with `size` ((H, W) or an int), of the map first resized bilinearly to H × W (`upsample`)."""
    maps = _checked_maps(maps)
    leading, hw = tf.shape(maps)[:-2], tf.shape(maps)[-2:]
    flat = tf.reshape(maps, tf.concat([[-1], hw], axis=0))
    if size is not None:
        flat = upsample(flat, size)
    component = largest_component(flat, threshold_mask(flat, threshold_fraction))
    return tf.reshape(bounding_boxes(component), tf.concat([leading, [4]], axis=0))


@tf.autograph.experimental.do_not_convert
def upsample(maps, size) -> tf.Tensor:
    """Maps [N, h, w] → [N, H, W] resized bilinearly with half-pixel centres (cell centres keep
    their values; beyond the outer centres the border value holds), `size` = (H, W) or an int."""
    height, width = (size, size) if isinstance(size, int) else size
    maps = tf.convert_to_tensor(maps, tf.float32)
    return tf.image.resize(maps[..., None], [int(height), int(width)], method="bilinear")[..., 0]


@tf.autograph.experimental.do_not_convert
def threshold_mask(maps, threshold_fraction: float = DEFAULT_THRESHOLD_FRACTION) -> tf.Tensor:
    """bool [..., h, w]: the cells ≥ fraction · the map's maximum, and > 0 (a map whose
    maximum is ≤ 0 has no cell)."""
    if not 0.0 < threshold_fraction <= 1.0:
        raise ValueError(f"threshold_fraction must be in (0, 1], got {threshold_fraction}")
    maps = _checked_maps(maps)
    peak = tf.reduce_max(maps, axis=[-2, -1], keepdims=True)
    return (maps >= threshold_fraction * peak) & (maps > 0)


@tf.autograph.experimental.do_not_convert
def component_labels(mask) -> tf.Tensor:
    """int32 [N, h, w]: 0 off the mask, else an id shared by exactly the cells of one
    4-connected component (the largest 1 + row-major index among its cells).

    Label propagation: every cell starts with its own id and takes the maximum over itself and
    its four neighbours, masked, until nothing changes (at most h·w rounds).
    """
    mask = tf.convert_to_tensor(mask, tf.bool)
    if mask.shape.rank != 3:
        raise ValueError(f"mask must be [N, h, w], got shape {mask.shape}")
    shape = tf.shape(mask)
    ids = tf.reshape(tf.range(1, shape[1] * shape[2] + 1), [1, shape[1], shape[2]])
    on = tf.cast(mask, tf.int32)
    labels = ids * on

    def spread(labels):
        padded = tf.pad(labels, [[0, 0], [1, 1], [1, 1]])
        above, below = padded[:, :-2, 1:-1], padded[:, 2:, 1:-1]
        left, right = padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]
        return tf.reduce_max(tf.stack([labels, above, below, left, right]), axis=0) * on

    def keep_going(labels, changed, rounds):
        return changed & (rounds < shape[1] * shape[2])

    def step(labels, changed, rounds):
        spread_labels = spread(labels)
        return spread_labels, tf.reduce_any(spread_labels != labels), rounds + 1

    labels, _, _ = tf.while_loop(keep_going, step, (labels, tf.constant(True), tf.constant(0)))
    return labels


@tf.autograph.experimental.do_not_convert
def largest_component(maps, mask) -> tf.Tensor:
    """bool [N, h, w]: the largest 4-connected component of `mask` (most cells; ties go to the
    larger sum of `maps` [N, h, w] over it, then to the smaller label). Empty where mask is."""
    maps = tf.convert_to_tensor(maps, tf.float32)
    labels = component_labels(mask)
    shape = tf.shape(labels)
    slots = shape[1] * shape[2] + 1     # label 0 (off the mask) and one per cell
    segments = labels + tf.reshape(tf.range(shape[0]) * slots, [-1, 1, 1])
    per_label = lambda values: tf.reshape(
        tf.math.unsorted_segment_sum(values, segments, shape[0] * slots), [shape[0], slots])
    sizes = per_label(tf.ones_like(maps))
    masses = per_label(maps)
    is_label = tf.range(slots) > 0
    largest = sizes >= tf.reduce_max(tf.where(is_label, sizes, 0.0), axis=1, keepdims=True)
    chosen = tf.argmax(tf.where(largest & is_label, masses, -1.0), axis=1, output_type=tf.int32)
    return (labels == tf.reshape(chosen, [-1, 1, 1])) & (labels > 0)


@tf.autograph.experimental.do_not_convert
def bounding_boxes(mask) -> tf.Tensor:
    """float32 [N, 4]: the cell-edge box (module docstring) around each mask [N, h, w]; the
    whole map (0, 0, 1, 1) for an empty mask."""
    mask = tf.convert_to_tensor(mask, tf.bool)
    rows, cols = tf.reduce_any(mask, axis=2), tf.reduce_any(mask, axis=1)
    y1, y2 = _first_and_past_last(rows)
    x1, x2 = _first_and_past_last(cols)
    boxes = tf.stack([y1, x1, y2, x2], axis=1)
    return tf.where(tf.reduce_any(rows, axis=1, keepdims=True), boxes, tf.constant([WHOLE_MAP]))


def _first_and_past_last(occupied):
    """Normalised edges (first / n, (last + 1) / n) of the True cells along a [N, n] axis."""
    n = tf.shape(occupied)[1]
    as_int = tf.cast(occupied, tf.int32)
    first = tf.argmax(as_int, axis=1, output_type=tf.int32)
    past_last = n - tf.argmax(tf.reverse(as_int, axis=[1]), axis=1, output_type=tf.int32)
    size = tf.cast(n, tf.float32)
    return tf.cast(first, tf.float32) / size, tf.cast(past_last, tf.float32) / size


def _checked_maps(maps) -> tf.Tensor:
    maps = tf.convert_to_tensor(maps, tf.float32)
    if maps.shape.rank is None or maps.shape.rank < 3:
        raise ValueError(f"maps must be [N, h, w] or [B, attributes, h, w], got shape {maps.shape}")
    return maps
