"""`python -m tfvisrec.design`: items designed for one shopper, as a PNG sheet.

    python -m tfvisrec.design --gan_dir runs/gan --dvbpr_dir runs/dvbpr --user U --category C --out sheet.png
    python -m tfvisrec.design ... --tailor photo.jpg --out strip.png

The sheet shows the real top-k of category C for user U (δ, eq. 8) beside the generated
top-k (δ̂, eq. 9-11) with their scores; `--tailor` shows the tailoring strip of an existing
photo instead (eq. 12, then eq. 9-10). The GAN and the DVBPR must share the category names
(train both on the same dataset). Bad input prints `error: …` and exits with status 2.
"""
import math
import sys

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import flags

from tfvisrec.atomic import require_writable
from tfvisrec.config import UsageError, define_once
from tfvisrec.data.errors import DataError
from tfvisrec.interruption import run_command

FLAGS = flags.FLAGS
define_once(flags.DEFINE_string, "gan_dir", "", "Folder of a trained `gan` (python -m tfvisrec.train --flagfile=configs/gan.cfg).")
define_once(flags.DEFINE_string, "dvbpr_dir", "", "Folder of a trained `dvbpr`: θ_u and Φ score the designs.")
define_once(flags.DEFINE_string, "user", "", "The shopper's id, as in the dataset's users.txt.")
define_once(flags.DEFINE_string, "category", "", "The category's name, as in the dataset's categories.")
define_once(flags.DEFINE_string, "out", "design.png", "The PNG sheet to write (atomically).")
define_once(flags.DEFINE_string, "tailor", "", "A JPEG/PNG of an existing item: write its tailoring strip instead (eq. 12).")
define_once(flags.DEFINE_integer, "k", 3, "Items shown in each row.")
define_once(flags.DEFINE_integer, "restarts", 64, "Random starts optimised at once (m; 64 in the paper).")
define_once(flags.DEFINE_integer, "steps", 100, "Adam steps of preference maximisation (and of the tailoring fit).")
define_once(flags.DEFINE_float, "design_learning_rate", 0.05, "Adam's step size on z'.")
define_once(flags.DEFINE_float, "eta", 1.0, "Weight of the realism penalty (D_c(G_c(z)) − 1)² in eq. 10.")
define_once(flags.DEFINE_bool, "sample", False, "Draw the k designs by eq. 11 (softmax of the objective) instead of the top k.")
define_once(flags.DEFINE_float, "temperature", 1.0, "Softmax temperature of --sample.")
define_once(flags.DEFINE_integer, "record_every", 20, "Tailoring: an image in the strip every N steps.")
define_once(flags.DEFINE_integer, "design_seed", 0, "Seed of the random starts (and of --sample's draw).")


def _index(names, name, what, where):
    if name not in names:
        shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
        raise DataError(f"unknown {what} {name!r} (known: {shown})", where)
    return names.index(name)


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    for name in ("gan_dir", "dvbpr_dir", "user", "category"):
        if not FLAGS[name].value:
            raise UsageError(f"--{name} is required")
    if FLAGS.k < 1 or FLAGS.restarts < FLAGS.k or FLAGS.steps < 1:
        raise UsageError("need 1 ≤ --k ≤ --restarts and --steps ≥ 1")
    if not 0 < FLAGS.design_learning_rate < math.inf:   # 0 or nan: the starts came back unmoved, status 0
        raise UsageError(f"--design_learning_rate must be a positive number, got {FLAGS.design_learning_rate}")
    if not 0 <= FLAGS.eta < math.inf:
        raise UsageError(f"--eta must be a number ≥ 0, got {FLAGS.eta}")
    if FLAGS.sample and not 0 < FLAGS.temperature < math.inf:
        raise UsageError(f"--temperature must be a positive number with --sample, got {FLAGS.temperature}")
    if FLAGS.out and not FLAGS.out.lower().endswith(".png"):
        raise UsageError(f"--out must name a .png file, got {FLAGS.out!r}")
    if FLAGS.tailor and (FLAGS.record_every < 1 or FLAGS.steps % FLAGS.record_every):
        raise UsageError(f"--record_every ({FLAGS.record_every}) must divide --steps ({FLAGS.steps})")
    import tensorflow as tf
    try:
        require_writable(FLAGS.out or "design.png", "--out")   # before the models are loaded
        return _design()
    except (DataError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (tf.errors.ResourceExhaustedError, tf.errors.InvalidArgumentError) as err:
        if not _out_of_memory(err):
            raise
        print(f"error: not enough memory to optimise {FLAGS.restarts} starts at once: use fewer --restarts",
              file=sys.stderr)
        return 2


def _out_of_memory(err) -> bool:
    """All starts are one batch, so memory grows with --restarts. TensorFlow reports a buffer it
    cannot allocate as ResourceExhaustedError, or, for a constant too large to build (the
    gradient's zeros), as InvalidArgumentError "Cannot parse tensor from proto"."""
    import tensorflow as tf
    return isinstance(err, tf.errors.ResourceExhaustedError) or "Cannot parse tensor from proto" in err.message


def _design():
    out = FLAGS.out or "design.png"   # another command line of the process may define --out without a default
    from tfvisrec import image_sheets
    from tfvisrec.data.photo_file import read_photo
    from tfvisrec.design import retrieval, sheets, tailoring
    from tfvisrec.design.preference import PreferenceMaximiser, scores_images_alone
    from tfvisrec.training.checkpoints import load_trained
    photo = read_photo(FLAGS.tailor) if FLAGS.tailor else None   # before the runs load (seconds)
    gan, gan_data = load_trained(FLAGS.gan_dir)
    if gan.registered_name != "gan":
        raise DataError(f"--gan_dir holds a {gan.registered_name!r} model, not a gan", FLAGS.gan_dir)
    dvbpr, data = load_trained(FLAGS.dvbpr_dir)
    if not scores_images_alone(dvbpr):   # before its dataset's users and categories are looked up
        raise DataError(f"--dvbpr_dir holds a {dvbpr.registered_name!r} model, which does not score an item from "
                        "its image alone: give a dvbpr run trained on the gan's dataset", FLAGS.dvbpr_dir)
    user = _index(data.user_ids, FLAGS.user, "user", data.path)
    gan_category = _index(gan_data.categories, FLAGS.category, "category", gan_data.path)
    category = _index(data.categories, FLAGS.category, "category", data.path)
    maximiser = PreferenceMaximiser(gan, dvbpr, eta=FLAGS.eta)
    title = f"user {FLAGS.user}, {FLAGS.category}"
    if FLAGS.tailor:
        query = _decode_query(photo, gan.image_size)
        print(f"tailoring {FLAGS.tailor} for {title}: {FLAGS.steps} fit steps over {FLAGS.restarts} "
              f"starts, then {FLAGS.steps} preference steps")
        strip = tailoring.tailor(maximiser, user, gan_category, query, restarts=FLAGS.restarts,
                                 fit_steps=FLAGS.steps, design_steps=FLAGS.steps,
                                 learning_rate=FLAGS.design_learning_rate,
                                 record_every=FLAGS.record_every, seed=FLAGS.design_seed)
        print(f"  query  score {strip['query_preference']:+.4f}")
        for stage, step, score, l1 in zip(strip["stage"], strip["step"], strip["preference"], strip["l1"]):
            print(f"  {'fit ' if stage == 1 else 'pref'} {step:4d}  score {score:+.4f}  L1 {l1:.4f}")
        image_sheets.write_png(out, sheets.tailoring_strip(query, strip, f"tailoring for {title}"))
    else:
        real = retrieval.retrieve(dvbpr, data, user, category, k=FLAGS.k)
        print(f"designing for {title}: {FLAGS.restarts} starts × {FLAGS.steps} steps (eta {FLAGS.eta})")
        made = maximiser.design(user, gan_category, restarts=FLAGS.restarts, k=FLAGS.k, steps=FLAGS.steps,
                                learning_rate=FLAGS.design_learning_rate, seed=FLAGS.design_seed,
                                sample=FLAGS.sample, temperature=FLAGS.temperature)
        for item, score in zip(real["items"], real["scores"]):
            print(f"  real       {data.item_ids[item]:>14}  score {score:+.4f}")
        for p, o, s in zip(made["preference"], made["objective"], made["start_preference"]):
            print(f"  generated  score {p:+.4f}  objective {o:+.4f}  (at its random start {s:+.4f})")
        image_sheets.write_png(out, sheets.design_sheet(real, made, f"{title}: real vs generated"))
    print(f"wrote {out}")
    return 0


def _decode_query(data: bytes, size):
    """The photo's bytes (checked: `photo_file.read_photo`) as the gan's query image [size, size, 3] in [-1, 1]."""
    import tensorflow as tf
    from tfvisrec.data import images
    return images.decode_batch(tf.constant([data]), size)[0].numpy()


def run():
    run_command(main, interrupted="interrupted: no sheet was written (it is written at the end, whole into a "
                "temporary file, then renamed)")


if __name__ == "__main__":
    run()
