"""VBPR vs TVBPR (quantile epochs) vs TVBPR (learned epochs) on a world whose fashion changes twice.

    nice python bench/tvbpr_drift.py [--num_users 300] [--epochs 16] [--change_points 0.3,0.65]

The world (tests/tiny_worlds.py `write_era_drift_dataset`, `tfvisrec/data/synthetic/eras.py`):
the synthetic generator's shoppers, whose purchases also follow a colour and a pattern that are
in fashion for everyone and change at the change points (the pair before goes out); f_i = the
items' one-hot attribute values; each user's last purchase is the test. Prints full-catalogue
test AUC per model and, for the TVBPRs, their epoch boundaries beside the true change times.
"""
import dataclasses
import datetime
import os
import shutil
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags, logging  # noqa: E402

flags.DEFINE_integer("num_users", 300, "Shoppers in the world.")
flags.DEFINE_integer("epochs", 16, "Training epochs of every model.")
flags.DEFINE_string("change_points", "0.3,0.65", "Fractions of the period where the fashion changes.")
flags.DEFINE_integer("seed", 0, "World seed.")
flags.DEFINE_integer("min_epoch_bins", 1, "Learned epochs: the fewest bins an epoch may span.")
FLAGS = flags.FLAGS

COMMON = dict(embedding_dim=8, visual_dim=8, feature_norm="none", num_negatives=4, l2_item=0.03,
              l2_bias=0.1, init_stddev=0.03)
TEMPORAL = dict(time_epochs=3, l2_drift=0.0005, time_bins=20, segment_every=4)
MODELS = (("VBPR", "vbpr", {}),
          ("TVBPR, quantile epochs", "tvbpr", dict(TEMPORAL, epoch_segmentation="quantile")),
          ("TVBPR, learned epochs", "tvbpr", dict(TEMPORAL, epoch_segmentation="learned")))


def models():
    return MODELS[:2] + ((MODELS[2][0], "tvbpr", dict(MODELS[2][2], min_epoch_bins=FLAGS.min_epoch_bins)),)


def day(seconds):
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime("%Y-%m-%d")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from tfvisrec.config import TrainConfig
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.evaluation import protocols
    from tfvisrec.models import registry
    from tfvisrec.training import fit
    from tiny_worlds import write_era_drift_dataset
    root = tempfile.mkdtemp(prefix="tvbpr-drift-")
    folder, changes = write_era_drift_dataset(os.path.join(root, "data"), num_users=FLAGS.num_users,
                                              mean_interactions=20.0, change_points=FLAGS.change_points,
                                              seed=FLAGS.seed)
    dataset = load_dataset(folder)
    print(f"world: {dataset.num_users} users, {dataset.num_items} items, {len(dataset.train.users)} training "
          f"purchases; true change points {', '.join(day(c) for c in changes)}")
    print("| model | test AUC | epoch boundaries |")
    print("|---|---|---|")
    for label, name, extra in models():
        model, _ = fit(registry.new_config(name, **COMMON, **extra),
                       dataclasses.replace(TrainConfig(), dataset=folder, model_dir=os.path.join(root, label),
                                           epochs=FLAGS.epochs, batch_size=128, learning_rate=0.02,
                                           eval_every_epochs=100, verbose=0))
        auc = protocols.evaluate(model, dataset, ["full_auc"], split="test")["full_auc/auc"]
        bounds = "–" if name == "vbpr" else ", ".join(day(b) for b in model.epochs.boundaries.numpy())
        print(f"| {label} | {auc:.4f} | {bounds} |", flush=True)
    print(f"| (truth) | | {', '.join(day(c) for c in changes)} |")
    if name == "tvbpr" and extra.get("epoch_segmentation") == "learned":
        width = (model.bin_edges[1] - model.bin_edges[0]) / 86400
        print(f"time bins: {len(model.bin_edges) - 1} of {width:.1f} days")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
