"""Grad-AAM: gradient-weighted attribute activation maps (SAERS, Hou et al. 2019, "Explainable
Fashion Recommendation: A Semantic Attribute Region Guided Approach", §3.1, eq. 2–3).

Grad-CAM applied to each attribute head of the multi-task classifier: for attribute a and its
class c (the predicted one unless given), with y^c_a the pre-softmax score and A [h, w, C] the
last convolutional feature maps,

    eq. 2   α^c_{a,k} = 1/(h·w) Σ_i Σ_j ∂y^c_a / ∂A^k_{ij}        (channel weights)
    eq. 3   L^c_a = ReLU(Σ_k α^c_{a,k} A^k)                       (the map, [h, w])

Batched and graph-safe (works inside `tf.function`, hence in a SavedModel). Like the other
SAERS modules (regions, roi, semantic_extraction) it is plain TF ops, so AutoGraph is off
(`do_not_convert`): converting would only add seconds to every trace.
"""
from typing import Callable, Dict, Optional, Sequence

import tensorflow as tf

LogitsFromFeatureMap = Callable[[tf.Tensor], Sequence[tf.Tensor]]


@tf.autograph.experimental.do_not_convert
def grad_aam(logits_from_feature_map: LogitsFromFeatureMap, feature_map, classes=None) -> Dict:
    """Grad-AAM maps of every attribute from feature maps A [B, h, w, C].

    logits_from_feature_map: A → one pre-softmax logits tensor [B, |values_a|] per attribute
        (the network above the last conv, run in inference mode: see below).
    classes: optional int [B, n_attributes], the class c explained per item and attribute;
        default each attribute's predicted class argmax_c y^c_a.

    Returns {"maps": [B, n_attributes, h, w] (eq. 3, ≥ 0), "channel_weights":
    [B, n_attributes, C] (α of eq. 2), "classes": int32 [B, n_attributes], "logits": the list
    of logits}. One tape records the pass; each attribute's gradient is that of Σ_b y^{c_b}_a,
    which is every item's own gradient as long as items do not interact (no batch statistics,
    i.e. no training-mode batch norm).
    """
    feature_map = tf.convert_to_tensor(feature_map)
    if feature_map.shape.rank != 4:
        raise ValueError(f"Grad-AAM needs feature maps [B, h, w, C], got shape {feature_map.shape}")
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(feature_map)
        logits = list(logits_from_feature_map(feature_map))
        if not logits:
            raise ValueError("Grad-AAM needs at least one attribute's logits")
        classes = _explained_classes(logits, classes)
        scores = [tf.reduce_sum(tf.gather(attribute_logits, classes[:, a], batch_dims=1))
                  for a, attribute_logits in enumerate(logits)]
    weights = []
    for a, score in enumerate(scores):
        gradient = tape.gradient(score, feature_map)
        if gradient is None:
            raise ValueError(f"the logits of attribute {a} do not depend on the feature map")
        weights.append(tf.reduce_mean(gradient, axis=[1, 2]))
    del tape
    weights = tf.stack(weights, axis=1)
    maps = tf.nn.relu(tf.einsum("bac,bhwc->bahw", weights, feature_map))
    return {"maps": maps, "channel_weights": weights, "classes": classes, "logits": logits}


@tf.autograph.experimental.do_not_convert
def attribute_grad_aam(network, images, classes=None, layer: str = "") -> Dict:
    """Grad-AAM of an `AttributeNetwork` on images [B, S, S, 3] in [-1, 1], in inference mode.

    The backbone is split at conv layer `layer` (default "": the last conv, as in the paper):
    the layers up to it give A, and `backbone.feature_map_tail(layer)` + the attribute heads
    give the logits from A. Eq. 2–3 hold for any conv layer (Grad-CAM, Selvaraju et al. 2017,
    §3, notes the technique explains activations in any layer; its appendix shows maps of
    earlier layers of VGG-16): an earlier layer has a smaller receptive field and, below a
    pool, a finer grid. Returns what `grad_aam` returns plus
    "feature_map" (A, [B, h, w, C]).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape.rank != 4:
        raise ValueError(f"images must be [B, S, S, 3], got shape {images.shape}")
    backbone = network.backbone
    feature_map = backbone.feature_map_model(layer)(images, training=False)
    tail = backbone.feature_map_tail(layer)
    out = grad_aam(lambda a: network.head_logits(tail(a, training=False), training=False), feature_map, classes)
    return {**out, "feature_map": feature_map}


def _explained_classes(logits: Sequence[tf.Tensor], classes: Optional[tf.Tensor]) -> tf.Tensor:
    if classes is None:
        return tf.stack([tf.argmax(x, axis=-1, output_type=tf.int32) for x in logits], axis=1)
    classes = tf.cast(tf.convert_to_tensor(classes), tf.int32)
    if classes.shape.rank != 2 or classes.shape[1] not in (None, len(logits)):
        raise ValueError(f"classes must be [B, {len(logits)}] (one per attribute), got shape {classes.shape}")
    return classes
