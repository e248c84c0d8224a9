"""PAN's building blocks (Zhan & Lin, "PAN: Personalized Attention Network for Outfit
Recommendation"): user-aware channel attention (eq. 2), user-aware spatial attention (eq. 3)
and binary codes relaxed by tanh with a growing slope (FHN, Lu et al. 2019).

Both attentions follow CBAM (Woo et al. 2018) with the user's code added inside the sigmoid,
so the same garment is looked at differently for different shoppers.
"""
import tensorflow as tf
import tf_keras as keras


def relaxed_code(x, slope, binary: bool = False):
    """b = sign(x) as a binary code; while training its smooth relaxation tanh(slope · x), the
    slope growing over training so that tanh approaches sign (FHN's scaled tanh)."""
    if binary:
        return tf.where(x >= 0.0, tf.ones_like(x), -tf.ones_like(x))
    return tf.tanh(tf.cast(slope, x.dtype) * x)


def repeat_rows(x, times: int):
    """[B, D] → [B·times, D], each row `times` times in a row, as `tf.repeat(x, times, axis=0)`
    but by a broadcast: tf.repeat's gradient (TF's tile gradient) transposes an int32 shape,
    which oneDNN reports on a CPU without AVX-512 as an error line in every training run."""
    width = x.shape[-1]
    return tf.reshape(tf.broadcast_to(x[:, None, :], [tf.shape(x)[0], times, width]), [-1, width])


class UserChannelAttention(keras.layers.Layer):
    """Eq. 2: M_c(F, u) = σ(W₁δ(W₀ AvgPool(F)) + W₁δ(W₀ MaxPool(F)) + W_cu u); F' = M_c ⊙ F.

    F [B, H, W, C] feature maps, u [B, D] the user's code; the MLP (W₀: C → C/r, δ = ReLU,
    W₁: C/r → C) is shared by both pooled descriptors. Returns (F', M_c [B, C]). `seed` seeds
    the initial weights (unseeded, every process draws its own: runs are not repeatable).
    """

    def __init__(self, reduction: int = 4, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.reduction = int(reduction)
        self.seed = seed

    def _initializer(self, offset: int):
        return keras.initializers.GlorotUniform(seed=None if self.seed is None else int(self.seed) + offset)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        hidden = max(1, channels // self.reduction)
        self.w0 = keras.layers.Dense(hidden, activation="relu", kernel_initializer=self._initializer(0), name="w0")
        self.w1 = keras.layers.Dense(channels, kernel_initializer=self._initializer(1), name="w1")
        self.w_cu = keras.layers.Dense(channels, use_bias=False, kernel_initializer=self._initializer(2), name="w_cu")
        super().build(input_shape)

    def call(self, maps, user):
        avg = tf.reduce_mean(maps, axis=[1, 2])
        top = tf.reduce_max(maps, axis=[1, 2])
        weights = tf.sigmoid(self.w1(self.w0(avg)) + self.w1(self.w0(top)) + self.w_cu(user))
        return maps * weights[:, None, None, :], weights


class UserSpatialAttention(keras.layers.Layer):
    """Eq. 3: M_s(F', u) = σ(f^{k×k}([AvgPool_c(F'); MaxPool_c(F')]) + W_su u); F'' = M_s ⊙ F'.

    The pools run over channels (→ two [H, W] maps), f^{k×k} is CBAM's spatial gate (Woo et
    al. 2018, whose attention PAN makes user-aware): one k×k convolution (k = 7 in the paper,
    'same' padding, no bias) followed by batch normalisation, and W_su u gives one value per
    position [H·W]. Without the normalisation the convolution of the (non-negative, nearly
    uniform) channel pools over k² positions drifts into the flat part of the sigmoid, where
    every cell gets weight ≈ 1 and no gradient tells it where to look; normalised, the logits
    stay centred and their spread comes from what differs between cells. The kernel and W_su
    start at zero: a uniform look (M_s = ½) for every shopper, no random position pattern to
    unlearn. Returns (F'', M_s [B, H, W]).
    """

    def __init__(self, kernel_size: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = int(kernel_size)

    def build(self, input_shape):
        self.height, self.width = int(input_shape[1]), int(input_shape[2])
        self.conv = keras.layers.Conv2D(1, self.kernel_size, padding="same", use_bias=False,
                                        kernel_initializer="zeros", name="f")
        # CBAM's BatchNorm2d keeps its moving statistics with PyTorch momentum 0.01 (Keras 0.99),
        # made for ImageNet's long runs; outfit models train a few hundred steps, after which
        # 0.99 still remembers its initial variance (the served look stays nearly uniform), so 0.9
        self.norm = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="f_bn")
        self.w_su = keras.layers.Dense(self.height * self.width, use_bias=False, kernel_initializer="zeros",
                                       name="w_su")
        super().build(input_shape)

    def call(self, maps, user, training=None):
        pooled = tf.stack([tf.reduce_mean(maps, axis=-1), tf.reduce_max(maps, axis=-1)], axis=-1)
        content = self.norm(self.conv(pooled), training=training)[..., 0]
        logits = content + tf.reshape(self.w_su(user), [-1, self.height, self.width])
        weights = tf.sigmoid(logits)
        return maps * weights[..., None], weights
