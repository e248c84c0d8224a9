"""How well the H&M attribute classifier tells an article's outfit slot from its photo (PAN's
H&M outfits, issue 13): on the labelled articles' held-out test split, which the classifier
never trained on, the true slot (the product group of the article's product type) against
the predicted one (type probabilities summed per slot, `tfvisrec/vision/slot_classifier.py`).

    python -m tfvisrec.data hm_catalogue --hm_dir ../shared/data/hm --out data/hm-catalogue
    python -m tfvisrec.train --flagfile configs/hm_attributes.cfg    # → runs/hm_attributes
    python bench/hm_slot_accuracy.py --catalogue data/hm-catalogue --classifier runs/hm_attributes \
        --hm_dir ../shared/data/hm

Prints the accuracy beside always guessing the most frequent slot, per slot recall and
precision, the confusion matrix, and accuracy and coverage of the predictions kept at each
confidence threshold (what `hm_outfits --slot_min_confidence` keeps).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401  (Keras 2 before TensorFlow)


def report(true: np.ndarray, probs: np.ndarray, thresholds) -> str:
    from tfvisrec.data.adapters.hm_slots import OTHER, PREDICTED_SLOTS
    from tfvisrec.vision.slot_classifier import confusion_matrix
    predicted, confidence = probs.argmax(axis=1), probs.max(axis=1)
    matrix = confusion_matrix(true, predicted)
    lines = [f"held-out articles: {len(true)}",
             f"slot accuracy: {np.mean(predicted == true):.4f}  (most frequent slot: "
             f"{np.bincount(true, minlength=len(PREDICTED_SLOTS)).max() / len(true):.4f})",
             "", "| slot | articles | recall | precision |", "|---|---|---|---|"]
    for k, slot in enumerate(PREDICTED_SLOTS):
        recall = matrix[k, k] / max(matrix[k].sum(), 1)
        precision = matrix[k, k] / max(matrix[:, k].sum(), 1)
        lines.append(f"| {slot} | {matrix[k].sum()} | {recall:.3f} | {precision:.3f} |")
    lines += ["", "confusion (rows: true slot, columns: predicted)",
              "| true \\ predicted | " + " | ".join(PREDICTED_SLOTS) + " |",
              "|---" * (len(PREDICTED_SLOTS) + 1) + "|"]
    lines += [f"| {slot} | " + " | ".join(str(v) for v in matrix[k]) + " |"
              for k, slot in enumerate(PREDICTED_SLOTS)]
    lines += ["", "kept as a slot (predicted top / bottom / shoes with confidence ≥ t):",
              "| t | kept | of them right | garments (true top/bottom/shoes) found |", "|---|---|---|---|"]
    garment = true != PREDICTED_SLOTS.index(OTHER)
    for t in thresholds:
        kept = (predicted != PREDICTED_SLOTS.index(OTHER)) & (confidence >= t)
        right = np.mean(predicted[kept] == true[kept]) if kept.any() else float("nan")
        found = np.sum(kept & (predicted == true)) / max(garment.sum(), 1)
        lines.append(f"| {t:.2f} | {kept.sum()} | {right:.3f} | {found:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--catalogue", required=True, help="the hm_catalogue dataset the classifier trained on")
    p.add_argument("--classifier", required=True, help="the attribute classifier's run folder")
    p.add_argument("--hm_dir", required=True, help="the H&M folder (its articles CSV maps type → group)")
    p.add_argument("--split", default="test", choices=("valid", "test"))
    p.add_argument("--thresholds", default="0,0.5,0.7,0.9")
    args = p.parse_args(argv)
    from tfvisrec.data.adapters.hm_slots import slot_of_type
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.vision.slot_classifier import SlotClassifier
    classifier = SlotClassifier(args.classifier, slot_of_type(args.hm_dir))
    true, probs = classifier.held_out(load_dataset(args.catalogue), args.split)
    print(report(true, probs, [float(t) for t in args.thresholds.split(",")]))


if __name__ == "__main__":
    main()
