"""Which map finds the parts? Grad-AAM against two other maps of the same classifier, boxed alike.

    nice python bench/saers_maps.py --world DIR [--layers conv5,conv2] [--occlusion_items 60]
                                    [--patch 12] [--stride 4]

`--world`: a world folder that bench/saers_world.py built (e.g.
/tmp/tfvisrec-bench/saers-world/world-64px-parts1.5-catalogue2000). Over the shop items that
have the regions, per region attribute and the classifier's predicted class, each map is boxed
as the Semantic Extraction Network boxes Grad-AAM (upsampled to the photo, 20 % of its
maximum, largest 4-connected component) and compared with the true region as in
saers_world.py's table 1 (share of IoU ≥ 0.5, mean IoU):

- Grad-AAM (SAERS eq. 2–3): ReLU(Σ_k mean_ij(∂y/∂A^k_ij) · A^k), channel weights averaged over the map;
- gradient × activation per cell, ReLU(Σ_k ∂y/∂A^k_ij · A^k_ij) (HiResCAM, Draelos & Carin
  2020): the same quantities without averaging the gradient over positions;
- occlusion sensitivity (Zeiler & Fergus 2014) on the first `--occlusion_items` items: the drop
  of the predicted class's probability when a `--patch` px square centred on a grid of
  `--stride` px is filled with the photo's mean colour: the classifier's own evidence, no
  gradients.
"""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags, logging  # noqa: E402

flags.DEFINE_string("world", None, "World folder built by bench/saers_world.py.")
flags.DEFINE_list("layers", ["conv5", "conv2"], "Conv layers of the gradient maps.")
flags.DEFINE_integer("occlusion_items", 60, "Items of the occlusion maps (0: none).")
flags.DEFINE_integer("patch", 12, "Side of the occluding square, px.")
flags.DEFINE_integer("stride", 4, "Spacing of the occluding squares' centres, px.")
flags.mark_flag_as_required("world")
FLAGS = flags.FLAGS
REGION_ATTRIBUTES = ("sleeve", "neckline", "print")


def score(truth, items, rows, boxes, attribute):
    """IoU ≥ 0.5 share and mean IoU of boxes [len(rows), 4] against the true regions."""
    import numpy as np
    from region_truth import iou, true_regions
    ious = np.asarray([max(iou(b, c) for c in true_regions(truth, int(items[r]), attribute))
                       for r, b in zip(rows, boxes)])
    return f"{np.mean(ious >= 0.5):.2f} ({ious.mean():.3f})"


def gradient_map_boxes(classifier, images, layer):
    """{attribute: (Grad-AAM boxes, gradient × activation boxes)} [N, 4] on conv layer `layer`."""
    import numpy as np
    import tensorflow as tf
    from tfvisrec.vision import regions
    names, size = classifier.attribute_names, classifier.image_size
    backbone = classifier.backbone
    head, tail = backbone.feature_map_model(layer), backbone.feature_map_tail(layer)

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)], autograph=False)
    def boxes(x):
        a = head(x, training=False)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(a)
            logits = list(classifier.head_logits(tail(a, training=False), training=False))
            scores = [tf.reduce_sum(tf.reduce_max(logits[names.index(n)], -1)) for n in REGION_ATTRIBUTES]
        out = []
        for s in scores:
            g = tape.gradient(s, a)
            grad_aam = tf.nn.relu(tf.einsum("bc,bhwc->bhw", tf.reduce_mean(g, [1, 2]), a))
            per_cell = tf.nn.relu(tf.reduce_sum(g * a, -1))
            out.append([regions.region_boxes(m, size=size) for m in (grad_aam, per_cell)])
        return out

    parts = [boxes(tf.constant(images[s:s + 32])) for s in range(0, len(images), 32)]
    return {n: tuple(np.concatenate([p[k][j].numpy() for p in parts]) for j in range(2))
            for k, n in enumerate(REGION_ATTRIBUTES)}


def occlusion_boxes(classifier, images):
    """{attribute: boxes [N, 4]} of the occlusion-sensitivity maps."""
    import numpy as np
    from tfvisrec.vision import regions
    names, size, w = classifier.attribute_names, classifier.image_size, FLAGS.patch
    centres = np.arange(FLAGS.stride // 2, size, FLAGS.stride)
    out = {n: [] for n in REGION_ATTRIBUTES}
    for image in images:
        fill = image.reshape(-1, 3).mean(0)
        occluded = []
        for cy in centres:
            for cx in centres:
                x = image.copy()
                x[max(0, cy - w // 2):cy + (w + 1) // 2, max(0, cx - w // 2):cx + (w + 1) // 2] = fill
                occluded.append(x)
        photo = [p.numpy() for p in classifier.attribute_probabilities(image[None])]
        probs = [p.numpy() for p in classifier.attribute_probabilities(np.stack(occluded))]
        for n in REGION_ATTRIBUTES:
            a = names.index(n)
            c = photo[a][0].argmax()
            drop = np.maximum(photo[a][0, c] - probs[a][:, c], 0).reshape(len(centres), len(centres))
            out[n].append(regions.region_boxes(drop[None].astype(np.float32), size=size).numpy()[0])
    return {n: np.asarray(b) for n, b in out.items()}


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    import numpy as np
    from tfvisrec.data import catalogue_pipeline, schema
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.data.synthetic import load_truth
    from tfvisrec.vision import pretrained
    truth = load_truth(os.path.join(FLAGS.world, "world"))
    dataset = load_dataset(os.path.join(FLAGS.world, "dataset"))
    classifier = pretrained.load_attribute_classifier(os.path.join(FLAGS.world, "pretrained"))
    _, items = truth.align(dataset)
    images = np.concatenate([b[schema.IMAGE].numpy() for b in
                             catalogue_pipeline.make_item_image_dataset(dataset, classifier.image_size, 64)])
    rows = np.asarray([r for r in range(len(items)) if len(truth.region_part_boxes(int(items[r]), "sleeve"))])
    print("| map | layer | items | " + " | ".join(REGION_ATTRIBUTES) + " |\n|---|---|---|---|---|---|")
    for layer in FLAGS.layers:
        boxes = gradient_map_boxes(classifier, images[rows], layer)
        for j, name in enumerate(("Grad-AAM (eq. 2–3)", "gradient × activation per cell")):
            print(f"| {name} | {layer} | {len(rows)} | "
                  + " | ".join(score(truth, items, rows, boxes[n][j], n) for n in REGION_ATTRIBUTES) + " |", flush=True)
    if FLAGS.occlusion_items:
        few = rows[:FLAGS.occlusion_items]
        boxes = occlusion_boxes(classifier, images[few])
        print(f"| occlusion ({FLAGS.patch} px squares every {FLAGS.stride} px) | input | {len(few)} | "
              + " | ".join(score(truth, items, few, boxes[n], n) for n in REGION_ATTRIBUTES) + " |")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
