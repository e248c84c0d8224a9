"""Quality of images by an inception-style score with our own category classifier (the
"Inception Score" column of DVBPR's Table IV; Salimans et al. 2016):

    IS = exp(E_x KL(p(y|x) ‖ p(y))),  p(y) = E_x p(y|x)

No Inception weights can be downloaded here, and ImageNet's classes say little about
clothes, so p(y|x) comes from the project's attribute classifier (`attributes`, SAERS eq. 1)
trained on the same catalogue, and y ranges over the GAN's categories. One head of the
classifier either has the categories as its values (a classifier trained with the category
as an attribute) or finer values that map onto them (H&M: product type → product group),
the map read from the items of the GAN's dataset that carry both labels (each value goes to
the category most of its items have):

    p(c|x) = Σ_{v → c} p(v|x) / Σ_{v mapped} p(v|x)

A high score needs confident predictions (each image looks like one category) that cover
the categories (p(y) spread out): score a method's images pooled over several categories;
over one category the score is near 1 by construction.
"""
import json
import os
from typing import Dict, Sequence

import numpy as np
import tensorflow as tf

from tfvisrec import metrics
from tfvisrec.data import catalogue_pipeline, schema
from tfvisrec.data.errors import DataError

BATCH = 256


def category_map(values: Sequence[str], categories: Sequence[str], value_labels=None,
                 category_labels=None) -> np.ndarray:
    """int [V]: the category index each head value stands for, -1 when none.

    Without labels a value maps to the category of the same name. With `value_labels` (the
    head's value index of each item, -1 = missing) and `category_labels` (its category index,
    -1 = none), a value maps to the category most of its labelled items have (ties: the
    lower index)."""
    if value_labels is None:
        index = {name: c for c, name in enumerate(categories)}
        return np.array([index.get(v, -1) for v in values], np.int64)
    value_labels, category_labels = np.asarray(value_labels), np.asarray(category_labels)
    both = (value_labels >= 0) & (category_labels >= 0)
    counts = np.zeros((len(values), len(categories)), np.int64)
    np.add.at(counts, (value_labels[both], category_labels[both]), 1)
    return np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1)


class CategoryClassifier:
    """p(c | x) over the GAN's categories from one head of a trained attribute classifier."""

    def __init__(self, network, attribute: int, value_category: np.ndarray, categories: Sequence[str]):
        self.network, self.attribute = network, int(attribute)
        self.categories = list(categories)
        self.value_category = np.asarray(value_category, np.int64)
        if self.value_category.shape != (network.cardinalities[self.attribute],):
            raise ValueError(f"value_category has shape {self.value_category.shape}; head "
                             f"{self.attribute} has {network.cardinalities[self.attribute]} values")
        mapped = self.value_category >= 0
        if not mapped.any():
            raise DataError(f"no value of the classifier's attribute "
                            f"{network.attribute_names[self.attribute]!r} stands for a category")
        self.covered = sorted(set(self.value_category[mapped].tolist()))
        self._matrix = tf.constant(np.eye(len(self.categories), dtype=np.float32)[np.maximum(self.value_category, 0)]
                                   * mapped[:, None].astype(np.float32))
        size = network.image_size

        @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
        def head_probabilities(images):
            return tf.nn.softmax(self.network(images, training=False)[self.attribute])
        self._head_probabilities = head_probabilities

    @property
    def attribute_name(self) -> str:
        return self.network.attribute_names[self.attribute]

    def value_probabilities(self, images) -> np.ndarray:
        """Images [N, S, S, 3] in [-1, 1], any size (resized bilinearly) → p(v|x) [N, V]."""
        images = tf.convert_to_tensor(images, tf.float32)
        size = self.network.image_size
        out = []
        for start in range(0, int(images.shape[0]), BATCH):
            part = images[start:start + BATCH]
            if part.shape[1] != size or part.shape[2] != size:
                part = tf.image.resize(part, [size, size], method="bilinear")
            out.append(self._head_probabilities(part).numpy())
        return np.concatenate(out).astype(np.float64)

    def probabilities(self, images) -> np.ndarray:
        """Images → p(c|x) [N, C] (the formula of the module docstring)."""
        values = self.value_probabilities(images)
        summed = values @ self._matrix.numpy().astype(np.float64)
        return summed / np.maximum(summed.sum(axis=1, keepdims=True), 1e-12)

    def quality(self, images, splits: int = 1) -> float:
        """The inception-style score of `images` (their mean over `splits` parts)."""
        return metrics.inception_score(self.probabilities(images), splits=splits)[0]

    @classmethod
    def from_checkpoint(cls, path: str, dataset) -> "CategoryClassifier":
        """The attribute classifier at `path` (a run folder or checkpoint) over the categories
        of `dataset` (the GAN's): the head whose values are the category names, else the head
        named as one of `dataset`'s attributes whose values map onto the most categories."""
        from tfvisrec.vision.pretrained import load_attribute_classifier
        network = load_attribute_classifier(path)
        if network is None:
            raise DataError("not an attribute classifier checkpoint (train one with "
                            "configs/attributes.cfg)", path)
        categories = dataset.categories
        if not categories:
            raise DataError("the dataset has no categories to classify", dataset.path)
        for a, values in enumerate(network.attribute_values):
            if set(categories) <= set(values):
                return cls(network, a, category_map(values, categories), categories)
        best = None
        for a, name in enumerate(network.attribute_names):
            if name not in dataset.attribute_names:
                continue
            own = dataset.attribute_names.index(name)
            by_name = {v: i for i, v in enumerate(network.attribute_values[a])}
            item_values = np.array([by_name.get(dataset.attribute_values[own][v], -1) if v >= 0 else -1
                                    for v in np.asarray(dataset.attributes)[:, own]], np.int64)
            mapping = category_map(network.attribute_values[a], categories, item_values, dataset.category)
            covered = len(set(mapping[mapping >= 0].tolist()))
            if covered and (best is None or covered > best[0]):
                best = (covered, a, mapping)
        if best is None:
            raise DataError(f"no head of the classifier {network.attribute_names} has the categories "
                            f"{categories} as values, nor is named as an attribute of the dataset "
                            f"{dataset.attribute_names} to map its values onto them", path)
        return cls(network, best[1], best[2], categories)


def held_out_accuracy(classifier: CategoryClassifier, catalogue, split: str = "test") -> Dict[str, float]:
    """How well the classifier names the category of photos it was not trained on: its own
    catalogue's `split`, each item's label of the classifier's attribute mapped to its category
    (items without a mapped label left out) → {"accuracy", "majority" (always answering the
    most frequent category of the training split), "items"}."""
    if classifier.attribute_name not in catalogue.attribute_names:
        raise DataError(f"the catalogue has no attribute {classifier.attribute_name!r} "
                        f"(it has {catalogue.attribute_names})", catalogue.path)
    own = catalogue.attribute_names.index(classifier.attribute_name)
    head_values = {v: i for i, v in enumerate(classifier.network.attribute_values[classifier.attribute])}
    to_head = np.array([head_values.get(v, -1) for v in catalogue.attribute_values[own]] + [-1], np.int64)
    labels = catalogue_pipeline.checked_labels(catalogue)[:, own]
    truth = np.where(labels >= 0, classifier.value_category[np.maximum(to_head[labels], 0)], -1)
    truth[(labels < 0) | (to_head[labels] < 0)] = -1
    holdout = catalogue_pipeline.holdout_split(catalogue)
    items = np.flatnonzero((holdout == catalogue_pipeline.HOLDOUT_CODES[split]) & (truth >= 0))
    train = truth[(holdout == catalogue_pipeline.HOLDOUT_CODES["train"]) & (truth >= 0)]
    if items.size == 0 or train.size == 0:
        raise DataError(f"no item of the {split} (or train) split has a category label", catalogue.path)
    from tfvisrec.data.item_features import ItemFeatureTable
    table = ItemFeatureTable(catalogue, (schema.IMAGE,), image_size=classifier.network.image_size)
    predicted = np.concatenate([
        classifier.probabilities(table.lookup(items[s:s + BATCH])[schema.IMAGE]).argmax(axis=1)
        for s in range(0, items.size, BATCH)])
    majority = np.bincount(train, minlength=len(classifier.categories)).argmax()
    return {"accuracy": float(np.mean(predicted == truth[items])),
            "majority": float(np.mean(truth[items] == majority)), "items": int(items.size)}


def training_catalogue(run_dir: str) -> str:
    """The dataset folder a classifier run was trained on (its config.json; a relative path is
    tried as is, then beside the run folder)."""
    config = os.path.join(run_dir, "config.json")
    if not os.path.exists(config):
        raise DataError("no config.json: give the classifier's catalogue explicitly", run_dir)
    with open(config, encoding="utf-8") as f:
        path = json.load(f)["train"]["dataset"]
    for candidate in (path, os.path.join(os.path.dirname(os.path.abspath(run_dir)), path)):
        if os.path.isdir(candidate):
            return candidate
    raise DataError(f"the classifier's catalogue {path!r} (from config.json) is not found", run_dir)
