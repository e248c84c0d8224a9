"""The conditional DCGAN networks (DVBPR §III-C): sizes, ranges and that c conditions both."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf

from tfvisrec.vision.conditional_gan import (ConditionalDiscriminator, ConditionalGenerator,
                                             check_image_size)


@pytest.mark.parametrize("size", [16, 32])
def test_generator_makes_conditioned_images_the_discriminator_reads(size):
    generator = ConditionalGenerator(size, num_categories=3, latent_dim=10, width=8)
    discriminator = ConditionalDiscriminator(size, num_categories=3, width=8)
    z = tf.random.stateless_uniform([4, 10], [1, 2], -1.0, 1.0)
    images = generator(z, tf.constant([0, 1, 2, 0]), training=False).numpy()
    assert images.shape == (4, size, size, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0
    other = generator(z, tf.constant([1, 2, 0, 0]), training=False).numpy()
    assert np.abs(images[:3] - other[:3]).max() > 1e-4      # the category changes G's image
    np.testing.assert_allclose(images[3], other[3], atol=1e-6)  # the same (z, c), the same image
    scores = discriminator(images, tf.constant([0, 1, 2, 0])).numpy()
    relabelled = discriminator(images, tf.constant([1, 2, 0, 0])).numpy()
    assert scores.shape == (4,) and np.abs(scores[:3] - relabelled[:3]).max() > 1e-6


def test_stages_and_bad_sizes():
    assert check_image_size(64) == 4 and check_image_size(128) == 5
    for bad in (0, 4, 48, 100):
        with pytest.raises(ValueError, match="power of two"):
            check_image_size(bad)
