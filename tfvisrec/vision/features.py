"""`python -m tfvisrec.vision.features --backbone_weights CKPT --dataset DIR`: fixed item features.

Runs every item image of a dataset through a pretrained backbone and writes, into the dataset
folder (or --output_dir), each file atomically (temp file, then rename):

- `features.npy`: float32 [items, F], the backbone's penultimate features (fc7 for CNN-F and
  AlexNet, pooled conv5_x for ResNet-50): the f_i of VBPR, I-VBPR, ImgRec-Dir…;
- `attribute_probs.npz` (when CKPT is an attribute classifier): `names` [A], and per
  attribute `prob_<name>` float32 [items, |values|] and `values_<name>` [|values|];
- `features.json`: where they came from (weights, backbone spec, shapes);
- with `--regions` (CKPT must be an attribute classifier): `regions.npz`, SAERS' attribute
  regions of every item (`tfvisrec.vision.region_features`, format in `tfvisrec.data.region_file`);
  `--region_feature probabilities` makes each attribute's feature its predicted probabilities
  instead of the ROI-pooled conv maps (the box and class stay Grad-AAM's);
- with `--feature_maps`, `feature_maps.npz`: `maps` float16 [items, h, w, C], the backbone's
  last convolutional feature maps (what PAN's and FHN's item encoders read), and `source`:
  the weights and backbone spec that made them (`tfvisrec.data.feature_maps`; an outfit
  model's export loads that backbone to score photos, `outfit_score_images`).

The files are one run's: `features.incomplete` is written beside them before the first and
removed after the last, and while it is there (a run killed or failed midway, or still writing)
readers refuse them, naming the remedy, run this again (`tfvisrec.data.feature_files`). Two
runs into one folder write one after the other: the second waits for the first's files
(`.features.lock`, an flock held across the marker's life).

CKPT is anything `tfvisrec.vision.pretrained` reads; the architecture comes from the
checkpoint, or for a bare Keras .h5 file from --backbone / --image_size / --fc_width.
"""
import contextlib
import json
import os
import sys

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import flags, logging

from tfvisrec import atomic
from tfvisrec import config as config_lib
from tfvisrec.data.feature_files import (FEATURE_MAPS_FILE, FEATURES_FILE, INCOMPLETE_FILE, INFO_FILE, PROBS_FILE,
                                         REGIONS_FILE, RUN_LOCK_FILE)
from tfvisrec.data.region_file import REGION_FEATURES
from tfvisrec.interruption import run_command
from tfvisrec.lock_file import exclusive_lock
from tfvisrec.vision.cnn_config import CNNConfig

# Only the CNN and training flags this command reads, from their dataclasses: a process that
# also imports `train` (tests, the demo) then has one definition of each, whichever comes first.
_READ = ("backbone_weights", "backbone", "image_size", "fc_width", "batch_size",
         "image_cache", "image_cache_mb", "verbose")
_FROM_THE_CHECKPOINT = (" Here: needed only for a bare Keras weights file (default: the checkpoint's; "
                        "a value that disagrees with it is refused).")
config_lib.define_once(flags.DEFINE_string, "dataset", "", "Dataset folder whose item images are run "
                       "through the backbone (required).")
config_lib.define_flags(CNNConfig, config_lib.TrainConfig, only=_READ, help_suffix={
    "backbone_weights": " Required.",
    "backbone": _FROM_THE_CHECKPOINT, "image_size": _FROM_THE_CHECKPOINT, "fc_width": _FROM_THE_CHECKPOINT,
    "batch_size": " Here: images per forward pass."})
flags.DEFINE_string("output_dir", "", "Where to write the features (default: the dataset folder).")
flags.DEFINE_bool("regions", False, "Also write regions.npz: per item and attribute the Grad-AAM region's box, "
                  "predicted class with its probability, and ROI-pooled conv features (SAERS); needs an attribute classifier.")
flags.DEFINE_enum("region_feature", "roi", list(REGION_FEATURES), "With --regions, what each attribute's feature "
                  "f_a is: roi (the last conv maps ROI-pooled in its box, SAERS') or probabilities (the "
                  "classifier's softmax over the attribute's values, which only that attribute fills).")
flags.DEFINE_bool("feature_maps", False, "Also write feature_maps.npz: the last convolutional feature maps (outfit models: PAN, FHN).")
FLAGS = flags.FLAGS


def extract(dataset, weights: str, batch_size: int = 256, backbone_name: str = "", image_size: int = 0,
            fc_width: int = 0, image_cache: str = "auto", image_cache_mb: int = 4096, verbose: int = 0,
            with_feature_maps: bool = False):
    """→ (features float32 [items, F], {attribute: probs [items, V]} or None, info dict), and
    with `with_feature_maps` a fourth element: the feature maps float16 [items, h, w, C].

    `backbone_name`, `image_size`, `fc_width` (0 / "" = not given) must agree with the
    checkpoint's architecture; they are needed only for a bare Keras .h5 file.
    """
    import numpy as np
    import tensorflow as tf
    from tfvisrec.data import catalogue_pipeline, schema
    from tfvisrec.data.feature_maps import STORED_DTYPE
    from tfvisrec.progress import EpochProgress
    from tfvisrec.data.item_features import ItemFeatureTable
    from tfvisrec.vision import pretrained

    backbone, classifier = pretrained.load_feature_extractor(weights, backbone_name, image_size, fc_width)
    size = int(backbone.spec["image_size"])
    table = ItemFeatureTable(dataset, (schema.IMAGE,), image_size=size, cache=image_cache, cache_mb=image_cache_mb)
    batches = catalogue_pipeline.make_item_image_dataset(dataset, size, batch_size, item_table=table)

    @tf.function(reduce_retracing=True)
    def forward(images):
        ends = backbone.trunk(images, training=False)
        probs = [] if classifier is None else [tf.nn.softmax(head(ends["penultimate"])) for head in classifier.heads]
        return ends["penultimate"], probs, ends["feature_map"] if with_feature_maps else tf.zeros([0])

    features, probs, maps, done = [], [], [], 0
    progress = EpochProgress(dataset.num_items, verbose=verbose, label="items")
    for batch in batches:
        f, p, m = forward(batch[schema.IMAGE])
        features.append(f.numpy())
        if with_feature_maps:
            maps.append(m.numpy().astype(STORED_DTYPE))
        probs.append([x.numpy() for x in p])
        done += int(f.shape[0])
        progress.update(done)
    progress.close()
    features = np.concatenate(features).astype(np.float32)
    attribute_probs = None
    if classifier is not None:
        attribute_probs = {name: np.concatenate([p[a] for p in probs]).astype(np.float32)
                           for a, name in enumerate(classifier.attribute_names)}
    info = {"weights": os.path.abspath(weights), "backbone": backbone.spec, "num_items": int(features.shape[0]),
            "feature_dim": int(features.shape[1]), "dataset": dataset.path,
            "attributes": None if classifier is None else
            {"names": classifier.attribute_names, "values": classifier.attribute_values}}
    if with_feature_maps:
        maps = np.concatenate(maps)
        info["feature_map_shape"] = list(maps.shape[1:])
        return features, attribute_probs, info, maps
    return features, attribute_probs, info


def write_regions(folder: str, regions) -> None:
    """`regions.npz` (an `ItemRegions`) into `folder`, atomically."""
    import numpy as np
    os.makedirs(folder, exist_ok=True)
    _atomic(folder, REGIONS_FILE, lambda f: np.savez(f, **regions.arrays()))


def write_outputs(folder: str, features, attribute_probs, info, feature_maps=None) -> None:
    """Write the files of the module docstring, each atomically."""
    import numpy as np
    from tfvisrec.data.feature_maps import maps_arrays
    os.makedirs(folder, exist_ok=True)
    if feature_maps is not None:   # with the backbone that made them (`tfvisrec.data.feature_maps`)
        map_arrays = maps_arrays(feature_maps, info["weights"], info["backbone"])
        _atomic(folder, FEATURE_MAPS_FILE, lambda f: np.savez(f, **map_arrays))
    _atomic(folder, FEATURES_FILE, lambda f: np.save(f, features))
    probs_path = os.path.join(folder, PROBS_FILE)
    if attribute_probs is not None:
        names = info["attributes"]["names"]
        arrays = {"names": np.asarray(names, dtype=str)}
        for name, values in zip(names, info["attributes"]["values"]):
            arrays[f"prob_{name}"] = attribute_probs[name]
            arrays[f"values_{name}"] = np.asarray(values, dtype=str)
        _atomic(folder, PROBS_FILE, lambda f: np.savez(f, **arrays))
    elif os.path.exists(probs_path):
        os.remove(probs_path)   # it described other features; keep the folder consistent
    _atomic(folder, INFO_FILE, lambda f: f.write(json.dumps(info, indent=2, sort_keys=True).encode("utf-8")))


@contextlib.contextmanager
def one_run(folder: str):
    """`INCOMPLETE_FILE` in `folder` while the block writes a run's files, removed when it ends
    well; kept when it fails midway (the folder may then hold files of two runs).

    One run at a time: an exclusive flock on `RUN_LOCK_FILE` in `folder` is held across the
    marker's whole life, and a second run waits for it (saying so on stderr). Without it, two
    runs shared the one marker and the first to finish removed it while the second still wrote.
    The second waits rather than being refused: it comes here after its long extraction, only
    to write, and the folder then holds its files whole, as if it had started later
    (`lock_file.exclusive_lock`)."""
    os.makedirs(folder, exist_ok=True)
    with exclusive_lock(os.path.join(folder, RUN_LOCK_FILE), waiting="waiting for another `python -m "
                        f"tfvisrec.vision.features` run to finish writing into {folder}"):
        marker = os.path.join(folder, INCOMPLETE_FILE)
        atomic.write_text(marker, "`python -m tfvisrec.vision.features` is writing the feature files here, or was "
                                  "killed or failed while writing them: they may come from two runs. Run it again.\n")
        yield
        os.remove(marker)


def _atomic(folder, name, write):
    atomic.write_with(os.path.join(folder, name), write)


def main(argv):
    if len(argv) > 1:
        raise config_lib.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.dataset or not FLAGS.backbone_weights:
        raise config_lib.UsageError("--dataset and --backbone_weights are required")
    settings = config_lib.TrainConfig(**{k: FLAGS[k].value for k in ("batch_size", "image_cache",
                                                                     "image_cache_mb", "verbose")})
    if settings.problems():
        raise config_lib.UsageError("; ".join(settings.problems()))
    import tensorflow as tf
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.data.errors import DataError
    tf.get_logger().setLevel("ERROR")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)   # our own output is the progress bar
    try:
        if FLAGS.output_dir:
            atomic.require_writable(FLAGS.output_dir, "--output_dir", folder=True)   # before the extraction
        dataset = load_dataset(FLAGS.dataset)
        regions = None
        if FLAGS.regions:
            from tfvisrec.vision import pretrained, region_features
            classifier = region_features.require_classifier(
                pretrained.load_attribute_classifier(FLAGS.backbone_weights), FLAGS.backbone_weights)
        given = {k: FLAGS[k].value for k in ("backbone", "image_size", "fc_width") if FLAGS[k].present}
        features, probs, info, *maps = extract(
            dataset, FLAGS.backbone_weights, FLAGS.batch_size, backbone_name=given.get("backbone", ""),
            image_size=given.get("image_size", 0), fc_width=given.get("fc_width", 0),
            image_cache=FLAGS.image_cache, image_cache_mb=FLAGS.image_cache_mb, verbose=FLAGS.verbose,
            with_feature_maps=FLAGS.feature_maps)
        if FLAGS.regions:   # the classifier was checked first: fail before the long work
            regions = region_features.extract_regions(classifier, dataset, min(FLAGS.batch_size, 64),
                                                      verbose=FLAGS.verbose, region_feature=FLAGS.region_feature)
        folder = FLAGS.output_dir or dataset.path
        with one_run(folder):
            write_outputs(folder, features, probs, info, maps[0] if maps else None)
            if regions is not None:
                write_regions(folder, regions)
    except (DataError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    written = ([FEATURES_FILE] + ([PROBS_FILE] if probs is not None else []) + [INFO_FILE]
               + ([FEATURE_MAPS_FILE] if maps else [])
               + ([REGIONS_FILE] if regions is not None else []))
    print(f"wrote {', '.join(written)} to {folder}: {features.shape[0]} items × {features.shape[1]} features"
          + ("" if probs is None else f", {len(probs)} attributes"))
    return 0


def run():
    run_command(main, interrupted="interrupted: nothing partial was written (the feature files are written after "
                "the extraction, each whole into a temporary file, then renamed)")


if __name__ == "__main__":
    run()
