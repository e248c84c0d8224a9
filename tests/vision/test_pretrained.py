"""Loading fashion-pretrained backbones: run folders, checkpoints, .h5 files, clear mismatches."""
import os

import numpy as np
import pytest
import tensorflow as tf

from tfvisrec.data.errors import DataError
from tfvisrec.vision import backbones, pretrained

pytestmark = pytest.mark.xdist_group("vision_trained_run")   # share one training run


def _images(size, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (3, size, size, 3)), tf.float32)


def test_a_run_folder_gives_the_best_checkpoint_and_the_whole_classifier(trained_run, catalogue):
    model_dir, trained = trained_run
    prefix = pretrained.resolve_checkpoint(model_dir)
    assert os.path.dirname(prefix) == os.path.join(model_dir, "best")
    assert pretrained.resolve_checkpoint(prefix) == prefix
    loaded = pretrained.load_attribute_classifier(model_dir)
    assert loaded.attribute_values == catalogue.attribute_values
    images = _images(32)
    for a, b in zip(loaded(images), trained(images)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_a_run_trained_with_a_relative_model_dir_before_the_fix_still_gives_its_best(trained_run, tmp_path):
    import shutil
    model_dir, _ = trained_run
    copy = str(tmp_path / "run")
    shutil.copytree(model_dir, copy)
    name = os.path.basename(pretrained.resolve_checkpoint(model_dir))
    with open(os.path.join(copy, "best", "checkpoint"), "w") as f:
        f.write(f'model_checkpoint_path: "../../../{name}"\n')
    assert pretrained.resolve_checkpoint(copy) == os.path.join(copy, "best", name)


def test_pretrained_trunk_under_a_fresh_head(trained_run):
    model_dir, trained = trained_run
    backbone = pretrained.build_pretrained_backbone(model_dir, output_dim=7, dropout=0.1, weight_decay=1e-3)
    assert backbone.spec["fc_width"] == 32 and backbone.spec["image_size"] == 32
    assert backbone.spec["dropout"] == 0.1 and backbone(_images(32)).shape == (3, 7)
    np.testing.assert_allclose(backbone.penultimate(_images(32)).numpy(),
                               trained.backbone.penultimate(_images(32)).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(DataError, match="image_size is 32 in these weights, not 64"):
        pretrained.build_pretrained_backbone(model_dir, image_size=64)


def test_a_mismatched_backbone_is_named_by_layer(trained_run):
    model_dir, _ = trained_run
    wider = backbones.build_backbone("cnnf", 32, fc_width=48)
    with pytest.raises(DataError, match=r"layer 'fc6' kernel is \[1024, 32\] there, \[1024, 48\] here"):
        pretrained.load_backbone_weights(wider, model_dir)


def test_keras_h5_weights_by_layer_name(tmp_path):
    source = backbones.build_backbone("cnnf", 32, output_dim=3, fc_width=16)
    path = str(tmp_path / "cnnf.h5")
    source.trunk.save_weights(path)
    loaded = pretrained.build_pretrained_backbone(path, output_dim=5, name="cnnf", image_size=32, fc_width=16)
    np.testing.assert_allclose(loaded.penultimate(_images(32)).numpy(), source.penultimate(_images(32)).numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(DataError, match="give the backbone name and image_size"):
        pretrained.build_pretrained_backbone(path)
    same_names = backbones.build_backbone("alexnet", 32, fc_width=16)   # conv1-5, fc6, fc7 too
    with pytest.raises(DataError, match=r"weights do not fit the alexnet backbone \(Shape mismatch"):
        pretrained.load_backbone_weights(same_names, path)
    other = backbones.build_backbone("resnet50", 32)
    with pytest.raises(DataError, match="layers of the resnet50 backbone are not in this weights file"):
        pretrained.load_backbone_weights(other, path)


def test_a_backbone_saved_on_its_own_and_checkpoints_without_one(tmp_path):
    source = backbones.build_backbone("resnet50", 32, output_dim=2)
    source.save_weights(str(tmp_path / "own" / "ckpt"))
    target = backbones.build_backbone("resnet50", 32, output_dim=4)
    pretrained.load_backbone_weights(target, str(tmp_path / "own"))
    np.testing.assert_allclose(target.penultimate(_images(32)).numpy(), source.penultimate(_images(32)).numpy(),
                               rtol=1e-4, atol=1e-5)
    tf.train.Checkpoint(step=tf.Variable(1)).write(str(tmp_path / "plain" / "ckpt"))
    with pytest.raises(DataError, match="holds no image backbone"):
        pretrained.load_backbone_weights(target, str(tmp_path / "plain" / "ckpt"))
    two = tf.Module()
    two.a, two.b = source, backbones.build_backbone("cnnf", 16, fc_width=8)
    tf.train.Checkpoint(model=two).write(str(tmp_path / "two" / "ckpt"))
    with pytest.raises(DataError, match="several backbones"):
        pretrained.load_backbone_weights(target, str(tmp_path / "two" / "ckpt"))
    for bad in ("", str(tmp_path / "missing"), str(tmp_path)):
        with pytest.raises(DataError):
            pretrained.resolve_checkpoint(bad)


def test_a_run_folder_names_its_cnn_top_and_conv1_stride(tmp_path):
    """A recommender's run (config.json beside its checkpoints) rebuilds the backbone it trained:
    a gap top and a given conv1 stride come from its config."""
    import json
    source = backbones.build_backbone("cnnf", 32, output_dim=0, fc_width=8, conv1_stride=1, top="gap")
    tf.train.Checkpoint(model=source).save(str(tmp_path / "best" / "ckpt"))
    (tmp_path / "config.json").write_text(json.dumps({"model": {
        "backbone": "cnnf", "image_size": 32, "fc_width": 8, "conv1_stride": 1, "cnn_top": "gap"}}))
    loaded = pretrained.build_pretrained_backbone(str(tmp_path))
    assert loaded.spec["top"] == "gap" and loaded.spec["conv1_stride"] == 1
    np.testing.assert_allclose(loaded.penultimate(_images(32)).numpy(), source.penultimate(_images(32)).numpy(),
                               rtol=1e-5, atol=1e-6)
