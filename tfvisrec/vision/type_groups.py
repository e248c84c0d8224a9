"""An article's group from its photo: the attribute classifier's product-type head (SAERS
eq. 1, trained on the labelled H&M articles, `configs/hm_attributes.cfg`), its type
probabilities summed per group,

    P(g | image) = Σ_{types t of group g} softmax(W_type · h(image))_t,

each type counted in the group the articles CSV gives it (`tfvisrec.data.adapters.hm_slots`).
The groups are either the outfit slots (top / bottom / shoes / other: PAN's H&M outfits,
issue 13) or the product groups (the GAN's categories, issue 12). The predicted group is the
most probable one, its probability the confidence.
"""
import os
from typing import Dict, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tfvisrec.data import catalogue_pipeline, images, schema
from tfvisrec.data.adapters.hm import IMAGES_FILE, image_member
from tfvisrec.data.adapters.hm_slots import (PREDICTED_SLOTS, TYPE_COLUMN, PhotoPredictions, SlotPredictions,
                                             group_of_type, slot_of_type, unlabelled_articles)
from tfvisrec.data.errors import DataError
from tfvisrec.data.image_reader import ImageNotFound, open_images
from tfvisrec.progress import EpochProgress
from tfvisrec.vision import pretrained


class TypeGroupClassifier:
    """The attribute classifier at `weights` read as a classifier of `groups`, each of its
    `type_attribute` values counted in the group `group_of_type` names."""

    def __init__(self, weights: str, group_of_type: Dict[str, str], groups: Sequence[str],
                 type_attribute: str = TYPE_COLUMN):
        classifier = pretrained.load_attribute_classifier(weights)
        if classifier is None:
            raise DataError("not an attribute classifier (train one with configs/hm_attributes.cfg)", weights)
        if type_attribute not in classifier.attribute_names:
            raise DataError(f"the classifier has no {type_attribute!r} head (its heads: "
                            f"{', '.join(classifier.attribute_names)})", weights)
        self.weights = weights
        self.type_attribute = type_attribute
        self.groups = tuple(groups)
        head = classifier.attribute_names.index(type_attribute)
        self.types = classifier.attribute_values[head]
        unknown = [t for t in self.types if t not in group_of_type]
        if unknown:
            raise DataError(f"{len(unknown)} product types of the classifier have no product group in "
                            f"the articles (first: {unknown[0]!r})", weights)
        self.type_group = np.asarray([self.groups.index(group_of_type[t]) for t in self.types], np.int64)
        to_groups = tf.constant(np.eye(len(self.groups), dtype=np.float32)[self.type_group])
        self.image_size = classifier.image_size

        @tf.function(input_signature=[tf.TensorSpec([None, self.image_size, self.image_size, 3], tf.float32)])
        def group_probabilities(batch):
            return tf.matmul(tf.nn.softmax(classifier(batch, training=False)[head]), to_groups)
        self._group_probabilities = group_probabilities

    def probabilities(self, image_batch) -> np.ndarray:
        """Images float32 [B, S, S, 3] in [-1, 1] → P(group | image) float32 [B, groups]."""
        return self._group_probabilities(tf.convert_to_tensor(image_batch, tf.float32)).numpy()

    def jpeg_probabilities(self, jpegs: Sequence[bytes], batch_size: int = 256, verbose: int = 0) -> np.ndarray:
        """Encoded photos [N] → P(group | image) [N, groups], decoded as the training pipelines do."""
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(list(jpegs), tf.string))
        ds = ds.map(lambda b: images.decode_to_uint8(b, self.image_size),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size)
        out, progress = [], EpochProgress(len(jpegs), verbose=verbose, label="photos")
        for batch in ds:
            out.append(self.probabilities(images.normalise(batch)))
            progress.update(sum(len(o) for o in out))
        progress.close()
        return np.concatenate(out) if out else np.zeros((0, len(self.groups)), np.float32)

    def held_out(self, catalogue, split: str = "test", batch_size: int = 256) -> Tuple[np.ndarray, np.ndarray]:
        """On a labelled catalogue's hold-out split (the one the classifier never trained on):
        (true group [N], P(group | image) [N, groups]) of its items with a product-type label."""
        from tfvisrec.data.item_features import ItemFeatureTable
        if self.type_attribute not in catalogue.attribute_names:
            raise DataError(f"the catalogue has no {self.type_attribute!r} labels", catalogue.path)
        a = catalogue.attribute_names.index(self.type_attribute)
        if list(catalogue.attribute_values[a]) != list(self.types):
            raise DataError(f"the catalogue's {self.type_attribute} values differ from the classifier's "
                            f"(not the catalogue it was trained on?)", catalogue.path)
        labels = catalogue_pipeline.checked_labels(catalogue)[:, a]
        items = catalogue_pipeline.split_items(catalogue, split)
        items = items[labels[items] >= 0]
        table = ItemFeatureTable(catalogue, (schema.IMAGE,), image_size=self.image_size)
        probs = [self.probabilities(table.lookup(items[k:k + batch_size])[schema.IMAGE])
                 for k in range(0, len(items), batch_size)]
        return self.type_group[labels[items]], np.concatenate(probs)


class SlotClassifier(TypeGroupClassifier):
    """The attribute classifier at `weights` read as a classifier of outfit slots."""

    def __init__(self, weights: str, slot_of_type: Dict[str, str], type_attribute: str = TYPE_COLUMN):
        super().__init__(weights, slot_of_type, PREDICTED_SLOTS, type_attribute)


def product_group_classifier(weights: str, hm_dir: str, type_attribute: str = TYPE_COLUMN) -> TypeGroupClassifier:
    """The classifier of the product groups its types belong to in `hm_dir`'s articles CSV."""
    groups_of_types = group_of_type(hm_dir, type_attribute)
    return TypeGroupClassifier(weights, groups_of_types, sorted(set(groups_of_types.values())), type_attribute)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int = len(PREDICTED_SLOTS)) -> np.ndarray:
    """int64 [true, predicted] counts."""
    out = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(out, (np.asarray(true), np.asarray(predicted)), 1)
    return out


def _unlabelled_photos(hm_dir: str):
    """(article ids, their photos) of the bought articles without metadata."""
    articles = unlabelled_articles(hm_dir)
    archive = os.path.join(hm_dir, IMAGES_FILE)
    if not os.path.exists(archive):
        raise DataError("file does not exist", archive)
    try:
        found = dict(open_images(archive).read_many([image_member(a) for a in articles]))
    except ImageNotFound as e:
        raise DataError(f"no photo {e} in the archive", archive) from None
    return articles, [found[image_member(a)] for a in articles]


def predict_hm_slots(weights: str, hm_dir: str, batch_size: int = 256, verbose: int = 0,
                     type_attribute: str = TYPE_COLUMN) -> SlotPredictions:
    """P(slot | photo) of every bought H&M article without metadata."""
    classifier = SlotClassifier(weights, slot_of_type(hm_dir, type_attribute), type_attribute)
    articles, jpegs = _unlabelled_photos(hm_dir)
    return SlotPredictions(articles, classifier.jpeg_probabilities(jpegs, batch_size, verbose),
                           source=os.path.abspath(weights))


def predict_hm_groups(weights: str, hm_dir: str, batch_size: int = 256, verbose: int = 0,
                      type_attribute: str = TYPE_COLUMN) -> PhotoPredictions:
    """P(product group | photo) of every bought H&M article without metadata."""
    classifier = product_group_classifier(weights, hm_dir, type_attribute)
    articles, jpegs = _unlabelled_photos(hm_dir)
    return PhotoPredictions(articles, classifier.jpeg_probabilities(jpegs, batch_size, verbose),
                            classifier.groups, source=os.path.abspath(weights))
