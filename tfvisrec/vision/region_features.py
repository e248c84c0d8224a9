"""Every catalogue item's attribute regions, computed once with a pretrained attribute
classifier (SAERS' Semantic Extraction Network, Hou et al. 2019, §3.1) and cached beside the
dataset's `features.npy` as `regions.npz` (`tfvisrec.data.region_file`).

Per item and attribute: the predicted class and its probability, the box of the largest Grad-AAM region (eq. 2–3,
threshold at 20 % of the map's maximum) and the ROI-pooled last conv maps inside it, f_a^k(i)
— what SAERS' fine-grained preference attention reads (`tfvisrec.models.saers`); with
`region_feature="probabilities"`, f_a^k(i) is attribute k's predicted distribution instead.
"""
import json
import os

import numpy as np
import tensorflow as tf

from tfvisrec.data import catalogue_pipeline, schema
from tfvisrec.data import images as image_ops
from tfvisrec.data.errors import DataError
from tfvisrec.data.feature_files import INFO_FILE, require_one_run
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
                    verbose: int = 0, grad_aam_layer: str = "", roi_layer: str = "",
                    region_feature: str = "roi") -> ItemRegions:
    """`classifier` (an `AttributeNetwork`) over every item image of `dataset` → `ItemRegions`,
    index-aligned with the dataset's items. `table` may share an image table already decoded
    at the classifier's image size. `grad_aam_layer` / `roi_layer` ("" = the last conv, as
    the paper) choose other conv layers for measurement (bench/saers_world.py); `photo_regions`,
    hence `explain_images` and `python -m tfvisrec.explain --image`, use the last conv.
    `region_feature`: what f_a^k(i) is, "roi" (the paper's) or "probabilities" (see
    `semantic_extraction.extract_attribute_regions`); the file records it."""
    size = classifier.image_size
    table = table or ItemFeatureTable(dataset, (schema.IMAGE,), image_size=size)
    batches = catalogue_pipeline.make_item_image_dataset(dataset, size, batch_size, item_table=table)

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
    def extract(images):
        out = semantic_extraction.extract_attribute_regions(
            classifier, images, threshold_fraction=threshold_fraction, grid_size=ROI_GRID, pooling=ROI_POOLING,
            grad_aam_layer=grad_aam_layer, roi_layer=roi_layer, region_feature=region_feature)
        return out["region_features"], out["boxes"], out["classes"], out["class_probabilities"]

    parts, done = [], 0
    progress = EpochProgress(dataset.num_items, verbose=verbose, label="items (regions)")
    for batch in batches:
        parts.append([x.numpy() for x in extract(batch[schema.IMAGE])])
        done += int(parts[-1][0].shape[0])
        progress.update(done)
    progress.close()
    features, boxes, classes, confidence = (np.concatenate([p[k] for p in parts]) for k in range(4))
    return ItemRegions(features.astype(np.float32), boxes.astype(np.float32), classes.astype(np.int32),
                       classifier.attribute_names, classifier.attribute_values, region_feature,
                       confidence.astype(np.float32))


@tf.autograph.experimental.do_not_convert
def photo_regions(classifier, jpeg_bytes, region_feature: str = "roi",
                  threshold_fraction: float = regions.DEFAULT_THRESHOLD_FRACTION):
    """The regions of new photos, encoded JPEG/PNG bytes [B], exactly as `extract_regions` makes
    them for the catalogue (same decoding, threshold, ROI pooling or probabilities: pass the
    `region_feature` of the catalogue's regions) → the dict of
    `semantic_extraction.extract_attribute_regions` (maps, boxes, region_features, classes,
    probabilities, class_probabilities). Graph-safe: what the `explain_images` signature runs."""
    images = image_ops.decode_batch(tf.convert_to_tensor(jpeg_bytes, tf.string), classifier.image_size)
    return semantic_extraction.extract_attribute_regions(
        classifier, images, threshold_fraction=threshold_fraction, grid_size=ROI_GRID, pooling=ROI_POOLING,
        region_feature=region_feature)


def classifier_path(dataset_path: str, given: str = "", regions_file: str = "") -> str:
    """Where the attribute classifier that made a dataset's regions lives: `given`, else the
    weights recorded in the `features.json` beside `regions_file` (when it is given and has
    one: the default world keeps its regions apart from the dataset), else in the dataset's;
    DataError when none exists."""
    if given:
        if not os.path.exists(given) and not tf.io.gfile.exists(given + ".index"):
            raise DataError("no attribute classifier there", given)
        return given
    candidates = [os.path.join(folder, INFO_FILE)
                  for folder in (os.path.dirname(regions_file) if regions_file else "", dataset_path) if folder]
    info = next((c for c in candidates if os.path.exists(c)), None)
    if info is None:
        raise DataError("cannot tell which attribute classifier made the regions (no features.json); "
                        "pass --backbone_weights", candidates[-1] if candidates else None)
    require_one_run(info)
    with open(info, encoding="utf-8") as f:
        weights = json.load(f).get("weights", "")
    if not weights or not (os.path.exists(weights) or tf.io.gfile.exists(weights + ".index")):
        raise DataError(f"the attribute classifier it names ({weights or 'none'}) does not exist "
                        "(moved?); pass --backbone_weights", info)
    return weights


def load_region_classifier(dataset, given: str = "", regions_file: str = ""):
    """The attribute classifier of the dataset's regions (`classifier_path`), checked to name
    the same attributes and values as its `regions.npz`; DataError otherwise."""
    from tfvisrec.data.region_file import read_regions, regions_path
    from tfvisrec.vision import pretrained
    path = classifier_path(dataset.path, given, regions_file)
    classifier = require_classifier(pretrained.load_attribute_classifier(path), path)
    require_maker_of(classifier, read_regions(regions_path(dataset, regions_file), dataset.num_items), path)
    return classifier


def require_maker_of(classifier, stored: ItemRegions, where=None) -> None:
    """DataError unless `classifier` names the attributes and values of the regions `stored`."""
    if classifier.attribute_names != stored.names or classifier.attribute_values != stored.values:
        raise DataError(f"the attribute classifier's attributes ({', '.join(classifier.attribute_names)}) or their "
                        f"values are not those of the regions ({', '.join(stored.names)}): it did not make them", where)
