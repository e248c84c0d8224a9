"""SAERS' Semantic Extraction Network at inference (Hou et al. 2019, §3.1): per attribute,
the predicted class, its Grad-AAM map (eq. 2–3), the box of the map's largest region and the
ROI-pooled feature f_a of that region — what the fine-grained preference attention reads.
Graph-safe, no AutoGraph (see `tfvisrec.vision.grad_aam`).
"""
from typing import Dict

import tensorflow as tf

from tfvisrec.data.region_file import REGION_FEATURES
from tfvisrec.vision import grad_aam, regions, roi


@tf.autograph.experimental.do_not_convert
def extract_attribute_regions(network, images, threshold_fraction: float = regions.DEFAULT_THRESHOLD_FRACTION,
                              grid_size: int = 3, pooling: str = "average", grad_aam_layer: str = "",
                              roi_layer: str = "", region_feature: str = "roi") -> Dict[str, tf.Tensor]:
    """An `AttributeNetwork` on images [B, S, S, 3] in [-1, 1] → a dict of tensors:

    - "maps" float [B, A, h, w]: Grad-AAM of each attribute's predicted class (eq. 3) on the
      conv layer `grad_aam_layer` ("" = the last conv, the paper's);
    - "boxes" float [B, A, 4]: (y1, x1, y2, x2) of the largest region ≥ threshold_fraction ·
      max of the map resized bilinearly to the image's S × S (`regions.region_boxes(size=S)`),
      in [0, 1] (cell-edge convention of `tfvisrec.vision.regions`);
    - "region_features" float [B, A, C]: f_a, with `region_feature="roi"` (the paper's)
      `roi.roi_pool` in each box of the conv layer `roi_layer`'s maps ("" = the last conv; the
      boxes are normalised, so any layer's maps can be pooled in them); with "probabilities"
      the "probabilities" below (C = V): a feature only attribute a's information fills;
    - "classes" int32 [B, A]: the predicted value index of each attribute;
    - "probabilities" float [B, A, V], V the largest cardinality: each attribute's softmax,
      zero-padded past its own |values_a| (a dense tensor, so it fits a SavedModel signature);
    - "class_probabilities" float [B, A]: the softmax probability of each predicted value (eq. 1),
      how sure the classifier is of the value an explanation names.

    Graph-safe: call it inside a `tf.function` (with an input signature) to serve it.
    """
    if region_feature not in REGION_FEATURES:
        raise ValueError(f"region_feature must be one of {', '.join(REGION_FEATURES)}, got {region_feature!r}")
    aam = grad_aam.attribute_grad_aam(network, images, layer=grad_aam_layer)
    boxes = regions.region_boxes(aam["maps"], threshold_fraction, size=network.image_size)
    probabilities = padded_probabilities(aam["logits"])
    if region_feature == "probabilities":
        features = probabilities
    else:
        pooled = aam["feature_map"]
        if roi_layer != grad_aam_layer:
            pooled = network.backbone.feature_map_model(roi_layer)(images, training=False)
        features = roi.roi_pool(pooled, boxes, grid_size, pooling)
    return {"maps": aam["maps"], "boxes": boxes, "region_features": features,
            "classes": aam["classes"], "probabilities": probabilities,
            "class_probabilities": tf.gather(probabilities, aam["classes"], batch_dims=2)}


@tf.autograph.experimental.do_not_convert
def padded_probabilities(logits) -> tf.Tensor:
    """A logits tensors [B, n_a] → softmax probabilities [B, A, max n_a], zeros past n_a."""
    widest = max(int(x.shape[-1]) for x in logits)
    return tf.stack([tf.pad(tf.nn.softmax(x), [[0, 0], [0, widest - int(x.shape[-1])]]) for x in logits], axis=1)
