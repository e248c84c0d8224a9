"""SAERS' Semantic Extraction Network on a tiny AttributeNetwork: the split at the feature map,
Grad-AAM against one whole-network tape, the composed outputs, tf.function and SavedModel."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfvisrec.vision import attributes, grad_aam, regions, roi, semantic_extraction

SIZE = 32
CARDINALITIES = (3, 2, 4)


@pytest.fixture(scope="module")
def network():
    keras.utils.set_random_seed(0)
    return attributes.AttributeNetwork(CARDINALITIES, {"name": "cnnf", "image_size": SIZE, "fc_width": 16,
                                                       "dropout": 0.0, "weight_decay": 0.0})


def _images(batch=2, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (batch, SIZE, SIZE, 3)), tf.float32)


@pytest.mark.parametrize("layer", ["", "conv2"])
def test_grad_aam_of_the_split_network_matches_a_tape_over_the_whole_network(network, layer):
    images = _images()
    trunk = network.backbone.trunk
    whole = keras.Model(trunk.input, [trunk.get_layer(layer or "conv5").output, trunk.output["penultimate"]])
    with tf.GradientTape(persistent=True) as tape:
        activations, penultimate = whole(images)
        logits = network.head_logits(penultimate)
        predicted = [np.argmax(x.numpy(), axis=1) for x in logits]
        scores = [tf.reduce_sum(tf.gather(x, c, batch_dims=1)) for x, c in zip(logits, predicted)]
    feature_map = activations.numpy()
    alpha = np.stack([tape.gradient(s, activations).numpy().mean(axis=(1, 2)) for s in scores], axis=1)
    maps = np.maximum(np.einsum("bac,bhwc->bahw", alpha, feature_map), 0.0)

    out = grad_aam.attribute_grad_aam(network, images, layer=layer)
    assert out["maps"].shape[2:] == ((8, 8) if layer else (4, 4))     # conv2 is below pool2 at 32 px
    np.testing.assert_allclose(out["feature_map"].numpy(), feature_map, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["classes"].numpy(), np.stack(predicted, axis=1))
    for got, expected in zip(out["logits"], network(images)):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["channel_weights"].numpy(), alpha, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(out["maps"].numpy(), maps, rtol=1e-4, atol=1e-6)


def test_regions_of_an_earlier_layer_pool_the_chosen_layer_in_its_boxes(network):
    images = _images(batch=2, seed=3)
    out = semantic_extraction.extract_attribute_regions(network, images, grad_aam_layer="conv2")
    np.testing.assert_allclose(out["maps"].numpy(), grad_aam.attribute_grad_aam(network, images, layer="conv2")["maps"].numpy(),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out["boxes"].numpy(), regions.region_boxes(out["maps"], size=SIZE).numpy())
    same_layer = semantic_extraction.extract_attribute_regions(network, images, grad_aam_layer="conv2", roi_layer="conv2")
    for roi_layer, pooled in (("", out["region_features"]), ("conv2", same_layer["region_features"])):
        expected = roi.roi_pool(network.backbone.feature_map_model(roi_layer)(images), out["boxes"], 3, "average")
        np.testing.assert_allclose(pooled.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no layer 'fc6' with a \\[B, h, w, C\\] output.*conv1, pool1, conv2"):
        grad_aam.attribute_grad_aam(network, images, layer="fc6")


def test_composed_outputs_shapes_boxes_and_probabilities(network):
    images = _images(batch=3, seed=1)
    out = semantic_extraction.extract_attribute_regions(network, images, grid_size=2, pooling="max")
    assert set(out) == {"maps", "boxes", "region_features", "classes", "probabilities", "class_probabilities"}
    assert out["maps"].shape == (3, 3, 4, 4)                  # cnnf at 32 px: a 4×4×256 conv5
    assert out["boxes"].shape == (3, 3, 4) and out["region_features"].shape == (3, 3, 256)
    assert out["classes"].shape == (3, 3) and out["classes"].dtype == tf.int32
    assert out["probabilities"].shape == (3, 3, max(CARDINALITIES))
    boxes = out["boxes"].numpy()
    assert (boxes >= 0).all() and (boxes <= 1).all()
    assert (boxes[..., 0] < boxes[..., 2]).all() and (boxes[..., 1] < boxes[..., 3]).all()
    assert (boxes != [0, 0, 1, 1]).any(axis=-1).any()              # some map has a proper region
    np.testing.assert_allclose(boxes, regions.region_boxes(out["maps"], size=SIZE).numpy())
    feature_map = network.backbone.feature_map_model()(images)
    np.testing.assert_allclose(out["region_features"].numpy(),
                               roi.roi_pool(feature_map, boxes, 2, "max").numpy(), rtol=1e-5, atol=1e-6)
    probabilities = out["probabilities"].numpy()
    for a, (logits, n) in enumerate(zip(network(images), CARDINALITIES)):
        x = logits.numpy().astype(np.float64)
        softmax = np.exp(x - x.max(axis=1, keepdims=True))
        np.testing.assert_allclose(probabilities[:, a, :n], softmax / softmax.sum(axis=1, keepdims=True), rtol=1e-5)
        assert (probabilities[:, a, n:] == 0).all()
        np.testing.assert_array_equal(out["classes"].numpy()[:, a], x.argmax(axis=1))
        np.testing.assert_allclose(out["class_probabilities"].numpy()[:, a],
                                   (softmax / softmax.sum(axis=1, keepdims=True)).max(axis=1), rtol=1e-5)


def test_runs_in_a_tf_function_with_an_input_signature_and_in_a_saved_model(network, tmp_path):
    class Explainer(tf.Module):
        def __init__(self, network):
            super().__init__()
            self.network = network

        @tf.function(input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)])
        def extract(self, images):
            return semantic_extraction.extract_attribute_regions(self.network, images)

    images = _images(batch=2, seed=2)
    eager = semantic_extraction.extract_attribute_regions(network, images)
    explainer = Explainer(network)
    traced = explainer.extract(images)
    tf.saved_model.save(explainer, str(tmp_path / "explainer"), signatures={"serving_default": explainer.extract})
    served = tf.saved_model.load(str(tmp_path / "explainer")).signatures["serving_default"](images=images)
    for name, expected in eager.items():
        np.testing.assert_allclose(traced[name].numpy(), expected.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(served[name].numpy(), expected.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_bad_images_are_refused(network):
    with pytest.raises(ValueError, match=r"images must be \[B, S, S, 3\]"):
        semantic_extraction.extract_attribute_regions(network, tf.zeros([SIZE, SIZE, 3]))
