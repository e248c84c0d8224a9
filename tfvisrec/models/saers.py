"""SAERS: Semantic Attribute Explainable Recommender System (Hou, Wu, Chen, Ma & Wang 2019,
"Explainable Fashion Recommendation: A Semantic Attribute Region Guided Approach", IJCAI).

An item is seen through its attribute regions: for each attribute k (sleeve, neckline,
colour…) the pretrained Semantic Extraction Network gives a box and the ROI-pooled conv
feature f_a^k(i) inside it (computed once per item: `regions.npz`, `tfvisrec.vision.region_features`).
A user's preference f(u) weighs the attributes item by item (the Fine-grained Preference
Attention, `preference_attention.py`, eq. 5–6), and a global branch f_g(i) sees the whole image:

    eq. 7   f(i) = Σ_k α_ui^k E^k f_a^k(i) + f_g(i)
    eq. 8   x̂(u, i) = f(u)ᵀ f(i)
    eq. 9   max Σ_(u,i,j) ln σ(x̂_ui − x̂_uj) − λ‖Θ‖²        (BPR, Adam)

α_ui depends on the user, so the model does not factorise: the catalogue is scored through
`score_catalogue`, one user block × catalogue batch at a time, the user half of the attention
MLP computed once per user and the item half (and the CNN branch) once per catalogue batch
(`embed_catalogue_items`). The weights α_ui^k are the
explanation (§3.4): which attribute region of the item the user cares about.

| name | item representation f(i) | global branch | paper |
|---|---|---|---|
| `saers` | Σ_k α^k E^k f_a^k(i) + f_g(i) | Siamese CNN-F trained end to end by BPR (as DVBPR) | SAERS |
| `saers_fixed` | Σ_k α^k E^k f_a^k(i) + W_g f_i | fixed pretrained features f_i, learned W_g | SAERS, CPU-cheap |
| `saf_only` | 1/A Σ_k E^k f_a^k(i) | none | SAFo (eq. 4), Table 2 |
| `vbpr_saf` | VBPR + SAF: β_i + γ_uᵀγ_i + f(u)ᵀ(Σ_k α^k E^k f_a^k(i) + W_g f_i) | fixed features | Table 2 |
| `saers_no_saf` | W_g f_i | fixed features | Table 2 (with the CNN branch it is `dvbpr`) |

Region and fixed features are scaled to unit length first (`--feature_norm=l2`, as VBPR).
The penalty of a batch: l2_user · mean ‖f(u)‖² (and ‖γ_u‖²) over its users, l2_visual ·
(‖E‖² + ‖W_g‖²), l2_attention · the attention MLP's kernels, l2_item / l2_bias on the items'
γ_i / β_i (`vbpr_saf`) and the CNN's weight decay (`saers`). The attention gets its own
weight because its inputs are small (f(u), E^k f_a^k ~ init_stddev) and so are its gradients:
under l2_visual = 0.001 the MLP shrank to uniform weights (SAFo) on the visual test world,
with l2_attention = 0 it picks attributes (mean top weight 0.88 of 6) and AUC rises.
"""
import dataclasses
from typing import Dict, Optional

import tensorflow as tf
import tf_keras as keras

from tfvisrec.config import ModelConfig, field
from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.models import hyperparameters as hp
from tfvisrec.models.base import Recommender
from tfvisrec.models.dvbpr import flatten_images, unflatten
from tfvisrec.models.mf import _mean_squared_norm
from tfvisrec.models.preference_attention import AttributeProjections, PreferenceAttention
from tfvisrec.models.registry import register
from tfvisrec.models.vbpr import feature_norm, model_features, required_feature_dim, unit_rows
from tfvisrec.vision import backbones
from tfvisrec.vision.cnn_config import FineTunedCNNConfig


def regions_file():
    return field("", "Precomputed attribute regions (regions.npz from `python -m tfvisrec.vision.features --regions`); default <dataset>/regions.npz.")


@dataclasses.dataclass
class SemanticConfig(ModelConfig):
    """f(u) and E^k of K' = visual_dim dimensions on the items' attribute regions (SAFo)."""

    visual_dim: int = hp.visual_dim()
    init_stddev: float = hp.init_stddev()
    l2_user: float = hp.l2_user()
    l2_visual: float = hp.l2_visual()
    feature_norm: str = hp.feature_norm()
    regions_file: str = regions_file()


@dataclasses.dataclass
class AttentionConfig(SemanticConfig):
    """SAFo plus the fine-grained preference attention (eq. 5–6)."""

    attention_dim: int = field(32, "Hidden units of SAERS' fine-grained preference attention MLP (eq. 5).")
    l2_attention: float = field(0.0, "L2 weight on the kernels of SAERS' attention MLP (0: l2_visual's 0.001 on them flattened the attention to uniform weights on the visual test world).")
    attention_warmup_epochs: int = field(0, "Epochs of SAFo's average fusion (eq. 4) before the attention (eq. 6) takes over, so every E^k learns before the softmax can starve one; early stopping may end them sooner (0: the attention from the start, as the paper).")


@dataclasses.dataclass
class SAERSFixedConfig(AttentionConfig):
    """SAERS with the global branch on fixed pretrained features."""

    features_file: str = hp.features_file()


@dataclasses.dataclass
class VBPRSAFConfig(SAERSFixedConfig):
    """VBPR's latent factors and biases plus SAERS' attribute features."""

    embedding_dim: int = hp.embedding_dim()
    l2_item: float = hp.l2_item()
    l2_bias: float = hp.l2_bias()


@dataclasses.dataclass
class GlobalOnlyConfig(ModelConfig):
    """SAERS without attribute features: f(u)ᵀ W_g f_i."""

    visual_dim: int = hp.visual_dim()
    init_stddev: float = hp.init_stddev()
    l2_user: float = hp.l2_user()
    l2_visual: float = hp.l2_visual()
    feature_norm: str = hp.feature_norm()
    features_file: str = hp.features_file()


@dataclasses.dataclass
class SAERSConfig(FineTunedCNNConfig, AttentionConfig):
    """SAERS as in the paper: the global branch is a CNN trained end to end."""

    user_lr_multiplier: float = hp.user_lr_multiplier()


ATTENTION, AVERAGE = "attention", "average"
FEATURES_BRANCH, CNN_BRANCH = "features", "cnn"


class SemanticAttributeRecommender(Recommender):
    """The SAERS family (module docstring); subclasses choose the parts by class attribute:
    `fusion` (ATTENTION, AVERAGE or None: no attribute features), `global_branch`
    (FEATURES_BRANCH, CNN_BRANCH or None) and `item_factors` (VBPR's γ_i and β_i)."""

    factorised = False
    extra_signatures = ("explain",)
    fusion: Optional[str] = ATTENTION
    global_branch: Optional[str] = FEATURES_BRANCH
    item_factors = False

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        dim = self.dim = int(config.visual_dim)
        if dim < 1:
            raise ValueError(f"visual_dim must be at least 1, got {dim}")
        self.feature_norm = feature_norm(config)
        self.user_scale = self.user_learning_rate_multiplier()
        # The share of the uniform 1/A in α while the attention warms up (1, then 0); only models
        # that warm up have the variable, so earlier checkpoints restore as they were saved.
        self.uniform_share = None
        normal = lambda stddev, offset: keras.initializers.RandomNormal(stddev=stddev, seed=config.seed + offset)
        self.scaled_user_preferences = self.add_weight(       # f(u) / user_scale
            name="user_preferences", shape=[data_info.num_users, dim], dtype=tf.float32,
            initializer=normal(config.init_stddev / self.user_scale, 1))
        if self.fusion:
            num_attributes, channels = data_info.region_shape
            if num_attributes < 1 or channels < 1:
                raise DataError(f"{self.registered_name} needs attribute regions: run `python -m tfvisrec.vision."
                                "features --regions --dataset DIR ...` or pass --regions_file")
            self.projections = AttributeProjections(num_attributes, channels, dim, config.init_stddev,
                                                    config.seed + 2, name="attribute_projections")
            if self.fusion == ATTENTION:
                if int(config.attention_dim) < 1:
                    raise ValueError(f"attention_dim must be at least 1, got {config.attention_dim}")
                self.attention = PreferenceAttention(dim, int(config.attention_dim), config.seed + 3,
                                                     name="preference_attention")
                warmup = int(config.attention_warmup_epochs)
                if warmup < 0:
                    raise ValueError(f"attention_warmup_epochs must be at least 0, got {warmup}")
                if warmup:
                    self.uniform_share = tf.Variable(1.0, trainable=False, name="uniform_share")
        if self.global_branch == FEATURES_BRANCH:
            self.global_projection = self.add_weight(
                name="global_projection", shape=[required_feature_dim(data_info, self.registered_name), dim],
                dtype=tf.float32, initializer=normal(config.init_stddev, 4))
        elif self.global_branch == CNN_BRANCH:
            self.backbone = backbones.build_backbone(**config.backbone_spec(), output_dim=dim)
            if config.backbone_weights:
                from tfvisrec.vision import pretrained
                pretrained.load_backbone_weights(self.backbone, config.backbone_weights)
            self.trained_layers = self.backbone.train_last_layers(int(config.trainable_backbone_layers))
        if self.item_factors:
            self.user_factors = self.add_weight(
                name="user_factors", shape=[data_info.num_users, int(config.embedding_dim)],
                dtype=tf.float32, initializer=normal(config.init_stddev, 5))
            self.item_factor_table = self.add_weight(
                name="item_factors", shape=[data_info.num_items, int(config.embedding_dim)],
                dtype=tf.float32, initializer=normal(config.init_stddev, 6))
            self.item_bias = self.add_weight(name="item_bias", shape=[data_info.num_items],
                                             dtype=tf.float32, initializer="zeros")

    def user_learning_rate_multiplier(self) -> float:
        """f(u) is stored divided by this (see DVBPR's `user_lr_multiplier`); 1 but with a CNN."""
        return 1.0

    # ---- attention warm-up: stage 0 fuses by SAFo's average, stage 1 by the attention ----
    @property
    def warms_up(self) -> bool:
        return self.uniform_share is not None

    @property
    def num_stages(self) -> int:
        return 2 if self.warms_up else 1

    @property
    def stage(self) -> int:
        return 0 if self.warms_up and float(self.uniform_share.numpy()) > 0.0 else self.num_stages - 1

    def begin_epoch(self, epoch: int, min_stage: int = 0) -> bool:
        """Average fusion for the first `attention_warmup_epochs` epochs, unless the trainer
        ended that stage early (`min_stage` 1); the trainable variables never change."""
        if self.warms_up:
            warming = int(min_stage) < 1 and int(epoch) < int(self.config.attention_warmup_epochs)
            self.uniform_share.assign(1.0 if warming else 0.0)
        return False

    def _warmed_up(self, alpha):
        """α mixed with the uniform 1/A by `uniform_share` (only models that warm up)."""
        if not self.warms_up:
            return alpha
        share = self.uniform_share
        return (1.0 - share) * alpha + share / tf.cast(tf.shape(alpha)[-1], tf.float32)

    # ---- the parts of eq. 5–8 ----------------------------------------------------------
    def user_preferences(self, users):
        """f(u): [B, K']."""
        return self.user_scale * tf.gather(self.scaled_user_preferences, users)

    def attribute_embeddings(self, items):
        """E^k f_a^k(i) for every attribute: [..., A, K']."""
        regions = tf.convert_to_tensor(items[schema.REGIONS], tf.float32)
        return self.projections(unit_rows(regions) if self.feature_norm == "l2" else regions)

    def global_embedding(self, items, training=False):
        """f_g(i): [..., K'] (W_g f_i or the CNN's Φ(X_i))."""
        if self.global_branch == FEATURES_BRANCH:
            return tf.tensordot(model_features(items, self.feature_norm), self.global_projection, axes=1)
        flat, leading = flatten_images(items[schema.IMAGE])
        return unflatten(self.backbone(flat, training=training), leading)

    def attention_weights(self, user_vectors, attribute_embeddings):
        """α (eq. 6, or 1/A for average fusion): [..., A] for f(u) broadcasting against [..., A, K']."""
        if self.fusion == ATTENTION:
            return self._warmed_up(self.attention(user_vectors, attribute_embeddings))
        count = tf.shape(attribute_embeddings)[-2]
        return tf.ones_like(attribute_embeddings[..., 0]) / tf.cast(count, tf.float32)

    # ---- scoring -------------------------------------------------------------------------
    def score(self, users, items, training=False):
        """x̂(u, i) (eq. 8) for users [B] and items [B] (→ [B]) or [B, N] (→ [B, N])."""
        u = self.user_preferences(users)
        extra = tf.convert_to_tensor(items[schema.ITEM]).shape.rank - 1
        u_items = tf.reshape(u, tf.concat([tf.shape(u)[:1], tf.ones([extra], tf.int32), [self.dim]], 0))
        total = 0.0
        if self.fusion:
            attributes = self.attribute_embeddings(items)
            alpha = self.attention_weights(u_items, attributes)
            dots = tf.reduce_sum(u_items[..., None, :] * attributes, axis=-1)              # f(u)ᵀE^k f_a^k(i)
            total += tf.reduce_sum(alpha * dots, axis=-1)
        if self.global_branch:
            total += tf.reduce_sum(u_items * self.global_embedding(items, training), axis=-1)
        if self.item_factors:
            item_ids = items[schema.ITEM]
            gamma_u = tf.reshape(tf.gather(self.user_factors, users),
                                 tf.concat([tf.shape(users)[:1], tf.ones([extra], tf.int32), [-1]], 0))
            total += (tf.gather(self.item_bias, item_ids)
                      + tf.reduce_sum(gamma_u * tf.gather(self.item_factor_table, item_ids), axis=-1))
        return total

    def embed_catalogue_items(self, items: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """The item half of eq. 5–8 for a catalogue batch [n], once for all its user blocks:
        E^k f_a^k(i) [n, A, K'] and the attention's item part, f_g(i) [n, K'] (for `saers` the
        CNN's forward pass, the costly part), the item ids."""
        return self._embed_catalogue({k: items[k] for k in self.item_feature_keys})

    @tf.function(reduce_retracing=True)
    def _embed_catalogue(self, items):
        embedded = {schema.ITEM: tf.convert_to_tensor(items[schema.ITEM])}
        if self.fusion:
            embedded["attributes"] = self.attribute_embeddings(items)                    # [n, A, K']
            if self.fusion == ATTENTION:
                embedded["attention_items"] = self.attention.attribute_part(embedded["attributes"])
        if self.global_branch:
            embedded["global"] = self.global_embedding(items)                             # [n, K']
        return embedded

    def score_catalogue(self, users, items: Dict[str, tf.Tensor], times=None):
        """x̂ for users [b] × a catalogue batch [n] as `embed_catalogue_items` gave it → [b, n]."""
        return self._catalogue_scores(tf.convert_to_tensor(users, tf.int64), items)

    @tf.function(reduce_retracing=True)
    def _catalogue_scores(self, users, embedded):
        u = self.user_preferences(users)                                                  # [b, K']
        total = tf.zeros([tf.shape(users)[0], tf.shape(embedded[schema.ITEM])[0]])
        if self.fusion:
            dots = tf.einsum("bd,nad->bna", u, embedded["attributes"])
            if self.fusion == ATTENTION:
                scores = self.attention.scores(self.attention.user_part(u)[:, None, None, :],
                                               embedded["attention_items"][None])
                total += tf.reduce_sum(self._warmed_up(tf.nn.softmax(scores, axis=-1)) * dots, axis=-1)
            else:
                total += tf.reduce_mean(dots, axis=-1)
        if self.global_branch:
            total += tf.matmul(u, embedded["global"], transpose_b=True)
        if self.item_factors:
            item_ids = embedded[schema.ITEM]
            total += (tf.gather(self.item_bias, item_ids)[None]
                      + tf.matmul(tf.gather(self.user_factors, users),
                                  tf.gather(self.item_factor_table, item_ids), transpose_b=True))
        return total

    # ---- explanation (§3.4) ----------------------------------------------------------------
    def explain(self, users, items) -> Dict[str, tf.Tensor]:
        """Why user u_b may like item i_b, for aligned users [B] and items [B] whose features
        include `regions`, `region_boxes` and `region_classes` → {"weights": α [B, A] (eq. 6),
        "top_attribute": int32 [B] (argmax_k α), "classes": int32 [B, A] (each attribute's
        predicted value), "boxes": float32 [B, A, 4] (its region, (y1, x1, y2, x2) in [0, 1])}."""
        if not self.fusion:
            raise TypeError(f"{self.registered_name} has no attribute features to explain with")
        alpha = self.attention_weights(self.user_preferences(users), self.attribute_embeddings(items))
        return {"weights": alpha, "top_attribute": tf.argmax(alpha, axis=-1, output_type=tf.int32),
                "classes": tf.cast(items[schema.REGION_CLASSES], tf.int32),
                "boxes": tf.cast(items[schema.REGION_BOXES], tf.float32)}

    # ---- training ---------------------------------------------------------------------------
    def regularization(self, batch):
        config = self.config
        penalty = config.l2_user * _mean_squared_norm(self.user_preferences(batch["user"]))
        shared = []
        if self.fusion:
            shared.append(tf.reduce_sum(tf.square(self.projections.matrices)))
            if self.fusion == ATTENTION:
                penalty += config.l2_attention * self.attention.penalty()
        if self.global_branch == FEATURES_BRANCH:
            shared.append(tf.reduce_sum(tf.square(self.global_projection)))
        elif self.global_branch == CNN_BRANCH:
            penalty += self.backbone.weight_penalty(trainable_only=True)
        if shared:
            penalty += config.l2_visual * tf.add_n(shared)
        if self.item_factors:
            pos, neg = batch["pos"][schema.ITEM], batch["neg"][schema.ITEM]
            penalty += (config.l2_user * _mean_squared_norm(tf.gather(self.user_factors, batch["user"]))
                        + config.l2_item * (_mean_squared_norm(tf.gather(self.item_factor_table, pos))
                                            + _mean_squared_norm(tf.gather(self.item_factor_table, neg)))
                        + config.l2_bias * (tf.reduce_mean(tf.square(tf.gather(self.item_bias, pos)))
                                            + tf.reduce_mean(tf.square(tf.gather(self.item_bias, neg)))))
        return penalty


@register("saers")
class SAERS(SemanticAttributeRecommender):
    """SAERS as in the paper (eq. 5–9): attention over attribute regions + a Siamese CNN-F
    global branch Φ(X_i) trained end to end by BPR (as DVBPR; `backbone_weights` starts it
    from the pretrained classifier, `trainable_backbone_layers` trains only its last layers)."""

    item_feature_keys = (schema.ITEM, schema.IMAGE, schema.REGIONS)
    config_class = SAERSConfig
    global_branch = CNN_BRANCH

    def user_learning_rate_multiplier(self) -> float:
        multiplier = float(self.config.user_lr_multiplier)
        if multiplier <= 0:
            raise ValueError(f"user_lr_multiplier must be positive, got {multiplier}")
        return multiplier


@register("saers_fixed")
class SAERSFixed(SemanticAttributeRecommender):
    """SAERS (eq. 5–9) with the global branch W_g f_i on fixed pretrained features (features.npy)."""

    item_feature_keys = (schema.ITEM, schema.FEATURES, schema.REGIONS)
    config_class = SAERSFixedConfig


@register("saf_only")
class SAFOnly(SemanticAttributeRecommender):
    """SAFo (eq. 4): f(i) = 1/A Σ_k E^k f_a^k(i), attribute features averaged, no global branch."""

    item_feature_keys = (schema.ITEM, schema.REGIONS)
    config_class = SemanticConfig
    fusion = AVERAGE
    global_branch = None


@register("vbpr_saf")
class VBPRSAF(SemanticAttributeRecommender):
    """VBPR + SAF: β_i + γ_uᵀγ_i + f(u)ᵀ(Σ_k α^k E^k f_a^k(i) + W_g f_i)."""

    item_feature_keys = (schema.ITEM, schema.FEATURES, schema.REGIONS)
    config_class = VBPRSAFConfig
    item_factors = True


@register("saers_no_saf")
class SAERSNoSAF(SemanticAttributeRecommender):
    """SAERS without attribute features: x̂ = f(u)ᵀ W_g f_i on fixed features."""

    item_feature_keys = (schema.ITEM, schema.FEATURES)
    config_class = GlobalOnlyConfig
    fusion = None
    extra_signatures = ()
