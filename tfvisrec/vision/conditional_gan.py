"""Category-conditional DCGAN networks: the generator G(z, c) and discriminator D(x, c).

DVBPR's design half (Kang et al. 2017, §III-C, Table III) trains a conditional GAN whose
condition c is the item's top-level category (one-hot), with the DCGAN architecture
(Radford et al. 2016) and the least-squares losses of LSGAN (Mao et al. 2017; DVBPR eq. 7,
in `tfvisrec.losses`). As in the DCGAN code the paper builds on, the condition is joined to
every layer's input: concatenated to z and to the flattened features, and broadcast as C
constant channels beside each feature map.

    G: z ∈ [-1, 1]^Z, c → dense 4×4×(W·2^(n−1)) → n × [concat c, 5×5 transposed conv /2]
       → tanh image [S, S, 3] in [-1, 1]            (n = log2(S / 4); BN + ReLU inside)
    D: image, c → n × [concat c, 5×5 conv stride 2] → flatten, concat c → one linear output
                                                     (BN from the second conv, LeakyReLU 0.2)

S is any power of two from 8 up (64 here by default, 128 in the paper); W is the width of
G's last hidden and D's first layer (64 in DCGAN). D's output is unbounded, as LSGAN wants.
"""
import math

import tensorflow as tf
import tf_keras as keras


def check_image_size(image_size: int) -> int:
    """The number of 2× up/down-sampling stages between 4×4 and `image_size`."""
    stages = math.log2(image_size / 4) if image_size > 0 else -1
    if image_size < 8 or stages != int(stages):
        raise ValueError(f"the GAN's image_size must be a power of two ≥ 8 (e.g. 32, 64, 128), "
                         f"got {image_size}")
    return int(stages)


def _with_condition_maps(features, condition):
    """features [B, h, w, F], condition [B, C] → [B, h, w, F + C] (c broadcast over the map)."""
    shape = tf.shape(features)
    maps = tf.tile(condition[:, None, None, :], [1, shape[1], shape[2], 1])
    return tf.concat([features, tf.cast(maps, features.dtype)], axis=-1)


def leaky_relu(features, alpha=0.2):
    """LeakyReLU(α) as max(x, αx) (α < 1), not `tf.nn.leaky_relu`: grappler's remapper fuses
    conv + bias + LeakyRelu although LeakyReluGrad still reads the bias's output, fails on the
    whole training graph ("remapper failed: … fanout … exist for missing node") and prints that
    as an error on every run."""
    return tf.maximum(features, alpha * features)


def _init(seed):
    return keras.initializers.RandomNormal(stddev=0.02, seed=seed)   # DCGAN's initialiser


class ConditionalGenerator(keras.Model):
    """G(z, c): noise [B, Z] and category indices [B] → images [B, S, S, 3] in [-1, 1]."""

    def __init__(self, image_size: int, num_categories: int, latent_dim: int = 100,
                 width: int = 64, seed: int = 0, **kwargs):
        super().__init__(name=kwargs.pop("name", "generator"), **kwargs)
        stages = check_image_size(image_size)
        self.image_size, self.num_categories = int(image_size), int(num_categories)
        self.latent_dim = int(latent_dim)
        self.base_channels = int(width) * 2 ** (stages - 1)
        self.project = keras.layers.Dense(16 * self.base_channels, use_bias=False,
                                          kernel_initializer=_init(seed), name="project")
        self.project_norm = keras.layers.BatchNormalization(momentum=0.9, name="project_bn")
        self.ups, self.norms = [], []
        for k in range(stages):
            last = k == stages - 1
            channels = 3 if last else int(width) * 2 ** (stages - 2 - k)
            self.ups.append(keras.layers.Conv2DTranspose(
                channels, 5, strides=2, padding="same", use_bias=last,
                kernel_initializer=_init(seed + 1 + k), name=f"up{k + 1}"))
            if not last:
                self.norms.append(keras.layers.BatchNormalization(momentum=0.9, name=f"up{k + 1}_bn"))
        self(tf.zeros([1, self.latent_dim]), tf.zeros([1], tf.int32))

    def call(self, z, categories, training=False):
        condition = tf.one_hot(categories, self.num_categories)
        h = self.project(tf.concat([z, condition], axis=-1))
        h = tf.nn.relu(self.project_norm(h, training=training))
        h = tf.reshape(h, [-1, 4, 4, self.base_channels])
        for k, up in enumerate(self.ups):
            h = up(_with_condition_maps(h, condition))
            if k < len(self.norms):
                h = tf.nn.relu(self.norms[k](h, training=training))
        return tf.tanh(h)


class ConditionalDiscriminator(keras.Model):
    """D(x, c): images [B, S, S, 3] in [-1, 1] and category indices [B] → scores [B]."""

    def __init__(self, image_size: int, num_categories: int, width: int = 64, seed: int = 0,
                 **kwargs):
        super().__init__(name=kwargs.pop("name", "discriminator"), **kwargs)
        stages = check_image_size(image_size)
        self.image_size, self.num_categories = int(image_size), int(num_categories)
        self.downs, self.norms = [], []
        for k in range(stages):
            self.downs.append(keras.layers.Conv2D(
                int(width) * 2 ** k, 5, strides=2, padding="same",
                kernel_initializer=_init(seed + 100 + k), name=f"down{k + 1}"))
            self.norms.append(keras.layers.BatchNormalization(momentum=0.9, name=f"down{k + 1}_bn")
                              if k > 0 else None)
        self.out = keras.layers.Dense(1, kernel_initializer=_init(seed + 99), name="score")
        self(tf.zeros([1, self.image_size, self.image_size, 3]), tf.zeros([1], tf.int32))

    def call(self, images, categories, training=False):
        condition = tf.one_hot(categories, self.num_categories)
        h = images
        for down, norm in zip(self.downs, self.norms):
            h = down(_with_condition_maps(h, condition))
            if norm is not None:
                h = norm(h, training=training)
            h = leaky_relu(h)
        flat = tf.reshape(h, [-1, h.shape[1] * h.shape[2] * h.shape[3]])
        h = tf.concat([flat, condition], axis=-1)
        return tf.squeeze(self.out(h), axis=-1)
