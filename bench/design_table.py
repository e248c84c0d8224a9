"""DVBPR's Table IV: preference, quality and diversity of random, retrieved and generated
items for a sample of users and categories (`tfvisrec.design.comparison`).

    nice python bench/design_table.py --gan_dir runs/gan --dvbpr_dir runs/dvbpr \\
        --classifier_dir runs/hm_attributes [--categories A,B] [--users 20] [--k 3] \\
        [--restarts 64] [--steps 100] [--eta 1] [--sheet designs.png]
    nice python bench/design_table.py --synthetic_dir /tmp/design-world

quality is the inception-style score of each method's images pooled over users and
categories, by our own category classifier (`tfvisrec.design.quality`; its held-out
accuracy is printed first). `--sheet` also writes, for the first user, one row per category:
k random real, k retrieved (δ) and k designed (δ̂) items. Prints a Markdown-ready table.
"""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags  # noqa: E402

from bench import design_common  # noqa: E402

design_common.define_flags()
flags.DEFINE_float("eta", 1.0, "Realism weight of eq. 10.")
flags.DEFINE_string("sheet", "", "Also write a PNG: per category, the first user's real, retrieved and designed items.")
FLAGS = flags.FLAGS


def write_sheet(maximiser, setup, path):
    import numpy as np
    from tfvisrec import image_sheets
    from tfvisrec.data.item_features import ItemFeatureTable
    from tfvisrec.design import comparison
    size, user, rows, captions, labels = maximiser.gan.image_size, setup.users[0], [], [], []
    table = ItemFeatureTable.for_model(setup.dvbpr, setup.data)
    for category, gan_category in setup.categories:
        chosen = comparison.compare(maximiser, setup.data, [user], [(category, gan_category)], k=FLAGS.k,
                                    restarts=FLAGS.restarts, steps=FLAGS.steps,
                                    learning_rate=FLAGS.design_learning_rate, seed=FLAGS.seed,
                                    rows=("random_real", "retrieved", "designed"), keep_images=True,
                                    item_table=table)
        shown = ("random_real", "retrieved", "designed")
        rows.append(np.concatenate([chosen[row]["images"] for row in shown]))
        captions.append([f"{score:+.2f}" for row in shown for score in chosen[row]["scores"]])
        labels.append(setup.data.categories[category])
    k = FLAGS.k
    title = (f"user {setup.data.user_ids[user]}: {k} random real | {k} retrieved (eq. 8) | {k} designed "
             f"(eq. 9-10); preference score under each")
    image_sheets.write_png(path, image_sheets.grid(image_sheets.to_uint8(np.stack(rows)), row_labels=labels,
                                                   captions=captions, title=title, scale=max(1, 64 // size)))


def main(argv):
    from tfvisrec.design import comparison
    from tfvisrec.design.preference import PreferenceMaximiser
    setup = design_common.load_setup()
    print(setup.describe(), flush=True)
    maximiser = PreferenceMaximiser(setup.gan, setup.dvbpr, eta=FLAGS.eta)
    table = comparison.compare(maximiser, setup.data, setup.users, setup.categories, k=FLAGS.k,
                               restarts=FLAGS.restarts, steps=FLAGS.steps,
                               learning_rate=FLAGS.design_learning_rate, seed=FLAGS.seed,
                               classifier=setup.classifier)
    print(comparison.format_table(table, title=f"eta {FLAGS.eta}"))
    if FLAGS.sheet:
        write_sheet(maximiser, setup, FLAGS.sheet)
        print(f"wrote {FLAGS.sheet}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
