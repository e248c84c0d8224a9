"""Grad-AAM (SAERS eq. 2–3) against central finite differences in numpy/float64."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfvisrec.vision import grad_aam

CARDINALITIES = (3, 4)


def _weights(channels=5, hidden=6, seed=0):
    rng = np.random.default_rng(seed)
    conv = (rng.normal(size=(channels, hidden)), rng.normal(size=hidden) * 0.1)
    heads = [(rng.normal(size=(hidden, n)), rng.normal(size=n) * 0.1) for n in CARDINALITIES]
    return conv, heads


def _keras_logits_fn(weights):
    """1×1 conv (tanh) → global average pool → one dense head per attribute, fixed weights."""
    (kernel, bias), heads = weights
    conv = keras.layers.Conv2D(kernel.shape[1], 1, activation="tanh")
    conv.build([None, None, None, kernel.shape[0]])
    conv.set_weights([kernel[None, None].astype(np.float32), bias.astype(np.float32)])
    pool = keras.layers.GlobalAveragePooling2D()
    dense = []
    for w, b in heads:
        layer = keras.layers.Dense(w.shape[1])
        layer.build([None, w.shape[0]])
        layer.set_weights([w.astype(np.float32), b.astype(np.float32)])
        dense.append(layer)
    return lambda a: [head(pool(conv(a))) for head in dense]


def _numpy_logits(weights, a):
    (kernel, bias), heads = weights
    h = np.tanh(a @ kernel + bias).mean(axis=(0, 1))        # one item's [h, w, C] → [hidden]
    return [h @ w + b for w, b in heads]


def _finite_difference_aam(weights, feature_map, classes, eps=1e-5):
    """(maps [B, A, h, w], channel weights [B, A, C]) from central differences of y^c_a."""
    x = feature_map.astype(np.float64)
    grads = np.zeros((x.shape[0], len(CARDINALITIES)) + x.shape[1:])
    for b in range(x.shape[0]):
        for index in np.ndindex(*x.shape[1:]):
            up, down = x[b].copy(), x[b].copy()
            up[index] += eps
            down[index] -= eps
            for a, (hi, lo) in enumerate(zip(_numpy_logits(weights, up), _numpy_logits(weights, down))):
                grads[(b, a) + index] = (hi[classes[b, a]] - lo[classes[b, a]]) / (2 * eps)
    alpha = grads.mean(axis=(2, 3))                                   # eq. 2
    pre_relu = np.einsum("bac,bhwc->bahw", alpha, x)
    return np.maximum(pre_relu, 0.0), alpha, pre_relu                 # eq. 3


def _feature_map(seed=1):
    return np.random.default_rng(seed).uniform(0, 2, (2, 3, 4, 5)).astype(np.float32)


def test_weights_and_maps_match_finite_differences_of_the_predicted_class():
    weights, feature_map = _weights(), _feature_map()
    out = grad_aam.grad_aam(_keras_logits_fn(weights), tf.constant(feature_map))
    predicted = np.stack([np.stack([np.argmax(y) for y in _numpy_logits(weights, item.astype(np.float64))])
                          for item in feature_map])
    np.testing.assert_array_equal(out["classes"].numpy(), predicted)
    maps, alpha, pre_relu = _finite_difference_aam(weights, feature_map, predicted)
    assert (pre_relu < 0).any() and (pre_relu > 0).any()      # the ReLU really cuts something
    assert out["maps"].shape == (2, 2, 3, 4) and out["channel_weights"].shape == (2, 2, 5)
    np.testing.assert_allclose(out["channel_weights"].numpy(), alpha, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out["maps"].numpy(), maps, rtol=1e-4, atol=1e-5)
    assert out["maps"].numpy().min() >= 0.0
    assert [x.shape for x in out["logits"]] == [(2, 3), (2, 4)]


def test_explains_a_given_class_and_runs_inside_a_tf_function():
    weights, feature_map = _weights(seed=2), _feature_map(seed=3)
    classes = np.array([[2, 0], [1, 3]], np.int32)
    logits_fn = _keras_logits_fn(weights)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 5]), tf.TensorSpec([None, 2], tf.int32)])
    def explain(a, c):
        out = grad_aam.grad_aam(logits_fn, a, c)
        return out["maps"], out["channel_weights"]

    maps, alpha = explain(tf.constant(feature_map), tf.constant(classes))
    expected_maps, expected_alpha, _ = _finite_difference_aam(weights, feature_map, classes)
    np.testing.assert_allclose(alpha.numpy(), expected_alpha, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(maps.numpy(), expected_maps, rtol=1e-4, atol=1e-5)


def test_bad_inputs_are_refused():
    logits_fn = _keras_logits_fn(_weights())
    with pytest.raises(ValueError, match=r"feature maps \[B, h, w, C\]"):
        grad_aam.grad_aam(logits_fn, tf.zeros([3, 4, 5]))
    with pytest.raises(ValueError, match=r"classes must be \[B, 2\]"):
        grad_aam.grad_aam(logits_fn, tf.constant(_feature_map()), classes=tf.zeros([2, 3], tf.int32))
    with pytest.raises(ValueError, match="attribute 0 do not depend on the feature map"):
        grad_aam.grad_aam(lambda a: [tf.ones([2, 3])], tf.constant(_feature_map()))
    with pytest.raises(ValueError, match="at least one attribute"):
        grad_aam.grad_aam(lambda a: [], tf.constant(_feature_map()))


def test_on_a_gap_top_grad_aam_is_cams_class_activation_map():
    """Through a global average pool, eq. 2's channel weights are the head's row of class c
    divided by h·w, so eq. 3 is CAM's map ReLU(Σ_k W_{c,k} A^k) / (h·w) (Zhou et al. 2016, eq. 1)."""
    from tfvisrec.vision.attributes import AttributeNetwork
    keras.utils.set_random_seed(3)
    network = AttributeNetwork([3, 4], {"name": "cnnf", "image_size": 32, "top": "gap", "dropout": 0.0})
    images = tf.constant(np.random.default_rng(4).uniform(-1, 1, (2, 32, 32, 3)), tf.float32)
    out = grad_aam.attribute_grad_aam(network, images)
    feature_map = out["feature_map"].numpy().astype(np.float64)
    h, w = feature_map.shape[1:3]
    for a, head in enumerate(network.heads):
        kernel = head.kernel.numpy().astype(np.float64)       # [C, classes]
        logits = feature_map.mean(axis=(1, 2)) @ kernel + head.bias.numpy()
        classes = logits.argmax(axis=1)
        np.testing.assert_array_equal(out["classes"].numpy()[:, a], classes)
        cam = np.maximum(np.einsum("bhwc,cb->bhw", feature_map, kernel[:, classes]), 0.0) / (h * w)
        assert (cam > 0).any()
        np.testing.assert_allclose(out["maps"].numpy()[:, a], cam, rtol=1e-4, atol=1e-7)
