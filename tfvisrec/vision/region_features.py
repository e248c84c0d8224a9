"""Every catalogue item's attribute regions, computed once with a pretrained attribute
classifier (SAERS' Semantic Extraction Network, Hou et al. 2019, §3.1) and cached beside the
dataset's `features.npy` as `regions.npz` (`tfvisrec.data.region_file`).

Per item and attribute: the predicted class, the box of the largest Grad-AAM region (eq. 2–3,
threshold at 20 % of the map's maximum) and the ROI-pooled last conv maps inside it, f_a^k(i)
— what SAERS' fine-grained preference attention reads (`tfvisrec.models.saers`).
"""
import numpy as np
import tensorflow as tf

from tfvisrec.data import catalogue_pipeline, schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.item_features import ItemFeatureTable
from tfvisrec.data.region_file import ItemRegions
from tfvisrec.progress import EpochProgress
from tfvisrec.vision import regions, semantic_extraction

ROI_GRID = 3
ROI_POOLING = "average"


def require_classifier(classifier, weights: str):
    """The classifier, or a DataError: regions need the attribute heads, not just a backbone."""
    if classifier is None:
        raise DataError("attribute regions need a pretrained attribute classifier (a run of "
                        "configs/attributes.cfg); these weights hold only an image backbone", weights)
    return classifier


def extract_regions(classifier, dataset, batch_size: int = 64, table: ItemFeatureTable = None,
                    threshold_fraction: float = regions.DEFAULT_THRESHOLD_FRACTION,
                    verbose: int = 0) -> ItemRegions:
    """`classifier` (an `AttributeNetwork`) over every item image of `dataset` → `ItemRegions`,
    index-aligned with the dataset's items. `table` may share an image table already decoded
    at the classifier's image size."""
    size = classifier.image_size
    table = table or ItemFeatureTable(dataset, (schema.IMAGE,), image_size=size)
    batches = catalogue_pipeline.make_item_image_dataset(dataset, size, batch_size, item_table=table)

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
    def extract(images):
        out = semantic_extraction.extract_attribute_regions(
            classifier, images, threshold_fraction=threshold_fraction, grid_size=ROI_GRID, pooling=ROI_POOLING)
        return out["region_features"], out["boxes"], out["classes"]

    parts, done = [], 0
    progress = EpochProgress(dataset.num_items, verbose=verbose, label="items (regions)")
    for batch in batches:
        parts.append([x.numpy() for x in extract(batch[schema.IMAGE])])
        done += int(parts[-1][0].shape[0])
        progress.update(done)
    progress.close()
    features, boxes, classes = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return ItemRegions(features.astype(np.float32), boxes.astype(np.float32), classes.astype(np.int32),
                       classifier.attribute_names, classifier.attribute_values)
