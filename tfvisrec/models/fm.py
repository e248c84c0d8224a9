"""Factorization Machine (Rendle 2010) over user, item and visual features, fitted by BPR.

The feature vector of a (user, item) pair is x = [onehot(u), onehot(i), f_i]: the user's and
the item's one-hot indicators and the item's precomputed visual features (unit length with
`--feature_norm=l2`, see `vbpr.py`), as in the FM baseline of DVBPR (Kang et al. 2017).
The FM predictor (Rendle 2010, eq. 1)

    ŷ(x) = w_0 + Σ_a w_a x_a + Σ_{a<b} ⟨v_a, v_b⟩ x_a x_b

has its pairwise part computed in O(kn) by Rendle's lemma 3.1 (eq. 5):

    Σ_{a<b} ⟨v_a, v_b⟩ x_a x_b = ½ Σ_f [(Σ_a v_{a,f} x_a)² − Σ_a v_{a,f}² x_a²].

w_0 and the user weight w_u are left out: they are the same for every item of a user, so
they cancel in the BPR difference ŷ(u, i) − ŷ(u, j) and would never receive a gradient.
Everything else splits into a user part and an item part, so the FM factorises as
user [v_u, 1] · item [v_i + Vᵀf_i, w_i + wᵀf_i + ½(‖v_i + Vᵀf_i‖² − ‖v_i‖² − Σ_a ‖v_a‖² f_a²)]
(the item's own pairwise terms go into its bias column).

With `--nofm_item_interactions` only the interactions that involve the user are kept, the
FM baseline as DVBPR describes it ("(user, item) and (user, visual feature) interactions"),
plus the linear visual term: ŷ(u, i) = ⟨v_u, v_i + Vᵀf_i⟩ + wᵀf_i. The terms without a user
(w_i, ⟨v_i, V_a⟩ f_a, ⟨V_a, V_b⟩ f_a f_b) are per-item constants, i.e. a learned popularity,
which hurts where popularity is anti-predictive (H&M, bench/README.md).
"""
import dataclasses

import tensorflow as tf
import tf_keras as keras

from tfvisrec.config import field
from tfvisrec.data import schema
from tfvisrec.models import hyperparameters as hp
from tfvisrec.models.base import Recommender
from tfvisrec.models.mf import _mean_squared_norm
from tfvisrec.models.registry import register
from tfvisrec.models.vbpr import feature_norm, model_features, projection_initializer, required_feature_dim


@dataclasses.dataclass
class FMConfig(hp.LatentFactorsConfig):
    """The factorization machine on [user, item, f_i]."""

    l2_bias: float = hp.l2_bias()
    l2_visual: float = hp.l2_visual()
    features_file: str = hp.features_file()
    feature_norm: str = hp.feature_norm()
    fm_item_interactions: bool = field(True, "FM: keep the terms that involve no user (w_i, item x feature and feature x feature interactions); false keeps only the (user, item) and (user, feature) interactions plus w^T f_i.")


def pairwise_interactions(factor_sum, squared_sum):
    """Rendle 2010, eq. 5: ½ Σ_f [(Σ_a v_af x_a)² − Σ_a v_af² x_a²] from its two sums.

    factor_sum: [..., K] = Σ_a v_a x_a; squared_sum: [...] = Σ_a ‖v_a‖² x_a².
    """
    return 0.5 * (tf.reduce_sum(tf.square(factor_sum), axis=-1) - squared_sum)


@register("fm")
class FactorizationMachine(Recommender):
    """FM with BPR loss on x = [onehot(u), onehot(i), f_i] (see the module docstring).

    Parameters: v_u (user_factors), v_i (item_factors), V (feature_factors [F, K]), w_i
    (item_weights), w (feature_weights [F]); K = embedding_dim. Regularisation per batch, as
    in `MatrixFactorisation`: l2_user ‖v_u‖², l2_item (‖v_i‖² + ‖v_j‖²), l2_bias (w_i² + w_j²)
    averaged over the batch, and l2_visual (‖V‖² + ‖w‖²) once per step.
    """

    item_feature_keys = (schema.ITEM, schema.FEATURES)
    config_class = FMConfig

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        self.feature_dim = required_feature_dim(data_info, self.registered_name)
        self.feature_norm = feature_norm(config)
        dim = int(config.embedding_dim)
        if dim < 1:
            raise ValueError(f"embedding_dim must be at least 1, got {dim}")
        normal = lambda offset: keras.initializers.RandomNormal(  # noqa: E731
            stddev=config.init_stddev, seed=config.seed + offset)
        self.user_factors = self.add_weight(
            name="user_factors", shape=[data_info.num_users, dim], dtype=tf.float32,
            initializer=normal(0))
        self.item_factors = self.add_weight(
            name="item_factors", shape=[data_info.num_items, dim], dtype=tf.float32,
            initializer=normal(1))
        self.feature_factors = self.add_weight(
            name="feature_factors", shape=[self.feature_dim, dim], dtype=tf.float32,
            initializer=projection_initializer(config, self.feature_dim, 2))
        self.item_weights = self.add_weight(
            name="item_weights", shape=[data_info.num_items], dtype=tf.float32, initializer="zeros")
        self.feature_weights = self.add_weight(
            name="feature_weights", shape=[self.feature_dim], dtype=tf.float32, initializer="zeros")
        self.item_interactions = bool(config.fm_item_interactions)

    def _item_sums(self, items):
        """(Σ v_a x_a [..., K], Σ ‖v_a‖² x_a² [...], Σ w_a x_a [...]) over the item's features."""
        item_ids, features = items[schema.ITEM], model_features(items, self.feature_norm)
        v_i = tf.gather(self.item_factors, item_ids)
        factor_sum = v_i + tf.tensordot(features, self.feature_factors, axes=1)
        squared_sum = (tf.reduce_sum(tf.square(v_i), axis=-1)
                       + tf.tensordot(tf.square(features),
                                      tf.reduce_sum(tf.square(self.feature_factors), axis=-1), axes=1))
        linear = tf.tensordot(features, self.feature_weights, axes=1)
        if self.item_interactions:
            linear += tf.gather(self.item_weights, item_ids)
        return factor_sum, squared_sum, linear

    def score(self, users, items, training=False):
        """ŷ(u, i) − w_0 − w_u by eq. 5 over x = [onehot(u), onehot(i), f_i]: [B] or [B, N]."""
        v_u = tf.gather(self.user_factors, users)
        factor_sum, squared_sum, linear = self._item_sums(items)
        if factor_sum.shape.rank == v_u.shape.rank + 1:
            v_u = v_u[:, None, :]
        if not self.item_interactions:
            return linear + tf.reduce_sum(v_u * factor_sum, axis=-1)
        squared_sum += tf.reduce_sum(tf.square(v_u), axis=-1)
        return linear + pairwise_interactions(factor_sum + v_u, squared_sum)

    def user_vectors(self, users, training=False):
        v_u = tf.gather(self.user_factors, users)
        return tf.concat([v_u, tf.ones_like(v_u[..., :1])], axis=-1)

    def item_vectors(self, items, training=False):
        factor_sum, squared_sum, linear = self._item_sums(items)
        own = linear
        if self.item_interactions:
            own += pairwise_interactions(factor_sum, squared_sum)
        return tf.concat([factor_sum, own[..., None]], axis=-1)

    def regularization(self, batch):
        pos, neg = batch["pos"][schema.ITEM], batch["neg"][schema.ITEM]
        return (self.config.l2_user * _mean_squared_norm(tf.gather(self.user_factors, batch["user"]))
                + self.config.l2_item * (_mean_squared_norm(tf.gather(self.item_factors, pos))
                                         + _mean_squared_norm(tf.gather(self.item_factors, neg)))
                + self.config.l2_bias * (tf.reduce_mean(tf.square(tf.gather(self.item_weights, pos)))
                                         + tf.reduce_mean(tf.square(tf.gather(self.item_weights, neg))))
                + self.config.l2_visual * (tf.reduce_sum(tf.square(self.feature_factors))
                                           + tf.reduce_sum(tf.square(self.feature_weights))))

