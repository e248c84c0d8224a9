"""`attributes`: the multi-task attribute classifier (SAERS eq. 1) as a trainable model.

The network is `tfvisrec.vision.attributes.AttributeNetwork`; this registers it with the
trainer (config, `prepare`, `compute_loss`, checkpoints, early stopping on held-out
accuracy). It scores no users: `train_pipeline = "attributes"` feeds it labelled images.
Its checkpoint is what other models load as a fashion-pretrained backbone.
"""
import dataclasses
from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from tfvisrec.config import ModelConfig
from tfvisrec.data import catalogue_pipeline, schema
from tfvisrec.data.errors import DataError
from tfvisrec.models.base import DataInfo, Recommender
from tfvisrec.models.registry import register
from tfvisrec.vision.attributes import AttributeNetwork, multitask_cross_entropy
from tfvisrec.vision.cnn_config import CNNConfig


@dataclasses.dataclass
class AttributesConfig(CNNConfig, ModelConfig):
    """The attribute classifier: a CNN and one head per attribute."""


@register("attributes")
class AttributeClassifier(AttributeNetwork, Recommender):
    """Backbone → one softmax head per attribute, trained by Σ_a CE (SAERS eq. 1), weight
    decay on every kernel; early stopping watches the mean held-out accuracy."""

    item_feature_keys = (schema.IMAGE,)
    config_class = AttributesConfig
    factorised = False
    train_pipeline = "attributes"
    validation_metric = "attribute_accuracy"

    def __init__(self, data_info: DataInfo, config, backbone_spec: Optional[Dict] = None, **kwargs):
        Recommender.__init__(self, data_info, config, **kwargs)
        if backbone_spec is None:
            backbone_spec = config.backbone_spec()
        self.build_network(data_info.attribute_cardinalities, backbone_spec)
        if config.backbone_weights:
            from tfvisrec.vision import pretrained
            pretrained.load_backbone_weights(self.backbone, config.backbone_weights)

    def build_variables(self) -> None:
        self(tf.zeros([1, self.image_size, self.image_size, 3]), training=False)

    def prepare(self, dataset) -> None:
        """Check the catalogue (labels, holdout split) and record its attribute vocabularies."""
        found = tuple(len(v) for v in dataset.attribute_values)
        if found != self.cardinalities:
            raise DataError(f"attribute cardinalities {found} differ from the model's {self.cardinalities}",
                            dataset.path)
        catalogue_pipeline.checked_labels(dataset)
        catalogue_pipeline.holdout_split(dataset)
        self.pretraining_spec.value.update(attribute_names=list(dataset.attribute_names),
                                           attribute_values=dataset.attribute_values)

    def regularization(self, batch=None) -> tf.Tensor:
        return self.weight_penalty()

    def compute_loss(self, batch, training: bool = True) -> tf.Tensor:
        logits = self(batch[catalogue_pipeline.IMAGE], training=training)
        return multitask_cross_entropy(batch[catalogue_pipeline.LABELS], logits) + self.regularization(batch)

    def score(self, users, items, training: bool = False):
        raise TypeError("the attribute classifier does not score users; it pretrains backbones "
                        "(load its checkpoint with tfvisrec.vision.pretrained)")

    def validation_score(self, dataset) -> float:
        """Mean held-out (valid split) accuracy over attributes: what early stopping watches."""
        accuracies = [v for v in self.per_attribute_accuracy(dataset, "valid").values() if not np.isnan(v)]
        if not accuracies:
            raise DataError("no attribute has a label in the valid split", dataset.path)
        return float(np.mean(accuracies))
