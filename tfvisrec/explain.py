"""`python -m tfvisrec.explain`: why a SAERS model thinks a shopper may like an item (§3.4).

    python -m tfvisrec.explain --model_dir runs/saers_fixed --user U --item I [--out explain.png]
    python -m tfvisrec.explain --model_dir runs/saers_fixed --user U --image new.jpg

For a trained SAERS run (`saers`, `saers_fixed`, `saf_only`, `vbpr_saf`) and one shopper,
writes, each atomically (temporary file, then rename):

- `--out` (PNG): the product photo with the top attribute's Grad-AAM heat map (eq. 3) and
  region box, beside the shopper's attention weights α_ui^k (eq. 6) per attribute with each
  attribute's predicted value and the classifier's probability of it
  (`tfvisrec.explanation_picture`);
- the same name with `.json`: user, item (or image), attributes, weights, classes (predicted
  values), class_probabilities (the classifier's probability of each; null where the
  catalogue's regions.npz predates them), boxes ((y1, x1, y2, x2) in [0, 1] of the padded
  square photo), top_attribute, and score x̂(u, i) (eq. 8); a file of another kind there (the
  run's config.json of `--out runs/x/config.png`) is refused before anything is computed, not
  written over.

A catalogue item is explained from the dataset's `regions.npz`, as the model was trained;
`--image` runs the Semantic Extraction Network (the attribute classifier the regions came
from) on a photo never seen before. The classifier is `--backbone_weights`, else the one the
dataset's `features.json` names; without it a catalogue item is drawn without its heat map,
and `--image` is refused. Unknown users or items, missing files and non-SAERS runs print
`error: …` and exit with status 2; a `--image` that is not a JPEG or PNG decoding whole is
refused so before the run loads.
"""
import os
import sys

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import flags

from tfvisrec.config import UsageError, define_once
from tfvisrec.interruption import run_command

define_once(flags.DEFINE_string, "model_dir", "", "Folder of a trained SAERS run (saers, saers_fixed, saf_only, vbpr_saf).")
define_once(flags.DEFINE_string, "user", "", "The shopper (a user id of the run's dataset).")
define_once(flags.DEFINE_string, "item", "", "A catalogue item id to explain.")
define_once(flags.DEFINE_string, "image", "", "A JPEG/PNG photo of an item outside the catalogue (instead of --item).")
define_once(flags.DEFINE_string, "out", "explain.png", "PNG to write; the JSON record goes beside it (.json).")
define_once(flags.DEFINE_string, "backbone_weights", "", "The attribute classifier the regions came from "
            "(default: the weights the dataset's features.json names).")
define_once(flags.DEFINE_enum, "checkpoint", "best", "Which checkpoint to load.", enum_values=["best", "latest"])
FLAGS = flags.FLAGS

PHOTO_SIZE = 256   # pixels of the drawn photo


def load_saers_run(model_dir: str, which: str = "best"):
    """(model, dataset) of a trained run whose model explains (SAERS); DataError otherwise."""
    from tfvisrec.data.errors import DataError
    from tfvisrec.training import checkpoints
    model, dataset = checkpoints.load_trained(model_dir, which=which)
    if "explain" not in model.extra_signatures:
        raise DataError(f"is a {model.registered_name} run; explanations need a SAERS model with attribute "
                        "features (saers, saers_fixed, saf_only, vbpr_saf)", model_dir)
    return model, dataset


def catalogue_explanation(model, dataset, user: int, item: int, jpeg: bytes):
    """(explanation tensors of `model.explain`, score x̂) of catalogue item `item` (its photo
    `jpeg`, decoded here as the item table decodes it) for `user`."""
    import tensorflow as tf
    from tfvisrec.data import images as image_ops
    from tfvisrec.data import schema
    from tfvisrec.data.item_features import ItemFeatureTable
    keys = tuple(k for k in model.item_feature_keys if k != schema.IMAGE) + (
        schema.REGION_BOXES, schema.REGION_CLASSES)
    features = ItemFeatureTable.for_model(model, dataset, keys=keys).lookup([item])
    if schema.IMAGE in model.item_feature_keys:
        features[schema.IMAGE] = image_ops.decode_batch(tf.constant([jpeg]), model.image_size)
    users = tf.constant([user], tf.int64)
    return model.explain(users, features), float(model.score(users, features, training=False)[0])


def photo_explanation(model, classifier, user: int, jpeg: bytes, region_feature: str):
    """(explanation tensors, score x̂ or None, the SEN's Grad-AAM maps [A, h, w]) of a new photo.

    The score needs every item feature the model reads from the photo alone: the image (the
    CNN branch of `saers`) and the regions; a model on fixed features (`saers_fixed`, `vbpr_saf`)
    has no f_i for a new photo, so its score is None. `region_feature`: that of the regions
    the model was trained on (`ItemRegions.region_feature`)."""
    import tensorflow as tf
    from tfvisrec.data import images as image_ops
    from tfvisrec.data import schema
    from tfvisrec.vision.region_features import photo_regions
    jpegs = tf.constant([jpeg])
    regions = photo_regions(classifier, jpegs, region_feature)
    features = {schema.ITEM: tf.constant([-1], tf.int64), schema.REGIONS: regions["region_features"],
                schema.REGION_BOXES: regions["boxes"], schema.REGION_CLASSES: regions["classes"]}
    users = tf.constant([user], tf.int64)
    explanation = {**model.explain(users, features), "class_probabilities": regions["class_probabilities"]}
    score = None
    if set(model.item_feature_keys) <= {schema.ITEM, schema.IMAGE, schema.REGIONS}:
        if schema.IMAGE in model.item_feature_keys:
            features[schema.IMAGE] = image_ops.decode_batch(jpegs, model.image_size)
        score = float(model.score(users, features, training=False)[0])
    return explanation, score, regions["maps"][0].numpy()


def short_id(name: str, keep: int = 12) -> str:
    """A long id (H&M's customer ids are 64 hex digits) cut for a picture's title."""
    return name if len(name) <= keep + 4 else name[:keep] + "…"


def named_record(explanation, regions, user_id: str, item_id=None, image=None, score=None) -> dict:
    """The JSON record: names for indices (`regions`: the dataset's `ItemRegions`); `explanation`
    holds "class_probabilities" [1, A] beside `model.explain`'s outputs."""
    import numpy as np
    weights = explanation["weights"].numpy()[0]
    classes = explanation["classes"].numpy()[0]
    probabilities = np.asarray(explanation["class_probabilities"], np.float32)[0]
    top = int(explanation["top_attribute"].numpy()[0])
    return {"user": user_id, "item": item_id, "image": image, "attributes": list(regions.names),
            "weights": [float(w) for w in weights],
            "classes": [regions.values[a][int(c)] for a, c in enumerate(classes)],
            "class_probabilities": [None if np.isnan(p) else float(p) for p in probabilities],
            "boxes": [[float(v) for v in box] for box in explanation["boxes"].numpy()[0]],
            "top_attribute": regions.names[top], "score": score}


RECORD_KEYS = ("attributes", "weights", "top_attribute")   # what marks a JSON file as an explanation record


def record_path(out: str) -> str:
    """The JSON record written beside the PNG `out`."""
    return os.path.splitext(out)[0] + ".json"


def foreign_record_problem(out: str):
    """Why the record beside `out` may not be written: a file is there that is not an
    explanation record (`--out runs/x/config.png` replaced the run's config.json); else None."""
    from tfvisrec.own_json_files import foreign_json_problem
    return foreign_json_problem(record_path(out), lambda earlier: all(key in earlier for key in RECORD_KEYS),
                                "an explanation record (the JSON written beside --out's PNG)", "give another --out name")


def explain(model_dir: str, user_id: str, item_id: str = "", image: str = "", out: str = "explain.png",
            backbone_weights: str = "", which: str = "best"):
    """Explain (user, item or photo), write the PNG and the JSON record → (png, json, record)."""
    import numpy as np
    import tensorflow as tf
    from absl import logging
    from tfvisrec import atomic
    from tfvisrec.data import images as image_ops
    from tfvisrec.data.errors import DataError
    from tfvisrec.data.photo_file import read_photo
    from tfvisrec.data.region_file import read_regions, regions_path
    from tfvisrec.explanation_picture import explanation_png
    from tfvisrec.interpretable_run import resolve_name
    from tfvisrec.vision.region_features import load_region_classifier, photo_regions

    if bool(item_id) == bool(image):
        raise ValueError("give one of --item (a catalogue item) or --image (a photo file)")
    if not out.lower().endswith(".png"):
        raise ValueError(f"--out must name a .png file, got {out!r}")
    jpeg = read_photo(image) if image else None   # before the model loads (seconds)
    model, dataset = load_saers_run(model_dir, which)
    user = resolve_name("user", user_id, dataset.user_ids)
    regions = read_regions(regions_path(dataset, model.regions_file), dataset.num_items)
    if image:
        classifier = load_region_classifier(dataset, backbone_weights, model.regions_file)
        explanation, score, maps = photo_explanation(model, classifier, user, jpeg, regions.region_feature)
    else:
        item = resolve_name("item", item_id, dataset.item_ids)
        jpeg = dataset.image_bytes()[item]
        explanation, score = catalogue_explanation(model, dataset, user, item, jpeg)
        explanation = {**explanation, "class_probabilities": regions.class_probabilities_or_nan()[[item]]}
        try:
            classifier = load_region_classifier(dataset, backbone_weights, model.regions_file)
            maps = photo_regions(classifier, tf.constant([jpeg]))["maps"][0].numpy()
        except DataError as e:
            if backbone_weights:
                raise
            logging.warning("drawing without the Grad-AAM heat map: %s", e)
            maps = None
    record = named_record(explanation, regions, user_id, item_id or None, image or None, score)
    record["model"] = model.registered_name
    top = record["attributes"].index(record["top_attribute"])
    photo = image_ops.decode_to_uint8(tf.constant(jpeg), PHOTO_SIZE).numpy()
    what = f"item {item_id}" if item_id else f"photo {os.path.basename(image)}"
    png = explanation_png(photo, record, None if maps is None else np.asarray(maps[top]),
                          f"{model.registered_name}: why shopper {short_id(user_id)} may like {what}")
    json_path = record_path(out)
    atomic.write_bytes(out, png)
    atomic.write_json(json_path, record)
    return out, json_path, record


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.model_dir or not FLAGS.user:
        raise UsageError("--model_dir and --user are required")
    if bool(FLAGS.item) == bool(FLAGS.image):
        raise UsageError("give one of --item (a catalogue item) or --image (a photo file)")
    from tfvisrec.atomic import require_writable
    from tfvisrec.data.errors import DataError
    # `or`: another command line of the same process may have defined --out with another default
    out = FLAGS.out or "explain.png"
    try:
        require_writable(out, "--out")   # before the model is loaded
        foreign = foreign_record_problem(out)
        if foreign:
            raise ValueError(f"--out: {foreign}")
        png, json_path, record = explain(FLAGS.model_dir, FLAGS.user, FLAGS.item, FLAGS.image,
                                         out, FLAGS.backbone_weights, FLAGS.checkpoint)
    except (DataError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    top = record["attributes"].index(record["top_attribute"])
    sure = record["class_probabilities"][top]
    print(f"wrote {png} and {json_path}: shopper {record['user']} looks first at {record['top_attribute']} "
          f"= {record['classes'][top]} (weight {record['weights'][top]:.3f}"
          + ("" if sure is None else f"; the classifier gives this value p = {sure:.3f}") + ")"
          + ("" if record["score"] is None else f", score {record['score']:.4f}"))
    return 0


def run():
    run_command(main, interrupted="interrupted: nothing partial was written (the picture and its record are "
                "written at the end, each whole into a temporary file, then renamed)")


if __name__ == "__main__":
    run()
