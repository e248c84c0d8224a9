"""`generate` (DVBPR eq. 9-10 in the graph): a DVBPR exported with a GAN answers with PNG
designs whose scores are the in-process preference maximisation's; a bad category or seed is
INVALID_ARGUMENT naming it."""
import io

import numpy as np
import pytest
from PIL import Image

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf
import tf_keras as keras

from tfvisrec.data.dataset import load_dataset
from tfvisrec.export import export_model
from tfvisrec.models import registry
from tfvisrec.serving.design_export import DesignExport, DesignSettings
from tfvisrec.training import building

SETTINGS = DesignSettings(restarts=4, steps=6, learning_rate=0.1, eta=0.5, k=2)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from tiny_worlds import write_category_image_dataset
    root = tmp_path_factory.mktemp("generate")
    dataset = load_dataset(write_category_image_dataset(str(root / "world"), size=16))
    keras.utils.set_random_seed(0)
    gan = building.build_model(registry.new_config("gan", image_size=16, gan_width=8, latent_dim=8), dataset)
    dvbpr = building.build_model(registry.new_config("dvbpr", image_size=32, fc_width=8, visual_dim=4,
                                                     dropout=0.0, init_stddev=1.0), dataset)
    design = DesignExport(gan, dvbpr, dataset.categories, SETTINGS)
    path = export_model(dvbpr, dataset, str(root / "export" / "dvbpr"), top_k=5, design=design)
    return tf.saved_model.load(path), design, dataset


def test_served_designs_are_the_in_process_ones(exported):
    loaded, design, dataset = exported
    out = loaded.signatures["generate"](user=tf.constant(["u001", "u005"]),
                                        category=tf.constant(["bag", "top"]),
                                        seed=tf.constant([3, 4], tf.int64))
    assert out["images"].shape == (2, 2) and out["scores"].shape == (2, 2)
    for row, (user, category, seed) in enumerate([(1, "bag", 3), (5, "top", 4)]):
        mine = design.maximiser.design(user, dataset.categories.index(category), restarts=4, k=2,
                                       steps=6, learning_rate=0.1, seed=seed)
        np.testing.assert_allclose(out["scores"].numpy()[row], mine["preference"], rtol=1e-3, atol=1e-4)
        png = Image.open(io.BytesIO(out["images"].numpy()[row, 0]))
        expected = np.clip(np.round((mine["images"][0] + 1) * 127.5), 0, 255)
        np.testing.assert_allclose(np.asarray(png), expected, atol=2)


@pytest.mark.parametrize("category, seed, message", [("hats", 0, "hats"), ("bag", -1, "seed must be")])
def test_bad_category_or_seed_is_named(exported, category, seed, message):
    loaded, _, _ = exported
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["generate"](user=tf.constant(["u001"]), category=tf.constant([category]),
                                      seed=tf.constant([seed], tf.int64))
