"""Backbones: shapes at 64 and 224 px, CNN-F as DVBPR's table, numerics against numpy."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfvisrec.vision import backbones


def _images(size, batch=2, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)), tf.float32)


@pytest.mark.parametrize("name, feature_dim, feature_map", [
    ("cnnf", 48, (8, 8, 256)), ("alexnet", 48, (8, 8, 256)), ("resnet50", 2048, (2, 2, 2048))])
def test_shapes_at_64px(name, feature_dim, feature_map):
    backbone = backbones.build_backbone(name, 64, output_dim=10, fc_width=48)
    ends = backbone.endpoints(_images(64))
    assert ends["output"].shape == (2, 10)
    assert ends["penultimate"].shape == (2, feature_dim)
    assert tuple(ends["feature_map"].shape[1:]) == feature_map
    assert backbone.feature_dim == feature_dim
    assert backbone.feature_map_model()(_images(64)).shape[1:] == feature_map


@pytest.mark.parametrize("name, fc_width, feature_map", [
    ("cnnf", 4096, (14, 14, 256)), ("alexnet", 64, (14, 14, 256)), ("resnet50", 0, (7, 7, 2048))])
def test_shapes_at_224px_batch_of_one(name, fc_width, feature_map):
    backbone = backbones.build_backbone(name, 224, output_dim=5, fc_width=fc_width or 4096)
    ends = backbone.endpoints(_images(224, batch=1))
    assert ends["output"].shape == (1, 5)
    assert tuple(ends["feature_map"].shape[1:]) == feature_map


def test_cnnf_matches_the_dvbpr_table_at_224px():
    backbone = backbones.cnnf(224, output_dim=100)
    layers = {layer.name: layer for layer in backbone.trunk.layers}
    expected = {"conv1": (64, 11, 4), "conv2": (256, 5, 1), "conv3": (256, 3, 1),
                "conv4": (256, 3, 1), "conv5": (256, 3, 1)}
    for name, (filters, kernel, stride) in expected.items():
        conv = layers[name]
        assert (conv.filters, conv.kernel_size, conv.strides) == (filters, (kernel, kernel), (stride, stride)), name
        assert conv.activation is keras.activations.relu
    for name in ("pool1", "pool2", "pool5"):
        assert layers[name].pool_size == (2, 2) and layers[name].strides == (2, 2)
    conv_order = [layer.name for layer in backbone.trunk.layers if isinstance(layer, keras.layers.Conv2D)]
    assert conv_order == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    # DVBPR's wd1 is [7*7*256, 4096], then 4096 → 4096 → K; dropout 0.5 after full6 and full7.
    assert layers["fc6"].kernel.shape == (7 * 7 * 256, 4096)
    assert layers["fc7"].kernel.shape == (4096, 4096)
    assert backbone.head.kernel.shape == (4096, 100)
    assert layers["drop6"].rate == 0.5 and backbone.head_dropout.rate == 0.5


def test_small_inputs_halve_the_conv1_stride_and_never_reach_zero():
    assert backbones.cnnf(64, output_dim=0, fc_width=8).spec["conv1_stride"] == 2
    assert backbones.cnnf(128, output_dim=0, fc_width=8).spec["conv1_stride"] == 4
    tiny = backbones.cnnf(8, output_dim=3, fc_width=8)
    assert tuple(tiny.endpoints(_images(8))["feature_map"].shape[1:3]) == (1, 1)
    with pytest.raises(ValueError, match="resnet50 needs image_size >= 32"):
        backbones.resnet50(16)
    with pytest.raises(ValueError, match="unknown backbone"):
        backbones.build_backbone("vgg16", 64)


def test_a_given_conv1_stride_sets_the_map_size_and_comes_from_the_cnn_config():
    from tfvisrec.vision.cnn_config import CNNConfig
    config = CNNConfig(image_size=128, fc_width=8, conv1_stride=2)
    backbone = backbones.build_backbone(**config.backbone_spec())
    assert backbone.spec["conv1_stride"] == 2
    assert tuple(backbone.endpoints(_images(128))["feature_map"].shape[1:3]) == (16, 16)
    default = backbones.build_backbone(**CNNConfig(image_size=128, fc_width=8).backbone_spec())
    assert tuple(default.endpoints(_images(128))["feature_map"].shape[1:3]) == (8, 8)
    with pytest.raises(ValueError, match="conv1_stride must be positive"):
        backbones.cnnf(64, conv1_stride=-1)
    with pytest.raises(ValueError, match="resnet50 has none"):
        backbones.build_backbone("resnet50", 64, conv1_stride=2)


@pytest.mark.parametrize("top, reduce", [("gap", np.mean), ("gmp", np.max)])
def test_a_pooling_top_pools_the_last_conv_and_comes_from_the_cnn_config(top, reduce):
    from tfvisrec.vision.cnn_config import CNNConfig
    for name in ("cnnf", "alexnet"):
        backbone = backbones.build_backbone(**CNNConfig(image_size=64, backbone=name, cnn_top=top).backbone_spec())
        assert backbone.spec["top"] == top and backbone.feature_dim == 256
        assert not {"fc6", "fc7", "pool5"} & {layer.name for layer in backbone.trunk.layers}
        out = backbone.trunk(_images(64))
        np.testing.assert_allclose(out["penultimate"].numpy(), reduce(out["feature_map"].numpy(), axis=(1, 2)),
                                   rtol=1e-5, atol=1e-6)
        assert backbones.build_backbone(**backbone.spec).spec == backbone.spec
    assert "top" not in CNNConfig(image_size=64).backbone_spec()   # "fc": specs as before the setting
    with pytest.raises(ValueError, match="unknown top 'dense'"):
        backbones.cnnf(64, top="dense")
    with pytest.raises(ValueError, match="resnet50 has none"):
        backbones.build_backbone("resnet50", 64, top="gap")


def test_no_head_outputs_penultimate_and_spec_rebuilds_the_same_architecture():
    backbone = backbones.build_backbone("cnnf", 32, output_dim=0, fc_width=16, dropout=0.3, weight_decay=1e-3)
    images = _images(32)
    np.testing.assert_allclose(backbone(images).numpy(), backbone.penultimate(images).numpy())
    twin = backbones.build_backbone(**backbone.spec)
    assert [v.shape for v in twin.weights] == [v.shape for v in backbone.weights]
    twin.set_weights(backbone.get_weights())
    np.testing.assert_allclose(twin(images).numpy(), backbone(images).numpy(), rtol=1e-5, atol=1e-6)


def test_output_is_the_head_of_the_penultimate_features_and_grad_cam_can_differentiate():
    backbone = backbones.build_backbone("cnnf", 32, output_dim=4, fc_width=16)
    images = _images(32)
    with tf.GradientTape() as tape:
        ends = backbone.endpoints(images)
        target = tf.reduce_sum(ends["output"][:, 1])
    grads = tape.gradient(target, ends["feature_map"])
    assert grads is not None and grads.shape == ends["feature_map"].shape
    kernel, bias = backbone.head.get_weights()
    np.testing.assert_allclose(ends["output"].numpy(), ends["penultimate"].numpy() @ kernel + bias,
                               rtol=1e-5, atol=1e-5)


def test_weight_penalty_is_half_squared_norm_of_every_kernel():
    backbone = backbones.build_backbone("alexnet", 16, output_dim=3, fc_width=8, weight_decay=0.01)
    kernels = [w for w in backbone.get_weights() if w.ndim > 1]
    assert len(kernels) == 8   # conv1-5, fc6, fc7, head
    expected = 0.01 * sum(0.5 * np.sum(np.square(k.astype(np.float64))) for k in kernels)
    np.testing.assert_allclose(backbone.weight_penalty().numpy(), expected, rtol=1e-5)
    free = backbones.build_backbone("cnnf", 16, output_dim=3, fc_width=8, weight_decay=0.0)
    assert float(free.weight_penalty()) == 0.0


def test_local_response_normalization_against_numpy():
    x = np.random.default_rng(1).normal(size=(2, 3, 3, 7)).astype(np.float32) * 30
    out = backbones.LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)(x).numpy()
    expected = np.empty_like(x)
    for c in range(7):
        window = x[..., max(0, c - 2):c + 3]
        expected[..., c] = x[..., c] / (2.0 + 1e-4 * np.sum(window ** 2, axis=-1)) ** 0.75
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_caffe_preprocessing_against_numpy():
    x = np.random.default_rng(2).uniform(-1, 1, (1, 2, 2, 3)).astype(np.float32)
    out = backbones.CaffePreprocessing()(x).numpy()
    expected = (x[..., ::-1] + 1.0) * 127.5 - np.array([103.939, 116.779, 123.68], np.float32)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", ["cnnf", "resnet50"])
def test_feature_map_tail_maps_the_feature_map_to_the_penultimate_features_with_shared_weights(name):
    backbone = backbones.build_backbone(name, 32, output_dim=3, fc_width=16, dropout=0.0)
    ends = backbone.endpoints(_images(32))
    tail = backbone.feature_map_tail()
    np.testing.assert_allclose(tail(ends["feature_map"]).numpy(), ends["penultimate"].numpy(), rtol=1e-5, atol=1e-6)
    trunk_weights = {v.ref() for v in backbone.trunk.weights}
    assert all(v.ref() in trunk_weights for v in tail.weights)
    assert len(tail.weights) == (4 if name != "resnet50" else 0)     # fc6, fc7 | the average pool
