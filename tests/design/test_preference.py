"""Preference maximisation (DVBPR eq. 9-11) and tailoring (eq. 12) on small networks:
the objective against its numpy formula, the ascent raising θ_uᵀΦ above the random starts,
eq. 11's sampling frequencies, and tailoring's L1 falling towards the query."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf
import tf_keras as keras

from tfvisrec.design.preference import PreferenceMaximiser, softmax_sample
from tfvisrec.design.tailoring import mean_l1, tailor
from tfvisrec.models import registry
from tfvisrec.models.base import DataInfo

GAN_SIZE, DVBPR_SIZE, USERS = 16, 32, 5


@pytest.fixture(scope="module")
def maximiser():
    keras.utils.set_random_seed(0)
    info = DataInfo(num_users=USERS, num_items=10, num_categories=3)
    gan = registry.build(registry.new_config("gan", image_size=GAN_SIZE, gan_width=8, latent_dim=8), info)
    dvbpr = registry.build(registry.new_config("dvbpr", image_size=DVBPR_SIZE, fc_width=16, visual_dim=4,
                                               dropout=0.0, init_stddev=1.0), info)
    return PreferenceMaximiser(gan, dvbpr, eta=0.1)


def test_objective_is_eq_10(maximiser):
    z_raw = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32) * 2
    users, categories = np.array([0, 1, 4, 4]), np.array([0, 2, 1, 1], np.int32)
    objective, preference, images = maximiser.objective(tf.constant(users, tf.int64), categories, z_raw)
    generated = maximiser.gan.generator(np.tanh(z_raw), categories, training=False).numpy()
    np.testing.assert_allclose(images, generated, atol=1e-6)
    resized = tf.image.resize(generated, [DVBPR_SIZE, DVBPR_SIZE]).numpy()           # Δ
    phi = maximiser.recommender.backbone(resized, training=False).numpy()
    theta = maximiser.recommender.user_factors.numpy()[users]
    realism = maximiser.gan.discriminator(generated, categories, training=False).numpy()
    np.testing.assert_allclose(preference, np.sum(theta * phi, -1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(objective, np.sum(theta * phi, -1) - 0.1 * (realism - 1) ** 2,
                               rtol=1e-4, atol=1e-5)


def test_maximisation_raises_the_users_preference_over_the_random_starts(maximiser):
    for user, category in ((3, 2),):
        design = maximiser.design(user, category, restarts=8, k=3, steps=30, learning_rate=0.1, seed=user)
        assert design["images"].shape == (3, GAN_SIZE, GAN_SIZE, 3)
        assert np.all(design["preference"] > design["start_preference"]), design
        many = maximiser.random_starts(64, [99, 0])       # better than the best of 64 random z
        random_best = maximiser.preference(tf.fill([64], tf.constant(user, tf.int64)),
                                           maximiser.generate(many, tf.fill([64], category))).numpy().max()
        assert design["preference"].min() > random_best, (design["preference"], random_best)


def test_eq_11_samples_in_proportion_to_the_softmax():
    objective = tf.constant([0.0, np.log(2.0), np.log(5.0)], tf.float32)
    picks = softmax_sample(tf.tile(objective[None], [4000, 1]), 1, [0, 7]).numpy()[:, 0]
    np.testing.assert_allclose(np.bincount(picks, minlength=3) / 4000, [0.125, 0.25, 0.625], atol=0.025)
    first_two = softmax_sample(objective, 3, [3, 7]).numpy()
    assert sorted(first_two) == [0, 1, 2]                  # without replacement


def test_tailoring_fits_the_query_then_follows_the_user(maximiser):
    target_z = np.arctanh(np.random.default_rng(5).uniform(-0.9, 0.9, (1, 8))).astype(np.float32)
    query = maximiser.generate(target_z, tf.constant([1]))[0].numpy()
    starts = maximiser.generate(maximiser.random_starts(6, [0, 2]), tf.fill([6], 1))
    strip = tailor(maximiser, user=2, category=1, query=query, restarts=6, fit_steps=40,
                   design_steps=20, learning_rate=0.1, record_every=10, seed=0)
    assert list(strip["stage"]) == [1] * 4 + [2] * 2 and list(strip["step"]) == [10, 20, 30, 40, 10, 20]
    np.testing.assert_allclose(strip["l1"], mean_l1(strip["images"], query), rtol=1e-6)
    fitted = strip["l1"][3]
    assert fitted < 0.6 * mean_l1(starts.numpy(), query).min()        # L1 (eq. 12) fell
    assert strip["preference"][-1] > strip["preference"][3]             # then the taste moved it
    with pytest.raises(ValueError, match="must be \\[16, 16, 3\\]"):
        tailor(maximiser, 0, 0, np.zeros((8, 8, 3), np.float32))


def test_table_iv_rows(maximiser, tmp_path):
    from tiny_worlds import write_category_image_dataset
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.design import comparison
    dataset = load_dataset(write_category_image_dataset(str(tmp_path / "world"), size=16))
    table = comparison.compare(maximiser, dataset, users=[3], categories=[(2, 2)], k=3,
                               restarts=8, steps=20, learning_rate=0.1)
    assert list(table) == list(comparison.ROWS)
    designed, sampled = table["designed"]["preference"], table["designed_sampled"]["preference"]
    assert designed > table["random_generated"]["preference"] and designed >= sampled - 1e-6
    assert all(0.0 <= row["diversity"] <= 2.0 for row in table.values())
    assert "designed_sampled" in comparison.format_table(table)
