"""Fashion pretraining benchmark: per-attribute held-out accuracy of the attribute classifier.

    python -m tfvisrec.data catalogue --labels ../shared/data/fashion-product-images/labels.csv \
        --images ../shared/data/fashion-product-images/images.tar.gz --out data/catalogue
    python bench/attribute_pretraining.py --dataset data/catalogue --model_dir runs/attributes
    # second stage, on the labelled H&M articles (configs/hm_attributes.cfg):
    python -m tfvisrec.data hm_catalogue --hm_dir ../shared/data/hm --out data/hm-catalogue
    python bench/attribute_pretraining.py --flagfile configs/hm_attributes.cfg \
        --dataset data/hm-catalogue --model_dir runs/hm_attributes --backbone_weights runs/attributes

Trains `configs/attributes.cfg` with the shared trainer (resuming if model_dir has a
checkpoint; --evaluate_only skips training), then prints, per attribute, the accuracy on the
valid and test splits beside the yardstick of always answering the most frequent training
value, and how often the classifier is right when it is sure (predicted value's probability
≥ 0.5 / 0.8: the `class_probabilities` SAERS' explanations carry), and writes the table to
<model_dir>/attribute_accuracy.json.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401  (Keras 2 before TensorFlow)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIDENCE_THRESHOLDS = (0.5, 0.8)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True, help="catalogue dataset folder")
    p.add_argument("--model_dir", default="runs/attributes")
    p.add_argument("--flagfile", default=os.path.join(REPO_ROOT, "configs", "attributes.cfg"))
    p.add_argument("--backbone_weights", default="", help="start from this pretrained backbone")
    p.add_argument("--epochs", type=int, default=0, help="override the flagfile's --epochs")
    p.add_argument("--max_steps", type=int, default=0, help="stop after this many steps (smoke runs)")
    p.add_argument("--evaluate_only", action="store_true", help="evaluate the model_dir's best checkpoint")
    p.add_argument("--verbose", type=int, default=2)
    return p.parse_args(argv)


def train(args):
    from tfvisrec.models import model_flags
    from tfvisrec.training import describe_best, fit
    overrides = dict(dataset=args.dataset, model_dir=args.model_dir, verbose=args.verbose)
    if args.epochs:
        overrides["epochs"] = args.epochs
    if args.backbone_weights:
        overrides["backbone_weights"] = args.backbone_weights
    if args.max_steps:
        overrides["max_steps"] = args.max_steps
    model_config, train_config = model_flags.configs_from_flagfile(args.flagfile, **overrides)
    started = time.time()
    _, summary = fit(model_config, train_config)
    print(f"trained {summary['steps']} steps in {time.time() - started:.0f}s; best validation "
          f"{describe_best(summary)}")
    return summary


def evaluate(dataset, model_dir):
    from tfvisrec.vision import attributes, pretrained
    model = pretrained.load_attribute_classifier(model_dir)
    table = {"checkpoint": pretrained.resolve_checkpoint(model_dir), "backbone": model.backbone.spec,
             "attributes": {}}
    predictions = {split: model.predict_split(dataset, split) for split in ("valid", "test")}
    accuracy = {split: attributes.accuracy_by_attribute(labels, predicted, dataset.attribute_names)
                for split, (labels, predicted, _) in predictions.items()}
    majority = {split: attributes.majority_accuracy(dataset, split) for split in ("valid", "test")}
    table["test_items"] = int(len(predictions["test"][0]))
    for a, name in enumerate(dataset.attribute_names):
        table["attributes"][name] = {
            "values": len(dataset.attribute_values[a]),
            **{f"{split}_accuracy": accuracy[split][name] for split in accuracy},
            **{f"{split}_majority": majority[split][name] for split in majority},
            "test_when_sure": when_sure(*(x[:, a] for x in predictions["test"]))}
    return table


def when_sure(labels, predicted, probability, thresholds=CONFIDENCE_THRESHOLDS):
    """For each threshold t: the share of the labelled test items whose predicted value has
    probability ≥ t, and the accuracy over them: what keeping only the explanations (SAERS'
    `class_probabilities`) the classifier is that sure of would keep, and how often rightly."""
    known = labels >= 0
    out = {}
    for t in thresholds:
        kept = known & (probability >= t)
        out[f"{t:.2f}"] = {"kept": float(kept.sum() / max(known.sum(), 1)),
                          "accuracy": float(np.mean(predicted[kept] == labels[kept])) if kept.any() else float("nan")}
    return out


def print_table(table):
    rows = table["attributes"]
    w = max(len(name) for name in ["attribute", *rows]) + 2
    print(f"{'attribute':<{w}}{'values':>7}{'majority':>10}{'valid':>8}{'test':>8}")
    for name, r in rows.items():
        print(f"{name:<{w}}{r['values']:>7}{r['test_majority']:>10.3f}{r['valid_accuracy']:>8.3f}"
              f"{r['test_accuracy']:>8.3f}")
    mean = lambda key: sum(r[key] for r in rows.values()) / len(rows)
    print(f"{'mean':<{w}}{'':>7}{mean('test_majority'):>10.3f}{mean('valid_accuracy'):>8.3f}"
          f"{mean('test_accuracy'):>8.3f}")
    print("(majority = always the most frequent training value, on the test split)")
    thresholds = list(next(iter(rows.values()))["test_when_sure"])
    print(f"\nof the {table['test_items']} test items, those whose predicted value has probability ≥ t: "
          "the share kept (of the labelled), and the accuracy over them")
    print(f"{'attribute':<{w}}" + "".join(f"{'p ≥ ' + t + ': kept':>16}{'right':>8}" for t in thresholds))
    for name, r in rows.items():
        print(f"{name:<{w}}" + "".join(f"{r['test_when_sure'][t]['kept']:>16.3f}{r['test_when_sure'][t]['accuracy']:>8.3f}"
                                       for t in thresholds))


def main(argv=None):
    args = parse_args(argv)
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.data.errors import DataError
    from tfvisrec.atomic import write_json as write_json_atomic
    try:
        dataset = load_dataset(args.dataset)
        if not args.evaluate_only:
            train(args)
        table = evaluate(dataset, args.model_dir)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_table(table)
    write_json_atomic(os.path.join(args.model_dir, "attribute_accuracy.json"), table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
