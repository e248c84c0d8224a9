"""Build and inspect dataset folders.

Usage: python -m tfvisrec.data <command> [--flags]

  ingest      canonical CSVs: --interactions [--items] [--images] --out
  hm          H&M sample: --hm_dir --out [--category_classifier DIR | --category_predictions NPZ]
              [--category_min_confidence P]
  hm_catalogue the labelled H&M articles with photos, no users: --hm_dir --out
  dvbpr_npy   DVBPR partitioned .npy: --npy --out
  catalogue   labelled catalogue without users: --labels [--images] --out [--label_columns]
  fashion_mnist Fashion-MNIST's IDX files as a catalogue without users: [--source] --out
              [--valid_fraction] [--limit]
  synthetic   the synthetic style world (flags of tfvisrec.data.synthetic)
  polyvore_u  Polyvore-U outfits in FHN's layout: --tuples_dir [--images] --out
  outfits_synthetic the synthetic outfit world (feature maps, known taste): --out [--seed]
  hm_outfits  H&M outfits (a customer's top + bottom [+ shoes] of one session): --hm_dir --out
              [--window_days] [--require_shoes] [--slot_classifier DIR | --slot_predictions NPZ]
              [--slot_min_confidence P]
  info        print meta data and counts: --dataset (or the folder as an argument)

Bad input prints `error: <message naming file and row>` and exits with status 2, leaving
nothing half-written.
"""
import importlib
import json
import sys

from absl import flags

from tfvisrec.config import UsageError, parse_flags
from tfvisrec.data.errors import DataError
from tfvisrec.interruption import run_command

FLAGS = flags.FLAGS
COMMANDS = ("ingest", "hm", "hm_catalogue", "hm_outfits", "dvbpr_npy", "catalogue", "fashion_mnist", "synthetic",
            "polyvore_u", "outfits_synthetic", "info")
SYNTHETIC_MODULE = "tfvisrec.data.synthetic.__main__"
INTERRUPTED = ("interrupted: nothing partial was written (a dataset or world is built in a temporary folder, "
               "now removed, and renamed into place only when complete)")


def define_flags():
    """The flags of every command except `synthetic` (which brings its own)."""
    if "interactions" in FLAGS:
        return
    d = flags
    d.DEFINE_string("out", None, "Dataset folder to write.")
    d.DEFINE_bool("overwrite", False, "Replace --out if it is a dataset (holds meta.json) or an empty folder.")
    d.DEFINE_string("name", None, "Dataset name recorded in meta.json (default: folder name).")
    d.DEFINE_enum("split", "leave_one_out", ["leave_one_out", "temporal"],
                  "leave_one_out: one random validation and test item per user; temporal: "
                  "the last item by time is test, the second last validation.")
    d.DEFINE_integer("min_user_interactions", 5, "Keep users with at least this many distinct items.", lower_bound=1)
    d.DEFINE_integer("cold_threshold", 5, "Items with fewer training interactions are cold.", lower_bound=0)
    d.DEFINE_integer("seed", 0, "Seed of the leave-one-out or hold-out split.", lower_bound=0)
    d.DEFINE_integer("image_shards", 4, "Number of TFRecord image shards.", lower_bound=1)
    d.DEFINE_bool("require_images", None, "Every item must have a usable image (default: "
                  "off for ingest, on for hm, dvbpr_npy and catalogue).")
    d.DEFINE_bool("blank_photos", False, "ingest: give each item without a photo a plain light-grey one "
                  "(counted in meta.json), so that the models that look at photos accept the dataset.")
    d.DEFINE_bool("progress", True, "Show an image-reading counter on stderr.")
    d.DEFINE_string("interactions", None, "ingest: interactions.csv (user_id,item_id[,timestamp]).")
    d.DEFINE_string("items", None, "ingest: items.csv (item_id,image[,category][,attributes…][,text]).")
    d.DEFINE_list("attributes", None, "ingest: the items.csv columns kept as item attributes (default: every "
                  "column that is not item_id, image, category or a text column; --attributes= keeps none).")
    d.DEFINE_string("images", None, "ingest/catalogue: image folder or tar archive (default: "
                    "the folder of the CSV).")
    d.DEFINE_string("hm_dir", None, "hm: folder with the H&M transactions, articles and images tar.")
    d.DEFINE_string("npy", None, "dvbpr_npy: the DVBPR partitioned .npy file.")
    d.DEFINE_string("labels", None, "catalogue: labels.csv.")
    d.DEFINE_list("label_columns", ["masterCategory", "subCategory", "articleType",
                                    "baseColour", "usage"],
                  "catalogue: label columns; the first is the category.")
    d.DEFINE_string("id_column", "product_id", "catalogue: id column of labels.csv.")
    d.DEFINE_list("holdout_fractions", ["0.8", "0.1", "0.1"],
                  "catalogue: train,valid,test shares of the item hold-out split.")
    d.DEFINE_string("source", None, "fashion_mnist: folder of the release's four IDX files (default: "
                    "where Debian's dataset-fashion-mnist package puts them).")
    d.DEFINE_float("valid_fraction", 0.1, "fashion_mnist: share of the training images held out for validation.")
    d.DEFINE_integer("limit", None, "fashion_mnist: at most this many images of each part (quick runs).")
    d.DEFINE_string("dataset", None, "info: the dataset folder.")
    d.DEFINE_integer("window_days", 1, "hm_outfits: a session takes the purchases within this many days (1 = same day).",
                     lower_bound=1)
    d.DEFINE_bool("require_shoes", False, "hm_outfits: keep only outfits with shoes (top + bottom + shoes).")
    d.DEFINE_string("slot_classifier", None, "hm_outfits: an H&M attribute classifier (configs/hm_attributes.cfg "
                    "run) that predicts the slot of the articles without metadata from their photo.")
    d.DEFINE_string("slot_predictions", None, "hm_outfits: …or the slot_predictions.npz of an outfit dataset built "
                    "with one (the same predictions, not computed again).")
    d.DEFINE_float("slot_min_confidence", 0.5, "hm_outfits: a predicted slot is used when its probability "
                   "is at least this.")
    d.DEFINE_string("category_classifier", None, "hm: an H&M attribute classifier (configs/hm_attributes.cfg run) "
                    "that predicts the product group (the category) of the articles without metadata "
                    "from their photo.")
    d.DEFINE_string("category_predictions", None, "hm: …or the category_predictions.npz of a dataset built with "
                    "one (the same predictions, not computed again).")
    d.DEFINE_float("category_min_confidence", 0.5, "hm: a predicted product group is used when its "
                   "probability is at least this.")
    d.DEFINE_string("tuples_dir", None, "polyvore_u: a Polyvore-U tuples_n folder (image lists, tuples_*_posi).")


def _required(name):
    value = getattr(FLAGS, name)
    if value in (None, ""):
        raise UsageError(f"--{name} is required for this command")
    return value


def _require_images(default):
    return default if FLAGS.require_images is None else FLAGS.require_images


def cmd_ingest(args):
    from tfvisrec.data.ingest import ingest
    return ingest(_required("interactions"), FLAGS.items, FLAGS.images, _required("out"),
                  split=FLAGS.split, min_user_interactions=FLAGS.min_user_interactions,
                  cold_threshold=FLAGS.cold_threshold, seed=FLAGS.seed,
                  image_shards=FLAGS.image_shards, overwrite=FLAGS.overwrite,
                  require_images=_require_images(False), name=FLAGS.name,
                  progress=FLAGS.progress, attribute_columns=FLAGS.attributes,
                  blank_photos=FLAGS.blank_photos)


def cmd_hm(args):
    from tfvisrec.data.adapters.hm import ingest_hm
    from tfvisrec.data.adapters.hm_slots import read_category_predictions
    from tfvisrec.data.ingest import check_output
    from tfvisrec.vision.type_groups import predict_hm_groups
    check_output(_required("out"), FLAGS.overwrite)   # before the photos are classified
    predictions = _photo_predictions("category", read_category_predictions, predict_hm_groups)
    return ingest_hm(_required("hm_dir"), FLAGS.out, split=FLAGS.split,
                     min_user_interactions=FLAGS.min_user_interactions,
                     cold_threshold=FLAGS.cold_threshold, seed=FLAGS.seed,
                     image_shards=FLAGS.image_shards, overwrite=FLAGS.overwrite,
                     with_images=_require_images(True), name=FLAGS.name,
                     progress=FLAGS.progress, category_predictions=predictions,
                     category_min_confidence=FLAGS.category_min_confidence)


def _photo_predictions(kind: str, read, predict):
    """What --<kind>_classifier (`predict(classifier, hm_dir)` on the unlabelled articles'
    photos) or --<kind>_predictions (`read(path)`) give, or None."""
    classifier, stored = getattr(FLAGS, f"{kind}_classifier"), getattr(FLAGS, f"{kind}_predictions")
    threshold = getattr(FLAGS, f"{kind}_min_confidence")
    if classifier and stored:
        raise UsageError(f"give --{kind}_classifier or --{kind}_predictions, not both")
    if not 0.0 <= threshold <= 1.0:
        raise UsageError(f"--{kind}_min_confidence must be within [0, 1], got {threshold}")
    if stored:
        return read(stored)
    if classifier:
        return predict(classifier, _required("hm_dir"), verbose=1 if FLAGS.progress else 0)
    return None


def cmd_hm_catalogue(args):
    from tfvisrec.data.adapters.hm import ingest_hm_catalogue
    return ingest_hm_catalogue(_required("hm_dir"), _required("out"), seed=FLAGS.seed,
                               holdout_fractions=_holdout_fractions(),
                               image_shards=FLAGS.image_shards, overwrite=FLAGS.overwrite,
                               name=FLAGS.name, progress=FLAGS.progress)


def _holdout_fractions():
    try:
        return [float(f) for f in FLAGS.holdout_fractions]
    except ValueError:
        raise UsageError(f"--holdout_fractions must be numbers, got {FLAGS.holdout_fractions}")


def cmd_dvbpr_npy(args):
    from tfvisrec.data.adapters.dvbpr_npy import ingest_dvbpr_npy
    return ingest_dvbpr_npy(_required("npy"), _required("out"),
                            cold_threshold=FLAGS.cold_threshold, image_shards=FLAGS.image_shards,
                            overwrite=FLAGS.overwrite, require_images=_require_images(True),
                            name=FLAGS.name, progress=FLAGS.progress)


def cmd_catalogue(args):
    from tfvisrec.data.adapters.catalogue import ingest_catalogue
    return ingest_catalogue(_required("labels"), FLAGS.images, _required("out"),
                            label_columns=FLAGS.label_columns, id_column=FLAGS.id_column,
                            holdout_fractions=_holdout_fractions(), seed=FLAGS.seed,
                            image_shards=FLAGS.image_shards, overwrite=FLAGS.overwrite,
                            require_images=_require_images(True), name=FLAGS.name,
                            progress=FLAGS.progress)


def cmd_fashion_mnist(args):
    from tfvisrec.data.adapters.fashion_mnist import ingest_fashion_mnist
    return ingest_fashion_mnist(FLAGS.source, _required("out"), valid_fraction=FLAGS.valid_fraction,
                                seed=FLAGS.seed, limit=FLAGS.limit, image_shards=FLAGS.image_shards,
                                overwrite=FLAGS.overwrite, name=FLAGS.name, progress=FLAGS.progress)


def cmd_hm_outfits(args):
    from tfvisrec.data.adapters.hm_outfits import ingest_hm_outfits
    from tfvisrec.data.adapters.hm_slots import read_slot_predictions
    from tfvisrec.data.ingest import check_output
    from tfvisrec.vision.type_groups import predict_hm_slots
    check_output(_required("out"), FLAGS.overwrite)   # before the photos are classified
    predictions = _photo_predictions("slot", read_slot_predictions, predict_hm_slots)
    return ingest_hm_outfits(_required("hm_dir"), FLAGS.out, window_days=FLAGS.window_days,
                             require_shoes=FLAGS.require_shoes, with_images=_require_images(True),
                             overwrite=FLAGS.overwrite, name=FLAGS.name, slot_predictions=predictions,
                             min_confidence=FLAGS.slot_min_confidence)


def cmd_polyvore_u(args):
    from tfvisrec.data.adapters.polyvore_u import ingest_polyvore_u
    return ingest_polyvore_u(_required("tuples_dir"), _required("out"), image_dir=FLAGS.images,
                             overwrite=FLAGS.overwrite, name=FLAGS.name)


def cmd_outfits_synthetic(args):
    from tfvisrec.data.synthetic.outfit_world import (OutfitWorldConfig, make_outfit_world,
                                                      write_outfit_world)
    from tfvisrec.data.ingest import check_output
    check_output(_required("out"), FLAGS.overwrite)
    world = make_outfit_world(OutfitWorldConfig(seed=FLAGS.seed))
    return write_outfit_world(world, FLAGS.out, overwrite=FLAGS.overwrite)


def cmd_info(args):
    from tfvisrec.data.dataset import load_dataset
    path = FLAGS.dataset or (args[0] if args else None)
    if not path:
        raise UsageError("info needs --dataset or the dataset folder as an argument")
    print(describe(load_dataset(path)))
    return None


def describe(ds) -> str:
    """Counts (from the arrays) and meta data of a loaded dataset, vocabularies summarised."""
    meta = dict(ds.meta)
    lines = [f"dataset: {ds.path}",
             f"kind: {meta.get('kind', 'interactions')}, split: {meta.get('split')} "
             f"(seed {meta.get('seed')})",
             f"users: {ds.num_users}  items: {ds.num_items}  cold items: {int(ds.is_cold.sum())}"
             f"  images: {meta.get('num_images', ds.num_items if ds.has_images else 0)}"
             + (f" ({meta['num_blank_photos']} blank: --blank_photos)" if meta.get("num_blank_photos") else ""),
             f"interactions: train {len(ds.train)}  valid {len(ds.valid)}  test {len(ds.test)}"
             f"  (cold test items: {int(ds.is_cold[ds.test.items].sum())})",
             f"categories ({len(ds.categories)}): {', '.join(ds.categories[:20])}"
             + (" …" if len(ds.categories) > 20 else "")]
    for name, values in zip(ds.attribute_names, ds.attribute_values):
        lines.append(f"attribute {name}: {len(values)} values")
    if ds.holdout_split is not None:
        counts = [int((ds.holdout_split == k).sum()) for k in range(3)]
        lines.append(f"hold-out items: train {counts[0]}  valid {counts[1]}  test {counts[2]}")
    meta["categories"] = f"<{len(ds.categories)} names>"
    meta["attributes"] = {n: f"<{len(v)} values>"
                          for n, v in zip(ds.attribute_names, ds.attribute_values)}
    lines.append("meta.json: " + json.dumps(meta, indent=2, sort_keys=True))
    return "\n".join(lines)


_HANDLERS = {"ingest": cmd_ingest, "hm": cmd_hm, "hm_catalogue": cmd_hm_catalogue,
             "dvbpr_npy": cmd_dvbpr_npy,
             "catalogue": cmd_catalogue, "fashion_mnist": cmd_fashion_mnist,
             "polyvore_u": cmd_polyvore_u, "hm_outfits": cmd_hm_outfits,
             "outfits_synthetic": cmd_outfits_synthetic, "info": cmd_info}


def main(argv):
    if len(argv) < 2 or argv[1] not in _HANDLERS:
        got = f"unknown command {argv[1]!r}; " if len(argv) > 1 else ""
        raise UsageError(f"{got}expected a command, one of: {', '.join(COMMANDS)}")
    try:
        written = _HANDLERS[argv[1]](argv[2:])
    except (DataError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if written:
        print(f"wrote {written}")
    return 0


def run_synthetic(argv):
    """Hand `synthetic …` to the synthetic world's own absl main, with its own flags."""
    try:
        module = importlib.import_module(SYNTHETIC_MODULE)
    except ModuleNotFoundError as e:
        if e.name not in (SYNTHETIC_MODULE, SYNTHETIC_MODULE.rsplit(".", 1)[0]):
            raise
        module = None
    if module is None or not callable(getattr(module, "main", None)):
        print(f"error: the synthetic world ({SYNTHETIC_MODULE}) is not available in this "
              "installation", file=sys.stderr)
        sys.exit(2)
    flags.adopt_module_key_flags(module)   # its flags in `synthetic --help`
    run_command(module.main, interrupted=INTERRUPTED, argv=[f"{argv[0]} synthetic"] + list(argv[2:]),
                flags_parser=module.parse_flags)


def run(argv=None):
    """Console-script entry point (`tfvisrec-data`)."""
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] == "synthetic":
        run_synthetic(argv)
        return
    define_flags()
    run_command(main, interrupted=INTERRUPTED, argv=argv, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
