"""Latent-factor collaborative filtering: BPR-MF, MM-MF and WARP share one predictor.

    x̂(u, i) = β_i + γ_uᵀ γ_i          (Rendle et al. 2009, sec. 4.3.1; VBPR eq. 1 without
                                       the visual term and the user-independent offsets)

and differ only in the ranking loss that fits it: BPR-Opt (BPR-MF), the pairwise hinge
(MM-MF, maximum-margin matrix factorisation in its ranking form) and WARP (Weston et al.
2011). As a factorisation the predictor is the dot product of the augmented vectors
user [γ_u, 1] and item [γ_i, β_i] (without the bias column when `use_item_bias` is off).
"""
import dataclasses

import tensorflow as tf
import tf_keras as keras

from tfvisrec import losses
from tfvisrec.config import field
from tfvisrec.data import schema
from tfvisrec.models import hyperparameters as hp
from tfvisrec.models.base import Recommender
from tfvisrec.models.registry import register


@dataclasses.dataclass
class MFConfig(hp.LatentFactorsConfig):
    """BPR-MF, MM-MF and WARP."""

    use_item_bias: bool = hp.use_item_bias()
    l2_bias: float = hp.l2_bias()
    margin: float = field(1.0, "Hinge margin of MM-MF and WARP.")


def _mean_squared_norm(vectors):
    """Mean over the leading dimensions of ‖v‖² for vectors [..., K]."""
    return tf.reduce_mean(tf.reduce_sum(tf.square(vectors), axis=-1))


class MatrixFactorisation(Recommender):
    """x̂(u, i) = β_i + γ_uᵀ γ_i, with L2 regularisation of the rows a batch touches.

    The penalty (Rendle et al. 2009, eq. 4's λ_Θ‖Θ‖², applied per sampled triple as in the
    paper's LearnBPR updates) is, averaged over the triples (u, i, j) of a batch:

        λ_user ‖γ_u‖² + λ_item (‖γ_i‖² + ‖γ_j‖²) + λ_bias (β_i² + β_j²)

    where, with N negatives per positive, the j terms are averaged over the N negatives so
    that the strength of λ does not depend on N.
    """

    config_class = MFConfig

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        dim = int(config.embedding_dim)
        if dim < 1:
            raise ValueError(f"embedding_dim must be at least 1, got {dim}")
        self.use_item_bias = bool(config.use_item_bias)
        self.user_factors = self.add_weight(
            name="user_factors", shape=[data_info.num_users, dim], dtype=tf.float32,
            initializer=keras.initializers.RandomNormal(stddev=config.init_stddev, seed=config.seed))
        self.item_factors = self.add_weight(
            name="item_factors", shape=[data_info.num_items, dim], dtype=tf.float32,
            initializer=keras.initializers.RandomNormal(stddev=config.init_stddev,
                                                        seed=config.seed + 1))
        self.item_bias = None
        if self.use_item_bias:
            self.item_bias = self.add_weight(
                name="item_bias", shape=[data_info.num_items], dtype=tf.float32,
                initializer="zeros")

    def user_vectors(self, users, training=False):
        gamma_u = tf.gather(self.user_factors, users)
        if not self.use_item_bias:
            return gamma_u
        return tf.concat([gamma_u, tf.ones_like(gamma_u[..., :1])], axis=-1)

    def item_vectors(self, items, training=False):
        item_ids = items[schema.ITEM]
        gamma_i = tf.gather(self.item_factors, item_ids)
        if not self.use_item_bias:
            return gamma_i
        beta_i = tf.gather(self.item_bias, item_ids)
        return tf.concat([gamma_i, beta_i[..., None]], axis=-1)

    def score(self, users, items, training=False):
        """x̂(u, i) for users [B] and items [B] (→ [B]) or [B, N] (→ [B, N])."""
        item_ids = items[schema.ITEM]
        gamma_u = tf.gather(self.user_factors, users)
        gamma_i = tf.gather(self.item_factors, item_ids)
        if gamma_i.shape.rank == gamma_u.shape.rank + 1:
            gamma_u = gamma_u[:, None, :]
        scores = tf.reduce_sum(gamma_u * gamma_i, axis=-1)
        if self.use_item_bias:
            scores += tf.gather(self.item_bias, item_ids)
        return scores

    def regularization(self, batch):
        pos, neg = batch["pos"][schema.ITEM], batch["neg"][schema.ITEM]
        penalty = (
            self.config.l2_user * _mean_squared_norm(tf.gather(self.user_factors, batch["user"]))
            + self.config.l2_item * (_mean_squared_norm(tf.gather(self.item_factors, pos))
                                     + _mean_squared_norm(tf.gather(self.item_factors, neg))))
        if self.use_item_bias:
            penalty += self.config.l2_bias * (
                tf.reduce_mean(tf.square(tf.gather(self.item_bias, pos)))
                + tf.reduce_mean(tf.square(tf.gather(self.item_bias, neg))))
        return penalty

    def pair_scores(self, batch, training=True):
        """(x̂_ui [B], x̂_uj [B] or [B, N]) of a training batch."""
        pos = self.score(batch["user"], batch["pos"], training=training)
        neg = self.score(batch["user"], batch["neg"], training=training)
        return pos, neg


@register("bprmf")
class BPRMF(MatrixFactorisation):
    """BPR-MF (Rendle et al. 2009): the MF predictor fitted by BPR-Opt (eq. 4),

        min  Σ_(u,i,j) −ln σ(x̂_ui − x̂_uj) + λ‖Θ‖²,

    the base class's `compute_loss`; with N negatives each (i, j) pair counts once.
    """


@register("mmmf")
class MMMF(MatrixFactorisation):
    """MM-MF: the MF predictor fitted by the pairwise hinge (max-margin) ranking loss,

        min  Σ_(u,i,j) max(0, margin − x̂_ui + x̂_uj) + λ‖Θ‖²

    (the ranking form of Srebro et al. 2005's maximum-margin matrix factorisation used as
    the MM-MF baseline in VBPR/DVBPR).
    """

    def compute_loss(self, batch, training=True):
        pos, neg = self.pair_scores(batch, training=training)
        return losses.hinge_loss(pos, neg, margin=self.config.margin) + self.regularization(batch)


@register("warp")
class WARP(MatrixFactorisation):
    """WARP (Weston et al. 2011, WSABIE): the MF predictor fitted by the weighted
    approximate-rank pairwise loss (eq. 2-3) with the sampled rank estimate of sec. 3,

        L(⌊(|I| − 1) / trials⌋) · max(0, margin − x̂_ui + x̂_uj*),   L(k) = Σ_{m≤k} 1/m,

    where j* is the first of the batch's `num_negatives` negatives that violates the margin
    and `trials` its position (see `tfvisrec.losses.warp_loss`), plus the L2 penalty.
    """

    def compute_loss(self, batch, training=True):
        pos, neg = self.pair_scores(batch, training=training)
        loss = losses.warp_loss(pos, neg, num_items=self.data_info.num_items,
                                margin=self.config.margin)
        return loss + self.regularization(batch)
