"""What the design benches (`design_table.py`, `design_eta_sweep.py`) share: their flags, and
the trained GAN, DVBPR and category classifier with the users and categories to measure.

The GAN and the DVBPR should be trained on the same photos (one image domain, shared
category names); the classifier is an attribute classifier (configs/attributes.cfg or
hm_attributes.cfg) whose head names the categories or maps onto them
(`tfvisrec.design.quality`). `--synthetic_dir` trains all three on the synthetic category
world instead (`bench/design_world.py`), or reuses them from an earlier run.
"""
import dataclasses
from typing import List, Tuple

from absl import flags

FLAGS = flags.FLAGS


def define_flags(users: int = 20, restarts: int = 64, steps: int = 100) -> None:
    flags.DEFINE_string("gan_dir", "", "Trained `gan` folder.")
    flags.DEFINE_string("dvbpr_dir", "", "Trained `dvbpr` folder (on the GAN's photos).")
    flags.DEFINE_string("classifier_dir", "", "Trained `attributes` folder: the category classifier of the "
                        "quality score (held-out accuracy printed).")
    flags.DEFINE_string("classifier_catalogue", "", "The classifier's catalogue, for its held-out accuracy "
                        "(default: the dataset its config.json names).")
    flags.DEFINE_string("synthetic_dir", "", "Train (or reuse) the three on the synthetic category world "
                        "in this folder instead of --gan_dir/--dvbpr_dir/--classifier_dir.")
    flags.DEFINE_list("categories", [], "Category names (default: every category of both datasets with k items).")
    flags.DEFINE_integer("users", users, "Users drawn at random.")
    flags.DEFINE_integer("k", 3, "Items per user, category and method.")
    flags.DEFINE_integer("restarts", restarts, "Preference-maximisation restarts (m).")
    flags.DEFINE_integer("steps", steps, "Adam steps on z'.")
    flags.DEFINE_float("design_learning_rate", 0.05, "Adam's step size on z'.")
    flags.DEFINE_integer("seed", 0, "Seed of the users, random items and starts.")


@dataclasses.dataclass
class Setup:
    gan: object
    gan_data: object
    dvbpr: object
    data: object
    classifier: object                  # quality.CategoryClassifier
    accuracy: dict                      # quality.held_out_accuracy
    users: List[int]
    categories: List[Tuple[int, int]]   # (index in data, index in gan_data)
    skipped: List[str]                  # categories with fewer than k items

    def describe(self) -> str:
        names = [self.data.categories[c] for c, _ in self.categories]
        a = self.accuracy
        lines = [f"{len(self.users)} users x {len(names)} categories ({', '.join(names)}), k={FLAGS.k}, "
                 f"{FLAGS.restarts} restarts x {FLAGS.steps} steps",
                 f"classifier: head {self.classifier.attribute_name!r} → {len(self.classifier.covered)} of "
                 f"{len(self.classifier.categories)} categories; held-out accuracy {a['accuracy']:.3f} on "
                 f"{a['items']} photos (always the most frequent category: {a['majority']:.3f})"]
        if self.skipped:
            lines.append(f"skipped (fewer than k={FLAGS.k} items): {', '.join(self.skipped)}")
        return "\n".join(lines)


def load_setup() -> Setup:
    import numpy as np
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.design import comparison, quality
    from tfvisrec.training.checkpoints import load_trained
    gan_dir, dvbpr_dir, classifier_dir = FLAGS.gan_dir, FLAGS.dvbpr_dir, FLAGS.classifier_dir
    if FLAGS.synthetic_dir:
        from bench import design_world
        runs = design_world.ensure_runs(FLAGS.synthetic_dir, seed=FLAGS.seed, verbose=1)
        gan_dir, dvbpr_dir, classifier_dir = runs["gan"], runs["dvbpr"], runs["classifier"]
    missing = [name for name, value in (("gan_dir", gan_dir), ("dvbpr_dir", dvbpr_dir),
                                        ("classifier_dir", classifier_dir)) if not value]
    if missing:
        raise ValueError(f"give --{', --'.join(missing)} (or --synthetic_dir)")
    gan, gan_data = load_trained(gan_dir)
    dvbpr, data = load_trained(dvbpr_dir)
    classifier = quality.CategoryClassifier.from_checkpoint(classifier_dir, gan_data)
    catalogue = load_dataset(FLAGS.classifier_catalogue or quality.training_catalogue(classifier_dir))
    accuracy = quality.held_out_accuracy(classifier, catalogue)
    categories, skipped = comparison.shared_categories(data, gan_data, FLAGS.categories, min_items=FLAGS.k)
    users = np.random.default_rng(FLAGS.seed).choice(data.num_users, size=min(FLAGS.users, data.num_users),
                                                     replace=False)
    return Setup(gan, gan_data, dvbpr, data, classifier, accuracy, [int(u) for u in users], categories, skipped)
