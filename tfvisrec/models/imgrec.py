"""ImgRec: an attribute-aware recommender whose item attribute is the item's image.

Elsayed, Brinkmeyer & Schmidt-Thieme 2021, "End-to-End Image-Based Fashion Recommendation"
(arXiv:2205.02923), the proposed model:

    z_u = onehot(u) W_u                       user embedding
    z_i = [onehot(i), φ(x_i)] W_i             item embedding from its id and image features
    x̂(u, i) = σ(z_uᵀ z_i)                    predicted probability of an interaction

fitted by binary cross-entropy on the observed pairs (label 1) and, for each of them,
`num_negatives` sampled items the user never interacted with (label 0); the "pointwise"
pipeline (`tfvisrec.data.pointwise_pipeline`) provides those rows. Writing W_i = [W_id; W_φ],
z_i = W_id[i] + W_φ φ(x_i): an item without training interactions still gets the image term.

Three ways of obtaining φ (the paper's ablation), each a registered model:

- `imgrec_dir` (features): φ(x_i) = f_i, fixed precomputed CNN features (`features.npy`;
  pooled ResNet-50 in the paper);
- `imgrec_ft` (features): φ(x_i) = ReLU(FC_150(f_i)), the FC layer trained;
- `imgrec_ete` (images): φ(x_i) = ReLU(FC_150(CNN(x_i))), the CNN's last N layers trained
  (N = 50 of ResNet-50) in two stages: the CNN frozen until validation stops improving (at
  most `stage1_epochs`), then joint training at `stage2_lr_scale` × the learning rate.

`score` returns the logit z_uᵀz_i (σ is monotone, so it ranks like x̂ and factorises as
user_vectors · item_vectors); `probability` applies σ.
"""
import dataclasses

import tensorflow as tf
import tf_keras as keras
from absl import logging

from tfvisrec.config import field
from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.models import hyperparameters as hp
from tfvisrec.models.base import Recommender
from tfvisrec.models.dvbpr import flatten_images, unflatten
from tfvisrec.models.registry import register
from tfvisrec.vision import backbones
from tfvisrec.vision.cnn_config import FineTunedCNNConfig


@dataclasses.dataclass
class ImgRecConfig(FineTunedCNNConfig, hp.LatentFactorsConfig):
    """ImgRec-Dir, -FT (fixed features) and -EtE (the CNN, in two stages)."""

    l2_visual: float = hp.l2_visual()
    features_file: str = hp.features_file()
    imgrec_fc_dim: int = field(150, "ImgRec: width of the ReLU layer on image features (150 in Elsayed et al. 2021).")
    stage1_epochs: int = field(0, "Two-stage training (ImgRec-EtE): at most this many epochs with the backbone frozen before joint training (early stopping's patience ends the frozen stage sooner; joint training then starts from its best weights); 0 = joint from the start.")
    stage2_lr_scale: float = field(0.1, "Two-stage training (ImgRec-EtE): the learning rate is multiplied by this in the joint stage (the unfrozen CNN layers start with fresh Adam moments).")

    def keeps_loaded_layers(self) -> bool:
        return super().keeps_loaded_layers() or self.stage1_epochs > 0


def binary_cross_entropy(labels, logits):
    """Mean −[y ln σ(s) + (1 − y) ln(1 − σ(s))] over all rows (ImgRec's pointwise loss)."""
    logits = tf.convert_to_tensor(logits)
    labels = tf.cast(labels, logits.dtype)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def _mean_squared_norm(vectors):
    return tf.reduce_mean(tf.reduce_sum(tf.square(vectors), axis=-1))


def _glorot(seed):
    return keras.initializers.GlorotUniform(seed=seed)


# ------------------------------------------------------------------ φ: the image branches

class FixedFeatures(keras.layers.Layer):
    """ImgRec-Dir's φ(x_i) = f_i: the precomputed features as they are."""

    feature_key = schema.FEATURES

    def __init__(self, data_info, config, **kwargs):
        super().__init__(name=kwargs.pop("name", "fixed_features"), **kwargs)
        self.output_dim = _feature_dim(data_info)

    def call(self, features, training=False):
        return tf.cast(features, tf.float32)

    def kernels(self):
        return []


class FineTunedFeatures(keras.layers.Layer):
    """ImgRec-FT's φ(x_i) = ReLU(W_fc f_i + b): a trained FC layer on the fixed features."""

    feature_key = schema.FEATURES

    def __init__(self, data_info, config, **kwargs):
        super().__init__(name=kwargs.pop("name", "fine_tuned_features"), **kwargs)
        self.output_dim = int(config.imgrec_fc_dim)
        self.fc = keras.layers.Dense(self.output_dim, activation="relu", name="fc_image",
                                     kernel_initializer=_glorot(config.seed + 3))
        self.fc.build([None, _feature_dim(data_info)])

    def call(self, features, training=False):
        return self.fc(tf.cast(features, tf.float32))

    def kernels(self):
        return [self.fc.kernel]


class EndToEndImages(keras.layers.Layer):
    """ImgRec-EtE's φ(x_i) = ReLU(W_fc CNN(x_i) + b) on images, the CNN's last N layers trained.

    CNN(x_i) are the backbone's penultimate features (pooled conv5_x of ResNet-50, fc7 of
    CNN-F). "Last N layers" counts the trunk's Keras layers (`layers[-N:]`; the paper trains
    the last 50 of ResNet-50); `frozen` freezes the whole CNN (stage 1), which then also runs
    in inference mode (dropout and batch norm). Weight decay applies to the trained kernels.
    """

    feature_key = schema.IMAGE

    def __init__(self, data_info, config, **kwargs):
        super().__init__(name=kwargs.pop("name", "end_to_end_images"), **kwargs)
        self.backbone = backbones.build_backbone(**config.backbone_spec(), output_dim=0)
        if config.backbone_weights:
            from tfvisrec.vision import pretrained
            pretrained.load_backbone_weights(self.backbone, config.backbone_weights)
        self.output_dim = int(config.imgrec_fc_dim)
        self.fc = keras.layers.Dense(self.output_dim, activation="relu", name="fc_image",
                                     kernel_initializer=_glorot(config.seed + 3))
        self.fc.build([None, self.backbone.feature_dim])
        self.num_trained_layers = int(config.trainable_backbone_layers)
        self.frozen = False
        self.freeze(False)

    def call(self, images, training=False):
        flat, leading = flatten_images(images)
        cnn = self.backbone.penultimate(flat, training=bool(training) and not self.frozen)
        return unflatten(self.fc(cnn), leading)

    def kernels(self):
        return [self.fc.kernel]

    def freeze(self, frozen: bool) -> None:
        """Frozen: no CNN variable trains; else exactly the last N layers' variables do."""
        self.frozen = bool(frozen)
        self.trained_layers = self.backbone.train_last_layers(0 if frozen else self.num_trained_layers)

    def weight_penalty(self):
        """weight_decay · Σ ½‖W‖² over the CNN kernels being trained."""
        return self.backbone.weight_penalty(trainable_only=True)


def _feature_dim(data_info) -> int:
    if int(data_info.feature_dim) < 1:
        raise DataError("this ImgRec variant needs precomputed item features (--features_file, or "
                        "<dataset>/features.npy written by `python -m tfvisrec.vision.features`)")
    return int(data_info.feature_dim)


# ------------------------------------------------------------------ the recommender

class ImgRec(Recommender):
    """z_u = W_u[u], z_i = W_id[i] + W_φ φ(x_i), x̂ = σ(z_uᵀ z_i) (Elsayed et al. 2021).

    Variants set `image_branch_class` (φ). The penalty of a batch of rows (u, i, label) is

        λ_user mean ‖W_u[u]‖² + λ_item mean ‖W_id[i]‖² + λ_visual Σ ‖W‖² (W_φ, the FC layer)

    (`l2_user`, `l2_item`, `l2_visual`), plus the CNN's weight decay for `imgrec_ete`.
    K = `embedding_dim`.
    """

    train_pipeline = "pointwise"
    item_feature_keys = (schema.ITEM, schema.FEATURES)
    config_class = ImgRecConfig
    image_branch_class = FixedFeatures

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        dim = int(config.embedding_dim)
        if dim < 1:
            raise ValueError(f"embedding_dim must be at least 1, got {dim}")
        init = lambda seed: keras.initializers.RandomNormal(stddev=config.init_stddev, seed=seed)
        self.user_embedding = self.add_weight(
            name="W_u", shape=[data_info.num_users, dim], dtype=tf.float32, initializer=init(config.seed))
        self.item_embedding = self.add_weight(
            name="W_id", shape=[data_info.num_items, dim], dtype=tf.float32,
            initializer=init(config.seed + 1))
        self.image_branch = self.image_branch_class(data_info, config)
        self.image_projection = keras.layers.Dense(dim, use_bias=False, name="W_phi",
                                                   kernel_initializer=_glorot(config.seed + 2))
        self.image_projection.build([None, self.image_branch.output_dim])

    def image_features(self, items, training=False):
        """φ(x_i) [..., d] from the item features the branch reads."""
        return self.image_branch(items[self.image_branch.feature_key], training=training)

    def user_vectors(self, users, training=False):
        return tf.gather(self.user_embedding, users)

    def item_vectors(self, items, training=False):
        """z_i; without an `item` id (an image from outside the catalogue) only W_φ φ(x_i)."""
        z = self.image_projection(self.image_features(items, training=training))
        if schema.ITEM in items:
            z += tf.gather(self.item_embedding, items[schema.ITEM])
        return z

    def score(self, users, items, training=False):
        """The logit z_uᵀ z_i for users [B] and items [B] → [B]."""
        z_u = self.user_vectors(users)
        z_i = self.item_vectors(items, training=training)
        if z_i.shape.rank == z_u.shape.rank + 1:
            z_u = z_u[:, None, :]
        return tf.reduce_sum(z_u * z_i, axis=-1)

    def probability(self, users, items):
        """x̂(u, i) = σ(z_uᵀ z_i)."""
        return tf.sigmoid(self.score(users, items))

    def regularization(self, batch):
        kernels = [self.image_projection.kernel] + self.image_branch.kernels()
        penalty = (self.config.l2_user * _mean_squared_norm(self.user_vectors(batch["user"]))
                   + self.config.l2_item * _mean_squared_norm(
                       tf.gather(self.item_embedding, batch["item"][schema.ITEM]))
                   + self.config.l2_visual * tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels]))
        if hasattr(self.image_branch, "weight_penalty"):
            penalty += self.image_branch.weight_penalty()
        return penalty

    def compute_loss(self, batch, training=True):
        """BCE over the rows {"user", "item", "label"} of a pointwise batch, plus the penalty."""
        logits = self.score(batch["user"], batch["item"], training=training)
        return binary_cross_entropy(batch["label"], logits) + self.regularization(batch)


@register("imgrec_dir")
class ImgRecDir(ImgRec):
    """ImgRec-Dir: φ(x_i) = f_i, the fixed features concatenated with the one-hot id as they are."""

    item_feature_keys = (schema.ITEM, schema.FEATURES)
    image_branch_class = FixedFeatures


@register("imgrec_ft")
class ImgRecFT(ImgRec):
    """ImgRec-FT: φ(x_i) = ReLU(W_fc f_i + b) on the fixed features, the FC layer trained."""

    item_feature_keys = (schema.ITEM, schema.FEATURES)
    image_branch_class = FineTunedFeatures


@register("imgrec_ete")
class ImgRecEtE(ImgRec):
    """ImgRec-EtE: φ(x_i) = ReLU(W_fc CNN(x_i) + b) trained end to end (see `EndToEndImages`),
    in two stages: the CNN frozen for the first `stage1_epochs` epochs, or until early
    stopping's patience runs out (only W_u, W_id, W_φ and the FC layer learn; the trainer then
    goes on from stage 1's best weights), then its last `trainable_backbone_layers` layers
    join, at the learning rate times `stage2_lr_scale` (Adam's first steps on the newly
    trained layers are a full learning rate each, whatever their gradient, which would wreck
    pretrained weights).
    The frozen CNN's outputs are computed once per item at the start of stage 1, so a stage-1
    epoch runs no CNN and stage 1 can run to convergence, as the paper's protocol asks.
    """

    item_feature_keys = (schema.ITEM, schema.IMAGE)
    image_branch_class = EndToEndImages

    def __init__(self, data_info, config, **kwargs):
        super().__init__(data_info, config, **kwargs)
        self._catalogue = None              # the dataset, for the stage-1 feature cache
        self._frozen_cnn_features = None    # CNN(x_i) of every item while the CNN is frozen

    @property
    def backbone(self):
        return self.image_branch.backbone

    def prepare(self, dataset):
        self._catalogue = dataset

    def image_features(self, items, training=False):
        """φ(x_i); in stage-1 training, from the frozen CNN's cached outputs (the same numbers
        as running it, without a CNN pass per row)."""
        if training and self._frozen_cnn_features is not None and schema.ITEM in items:
            return self.image_branch.fc(tf.gather(self._frozen_cnn_features, items[schema.ITEM]))
        return super().image_features(items, training=training)

    def _catalogue_cnn_features(self, batch_size: int = 256):
        """CNN(x_i) [items, F] of the prepared dataset's images, in inference mode as frozen."""
        if self._catalogue is None:
            return None
        from tfvisrec.data.item_features import ItemFeatureTable
        table = ItemFeatureTable.for_model(self, self._catalogue, cache="decode", keys=(schema.IMAGE,))
        logging.info("ImgRec-EtE stage 1: the frozen CNN's features of %d items", table.num_items)
        return tf.concat([self.backbone.penultimate(batch[schema.IMAGE], training=False)
                          for _, batch in table.catalogue_batches(batch_size)], axis=0)

    @property
    def learning_rate_scale(self) -> float:
        """The trainer's learning rate is scaled by this: `stage2_lr_scale` in the joint stage."""
        return 1.0 if self.image_branch.frozen else float(self.config.stage2_lr_scale)

    @property
    def num_stages(self) -> int:
        return 2 if int(self.config.stage1_epochs) > 0 else 1

    @property
    def stage(self) -> int:
        """0: the CNN frozen; 1: joint (0 also when there is only the joint stage)."""
        return 0 if self.image_branch.frozen or self.num_stages == 1 else 1

    def begin_epoch(self, epoch: int, min_stage: int = 0) -> bool:
        """Trainer hook at each epoch start: the stage of `epoch`, frozen before
        `stage1_epochs` unless the trainer ended stage 1 early (`min_stage` 1: its validation
        AUC stopped improving). True when the set of trainable variables changed (the trainer
        then rebuilds its train step)."""
        frozen = int(min_stage) < 1 and int(epoch) < int(self.config.stage1_epochs)
        if frozen == self.image_branch.frozen:
            return False
        self.image_branch.freeze(frozen)
        self._frozen_cnn_features = self._catalogue_cnn_features() if frozen else None
        return True
