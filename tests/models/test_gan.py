"""The conditional LSGAN (DVBPR §III-C, eq. 7) trained by the shared `fit()` on a tiny world
of 16 px garments whose category shows in their colour: its samples move towards each
category's real colours, a per-epoch sample grid is written, and a stopped run resumes exactly."""
import os

import numpy as np
import pytest
from PIL import Image

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf
import tf_keras as keras

from tfvisrec import metrics
from tfvisrec.data.dataset import load_dataset
from tfvisrec.data.errors import DataError
from tfvisrec.models import model_flags, registry
from tfvisrec.models.base import DataInfo
from tfvisrec.training import building, fit

pytestmark = pytest.mark.xdist_group("gan")
SIZE = 16


def gan_configs(dataset, model_dir, **overrides):
    """configs/gan.cfg at test size: 16 px, narrow nets, 2 epochs of 15 steps."""
    values = dict(image_size=SIZE, latent_dim=16, gan_width=8, learning_rate=0.002, batch_size=16,
                  epochs=2, steps_per_epoch=15, checkpoint_every=7, samples_per_category=4,
                  dataset=dataset, model_dir=str(model_dir), verbose=0)
    values.update(overrides)
    return model_flags.configs_from_flagfile("configs/gan.cfg", **values)


@pytest.fixture(scope="module")
def category_world(tmp_path_factory):
    from tiny_worlds import write_category_image_dataset
    return write_category_image_dataset(str(tmp_path_factory.mktemp("gan") / "world"), size=SIZE)


@pytest.fixture(scope="module")
def trained(category_world, tmp_path_factory):
    run = tmp_path_factory.mktemp("gan") / "straight"
    model, summary = fit(*gan_configs(category_world, run))
    return model, summary, run


def _nearest_real_category(model, dataset):
    """For each category c, the category whose real colour statistics G(·, c) is nearest to."""
    real = model.real_statistics_images(dataset)
    generated = model.samples(64, seed=1)
    return [int(np.argmin([metrics.colour_gap([generated[c]], [real[k]]) for k in range(len(real))]))
            for c in range(len(real))]


def test_training_closes_the_colour_gap_per_category(category_world, trained):
    model, summary, _ = trained
    dataset = load_dataset(category_world)
    untrained = building.build_model(model.config, dataset)
    before, after = untrained.colour_gap(dataset), model.colour_gap(dataset)
    assert summary["validation_metric"] == "negative_colour_gap"
    assert after < 0.65 * before, (before, after)
    assert _nearest_real_category(model, dataset) == [0, 1, 2]      # G(·, c) looks like c
    assert _nearest_real_category(untrained, dataset) != [0, 1, 2]  # ... which it did not


def test_each_epoch_writes_a_sample_grid_and_both_optimizers_are_checkpointed(trained):
    model, summary, run = trained
    assert sorted(os.listdir(run / "samples")) == ["samples-epoch000.png", "samples-epoch001.png"]
    with Image.open(run / "samples" / "samples-epoch001.png") as png:
        width, height = png.size
    scale = 64 // SIZE
    assert height > 3 * SIZE * scale and width > 4 * SIZE * scale     # 3 rows of 4 samples
    reader = tf.train.load_checkpoint(str(run / "ckpt"))
    for name in ("generator_optimizer", "discriminator_optimizer"):
        assert reader.get_tensor(f"{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == summary["steps"]


def test_stopped_run_resumes_exactly(category_world, trained, tmp_path):
    straight_model, straight, _ = trained
    fit(*gan_configs(category_world, tmp_path / "resumed", max_steps=22))   # mid epoch 2, not a checkpoint
    resumed_model, resumed = fit(*gan_configs(category_world, tmp_path / "resumed"))
    assert resumed["resumed_from_step"] == 22 and resumed["steps"] == straight["steps"] == 30
    a = straight_model.generator.weights + straight_model.discriminator.weights
    b = resumed_model.generator.weights + resumed_model.discriminator.weights
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-6, err_msg=x.name)


def test_a_dataset_without_categories_is_refused(low_rank_dataset):
    config = registry.new_config("gan", image_size=SIZE, gan_width=4, latent_dim=4)
    with pytest.raises(ValueError, match="conditioned on the item's category"):
        registry.build(config, DataInfo(num_users=3, num_items=4))
    from tfvisrec.data.category_pipeline import categorised_items
    with pytest.raises(DataError, match="no item categories"):
        categorised_items(load_dataset(low_rank_dataset))


def test_only_adam_trains_it():
    model = registry.build(registry.new_config("gan", image_size=SIZE, gan_width=4, latent_dim=4),
                           DataInfo(num_users=3, num_items=4, num_categories=2))
    with pytest.raises(ValueError, match="--optimizer=adam"):
        model.create_optimizers(lambda: keras.optimizers.SGD(0.1))
