"""The true region(s) a predicted attribute box is scored against on the synthetic world, and
the IoU it is scored by (bench/saers_world.py, saers_maps.py, saers_small_cnn.py)."""


def iou(a, b):
    (ay1, ax1, ay2, ax2), (by1, bx1, by2, bx2) = a, b
    inter = max(0.0, min(ay2, by2) - max(ay1, by1)) * max(0.0, min(ax2, bx2) - max(ax1, bx1))
    union = (ay2 - ay1) * (ax2 - ax1) + (by2 - by1) * (bx2 - bx1) - inter
    return inter / union if union > 0 else 0.0


def true_regions(truth, item, attribute):
    """The boxes the predicted one may match: each part, and the box around all parts."""
    import numpy as np
    parts = truth.region_part_boxes(item, attribute)
    if len(parts) > 1:
        parts = np.concatenate([parts, [[*parts[:, :2].min(0), *parts[:, 2:].max(0)]]])
    return parts
