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
value, and writes the table to <model_dir>/attribute_accuracy.json.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401  (Keras 2 before TensorFlow)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    from tfvisrec.training import fit
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
    print(f"trained {summary['steps']} steps in {time.time() - started:.0f}s; best valid mean accuracy "
          f"{summary['best_validation']:.4f} (epoch {summary['best_epoch']})")
    return summary


def evaluate(dataset, model_dir):
    from tfvisrec.vision import attributes, pretrained
    model = pretrained.load_attribute_classifier(model_dir)
    table = {"checkpoint": pretrained.resolve_checkpoint(model_dir), "backbone": model.backbone.spec,
             "attributes": {}}
    accuracy = {split: model.per_attribute_accuracy(dataset, split) for split in ("valid", "test")}
    majority = {split: attributes.majority_accuracy(dataset, split) for split in ("valid", "test")}
    for a, name in enumerate(dataset.attribute_names):
        table["attributes"][name] = {
            "values": len(dataset.attribute_values[a]),
            **{f"{split}_accuracy": accuracy[split][name] for split in accuracy},
            **{f"{split}_majority": majority[split][name] for split in majority}}
    return table


def print_table(table):
    rows = table["attributes"]
    print(f"{'attribute':<16}{'values':>7}{'majority':>10}{'valid':>8}{'test':>8}")
    for name, r in rows.items():
        print(f"{name:<16}{r['values']:>7}{r['test_majority']:>10.3f}{r['valid_accuracy']:>8.3f}"
              f"{r['test_accuracy']:>8.3f}")
    mean = lambda key: sum(r[key] for r in rows.values()) / len(rows)
    print(f"{'mean':<16}{'':>7}{mean('test_majority'):>10.3f}{mean('valid_accuracy'):>8.3f}"
          f"{mean('test_accuracy'):>8.3f}")
    print("(majority = always the most frequent training value, on the test split)")


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
