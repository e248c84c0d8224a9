"""SAERS on a synthetic world whose ground truth is known (issue 11, acceptance 1).

    nice python bench/saers_world.py [--classifier_size 64] [--models saers_fixed,saf_only,vbpr_saf,saers_no_saf,vbpr]
                                     [--driver_attributes category,colour,pattern,sleeve,neckline,print] [--work_dir DIR]
                                     [--box_layers conv5,conv4,conv3,conv2,conv1] [--grad_aam_layer conv2] [--roi_layer conv2]
                                     [--drawn_size 64] [--part_scale 1] [--catalogue_items 1000] [--pretrain_epochs 10]
                                     [--conv1_stride 0] [--cnn_top fc] [--attention_warmup_epochs 0,5]

The world is the visual test world of tests/visual_world.py (an attribute classifier, the
Semantic Extraction Network, pretrained on another world's labelled catalogue; a shopping
world of 300 users and 600 items drawn at 64 px), except that every shopper is driven by ONE
attribute (`SyntheticConfig.drivers`; the truth records which) and the classifier sees the
photos at `--classifier_size` (64 px: CNN-F's last conv maps are 8 × 8; at 128 px too, unless
`--conv1_stride 2` makes them 16 × 16 at about 4 times the compute; `--cnn_top gap` puts a
global average pool on conv5 instead of fc6/fc7, CAM's architecture, `--cnn_top gmp` a global
max pool). `--drawn_size`,
`--part_scale` (neckline and print drawn larger), `--catalogue_items` and `--pretrain_epochs`
change the world and its classifier's pretraining. Each world is built once into its folder
under `--work_dir`, named by the flags that differ from the defaults (world-64px for the
defaults; delete the folder to rebuild), beside which its model runs are written;
`regions.npz` is rewritten by the current code on every run (with `--grad_aam_layer` /
`--roi_layer`, the regions the models train on are written to the world's
regions-<layers>/ instead). `--models=` (none) gives the classifier's tables alone.
Prints five markdown tables:

1. boxes: per conv layer of `--box_layers` (Grad-AAM, eq. 2–3, on that layer's maps) and
   region attribute, over the items that have the region, how often the Grad-AAM
   box (threshold 20 % of the maximum → largest 4-connected region → box) has IoU ≥ 0.5 with
   the true region, and the mean IoU, for the box taken on the conv map's cells and on the map
   resized bilinearly to the image (what `semantic_extraction` does). The true region of a
   sleeve is either sleeve or the box around both (the best IoU of the three counts). Also:
   how often the upsampled map's peak lies inside the true region (the "pointing game"), the
   box's area over the true region's, and its IoU with the other attributes' boxes;
2. region specificity: a nearest-class-mean probe's held-out accuracy at predicting each true
   attribute from each attribute's region feature f_a^k (specific features: a strong diagonal);
3. attention: per attention model, the share of shoppers whose true driver is the attribute
   with the largest mean attention weight α_ui^k (eq. 6), averaged over the whole catalogue
   and over the shopper's training purchases, beside always answering the most common driver,
   and the purchases' rate for the shoppers of each true driver (`--attention_warmup_epochs
   0,5`: the attention models also with 5 epochs of average fusion first, side by side);
   `saers_fixed` and `vbpr_saf` also run on the classifier's attribute probabilities
   (`--region_feature probabilities` of `python -m tfvisrec.vision.features`: f_a^k = the
   classifier's softmax over k's values, with the same boxes), and `saers_fixed` on ideal
   regions (f_a^k = one-hot of the item's true value of k), which tells the attention's part
   from the regions' part; a last row, "told from the purchases", is no model: per shopper
   the attribute whose true values best tell her training purchases from the catalogue
   (`driver_from_purchases`), how often the data name the driver at all; then, per attention
   run, over every (shopper, training purchase) pair, how often the value the explanation names
   (the top attribute's predicted class) is the item's true value, overall and split by the
   classifier's probability of it (p ≥ 0.5 or not: the `class_probabilities` explanations carry);
4. AUC (full, test split) of every model, VBPR included;
5. occlusion: does the classifier read the attribute where it is drawn? Per region attribute,
   over the items that have it: the classifier's accuracy there, and the mean probability of
   its predicted class on the photo, with the true region(s) filled with the photo's mean
   colour, and with boxes of the same sizes at random places inside the garment instead.
"""
import collections
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags, logging  # noqa: E402

from region_truth import iou, true_regions  # noqa: E402

flags.DEFINE_integer("classifier_size", 64, "Input size of the attribute classifier.")
flags.DEFINE_integer("conv1_stride", 0, "conv1 stride of the classifier's CNN-F (0: 4 from 128 px up, 2 below).")
flags.DEFINE_enum("cnn_top", "fc", ["fc", "gap", "gmp"], "What the classifier's CNN-F puts on conv5: fc6/fc7 (the "
                  "paper's), a global average pool (CAM's architecture) or a global max pool.")
flags.DEFINE_integer("drawn_size", 64, "Pixels the world's photos (catalogue and shop) are drawn at.")
flags.DEFINE_float("part_scale", 1.0, "Scale of the drawn neckline and print (SyntheticConfig.part_scale).")
flags.DEFINE_integer("catalogue_items", 1000, "Labelled catalogue items the classifier is pretrained on.")
flags.DEFINE_integer("pretrain_epochs", 10, "Epochs of the classifier's pretraining.")
flags.DEFINE_list("driver_attributes", ["category", "colour", "pattern", "sleeve", "neckline", "print"],
                  "Attributes a shopper may be driven by (one each, drawn uniformly).")
flags.DEFINE_list("models", ["saers_fixed", "saf_only", "vbpr_saf", "saers_no_saf", "vbpr"],
                  "Flagfiles in configs/ to train.")
flags.DEFINE_list("box_layers", ["conv5"], "Conv layers of the classifier whose Grad-AAM boxes table 1 compares "
                  "(conv5: the last conv of CNN-F, the paper's).")
flags.DEFINE_string("grad_aam_layer", "", "Conv layer of the Grad-AAM maps of the regions the models train on "
                    "(default: the last conv).")
flags.DEFINE_string("roi_layer", "", "Conv layer ROI-pooled in those regions' boxes (default: the last conv).")
flags.DEFINE_list("attention_warmup_epochs", ["0"], "attention_warmup_epochs of the attention models "
                  "(saers_fixed, vbpr_saf, saers): each value its own runs, side by side (e.g. 0,5).")
flags.DEFINE_integer("train_seed", 42, "Training seed of every model.")
flags.DEFINE_string("work_dir", "/tmp/tfvisrec-bench/saers-world", "World and run folders.")
FLAGS = flags.FLAGS
REGION_ATTRIBUTES = ("sleeve", "neckline", "print")
ATTENTION_MODELS = ("saers_fixed", "vbpr_saf", "saers")
PROBABILITY_MODELS = ("saers_fixed", "vbpr_saf")   # also trained on `--region_feature probabilities`
THRESHOLDS = (0.2, 0.4, 0.6, 0.8)    # of the map's maximum; the paper's 20 % first


def world_folder():
    """The world's folder under `--work_dir`, named by the world flags that are not the defaults
    (the defaults: world-64px, the folder of the earlier runs)."""
    name = f"world-{FLAGS.classifier_size}px"
    for flag, label, default in (("conv1_stride", "stride", 0), ("cnn_top", "top", "fc"), ("drawn_size", "drawn", 64),
                                 ("part_scale", "parts", 1.0), ("catalogue_items", "catalogue", 1000),
                                 ("pretrain_epochs", "epochs", 10)):
        value = FLAGS[flag].value
        if value != default:
            name += f"-{label}{value}" if isinstance(value, str) else f"-{label}{value:g}"
    return os.path.join(FLAGS.work_dir, name)


def ensure_world(root):
    """The visual world with single-driver shoppers under `root`, built when missing."""
    from visual_world import INFO_FILE, VisualWorld, VisualWorldSettings, build_visual_world
    import json
    if not os.path.exists(os.path.join(root, INFO_FILE)):
        os.makedirs(root, exist_ok=True)
        build_visual_world(root, VisualWorldSettings(
            image_size=FLAGS.classifier_size, conv1_stride=FLAGS.conv1_stride, cnn_top=FLAGS.cnn_top,
            drawn_size=FLAGS.drawn_size, part_scale=FLAGS.part_scale,
            catalogue_items=FLAGS.catalogue_items,
            pretrain_epochs=FLAGS.pretrain_epochs, drivers=",".join(FLAGS.driver_attributes)))
    with open(os.path.join(root, INFO_FILE), encoding="utf-8") as f:
        return VisualWorld(root, json.load(f))


def grad_aam_boxes(classifier, dataset, layer=""):
    """Of Grad-AAM on conv layer `layer` ("" = the last): (boxes on the map's cells: float
    [items, A, 4], the boxes on the map upsampled to the image at each of `THRESHOLDS`
    (the first is the paper's 20 %): float [thresholds, items, A, 4], the upsampled map's peak
    (y, x) in [0, 1]: float [items, A, 2]), all in one graph per batch (eager labelling of
    64 × 64 maps takes minutes)."""
    import numpy as np
    import tensorflow as tf
    from tfvisrec.data import catalogue_pipeline, schema
    from tfvisrec.vision import grad_aam, regions
    size = classifier.image_size

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)], autograph=False)
    def boxes(images):
        maps = grad_aam.attribute_grad_aam(classifier, images, layer=layer)["maps"]
        upsampled = regions.upsample(tf.reshape(maps, [-1, maps.shape[2], maps.shape[3]]), size)
        peak = tf.argmax(tf.reshape(upsampled, [tf.shape(maps)[0], maps.shape[1], -1]), axis=-1, output_type=tf.int32)
        peak = (tf.cast(tf.stack([peak // size, peak % size], axis=-1), tf.float32) + 0.5) / size
        image_boxes = tf.stack([regions.region_boxes(maps, t, size=size) for t in THRESHOLDS])
        return regions.region_boxes(maps), image_boxes, peak

    parts = [[b.numpy() for b in boxes(batch[schema.IMAGE])]
             for batch in catalogue_pipeline.make_item_image_dataset(dataset, size, 64)]
    return tuple(np.concatenate([p[k] for p in parts], axis=1 if k == 1 else 0) for k in range(3))


def best_ious(truth, dataset, boxes, a, attribute):
    """IoU of each item's box of attribute index `a` with its true region, over the items that have it."""
    import numpy as np
    _, items = truth.align(dataset)
    out = []
    for row, item in enumerate(items):
        candidates = true_regions(truth, int(item), attribute)
        if len(candidates):
            out.append(max(iou(boxes[row, a], c) for c in candidates))
    return np.asarray(out)


THRESHOLD_HEADER = ["| layer | attribute | " + " | ".join(f"threshold {t:.0%}" for t in THRESHOLDS) + " |",
                    "|---" * (len(THRESHOLDS) + 2) + "|"]


def threshold_table(truth, dataset, names, boxes, layer):
    """Rows: share of IoU ≥ 0.5 (mean IoU) per region attribute for upsampled boxes of one
    layer's maps at the thresholds `THRESHOLDS` (boxes [thresholds, items, A, 4])."""
    lines = []
    for attribute in REGION_ATTRIBUTES:
        scores = [best_ious(truth, dataset, b, names.index(attribute), attribute) for b in boxes]
        lines.append(f"| {layer} | {attribute} | "
                     + " | ".join(f"{(x >= 0.5).mean():.2f} ({x.mean():.3f})" for x in scores) + " |")
    return lines


BOX_HEADER = ["| layer (map) | attribute | items | IoU ≥ 0.5, cell box | mean IoU | IoU ≥ 0.5, upsampled box | mean IoU | "
              "peak inside the region | box area / true area | IoU with the other attributes' boxes |",
              "|---|---|---|---|---|---|---|---|---|---|"]


def box_table(truth, dataset, names, cell_boxes, image_boxes, peaks, layer):
    """The rows of table 1 for the boxes of one layer."""
    import numpy as np
    _, items = truth.align(dataset)
    cells = int(round(1 / np.diff(np.unique(cell_boxes[..., 0])).min()))
    lines = []
    area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
    for attribute in REGION_ATTRIBUTES:
        a = names.index(attribute)
        cell, image = (best_ious(truth, dataset, boxes, a, attribute) for boxes in (cell_boxes, image_boxes))
        pointing, ratio, overlap = [], [], []
        for row, item in enumerate(items):
            candidates = true_regions(truth, int(item), attribute)
            if not len(candidates):
                continue
            y, x = peaks[row, a]
            pointing.append(any(c[0] <= y <= c[2] and c[1] <= x <= c[3] for c in candidates))
            ratio.append(area(image_boxes[row, a]) / max(area(c) for c in candidates))
            overlap.append(np.mean([iou(image_boxes[row, a], image_boxes[row, k]) for k in range(len(names)) if k != a]))
        lines.append(f"| {layer} ({cells}×{cells}) | {attribute} | {len(cell)} | "
                     f"{np.mean(cell >= 0.5):.2f} | {cell.mean():.3f} | "
                     f"{np.mean(image >= 0.5):.2f} | {image.mean():.3f} | {np.mean(pointing):.2f} | "
                     f"{np.median(ratio):.1f} (median) | {np.mean(overlap):.2f} |")
    return lines


def specificity_table(truth, dataset, regions):
    """How attribute-specific the region features are: the held-out accuracy of a nearest-class-
    mean probe predicting each attribute's true value (columns) from the unit-length region
    feature f_a^k of each attribute k (rows); half the items fit the class means, half test."""
    import numpy as np
    _, items = truth.align(dataset)
    values = truth.item_values[items]
    fit = np.random.default_rng(0).permutation(len(items)) < len(items) // 2
    names = list(truth.attribute_names)
    lines = ["| region feature of \\ predicts | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for k, name in enumerate(regions.names):
        x = regions.features[:, k] / np.maximum(np.linalg.norm(regions.features[:, k], axis=-1, keepdims=True), 1e-12)
        row = []
        for t in range(len(names)):
            classes = np.unique(values[fit, t])
            means = np.stack([x[fit & (values[:, t] == c)].mean(0) for c in classes])
            predicted = classes[np.argmin(((x[~fit, None] - means[None]) ** 2).sum(-1), axis=1)]
            row.append(np.mean(predicted == values[~fit, t]))
        lines.append(f"| {name} | " + " | ".join(f"{'**' if name == names[t] else ''}{v:.2f}{'**' if name == names[t] else ''}"
                                             for t, v in enumerate(row)) + " |")
    return lines


def occlusion_table(truth, dataset, classifier, seed=0):
    """Table 5 (module docstring): the classifier's reliance on each region attribute's true region."""
    import numpy as np
    from tfvisrec.data import catalogue_pipeline, schema
    size = classifier.image_size
    _, items = truth.align(dataset)
    images = np.concatenate([b[schema.IMAGE].numpy() for b in catalogue_pipeline.make_item_image_dataset(dataset, size, 64)])
    probabilities = lambda x: [p.numpy() for p in classifier.attribute_probabilities(x)]  # noqa: E731
    rng = np.random.default_rng(seed)
    lines = ["| attribute | items | accuracy there (per true value) | p(predicted), photo | true region occluded | "
             "same-size box elsewhere on the garment occluded | prediction changed (true / elsewhere) |",
             "|---|---|---|---|---|---|---|"]
    for attribute in REGION_ATTRIBUTES:
        rows, occluded, control = [], [], []
        for row, item in enumerate(items):
            parts = truth.region_part_boxes(int(item), attribute)
            if not len(parts):
                continue
            fill = images[row].reshape(-1, 3).mean(0)
            here, elsewhere = images[row].copy(), images[row].copy()
            gy1, gx1, gy2, gx2 = np.round(truth.garment_boxes[truth.item_index(int(item))] * size).astype(int)
            for part in parts:
                y1, x1, y2, x2 = np.round(part * size).astype(int)
                h, w = max(y2 - y1, 1), max(x2 - x1, 1)
                here[y1:y1 + h, x1:x1 + w] = fill
                y, x = rng.integers(gy1, max(gy2 - h, gy1) + 1), rng.integers(gx1, max(gx2 - w, gx1) + 1)
                elsewhere[y:y + h, x:x + w] = fill
            rows.append(row), occluded.append(here), control.append(elsewhere)
        a, rows = classifier.attribute_names.index(attribute), np.asarray(rows)
        photo, here, elsewhere = (probabilities(x)[a] for x in (images[rows], np.stack(occluded), np.stack(control)))
        predicted = photo.argmax(-1)
        truth_values = truth.attribute_values[list(truth.attribute_names).index(attribute)]
        true_names = np.asarray(truth_values)[truth.item_values[items[rows], list(truth.attribute_names).index(attribute)]]
        right = np.asarray(classifier.attribute_values[a])[predicted] == true_names
        per_value = ", ".join(f"{v} {right[true_names == v].mean():.2f}" for v in truth_values if np.any(true_names == v))
        p = lambda x: x[np.arange(len(rows)), predicted].mean()  # noqa: E731
        lines.append(f"| {attribute} | {len(rows)} | {right.mean():.2f} ({per_value}) | {p(photo):.3f} | {p(here):.3f} | "
                     f"{p(elsewhere):.3f} | {np.mean(here.argmax(-1) != predicted):.2f} / "
                     f"{np.mean(elsewhere.argmax(-1) != predicted):.2f} |")
    return lines


def ideal_regions(truth, dataset, regions):
    """`ItemRegions` whose f_a^k(i) is the one-hot of item i's TRUE value of attribute k: region
    features as attribute-specific as can be (what a perfect Semantic Extraction Network would
    hand the attention), to tell the attention's part from the regions' part."""
    import numpy as np
    from tfvisrec.data.region_file import ItemRegions
    _, items = truth.align(dataset)
    values = truth.item_values[items]
    width = max(len(v) for v in truth.attribute_values)
    one_hot = np.zeros(values.shape + (width,), np.float32)
    for a in range(values.shape[1]):
        one_hot[np.arange(len(items)), a, values[:, a]] = 1.0
    return ItemRegions(one_hot, regions.boxes, values.astype(np.int32), list(truth.attribute_names),
                       [list(v) for v in truth.attribute_values])


def driver_from_purchases(truth, dataset):
    """Per shopper, the attribute k maximising Σ_{i ∈ her training purchases} log p_u^k(v_i^k) /
    q^k(v_i^k), v^k the items' TRUE values, p_u^k her purchases' value frequencies (+0.5 each),
    q^k the catalogue's: a reference for the attention rows (how often a shopper's purchases
    name her driver to an explainer that knows every item's attributes), not a model."""
    import numpy as np
    _, items = truth.align(dataset)
    values = truth.item_values[items]
    bought = dataset.user_items(("train",))
    counts = [len(v) for v in truth.attribute_values]
    catalogue = [np.bincount(values[:, a], minlength=c) / len(values) for a, c in enumerate(counts)]
    chosen = []
    for u in range(dataset.num_users):
        mine = values[np.asarray(bought[u], np.int64)]
        scores = []
        for a, count in enumerate(counts):
            purchases = (np.bincount(mine[:, a], minlength=count) + 0.5) / (len(mine) + 0.5 * count)
            scores.append(np.sum(np.log(purchases[mine[:, a]] / catalogue[a][mine[:, a]])))
        chosen.append(int(np.argmax(scores)))
    return np.asarray(chosen)


def top_attributes(model, dataset, regions):
    """Per user: argmax_k of the mean α_ui^k over the catalogue, and over the user's training
    purchases (eq. 6, through the model's `explain`)."""
    import numpy as np
    import tensorflow as tf
    from tfvisrec.data import schema
    n = dataset.num_items
    items = {schema.ITEM: np.arange(n), schema.REGIONS: regions.features,
             schema.REGION_BOXES: regions.boxes, schema.REGION_CLASSES: regions.classes}
    bought = dataset.user_items(("train",))
    over_catalogue, over_purchases = [], []
    for u in range(dataset.num_users):
        alpha = model.explain(tf.fill([n], tf.constant(u, tf.int64)), items)["weights"].numpy()
        over_catalogue.append(int(np.argmax(alpha.mean(0))))
        over_purchases.append(int(np.argmax(alpha[bought[u]].mean(0))))
    return np.asarray(over_catalogue), np.asarray(over_purchases)


def named_value_row(name, truth, dataset, model, regions):
    """Over every (shopper, training purchase) pair: is the value an explanation names (the top
    attribute's predicted class, eq. 6 through the model's `explain`) the item's TRUE value, and
    how often when the classifier gives it p ≥ 0.5 (`ItemRegions.class_probabilities`; blank
    when the regions hold none, as ideal ones)."""
    import numpy as np
    import tensorflow as tf
    from tfvisrec.data import schema
    bought = dataset.user_items(("train",))
    users = np.concatenate([np.full(len(b), u, np.int64) for u, b in enumerate(bought)])
    items = np.concatenate([np.asarray(b, np.int64) for b in bought])
    pairs = {schema.ITEM: items, schema.REGIONS: regions.features[items],
             schema.REGION_BOXES: regions.boxes[items], schema.REGION_CLASSES: regions.classes[items]}
    top = model.explain(tf.constant(users), pairs)["weights"].numpy().argmax(1)
    return value_row(name, truth, dataset, regions, items, top)


def value_row(name, truth, dataset, regions, items, top):
    """The row of `named_value_row` for pairs (item index, named attribute index) given."""
    import numpy as np
    _, aligned = truth.align(dataset)
    names = list(truth.attribute_names)
    true_names = np.asarray([truth.attribute_values[names.index(regions.names[k])][
        truth.item_values[aligned[i], names.index(regions.names[k])]] for i, k in zip(items, top)])
    named = np.asarray([regions.values[k][regions.classes[i, k]] for i, k in zip(items, top)])
    right = named == true_names
    sure = regions.class_probabilities_or_nan()[items, top]
    if np.isnan(sure).all():
        return f"| {name} | {len(items)} | {right.mean():.3f} | | | |"
    kept = sure >= 0.5
    rate = lambda mask: f"{right[mask].mean():.3f}" if mask.any() else "–"
    return f"| {name} | {len(items)} | {right.mean():.3f} | {kept.mean():.3f} | {rate(kept)} | {rate(~kept)} |"


def with_warmups(run, warmups):
    """The run once per `--attention_warmup_epochs` value when its model has the attention
    (a label and run folder per value but the paper's 0), else the run as it is."""
    name, overrides, item_regions, label, run_dir = run
    if name not in ATTENTION_MODELS:
        return [run]
    return [(name, {**overrides, "attention_warmup_epochs": w}, item_regions,
             label + (f", warm-up {w} epochs" if w else ""), run_dir + (f"-warmup{w}" if w else ""))
            for w in warmups]


def attention_row(name, truth, dataset, names, model, regions):
    return top_attribute_row(name, truth, dataset, names, *top_attributes(model, dataset, regions))


def top_attribute_row(name, truth, dataset, names, over_catalogue, over_purchases):
    import numpy as np
    drivers = np.asarray([truth.user_driver(u) for u in dataset.user_ids])
    chosen = collections.Counter(names[k] for k in over_catalogue)
    catalogue_rate = np.mean(np.asarray(names)[over_catalogue] == drivers)
    purchase_rate = np.mean(np.asarray(names)[over_purchases] == drivers)
    common, count = collections.Counter(drivers).most_common(1)[0]
    hit = np.asarray(names)[over_purchases] == drivers
    per_driver = ", ".join(f"{d} {hit[drivers == d].mean():.2f} ({np.sum(drivers == d)})"
                           for d in names if np.any(drivers == d))
    return (f"| {name} | {catalogue_rate:.2f} | {purchase_rate:.2f} | {count / len(drivers):.2f} ({common}) | "
            + ", ".join(f"{k} {v}" for k, v in chosen.most_common()) + f" | {per_driver} |")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)    # the tables are the output
    from tfvisrec.data.region_file import read_regions, regions_path
    from tfvisrec.data.synthetic import load_truth
    from tfvisrec.vision import features, pretrained, region_features
    from visual_world import train_and_evaluate
    world = ensure_world(world_folder())
    out_dir = world.root    # regions and runs of this world's classifier
    print(f"classifier test accuracy: {world.info['pretraining']['test_accuracy']}", flush=True)
    dataset, truth = world.load_dataset(), load_truth(world.world_dir)
    classifier = pretrained.load_attribute_classifier(world.pretrained_dir)
    features.write_regions(dataset.path, region_features.extract_regions(classifier, dataset))
    layers = {"grad_aam_layer": FLAGS.grad_aam_layer, "roi_layer": FLAGS.roi_layer}
    region_overrides, suffix = {}, ""
    if any(layers.values()):
        suffix = f"-aam_{FLAGS.grad_aam_layer or 'last'}-roi_{FLAGS.roi_layer or 'last'}"
        layer_dir = os.path.join(out_dir, "regions" + suffix)
        os.makedirs(layer_dir, exist_ok=True)
        features.write_regions(layer_dir, region_features.extract_regions(classifier, dataset, **layers))
        region_overrides = {"regions_file": os.path.join(layer_dir, "regions.npz")}
    regions = read_regions(regions_path(dataset, region_overrides.get("regions_file", "")), dataset.num_items)
    names = list(regions.names)
    boxes, thresholds = list(BOX_HEADER), list(THRESHOLD_HEADER)
    for layer in FLAGS.box_layers:
        cell_boxes, image_boxes, peaks = grad_aam_boxes(classifier, dataset, layer)
        boxes += box_table(truth, dataset, names, cell_boxes, image_boxes[0], peaks, layer)
        thresholds += threshold_table(truth, dataset, names, image_boxes, layer)
        print("\n".join(boxes[-len(REGION_ATTRIBUTES):]), flush=True)
    boxes += [""] + thresholds
    print("\n".join(boxes), flush=True)
    specificity = specificity_table(truth, dataset, regions)
    print("\n".join(specificity), flush=True)
    occlusion = occlusion_table(truth, dataset, classifier)
    print("\n".join(occlusion), flush=True)
    ideal = ideal_regions(truth, dataset, regions)
    ideal_dir = os.path.join(out_dir, "ideal-regions")
    os.makedirs(ideal_dir, exist_ok=True)
    features.write_regions(ideal_dir, ideal)
    oracle = world.oracle_results(dataset)
    aucs = [f"| oracle (true utility) | {oracle['full_auc/auc']:.3f} | {oracle['full_auc/auc_cold']:.3f} |"]
    attention, values = [], []
    runs = [(name, region_overrides, regions, name + suffix, name + suffix) for name in FLAGS.models]
    on_probabilities = [name for name in FLAGS.models if name in PROBABILITY_MODELS]
    if on_probabilities:
        probabilities = region_features.extract_regions(classifier, dataset, region_feature="probabilities")
        probability_dir = os.path.join(out_dir, "probability-regions")
        os.makedirs(probability_dir, exist_ok=True)
        features.write_regions(probability_dir, probabilities)
        runs += [(name, {"regions_file": os.path.join(probability_dir, "regions.npz")}, probabilities,
                  f"{name} on the classifier's attribute probabilities", f"{name}-probabilities")
                 for name in on_probabilities]
    if "saers_fixed" in FLAGS.models:
        runs.append(("saers_fixed", {"regions_file": os.path.join(ideal_dir, "regions.npz")}, ideal,
                     "saers_fixed on ideal regions (one-hot true values)", "saers_fixed-ideal"))
    warmups = [int(w) for w in FLAGS.attention_warmup_epochs]
    runs = [each for run in runs for each in with_warmups(run, warmups)]
    for name, overrides, item_regions, label, run_dir in runs:
        model, results = train_and_evaluate(name, dataset, os.path.join(out_dir, "runs", run_dir),
                                            seed=FLAGS.train_seed, **overrides)
        aucs.append(f"| {label} | {results['full_auc/auc']:.3f} | {results['full_auc/auc_cold']:.3f} |")
        if name in ATTENTION_MODELS:
            attention.append(attention_row(label, truth, dataset, names, model, item_regions))
            print(attention[-1], flush=True)
            values.append(named_value_row(label, truth, dataset, model, item_regions))
    if attention:
        told = driver_from_purchases(truth, dataset)
        attention.append(top_attribute_row("told from the purchases (true values; no model)", truth, dataset,
                                           list(truth.attribute_names), told, told))
    print("\n| model | top attention = driver (catalogue) | (purchases) | always the most common driver | "
          "top attribute chosen | top attention = driver per driver, purchases (shoppers) |\n|---|---|---|---|---|---|")
    print("\n".join(attention))
    print("\n| model | purchases | named value = true value | p ≥ 0.5 | right when p ≥ 0.5 | when p < 0.5 |"
          "\n|---|---|---|---|---|---|")
    print("\n".join(values))
    print("\n| model | AUC | AUC cold |\n|---|---|---|")
    print("\n".join(aucs))
    print("\n" + "\n".join(boxes))
    print("\n" + "\n".join(specificity))
    print("\n" + "\n".join(occlusion))


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
