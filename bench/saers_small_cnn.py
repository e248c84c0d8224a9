"""Does a classifier whose units see little more than a part localise it? Grad-AAM boxes of a
small all-convolutional classifier on the synthetic world.

    nice python bench/saers_small_cnn.py [--work_dir DIR] [--catalogue_items 3000] [--epochs 15] [--part_scale 1] [--layers 32:1,64:2,64:1,128:2,128:1]

CNN-F's conv5 units see 81 px of a 64 px photo, so every cell can read the neckline, and its
Grad-AAM maps are blobs over the garment (README, "Against a known truth"). Here the attribute
classifier is five 3 × 3 convolutions (32, 64, 64, 128, 128 filters; strides 1, 2, 1, 2, 1: a
16 × 16 map of units that see 21 px; `--layers` sets others), a global average pool and one
linear softmax head per attribute (CAM's architecture), trained with Adam on a labelled synthetic catalogue (seed 101,
`--catalogue_items` items drawn at 64 px, the neckline and print `--part_scale` times as large)
and evaluated on another world's 600 items (seed 7). Printed: each attribute's test accuracy
(over all items, and for the region attributes over the items that have the region), then per
region attribute, over the test items that have the region, the share of Grad-AAM boxes (SAERS
eq. 2–3 on the last conv map, of the predicted class's pre-softmax score; upsampled to the
photo, threshold → largest 4-connected component → box, as `tfvisrec.vision.regions`) with IoU
≥ 0.5 against the true region, the mean IoU (the IoU of saers_world.py's table 1) and the
median of the box's area over the true region's, at thresholds of 20 % (the paper's), 40 % and
60 % of the map's maximum, and how often the map's peak lies inside the region; also with the score minus
the mean of the attribute's logits (a "contrastive" map that drops what every class shares) and
minus the runner-up class's logit (what tells the prediction from its nearest rival).
"""
import csv
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags  # noqa: E402

flags.DEFINE_string("work_dir", "/tmp/tfvisrec-bench/saers-small-cnn", "Folder of the two worlds.")
flags.DEFINE_integer("catalogue_items", 3000, "Labelled items the classifier trains on.")
flags.DEFINE_integer("epochs", 15, "Training epochs.")
flags.DEFINE_integer("seed", 0, "Seed of the weights and of the batches.")
flags.DEFINE_float("part_scale", 1.0, "Scale of the drawn neckline and print (SyntheticConfig.part_scale).")
flags.DEFINE_string("layers", "32:1,64:2,64:1,128:2,128:1",
                    "The 3 × 3 convolutions as filters:stride, comma-separated (the default: 16 × 16 "
                    "units that see 21 px; e.g. 32:1,64:1,128:2 for 32 × 32 units that see 7 px).")
FLAGS = flags.FLAGS
ATTRIBUTES = ("category", "colour", "pattern", "sleeve", "neckline", "print")
REGION_ATTRIBUTES = ("sleeve", "neckline", "print")
SIZE = 64
THRESHOLDS = (0.2, 0.4, 0.6)


def world(name, items, seed):
    """(item rows of items.csv, photos [N, 64, 64, 3] in [0, 1], truth) of a world, built once."""
    import numpy as np
    from PIL import Image
    from tfvisrec.data.synthetic import SyntheticConfig, generate_world, load_truth
    folder = os.path.join(FLAGS.work_dir, f"{name}-{items}items-parts{FLAGS.part_scale:g}")
    if not os.path.exists(os.path.join(folder, "truth.npz")):
        generate_world(folder, SyntheticConfig(num_users=20, num_items=items, image_size=SIZE,
                                               part_scale=FLAGS.part_scale, seed=seed))
    with open(os.path.join(folder, "items.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    photos = np.stack([np.asarray(Image.open(os.path.join(folder, r["image"])).convert("RGB"), np.float32)
                       for r in rows]) / 255.0
    return rows, photos, load_truth(folder)


def conv_layers(text):
    """[(filters, stride)] of `--layers`; a clear error for anything else."""
    try:
        layers = [tuple(int(v) for v in part.split(":")) for part in text.split(",")]
    except ValueError:
        layers = []
    if not layers or any(len(pair) != 2 or min(pair) < 1 for pair in layers):
        raise app.UsageError(f"--layers must be filters:stride pairs such as 32:1,64:2, got {text!r}")
    return layers


def receptive_field(layers):
    """(map side at SIZE px, receptive field in px) of 3 × 3 convolutions with these strides."""
    side, field, jump = SIZE, 1, 1
    for _, stride in layers:
        field += 2 * jump
        jump *= stride
        side = -(-side // stride)
    return side, field


def small_classifier(vocabularies, layers):
    """(classifier: photo → per-attribute logits, feature model: photo → last conv map)."""
    import tf_keras as keras
    photo = keras.Input((SIZE, SIZE, 3))
    x = photo - 0.5
    for k, (filters, stride) in enumerate(layers):
        x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu", name=f"conv{k + 1}")(x)
    pooled = keras.layers.GlobalAveragePooling2D()(x)
    logits = [keras.layers.Dense(len(vocabularies[a]), name=a)(pooled) for a in ATTRIBUTES]
    return keras.Model(photo, logits), keras.Model(photo, x)


def grad_aam_maps(classifier, feature_model, photos, contrast):
    """Maps [N, attributes, side, side]: ReLU(Σ_k mean_ij(∂y/∂A^k_ij) A^k) (eq. 2–3), y the predicted
    class's logit, minus the mean logit (`contrast` "mean") or the runner-up class's ("runner_up")."""
    import tensorflow as tf
    conv = feature_model(photos)
    maps = []
    for name in ATTRIBUTES:
        with tf.GradientTape() as tape:
            tape.watch(conv)
            logits = classifier.get_layer(name)(tf.reduce_mean(conv, axis=[1, 2]))
            y = tf.gather(logits, tf.argmax(logits, axis=-1), batch_dims=1)
            if contrast == "mean":
                y -= tf.reduce_mean(logits, axis=-1)
            elif contrast == "runner_up":
                y -= tf.math.top_k(logits, 2).values[:, 1]
        weights = tf.reduce_mean(tape.gradient(y, conv), axis=[1, 2], keepdims=True)
        maps.append(tf.nn.relu(tf.reduce_sum(weights * conv, axis=-1)))
    return tf.stack(maps, axis=1)


def box_rows(rows, truth, maps, label):
    """Table rows: per threshold, each region attribute's IoU ≥ 0.5 share (mean IoU; the median of
    box area / true area, the true region the box matches best); then how often the upsampled
    map's peak lies inside a true region (the pointing game)."""
    import numpy as np
    from region_truth import iou, true_regions
    from tfvisrec.vision import regions
    with_part = {a: [(r, true_regions(truth, row["item_id"], a)) for r, row in enumerate(rows)
                     if len(truth.region_part_boxes(row["item_id"], a))] for a in REGION_ATTRIBUTES}
    area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
    lines = []
    for threshold in THRESHOLDS:
        boxes = regions.region_boxes(maps, threshold, size=SIZE).numpy()
        cells = []
        for attribute in REGION_ATTRIBUTES:
            a = ATTRIBUTES.index(attribute)
            scored = [max((iou(boxes[r, a], c), area(boxes[r, a]) / area(c)) for c in truths)
                      for r, truths in with_part[attribute]]
            ious, ratios = np.asarray(scored).T
            cells.append(f"{np.mean(ious >= 0.5):.2f} ({ious.mean():.3f}; {np.median(ratios):.1f}×)")
        lines.append(f"| {label} | {threshold:.0%} | " + " | ".join(cells) + " |")
    upsampled = regions.upsample(np.reshape(maps, (-1,) + maps.shape[2:]), SIZE).numpy().reshape(
        maps.shape[:2] + (SIZE, SIZE))
    cells = []
    for attribute in REGION_ATTRIBUTES:
        a = ATTRIBUTES.index(attribute)
        inside = []
        for r, truths in with_part[attribute]:
            y, x = (np.asarray(np.unravel_index(np.argmax(upsampled[r, a]), (SIZE, SIZE))) + 0.5) / SIZE
            inside.append(any(c[0] <= y <= c[2] and c[1] <= x <= c[3] for c in truths))
        cells.append(f"{np.mean(inside):.2f} ({len(inside)} items)")
    lines.append(f"| {label} | peak inside the region | " + " | ".join(cells) + " |")
    return lines


def main(argv):
    del argv
    layers = conv_layers(FLAGS.layers)
    side, field = receptive_field(layers)
    print(f"classifier: 3 × 3 convolutions {FLAGS.layers} (filters:stride), a {side} × {side} map "
          f"of units that see {field} px of the {SIZE} px photo")
    import numpy as np
    import tensorflow as tf
    import tf_keras as keras
    train_rows, train_photos, _ = world("catalogue", FLAGS.catalogue_items, 101)
    test_rows, test_photos, truth = world("shop", 600, 7)
    vocabularies = {a: sorted({r[a] for r in train_rows}) for a in ATTRIBUTES}
    labels = lambda rows: [np.asarray([vocabularies[a].index(r[a]) for r in rows]) for a in ATTRIBUTES]  # noqa: E731
    keras.utils.set_random_seed(FLAGS.seed)
    classifier, feature_model = small_classifier(vocabularies, layers)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    classifier.compile(keras.optimizers.Adam(1e-3), loss=[loss] * len(ATTRIBUTES))
    classifier.fit(train_photos, labels(train_rows), batch_size=32, epochs=FLAGS.epochs, verbose=2)
    predicted = classifier.predict(test_photos, batch_size=100, verbose=0)
    right = [np.argmax(p, -1) == y for p, y in zip(predicted, labels(test_rows))]
    has_part = {a: np.asarray([len(truth.region_part_boxes(r["item_id"], a)) > 0 for r in test_rows])
                for a in REGION_ATTRIBUTES}
    print("\n| test accuracy | " + " | ".join(ATTRIBUTES) + " |\n" + "|---" * (1 + len(ATTRIBUTES)) + "|")
    print("| all items | " + " | ".join(f"{r.mean():.2f}" for r in right) + " |")
    print("| items with the region | | | | " + " | ".join(
        f"{right[ATTRIBUTES.index(a)][has_part[a]].mean():.2f}" for a in REGION_ATTRIBUTES) + " |")
    print("\n| map | threshold | " + " | ".join(REGION_ATTRIBUTES) + " |\n" + "|---" * (2 + len(REGION_ATTRIBUTES)) + "|")
    for contrast, label in (("none", "Grad-AAM (eq. 2–3)"), ("mean", "contrastive"),
                            ("runner_up", "against the runner-up")):
        maps = tf.concat([grad_aam_maps(classifier, feature_model, test_photos[i:i + 100], contrast)
                          for i in range(0, len(test_photos), 100)], axis=0).numpy()
        print("\n".join(box_rows(test_rows, truth, maps, label)))


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
