"""`gan`: DVBPR's category-conditional least-squares GAN, trained on the catalogue's photos.

Kang, Fang, Wang & McAuley 2017 (ICDM), §III-C: a generator G(z, c) and a discriminator
D(x, c), both conditioned on the item's top-level category c (one-hot), trained with the
LSGAN objective (eq. 7):

    min_D  E_x[(D(x, c) − 1)²] + E_z[D(G(z, c), c)²]          min_G  E_z[(D(G(z, c), c) − 1)²]

with z uniform in [-1, 1]^100. The networks are the conditional DCGAN of
`tfvisrec.vision.conditional_gan`; the images are the items' photos as every image model
here sees them (padded to a square, `image_size`, in [-1, 1]), flipped left-right at random,
and c is the dataset's `category` column (items without one are left out; a dataset without
categories is refused, naming it). Each `train_step` updates D and then G, each with its own
Adam (β1 = `adam_beta1`, DCGAN's 0.5), so both are checkpointed and a resumed run continues
exactly (z of a step is drawn from the batch's items and the step number).

After each epoch the trainer records a grid of samples, one row per category from fixed z,
and validates by the colour gap (`metrics.colour_gap`: per category, the distance between
the generated and the real images' per-channel mean and spread), negated so higher is better.
The design half (preference maximisation, tailoring) lives in `tfvisrec.design`.
"""
import dataclasses
from typing import Dict, List

import numpy as np
import tensorflow as tf
import tf_keras as keras

from tfvisrec import image_sheets, losses, metrics
from tfvisrec.config import ModelConfig, field
from tfvisrec.data import images as image_lib, schema
from tfvisrec.data.category_pipeline import categorised_items
from tfvisrec.models.base import Recommender
from tfvisrec.models.registry import register
from tfvisrec.vision.cnn_config import image_size_field
from tfvisrec.vision.conditional_gan import ConditionalDiscriminator, ConditionalGenerator

GENERATOR_OPTIMIZER = "generator_optimizer"
DISCRIMINATOR_OPTIMIZER = "discriminator_optimizer"
VALIDATION_IMAGES = 64     # real and generated images per category in the colour gap


@dataclasses.dataclass
class GANConfig(ModelConfig):
    """The conditional LSGAN: image size, noise size, network width, Adam's β1, samples."""

    image_size: int = image_size_field()
    latent_dim: int = field(100, "GAN: size of the noise z, uniform in [-1, 1]^Z (100 in DVBPR).")
    gan_width: int = field(64, "GAN: channels of the generator's last hidden layer and the discriminator's first, doubled at each 2x size step (64 in DCGAN).")
    adam_beta1: float = field(0.5, "GAN: Adam's beta1 for the generator and the discriminator (0.5 in DCGAN; Keras' default 0.9 makes GAN training oscillate).")
    samples_per_category: int = field(8, "GAN: samples of each category in the per-epoch PNG grid (model_dir/samples).")


@register("gan")
class ConditionalLSGAN(Recommender):
    """G(z, c), D(x, c) trained by LSGAN (DVBPR eq. 7), D then G in each step."""

    item_feature_keys = (schema.ITEM, schema.IMAGE, schema.CATEGORY)
    config_class = GANConfig
    factorised = False
    train_pipeline = "category_images"
    validation_metric = "negative_colour_gap"

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        if data_info.num_categories < 1:
            raise ValueError("the gan is conditioned on the item's category, but the dataset has "
                             "no categories (ingest items.csv with a `category` column)")
        if not 0.0 <= float(config.adam_beta1) < 1.0:
            raise ValueError(f"adam_beta1 must be in [0, 1), got {config.adam_beta1}")
        self.num_categories = int(data_info.num_categories)
        self.latent_dim = int(config.latent_dim)
        self.generator = ConditionalGenerator(config.image_size, self.num_categories, self.latent_dim,
                                              width=config.gan_width, seed=config.seed)
        self.discriminator = ConditionalDiscriminator(config.image_size, self.num_categories,
                                                      width=config.gan_width, seed=config.seed)
        self._real_statistics = None

    def build_variables(self) -> None:
        """Both networks build their variables when constructed."""

    def prepare(self, dataset) -> None:
        categorised_items(dataset)    # a clear DataError before training when c is unknown

    # ---- training ----------------------------------------------------------------------
    def create_optimizers(self, make_optimizer) -> Dict[str, keras.optimizers.Optimizer]:
        """Two Adams at the run's --learning_rate, β1 = adam_beta1 (DCGAN's setting)."""
        out = {}
        for name, network in ((DISCRIMINATOR_OPTIMIZER, self.discriminator),
                              (GENERATOR_OPTIMIZER, self.generator)):
            optimizer = make_optimizer()
            if not isinstance(optimizer, keras.optimizers.Adam):
                raise ValueError(f"the gan trains with Adam (DVBPR §III-C): use --optimizer=adam, "
                                 f"not {type(optimizer).__name__}")
            optimizer.beta_1 = float(self.config.adam_beta1)
            optimizer.build(network.trainable_variables)
            out[name] = optimizer
        return out

    def noise(self, count, seed) -> tf.Tensor:
        """z uniform in [-1, 1]^Z, [count, Z], from a stateless seed [2]."""
        return tf.random.stateless_uniform([count, self.latent_dim], seed, -1.0, 1.0)

    def train_step(self, batch, optimizers) -> tf.Tensor:
        """One LSGAN step (eq. 7): D on real and generated images, then G through the new D.
        z is drawn from the batch's item ids and the step, so a resumed run draws the same z."""
        real, categories = batch[schema.IMAGE], batch[schema.CATEGORY]
        ids = tf.cast(batch[schema.ITEM], tf.int64)
        d_opt, g_opt = optimizers[DISCRIMINATOR_OPTIMIZER], optimizers[GENERATOR_OPTIMIZER]
        seed = tf.stack([tf.reduce_sum(ids * 7919 + 13) % 2_147_483_647, tf.cast(d_opt.iterations, tf.int64)])
        z = self.noise(tf.shape(ids)[0], seed)
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        with tf.GradientTape() as tape:
            fake = self.generator(z, categories, training=True)
            d_loss = losses.lsgan_discriminator_loss(self.discriminator(real, categories, training=True),
                                                     self.discriminator(fake, categories, training=True))
            scaled = d_loss / replicas
        d_vars = self.discriminator.trainable_variables
        d_opt.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars))
        with tf.GradientTape() as tape:
            fake = self.generator(z, categories, training=True)
            g_loss = losses.lsgan_generator_loss(self.discriminator(fake, categories, training=True))
            scaled = g_loss / replicas
        g_vars = self.generator.trainable_variables
        g_opt.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars))
        return d_loss + g_loss

    def score(self, users, items, training=False):
        raise TypeError("the gan does not score users; it generates items (tfvisrec.design "
                        "maximises a trained DVBPR's preference over its images)")

    # ---- samples and validation --------------------------------------------------------
    def samples(self, per_category: int, seed: int = 0) -> np.ndarray:
        """G(z, c) in inference mode for `per_category` fixed z per category →
        float [categories, per_category, S, S, 3] in [-1, 1] (the same z for every c)."""
        z = self.noise(per_category, [int(self.config.seed), seed])
        z = tf.tile(z, [self.num_categories, 1])
        categories = tf.repeat(tf.range(self.num_categories), per_category)
        images = self.generator(z, categories, training=False).numpy()
        return images.reshape((self.num_categories, per_category) + images.shape[1:])

    def real_statistics_images(self, dataset) -> List[np.ndarray]:
        """Up to VALIDATION_IMAGES real images of each category (a seeded sample, decoded
        once per model and kept): float [n_c, S, S, 3] in [-1, 1]; empty for an unused category."""
        if self._real_statistics is None:
            items = categorised_items(dataset)
            rng = np.random.default_rng(int(self.config.seed))
            chosen = []
            for c in range(self.num_categories):
                of_c = items[dataset.category[items] == c]
                chosen.append(rng.permutation(of_c)[:VALIDATION_IMAGES])
            wanted = np.concatenate(chosen)
            jpegs = dataset.image_bytes()
            decoded = image_lib.decode_batch(tf.constant([jpegs[i] for i in wanted]),
                                             self.image_size).numpy()
            bounds = np.cumsum([0] + [len(c) for c in chosen])
            self._real_statistics = [decoded[bounds[c]:bounds[c + 1]] for c in range(self.num_categories)]
        return self._real_statistics

    def colour_gap(self, dataset) -> float:
        """`metrics.colour_gap` over the categories that have real images, fixed z."""
        real = self.real_statistics_images(dataset)
        generated = self.samples(VALIDATION_IMAGES, seed=1)
        used = [c for c in range(self.num_categories) if len(real[c])]
        return metrics.colour_gap([generated[c] for c in used], [real[c] for c in used])

    def validation_score(self, dataset) -> float:
        return -self.colour_gap(dataset)

    def epoch_images(self, dataset) -> Dict[str, np.ndarray]:
        """One row of `samples_per_category` images per category (fixed z: the rows of
        successive epochs compare), labelled with the category's name."""
        images = image_sheets.to_uint8(self.samples(int(self.config.samples_per_category)))
        scale = max(1, 64 // self.image_size)
        return {"samples": image_sheets.grid(images, row_labels=dataset.categories, scale=scale)}
