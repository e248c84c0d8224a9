"""What a servable keeps for the `explain` signature (SAERS, Hou et al. 2019, §3.4): every
catalogue item's attribute boxes, predicted classes and their probabilities, and the attribute
and value names of `regions.npz`, so an explanation leaves the server with names instead of
indices, and with how sure the classifier was of each value it names.

Given the attribute classifier the regions came from (the Semantic Extraction Network, §3.1),
it also holds that network, and `explain_images` computes a new photo's regions in the graph
(`tfvisrec.vision.region_features.photo_regions`: Grad-AAM, threshold, largest connected
region, box, ROI pooling or the attribute probabilities, as the file's `region_feature` says),
exactly as `regions.npz` was made for the catalogue."""
from typing import Dict, Tuple

import numpy as np
import tensorflow as tf

from tfvisrec.data import schema
from tfvisrec.data.region_file import read_regions, regions_path
from tfvisrec.serving.tables import dense_gather


class ExplanationTables(tf.Module):
    """Boxes [items, A, 4], classes [items, A], their probabilities [items, A] (NaN throughout
    for a regions.npz written before they were kept), attribute names [A], value names (flattened)."""

    def __init__(self, model, dataset, classifier=None):
        super().__init__(name="explanation")
        regions = read_regions(regions_path(dataset, model.regions_file), dataset.num_items)
        if classifier is not None:
            from tfvisrec.vision.region_features import require_maker_of
            require_maker_of(classifier, regions)
        # The Semantic Extraction Network for photos outside the catalogue (None: no
        # explain_images). Its weights are tracked, not the network itself: the network holds its
        # PretrainingSpec (a PythonState), which tf.saved_model.load cannot revive, and every load
        # of the export warned of "unrestored values".
        object.__setattr__(self, "classifier", classifier)
        self.classifier_weights = list(classifier.variables) if classifier is not None else []
        self.region_feature = regions.region_feature
        self.boxes = tf.Variable(regions.boxes, trainable=False, name="region_boxes")
        self.classes = tf.Variable(regions.classes, trainable=False, name="region_classes")
        self.class_probabilities = tf.Variable(regions.class_probabilities_or_nan(), trainable=False,
                                               name="region_class_probabilities")
        self.attribute_names = tf.constant(np.asarray(regions.names, dtype=object), tf.string)
        offsets = np.concatenate([[0], np.cumsum([len(v) for v in regions.values])[:-1]]).astype(np.int32)
        self.value_offsets = tf.constant(offsets, tf.int32)
        self.value_names = tf.constant(np.asarray([v for values in regions.values for v in values], dtype=object),
                                       tf.string)

    def item_features(self, item_index) -> Dict[str, tf.Tensor]:
        """The explanation's item features of catalogue items [B]."""
        return {schema.REGION_BOXES: dense_gather(self.boxes, item_index),
                schema.REGION_CLASSES: dense_gather(self.classes, item_index)}

    def item_class_probabilities(self, item_index) -> tf.Tensor:
        """The classifier's probability of each predicted value of catalogue items [B] → [B, A]."""
        return dense_gather(self.class_probabilities, item_index)

    @property
    def reads_photos(self) -> bool:
        """Can explain a photo outside the catalogue (holds the attribute classifier)."""
        return self.classifier is not None

    def photo_features(self, jpeg_bytes) -> Tuple[Dict[str, tf.Tensor], tf.Tensor]:
        """(the region features, boxes and classes of encoded photos [B], the classes'
        probabilities [B, A]), computed in the graph."""
        from tfvisrec.vision.region_features import photo_regions
        out = photo_regions(self.classifier, jpeg_bytes, self.region_feature)
        return ({schema.REGIONS: out["region_features"], schema.REGION_BOXES: out["boxes"],
                 schema.REGION_CLASSES: out["classes"]}, out["class_probabilities"])

    def named(self, explanation: Dict[str, tf.Tensor], class_probabilities) -> Dict[str, tf.Tensor]:
        """A model's `explain` output and the classifier's probabilities of its classes [B, A]
        → the signature's outputs (names for indices)."""
        classes = explanation["classes"]
        count = tf.shape(classes)[0]
        return {"attributes": tf.tile(self.attribute_names[tf.newaxis], [count, 1]),
                "weights": explanation["weights"],
                "classes": tf.gather(self.value_names, classes + self.value_offsets[tf.newaxis]),
                "class_probabilities": tf.cast(class_probabilities, tf.float32),
                "boxes": explanation["boxes"],
                "top_attribute": tf.gather(self.attribute_names, explanation["top_attribute"])}
