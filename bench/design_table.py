"""DVBPR's Table IV for one category: preference and diversity of random, retrieved and
generated items for a sample of users (`tfvisrec.design.comparison`).

    nice python bench/design_table.py --gan_dir runs/gan --dvbpr_dir runs/dvbpr --category C
                                      [--users 20] [--k 3] [--restarts 64] [--steps 100] [--eta 1]

The GAN and the DVBPR should be trained on the same photos (one image domain, shared
category names). Users are drawn at random (seeded) from the DVBPR's dataset. Prints a
Markdown-ready table.
"""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from absl import app, flags  # noqa: E402

flags.DEFINE_string("gan_dir", "", "Trained `gan` folder.")
flags.DEFINE_string("dvbpr_dir", "", "Trained `dvbpr` folder.")
flags.DEFINE_string("category", "", "Category name.")
flags.DEFINE_integer("users", 20, "Users drawn at random.")
flags.DEFINE_integer("k", 3, "Items per user and method.")
flags.DEFINE_integer("restarts", 64, "Preference-maximisation restarts (m).")
flags.DEFINE_integer("steps", 100, "Adam steps on z'.")
flags.DEFINE_float("design_learning_rate", 0.05, "Adam's step size on z'.")
flags.DEFINE_float("eta", 1.0, "Realism weight of eq. 10.")
flags.DEFINE_integer("seed", 0, "Seed of the users, random items and starts.")
FLAGS = flags.FLAGS


def main(argv):
    import numpy as np
    from tfvisrec.design import comparison
    from tfvisrec.design.preference import PreferenceMaximiser
    from tfvisrec.training.checkpoints import load_trained
    gan, gan_data = load_trained(FLAGS.gan_dir)
    dvbpr, data = load_trained(FLAGS.dvbpr_dir)
    if FLAGS.category not in data.categories or FLAGS.category not in gan_data.categories:
        raise app.UsageError(f"--category {FLAGS.category!r} must name a category of both datasets "
                             f"({data.categories})")
    users = np.random.default_rng(FLAGS.seed).choice(data.num_users, size=min(FLAGS.users, data.num_users),
                                                     replace=False)
    table = comparison.compare(PreferenceMaximiser(gan, dvbpr, eta=FLAGS.eta), data, users,
                               data.categories.index(FLAGS.category),
                               gan_data.categories.index(FLAGS.category), k=FLAGS.k,
                               restarts=FLAGS.restarts, steps=FLAGS.steps,
                               learning_rate=FLAGS.design_learning_rate, seed=FLAGS.seed)
    print(comparison.format_table(table, title=f"{FLAGS.category}, {len(users)} users, k={FLAGS.k}, "
                                               f"{FLAGS.restarts} restarts x {FLAGS.steps} steps, eta {FLAGS.eta}"))


if __name__ == "__main__":
    app.run(main)
