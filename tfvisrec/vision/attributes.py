"""Multi-task attribute classifier: the fashion pretraining of image backbones.

No ImageNet weights can be downloaded here, so backbones learn on a labelled catalogue
instead: one softmax head per attribute (category, article type, colour, usage…) on the
backbone's penultimate features, as SAERS' Semantic Extraction Network is trained (Hou et al.
2019, eq. 1). Its checkpoint is what other models load as a "fashion-pretrained" backbone
(`tfvisrec.vision.pretrained`), and what `python -m tfvisrec.vision.features` runs. The
trainer's registered model around this network is `tfvisrec.models.attributes`.
"""
import json
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from tfvisrec.data import catalogue_pipeline, schema
from tfvisrec.data.errors import DataError
from tfvisrec.vision import backbones

SPEC_FORMAT = 1


def multitask_cross_entropy(labels, logits: Sequence[tf.Tensor]) -> tf.Tensor:
    """L = Σ_a CE(softmax(W_a h), y_a) (SAERS, Hou et al. 2019, eq. 1), missing labels masked.

    labels: int [B, A] with -1 = missing; logits: A tensors [B, |values_a|]. Each attribute's
    term is the mean cross-entropy over the items of the batch that have its label (0 when
    none has), so a sparsely labelled attribute weighs as much as a dense one.
    """
    labels = tf.convert_to_tensor(labels, tf.int32)
    terms = []
    for a, attribute_logits in enumerate(logits):
        y = labels[:, a]
        known = tf.cast(y >= 0, tf.float32)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.maximum(y, 0), attribute_logits)
        terms.append(tf.reduce_sum(ce * known) / tf.maximum(tf.reduce_sum(known), 1.0))
    return tf.add_n(terms)


class PretrainingSpec(tf.train.experimental.PythonState):
    """JSON saved inside every checkpoint: the backbone's builder arguments and the attribute
    vocabularies, so a checkpoint alone rebuilds the classifier (no flags to repeat)."""

    def __init__(self, backbone_spec: Dict, attribute_names: List[str], attribute_values: List[List[str]]):
        self.value = {"format": SPEC_FORMAT, "backbone": dict(backbone_spec),
                      "attribute_names": list(attribute_names),
                      "attribute_values": [list(v) for v in attribute_values]}

    def serialize(self):
        return json.dumps(self.value, sort_keys=True)

    def deserialize(self, string_value):
        text = string_value.decode("utf-8") if isinstance(string_value, bytes) else string_value
        self.value = json.loads(text)


class AttributeNetwork(keras.Model):
    """Backbone h = f(image) → per attribute a: softmax(W_a · dropout(h)) (SAERS eq. 1).

    The network alone (vision layer: it scores no users). The trainer drives it through
    `tfvisrec.models.attributes.AttributeClassifier`, the registered model `attributes`;
    `tfvisrec.vision.pretrained.load_attribute_classifier` rebuilds it from a checkpoint.
    """

    def __init__(self, cardinalities: Sequence[int], backbone_spec: Dict, name: str = "attributes"):
        super().__init__(name=name)
        self.build_network(cardinalities, backbone_spec)

    def build_network(self, cardinalities: Sequence[int], backbone_spec: Dict) -> None:
        """The backbone (no output head), dropout and one dense head per attribute."""
        cardinalities = tuple(int(c) for c in cardinalities)
        if not cardinalities or min(cardinalities) < 1:
            raise DataError("the attribute classifier needs a dataset with attribute labels "
                            f"(attribute cardinalities {cardinalities})")
        self.cardinalities = cardinalities
        self.backbone = backbones.build_backbone(**{**backbone_spec, "output_dim": 0})
        self.feature_dropout = keras.layers.Dropout(self.backbone.spec["dropout"], name="feature_dropout")
        self.heads = [keras.layers.Dense(n, name=f"attribute_{a}") for a, n in enumerate(cardinalities)]
        for head in self.heads:
            head.build([None, self.backbone.feature_dim])
        self.pretraining_spec = PretrainingSpec(
            self.backbone.spec, [f"attribute_{a}" for a in range(len(cardinalities))],
            [[str(v) for v in range(n)] for n in cardinalities])
        self._cache = _EvaluationCache()

    @property
    def image_size(self) -> int:
        return int(self.backbone.spec["image_size"])

    @property
    def attribute_names(self) -> List[str]:
        return list(self.pretraining_spec.value["attribute_names"])

    @property
    def attribute_values(self) -> List[List[str]]:
        return [list(v) for v in self.pretraining_spec.value["attribute_values"]]

    def call(self, images, training=False) -> List[tf.Tensor]:
        """Images [B, S, S, 3] in [-1, 1] → one logits tensor [B, |values_a|] per attribute."""
        return self.head_logits(self.backbone(images, training=training), training=training)

    def head_logits(self, features, training=False) -> List[tf.Tensor]:
        """Penultimate features h [B, D] → the logits W_a · dropout(h) of every attribute."""
        h = self.feature_dropout(features, training=training)
        return [head(h) for head in self.heads]

    def attribute_probabilities(self, images) -> List[tf.Tensor]:
        return [tf.nn.softmax(logits) for logits in self(images, training=False)]

    def weight_penalty(self) -> tf.Tensor:
        """Weight decay λ Σ ½‖W‖² over the backbone's and the heads' kernels."""
        decay = self.backbone.weight_decay
        heads = decay * tf.add_n([tf.nn.l2_loss(h.kernel) for h in self.heads]) if decay else 0.0
        return self.backbone.weight_penalty() + heads

    def predict_split(self, dataset, split: str, batch_size: int = 256):
        """(labels int32 [N, A], predicted value indices int32 [N, A], their probabilities
        float32 [N, A]) over a holdout split."""
        table = self._cache.item_table(dataset, self.image_size)
        data = catalogue_pipeline.make_attribute_dataset(
            dataset, split, batch_size=batch_size, image_size=self.image_size, item_table=table)
        predict = self._cache.predict_fn(self)
        labels, predicted, confidence = [], [], []
        for batch in data:
            labels.append(batch[catalogue_pipeline.LABELS].numpy())
            classes, probabilities = predict(batch[catalogue_pipeline.IMAGE])
            predicted.append(classes.numpy())
            confidence.append(probabilities.numpy())
        return np.concatenate(labels), np.concatenate(predicted), np.concatenate(confidence)

    def per_attribute_accuracy(self, dataset, split: str = "valid", batch_size: int = 256) -> Dict[str, float]:
        """Accuracy per attribute over the split's items that have its label (NaN if none)."""
        labels, predicted, _ = self.predict_split(dataset, split, batch_size)
        return accuracy_by_attribute(labels, predicted, self.attribute_names)


def accuracy_by_attribute(labels: np.ndarray, predicted: np.ndarray, names: Sequence[str]) -> Dict[str, float]:
    out = {}
    for a, name in enumerate(names):
        known = labels[:, a] >= 0
        out[name] = float(np.mean(predicted[known, a] == labels[known, a])) if known.any() else float("nan")
    return out


def majority_accuracy(dataset, split: str = "valid") -> Dict[str, float]:
    """The yardstick: accuracy of always predicting each attribute's most frequent training value."""
    labels = catalogue_pipeline.checked_labels(dataset)
    train = labels[catalogue_pipeline.split_items(dataset, "train")]
    held_out = labels[catalogue_pipeline.split_items(dataset, split)]
    majority = []
    for a in range(labels.shape[1]):
        known = train[:, a][train[:, a] >= 0]
        majority.append(np.bincount(known).argmax() if known.size else -2)
    predicted = np.broadcast_to(np.asarray(majority, np.int32), held_out.shape)
    return accuracy_by_attribute(held_out, predicted, dataset.attribute_names)


class _EvaluationCache:
    """Plain (untracked) holder: the decoded catalogue and the compiled forward pass."""

    def __init__(self):
        self._tables, self._predict = {}, None

    def item_table(self, dataset, image_size):
        from tfvisrec.data.item_features import ItemFeatureTable
        key = (id(dataset), dataset.path, image_size)
        if key not in self._tables:
            self._tables = {key: ItemFeatureTable(dataset, (schema.IMAGE,), image_size=image_size)}
        return self._tables[key]

    def predict_fn(self, model):
        if self._predict is None:
            size = model.image_size

            @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
            def predict(images):
                logits = model(images, training=False)
                return (tf.stack([tf.argmax(x, axis=-1, output_type=tf.int32) for x in logits], axis=-1),
                        tf.stack([tf.reduce_max(tf.nn.softmax(x), axis=-1) for x in logits], axis=-1))
            self._predict = predict
        return self._predict
