"""The VBPR family: latent factors plus a learned projection of fixed visual features f_i.

| name | predictor x̂(u, i) | paper |
|---|---|---|
| `vbpr` | β_i + γ_uᵀγ_i + θ_uᵀ(E f_i) + β'ᵀf_i | He & McAuley 2016, eq. 2–4 |
| `deepstyle` | β_i + γ_uᵀ(γ_i + E f_i − l_{c_i}) | Liu, Wu & Wang 2017 |

All are fitted by BPR-Opt (the base class's `compute_loss`) and factorise into augmented
user and item vectors, so the catalogue is embedded once and top-K is a matrix product. The
f_i are precomputed (`python -m tfvisrec.vision.features`, or --features_file) and arrive as
the `features` item key; E is stored transposed, as `visual_projection` [F, K']. With
`--feature_norm=l2` (the default) every f_i is scaled to unit length first: Adam moves each
entry of E by about the learning rate per step, so E f_i would otherwise move by the rate
times ‖f_i‖₁ (hundreds for raw CNN features) and the visual terms would outrun and overfit
the latent factors.

The global offset α and the user bias β_u of VBPR eq. 4 are left out: they do not depend on
the item, so they cancel in every BPR difference x̂_ui − x̂_uj and get no gradient (they
would stay at their initial value and change no ranking).

Extending the family (I-VBPR, TVBPR in `tvbpr.py`): subclass `VBPR` and override
`visual_embedding(items)` (θ_i, the K' visual item factors) and `visual_bias_term(items)`.
"""
import dataclasses
import math

import tensorflow as tf
import tf_keras as keras

from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.models import hyperparameters as hp
from tfvisrec.models.mf import MatrixFactorisation, _mean_squared_norm
from tfvisrec.models.registry import register


@dataclasses.dataclass
class FeatureFactorsConfig(hp.LatentFactorsConfig):
    """Latent factors plus a projection of fixed features: DeepStyle (and VBPR's base)."""

    use_item_bias: bool = hp.use_item_bias()
    l2_bias: float = hp.l2_bias()
    l2_visual: float = hp.l2_visual()
    features_file: str = hp.features_file()
    feature_norm: str = hp.feature_norm()


@dataclasses.dataclass
class VBPRConfig(FeatureFactorsConfig):
    """VBPR: separate visual factors θ_u of K' dimensions."""

    visual_dim: int = hp.visual_dim()


def factorised_scores(user_vectors, item_vectors):
    """Σ_d u_d v_d for users [B, D] against items [B, D] (→ [B]) or [B, N, D] (→ [B, N])."""
    if item_vectors.shape.rank == user_vectors.shape.rank + 1:
        user_vectors = user_vectors[:, None, :]
    return tf.reduce_sum(user_vectors * item_vectors, axis=-1)


def required_feature_dim(data_info, model_name: str) -> int:
    """F of the precomputed features; a clear DataError when the dataset has none."""
    dim = int(data_info.feature_dim)
    if dim < 1:
        raise DataError(f"{model_name} needs precomputed item features: run `python -m "
                        "tfvisrec.vision.features --dataset DIR ...` or pass --features_file")
    return dim


FEATURE_NORMS = ("l2", "none")


def unit_rows(features, epsilon=1e-12):
    """f / ‖f‖ along the last axis (all-zero rows stay zero)."""
    features = tf.convert_to_tensor(features, tf.float32)
    squared = tf.reduce_sum(tf.square(features), axis=-1, keepdims=True)
    return features * tf.math.rsqrt(tf.maximum(squared, epsilon))


def feature_norm(config) -> str:
    norm = str(config.feature_norm)
    if norm not in FEATURE_NORMS:
        raise ValueError(f"feature_norm must be one of {FEATURE_NORMS}, got {norm!r}")
    return norm


def model_features(items, norm: str):
    """The f_i a model uses: the `features` item key, unit-length when `norm` is "l2"."""
    features = tf.convert_to_tensor(items[schema.FEATURES], tf.float32)
    return unit_rows(features) if norm == "l2" else features


def projection_initializer(config, feature_dim: int, seed_offset: int):
    """E f_i starts on the scale of γ_i: N(0, init_stddev²) for unit-length f_i, and
    N(0, init_stddev² / F) for raw features (read as about unit size per dimension)."""
    scale = 1.0 if feature_norm(config) == "l2" else math.sqrt(feature_dim)
    return keras.initializers.RandomNormal(stddev=config.init_stddev / scale,
                                           seed=config.seed + seed_offset)


@register("vbpr")
class VBPR(MatrixFactorisation):
    """VBPR (He & McAuley 2016, "VBPR: Visual Bayesian Personalized Ranking from Implicit
    Feedback"): matrix factorisation plus visual factors θ_i = E f_i (eq. 3),

        x̂(u, i) = β_i + γ_uᵀγ_i + θ_uᵀ(E f_i) + β'ᵀ f_i            (eq. 4 without α, β_u)

    factorised as user [γ_u, θ_u, 1] · item [γ_i, E f_i, β_i + β'ᵀf_i]. Fitted by BPR-Opt
    with the paper's regularisation: λ_Θ on the parameters a triple touches
    (l2_user on γ_u and θ_u, l2_item on γ_i and γ_j, l2_bias on β_i and β_j, averaged over
    the batch as in `MatrixFactorisation`) and λ_E = l2_visual on E and β' (‖E‖² + ‖β'‖²,
    once per step: they are shared by every item). K = embedding_dim, K' = visual_dim.
    """

    item_feature_keys = (schema.ITEM, schema.FEATURES)
    config_class = VBPRConfig

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        self.feature_dim = required_feature_dim(data_info, self.registered_name)
        self.feature_norm = feature_norm(config)
        visual_dim = int(config.visual_dim)
        if visual_dim < 1:
            raise ValueError(f"visual_dim must be at least 1, got {visual_dim}")
        self.user_visual_factors = self.add_weight(
            name="user_visual_factors", shape=[data_info.num_users, visual_dim], dtype=tf.float32,
            initializer=keras.initializers.RandomNormal(stddev=config.init_stddev,
                                                        seed=config.seed + 2))
        self.visual_projection = self.add_weight(
            name="visual_projection", shape=[self.feature_dim, visual_dim], dtype=tf.float32,
            initializer=projection_initializer(config, self.feature_dim, 3))
        self.visual_bias = self.add_weight(
            name="visual_bias", shape=[self.feature_dim], dtype=tf.float32, initializer="zeros")

    def visual_features(self, items):
        """f_i [..., F] as the model uses them (see `--feature_norm`)."""
        return model_features(items, self.feature_norm)

    def visual_embedding(self, items):
        """θ_i = E f_i: [..., K'] for features [..., F]."""
        return tf.tensordot(self.visual_features(items), self.visual_projection, axes=1)

    def visual_bias_term(self, items):
        """β'ᵀ f_i: [...] for features [..., F]."""
        return tf.tensordot(self.visual_features(items), self.visual_bias, axes=1)

    def user_vectors(self, users, training=False):
        gamma_u = tf.gather(self.user_factors, users)
        theta_u = tf.gather(self.user_visual_factors, users)
        return tf.concat([gamma_u, theta_u, tf.ones_like(gamma_u[..., :1])], axis=-1)

    def item_vectors(self, items, training=False):
        item_ids = items[schema.ITEM]
        bias = self.visual_bias_term(items)
        if self.use_item_bias:
            bias += tf.gather(self.item_bias, item_ids)
        return tf.concat([tf.gather(self.item_factors, item_ids), self.visual_embedding(items),
                          bias[..., None]], axis=-1)

    def score(self, users, items, training=False):
        """x̂(u, i) for users [B] and items [B] (→ [B]) or [B, N] (→ [B, N])."""
        return factorised_scores(self.user_vectors(users, training), self.item_vectors(items, training))

    def regularization(self, batch):
        theta_u = tf.gather(self.user_visual_factors, batch["user"])
        return (super().regularization(batch)
                + self.config.l2_user * _mean_squared_norm(theta_u)
                + self.config.l2_visual * (tf.reduce_sum(tf.square(self.visual_projection))
                                           + tf.reduce_sum(tf.square(self.visual_bias))))


@register("deepstyle")
class DeepStyle(MatrixFactorisation):
    """DeepStyle (Liu, Wu & Wang 2017, "DeepStyle: Learning User Preferences for Visual
    Recommendation", SIGIR): an item's style is its projected visual features minus
    the latent representation of its category, s_i = E f_i − l_{c_i}, so that the visual
    space, otherwise dominated by what the item is (a bag, a shoe), describes how it looks;

        x̂(u, i) = β_i + γ_uᵀ(γ_i + E f_i − l_{c_i}),

    factorised as user [γ_u, 1] · item [γ_i + E f_i − l_{c_i}, β_i]. One user vector of
    K = embedding_dim dimensions meets both the collaborative and the style part, as in the
    paper. Items without a category (−1) have no l term. BPR-Opt with λ_Θ as in VBPR (l2_item
    also on l_{c_i} and l_{c_j}) and l2_visual on E.
    """

    item_feature_keys = (schema.ITEM, schema.FEATURES, schema.CATEGORY)
    config_class = FeatureFactorsConfig

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        self.feature_dim = required_feature_dim(data_info, self.registered_name)
        if data_info.num_categories < 1:
            raise DataError("deepstyle needs item categories (a category column in items.csv)")
        self.feature_norm = feature_norm(config)
        dim = int(config.embedding_dim)
        self.visual_projection = self.add_weight(
            name="visual_projection", shape=[self.feature_dim, dim], dtype=tf.float32,
            initializer=projection_initializer(config, self.feature_dim, 3))
        self.category_factors = self.add_weight(
            name="category_factors", shape=[data_info.num_categories, dim], dtype=tf.float32,
            initializer=keras.initializers.RandomNormal(stddev=config.init_stddev,
                                                        seed=config.seed + 4))

    def category_embedding(self, categories):
        """l_c [..., K] for category indices [...]; zero for items without one (−1)."""
        categories = tf.cast(categories, tf.int32)
        known = tf.cast(categories >= 0, tf.float32)[..., None]
        return known * tf.gather(self.category_factors, tf.maximum(categories, 0))

    def style(self, items):
        """s_i = E f_i − l_{c_i}: [..., K]."""
        visual = tf.tensordot(model_features(items, self.feature_norm), self.visual_projection, axes=1)
        return visual - self.category_embedding(items[schema.CATEGORY])

    def item_vectors(self, items, training=False):
        item_ids = items[schema.ITEM]
        vectors = tf.gather(self.item_factors, item_ids) + self.style(items)
        if not self.use_item_bias:
            return vectors
        return tf.concat([vectors, tf.gather(self.item_bias, item_ids)[..., None]], axis=-1)

    def score(self, users, items, training=False):
        return factorised_scores(self.user_vectors(users, training), self.item_vectors(items, training))

    def regularization(self, batch):
        pos, neg = batch["pos"][schema.CATEGORY], batch["neg"][schema.CATEGORY]
        return (super().regularization(batch)
                + self.config.l2_item * (_mean_squared_norm(self.category_embedding(pos))
                                         + _mean_squared_norm(self.category_embedding(neg)))
                + self.config.l2_visual * tf.reduce_sum(tf.square(self.visual_projection)))
