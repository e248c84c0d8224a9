"""How well the H&M attribute classifier tells an article's outfit slot (PAN's H&M outfits,
issue 13) or, with `--groups`, its product group (the GAN's category, issue 12) from its
photo: on the labelled articles' held-out test split, which the classifier never trained on,
the true slot or group (that of the article's product type) against the predicted one (type
probabilities summed per slot or group, `tfvisrec/vision/type_groups.py`).

    python -m tfvisrec.data hm_catalogue --hm_dir ../shared/data/hm --out data/hm-catalogue
    python -m tfvisrec.train --flagfile configs/hm_attributes.cfg    # → runs/hm_attributes
    python bench/hm_slot_accuracy.py --catalogue data/hm-catalogue --classifier runs/hm_attributes \
        --hm_dir ../shared/data/hm

Prints the accuracy beside always guessing the most frequent slot (group), per slot recall and
precision, the confusion matrix, and accuracy and coverage of the predictions kept at each
confidence threshold (what `hm_outfits --slot_min_confidence` and `hm --category_min_confidence`
keep).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401  (Keras 2 before TensorFlow)


def report(true: np.ndarray, probs: np.ndarray, labels, thresholds, other=None) -> str:
    """The accuracy tables over `labels`; `other` (a label) is never kept as a prediction."""
    from tfvisrec.vision.type_groups import confusion_matrix
    predicted, confidence = probs.argmax(axis=1), probs.max(axis=1)
    matrix = confusion_matrix(true, predicted, len(labels))
    lines = [f"held-out articles: {len(true)}",
             f"accuracy: {np.mean(predicted == true):.4f}  (most frequent: "
             f"{np.bincount(true, minlength=len(labels)).max() / len(true):.4f})",
             "", "| label | articles | recall | precision |", "|---|---|---|---|"]
    for k, label in enumerate(labels):
        recall = matrix[k, k] / max(matrix[k].sum(), 1)
        precision = matrix[k, k] / max(matrix[:, k].sum(), 1)
        lines.append(f"| {label} | {matrix[k].sum()} | {recall:.3f} | {precision:.3f} |")
    lines += ["", "confusion (rows: true, columns: predicted)",
              "| true \\ predicted | " + " | ".join(labels) + " |",
              "|---" * (len(labels) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(str(v) for v in matrix[k]) + " |"
              for k, label in enumerate(labels)]
    kept_as = "predicted " + ("other than " + other if other else "anything")
    lines += ["", f"kept ({kept_as} with confidence ≥ t):",
              "| t | kept | of them right | articles found (kept and right, of all that can be) |",
              "|---|---|---|---|"]
    other_index = labels.index(other) if other else -1
    findable = true != other_index
    for t in thresholds:
        kept = (predicted != other_index) & (confidence >= t)
        right = np.mean(predicted[kept] == true[kept]) if kept.any() else float("nan")
        found = np.sum(kept & (predicted == true)) / max(findable.sum(), 1)
        lines.append(f"| {t:.2f} | {kept.sum()} | {right:.3f} | {found:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--catalogue", required=True, help="the hm_catalogue dataset the classifier trained on")
    p.add_argument("--classifier", required=True, help="the attribute classifier's run folder")
    p.add_argument("--hm_dir", required=True, help="the H&M folder (its articles CSV maps type → group)")
    p.add_argument("--split", default="test", choices=("valid", "test"))
    p.add_argument("--thresholds", default="0,0.5,0.7,0.9")
    p.add_argument("--groups", action="store_true", help="product groups instead of outfit slots")
    args = p.parse_args(argv)
    from tfvisrec.data.adapters.hm_slots import OTHER, slot_of_type
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.vision.type_groups import SlotClassifier, product_group_classifier
    if args.groups:
        classifier, other = product_group_classifier(args.classifier, args.hm_dir), None
    else:
        classifier, other = SlotClassifier(args.classifier, slot_of_type(args.hm_dir)), OTHER
    true, probs = classifier.held_out(load_dataset(args.catalogue), args.split)
    print(report(true, probs, list(classifier.groups), [float(t) for t in args.thresholds.split(",")], other))


if __name__ == "__main__":
    main()
