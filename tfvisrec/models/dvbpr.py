"""DVBPR: Deep-style Visual BPR, a Siamese CNN trained end to end by BPR.

Kang, Fang, Wang & McAuley 2017, "Visually-Aware Fashion Recommendation and Design with
Generative Image Models" (ICDM), eq. 3-5:

    x̂(u, i) = θ_uᵀ Φ(X_i)

where Φ is a CNN (CNN-F, Table II) mapping the image X_i of item i to K visual factors and
θ_u are user factors. There is no item embedding and no bias: an item is scored from its
image alone, so an item never seen in training (cold start) is scored like any other.
Training maximises BPR-Opt over triplets (u, i, j) with both images run through the same
network (the "Siamese" setting):

    max  Σ_(u,i,j) ln σ(θ_uᵀ Φ(X_i) − θ_uᵀ Φ(X_j)) − λ_θ ‖Θ‖²

with weight decay and dropout on Φ, optimised with Adam on mini-batches (128 in the paper).
"""
import dataclasses

import tensorflow as tf
import tf_keras as keras

from tfvisrec import losses
from tfvisrec.config import ModelConfig
from tfvisrec.data import schema
from tfvisrec.models import hyperparameters as hp
from tfvisrec.models.base import Recommender
from tfvisrec.models.registry import register
from tfvisrec.vision import backbones
from tfvisrec.vision.cnn_config import FineTunedCNNConfig


@dataclasses.dataclass
class DVBPRConfig(FineTunedCNNConfig, ModelConfig):
    """DVBPR: θ_u of K = visual_dim dimensions against the CNN's output Φ(X_i)."""

    visual_dim: int = hp.visual_dim()
    init_stddev: float = hp.init_stddev()
    l2_user: float = hp.l2_user()
    user_lr_multiplier: float = hp.user_lr_multiplier()


def flatten_images(images):
    """Images [..., S, S, 3] → ([n, S, S, 3], the leading shape [...])."""
    images = tf.convert_to_tensor(images)
    leading = tf.shape(images)[:-3]
    return tf.reshape(images, tf.concat([[-1], tf.shape(images)[-3:]], 0)), leading


def unflatten(vectors, leading):
    """Vectors [n, K] → [..., K] with the leading shape of `flatten_images`."""
    return tf.reshape(vectors, tf.concat([leading, tf.shape(vectors)[-1:]], 0))


@register("dvbpr")
class DVBPR(Recommender):
    """x̂(u, i) = θ_uᵀ Φ(X_i) fitted by Siamese BPR (Kang et al. 2017, eq. 3-5).

    Factorising: `user_vectors` are θ_u (K = `visual_dim`), `item_vectors` are Φ(X_i).
    Φ is `backbone` (CNN-F by default) with a K-wide output layer; `backbone_weights`
    initialises its trunk from fashion-pretrained weights. The penalty of a batch is

        λ_θ · mean_u ‖θ_u‖²  +  weight_decay · Σ_W ½‖W‖²   (over Φ's trained conv/dense kernels)

    (`l2_user`, `weight_decay`); dropout (`dropout`) acts inside Φ during training.
    `trainable_backbone_layers` = N > 0 trains only the last N trunk layers (and the output
    layer) and keeps the rest as loaded: a speed option, not the paper's setting.

    θ_u learns `user_lr_multiplier` times faster than Φ: each user's row is updated only in
    the few batches holding that user, while Φ is updated by every batch, so one learning
    rate that suits the CNN leaves θ far behind. θ is stored divided by the multiplier
    (`scaled_user_factors`); Adam moves a weight by about the learning rate whatever its
    gradient's scale, so θ = multiplier × stored moves that many times faster.
    """

    item_feature_keys = (schema.ITEM, schema.IMAGE)
    config_class = DVBPRConfig

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        dim = int(config.visual_dim)
        if dim < 1:
            raise ValueError(f"visual_dim must be at least 1, got {dim}")
        self.user_lr_multiplier = float(config.user_lr_multiplier)
        if self.user_lr_multiplier <= 0:
            raise ValueError(f"user_lr_multiplier must be positive, got {self.user_lr_multiplier}")
        self.scaled_user_factors = self.add_weight(
            name="theta_u_scaled", shape=[data_info.num_users, dim], dtype=tf.float32,
            initializer=keras.initializers.RandomNormal(
                stddev=config.init_stddev / self.user_lr_multiplier, seed=config.seed))
        self.backbone = backbones.build_backbone(**config.backbone_spec(), output_dim=dim)
        if config.backbone_weights:
            from tfvisrec.vision import pretrained
            pretrained.load_backbone_weights(self.backbone, config.backbone_weights)
        self.trained_layers = self.backbone.train_last_layers(int(config.trainable_backbone_layers))

    @property
    def user_factors(self) -> tf.Tensor:
        """θ, all users [num_users, K]."""
        return self.user_lr_multiplier * self.scaled_user_factors

    def user_vectors(self, users, training=False):
        return self.user_lr_multiplier * tf.gather(self.scaled_user_factors, users)

    def item_vectors(self, items, training=False):
        """Φ(X_i) for images [B, S, S, 3] → [B, K] (or [B, N, ...] → [B, N, K]); ids unused."""
        flat, leading = flatten_images(items[schema.IMAGE])
        return unflatten(self.backbone(flat, training=training), leading)

    def score(self, users, items, training=False):
        """θ_uᵀ Φ(X_i) for users [B] and images [B, ...] → [B] or [B, N, ...] → [B, N]."""
        return _dot(self.user_vectors(users), self.item_vectors(items, training=training))

    def pair_scores(self, batch, training=True):
        """(x̂_ui [B], x̂_uj [B] or [B, N]): positive and negative images in one CNN pass."""
        pos, neg = batch["pos"][schema.IMAGE], batch["neg"][schema.IMAGE]
        neg_flat, neg_leading = flatten_images(neg)
        phi = self.backbone(tf.concat([pos, neg_flat], axis=0), training=training)
        num_pos = tf.shape(pos)[0]
        theta = self.user_vectors(batch["user"])
        return _dot(theta, phi[:num_pos]), _dot(theta, unflatten(phi[num_pos:], neg_leading))

    def regularization(self, batch):
        theta = self.user_vectors(batch["user"])
        penalty = self.config.l2_user * tf.reduce_mean(tf.reduce_sum(tf.square(theta), axis=-1))
        return penalty + self.backbone.weight_penalty(trainable_only=True)

    def compute_loss(self, batch, training=True):
        """BPR-Opt, averaged over the batch, plus the penalty of the class docstring."""
        pos, neg = self.pair_scores(batch, training=training)
        return losses.bpr_loss(pos, neg) + self.regularization(batch)


def _dot(user_vectors, item_vectors):
    """Σ_k θ_uk v_ik for θ [B, K] against v [B, K] or [B, N, K]."""
    if item_vectors.shape.rank == user_vectors.shape.rank + 1:
        user_vectors = user_vectors[:, None, :]
    return tf.reduce_sum(user_vectors * item_vectors, axis=-1)
