"""`python -m tfvisrec.demo`: the main job on the built-in synthetic style world with photos.

world (built once, `tfvisrec/default_world.py`) → a CNN-F attribute classifier pretrained
on the world's labelled items → its features f_i → train each model with its flagfile (the
collaborative baselines, VBPR on f_i, and a short DVBPR run from the pretrained CNN) → evaluate
with the papers' protocols beside the oracle (the world's true utilities), cold items apart →
export DVBPR, serve it with the embedded server and score garments that are in no catalogue
from their JPEG alone over gRPC.
"""
import os
import sys
import time

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import flags, logging

from tfvisrec.cached_stages import CACHE_LOCATIONS
from tfvisrec.config import UsageError
from tfvisrec.interruption import run_command

flags.DEFINE_string("work_dir", "demo", "Where the runs, exports and results go.")
flags.DEFINE_string("cache_dir", "", "Where the world is built once (default: the default dataset's "
                    f"cache, {CACHE_LOCATIONS}, which `python -m tfvisrec.train` without --dataset "
                    "reuses).")
flags.DEFINE_list("models", ["random", "poprank", "bprmf", "mmmf", "warp", "vbpr", "dvbpr"],
                  "Models that rank items for shoppers, each trained with configs/<model>.cfg "
                  "(the outfit models, the GAN and the attribute classifier train on their own "
                  "with `python -m tfvisrec.train`).")
flags.DEFINE_string("configs_dir", "", "Folder of flagfiles (default: configs/ of the checkout).")
flags.DEFINE_integer("num_users", 300, "Users in the synthetic world.")
flags.DEFINE_integer("num_items", 600, "Items in the synthetic world.")
flags.DEFINE_integer("seed", 0, "Seed of the world and the split.")
flags.DEFINE_integer("dvbpr_epochs", 1, "DVBPR's epochs in the demo (from the pretrained CNN; "
                     "configs/dvbpr.cfg trains up to 20 from scratch).")
flags.DEFINE_list("protocols", ["full_auc", "sampled_100"], "Evaluation protocols: full_auc (required) "
                  "and any of sampled_100, sampled_500, sampled_<N>.")
flags.DEFINE_integer("new_items", 6, "Garments outside the catalogue scored over gRPC at the end, when the "
                     "served model reads photos, as DVBPR does (VBPR and the collaborative models score "
                     "catalogue items only).")
flags.DEFINE_bool("fresh", False, "Rebuild the world and retrain even if outputs exist.")
flags.DEFINE_bool("serve", True, "Export DVBPR (else the model of the best test AUC), serve it with "
                  "the embedded server and call it through the gRPC client.")
FLAGS = flags.FLAGS

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The demo's DVBPR: the flagfile's model started from the pretrained CNN, its convolutions kept
# as loaded (fc6, fc7 and the output layer train: configs/dvbpr.cfg measures 3.6x faster epochs).
DVBPR_RUN = dict(batch_size=64, patience=0, trainable_backbone_layers=3)
INTERRUPTED = ("interrupted: run the same command again to go on; what was finished (the world, its pretrained "
               "CNN, each trained model) is reused, and the model in training resumes from its latest checkpoint")


def prepare_world(settings, cache_dir, models, fresh=False):
    """The world (and the visual stage if a model needs it) → (World, Visual or None)."""
    from tfvisrec import default_world, demo_models
    print("[1/5] the synthetic style world: garments drawn from known attributes, shoppers with "
          "known tastes")
    world = default_world.ensure_world(settings, cache_dir, rebuild=fresh)
    visual = None
    if any(demo_models.needs_visual(name) for name in models):
        visual = default_world.ensure_visual(world, rebuild=fresh)
    return world, visual


def model_overrides(name, visual):
    """The demo's changes to configs/<name>.cfg: the world's features, attribute regions and
    pretrained CNN, and DVBPR's short run."""
    from tfvisrec.data import schema
    from tfvisrec.models import registry
    keys = registry.get(name).item_feature_keys
    overrides = {}
    if schema.FEATURES in keys:
        overrides["features_file"] = os.path.join(visual.root, registry.get(name).default_features_file)
    if schema.REGIONS in keys:
        overrides["regions_file"] = visual.regions_file
    if schema.IMAGE in keys:
        settings = visual.info["settings"]
        overrides.update(backbone="cnnf", backbone_weights=visual.pretrained_dir,
                         image_size=settings["image_size"], fc_width=settings["fc_width"])
    if name == "dvbpr":
        overrides.update(DVBPR_RUN, epochs=FLAGS.dvbpr_epochs)
    return overrides


def train_models(models, dataset_dir, visual, work_dir, configs_dir, fresh=False):
    """Train each model with configs/<model>.cfg → (dataset, {model: (model, summary)})."""
    from tfvisrec.models import model_flags
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.demo_serving import shown_path
    from tfvisrec.training import fit
    dataset = load_dataset(dataset_dir)
    trained = {}
    for k, name in enumerate(models, 1):
        flagfile = os.path.join(configs_dir, f"{name}.cfg")
        overrides = model_overrides(name, visual)
        model_config, train_config = model_flags.configs_from_flagfile(
            flagfile, dataset=dataset_dir, model_dir=os.path.join(work_dir, "runs", name),
            resume=not fresh, **overrides)
        if name == "dvbpr":
            note = (f": {train_config.epochs} epoch(s) from the pretrained {model_config.image_size} px CNN, "
                    "convolutions frozen (the flagfile: up to 20 epochs of the whole CNN at 64 px)")
        else:
            inputs = [what for key, what in (("features_file", "features f_i"),
                                             ("regions_file", "Grad-AAM attribute regions")) if key in overrides]
            note = f": on the pretrained CNN's {' and '.join(inputs)}" if inputs else ""
        print(f"[3/5] training {name} ({k}/{len(models)}) with {shown_path(flagfile)}{note}")
        trained[name] = fit(model_config, train_config, dataset=dataset)
    return dataset, trained


def results_table(rows, protocols):
    """Markdown table of evaluation results (one row per method)."""
    columns = [("full_auc/auc", "AUC"), ("full_auc/auc_cold", "AUC cold")]
    if "sampled_100" in protocols:
        columns += [("sampled_100/hr@10", "HR@10 (100 neg.)"), ("sampled_100/ndcg@10", "NDCG@10 (100 neg.)")]
    lines = ["| method | " + " | ".join(c[1] for c in columns) + " | train s |",
             "|---" * (len(columns) + 2) + "|"]
    for name, metrics, seconds in rows:
        cells = [f"{metrics[key]:.4f}" if key in metrics else "–" for key, _ in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {seconds} |")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    from tfvisrec.atomic import require_writable, write_json
    from tfvisrec import default_world
    from tfvisrec.data.errors import DataError
    from tfvisrec.data.synthetic import load_truth
    from tfvisrec.evaluation import protocols as protocols_lib
    from tfvisrec import demo_models, demo_serving
    started = time.time()
    configs_dir = FLAGS.configs_dir or os.path.join(REPO_ROOT, "configs")
    settings = default_world.WorldSettings(FLAGS.num_users, FLAGS.num_items, FLAGS.seed)
    try:
        problems = demo_models.refusals(FLAGS.models, FLAGS.protocols, configs_dir)
        problems += settings.problems("--num_users", "--num_items")
        if FLAGS.new_items < 0:
            problems.append(f"--new_items must be at least 0 (0: none scored), got {FLAGS.new_items}")
        if problems:   # every mistake in one line, before any work
            raise ValueError("; ".join(problems))
        require_writable(FLAGS.work_dir, "--work_dir", folder=True)
        world, visual = prepare_world(settings, FLAGS.cache_dir, FLAGS.models, FLAGS.fresh)
        print(f"[2/5] dataset {world.dataset_dir}: {world.info['users']} users, {world.info['items']} "
              f"items, {world.info['train_interactions']} training purchases, {world.info['cold_items']} "
              "cold items (< 5 training buyers)")
        dataset, trained = train_models(FLAGS.models, world.dataset_dir, visual, FLAGS.work_dir,
                                        configs_dir, FLAGS.fresh)
    except (DataError, ValueError, OSError) as e:   # bad data, an unknown model or protocol name
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("[4/5] evaluating on the held-out test items")
    oracle = load_truth(world.world_dir).scores_for(dataset)
    rows = [("oracle (true utility)", protocols_lib.evaluate_score_matrix(
        oracle, dataset, FLAGS.protocols, split="test"), "–")]
    for name, (model, summary) in trained.items():
        metrics = protocols_lib.evaluate(model, dataset, FLAGS.protocols, split="test")
        rows.append((name, metrics, f"{summary['train_seconds']:.1f}"))
    table = results_table(rows, FLAGS.protocols)
    cold = int(rows[0][1].get("full_auc/num_cold_users", 0))
    print(f"\n{table}\n({cold} of {dataset.num_users} test items are cold)\n")
    write_json(os.path.join(FLAGS.work_dir, "results.json"), {name: metrics for name, metrics, _ in rows})
    if FLAGS.serve:
        # any model exports and serves, random and PopRank too (--models names one at least)
        name = "dvbpr" if "dvbpr" in trained else max(rows[1:], key=lambda r: r[1]["full_auc/auc"])[0]
        demo_serving.serve_and_call(name, trained[name][0], dataset, FLAGS.work_dir, world.world_dir,
                                    new_items=FLAGS.new_items, seed=FLAGS.seed)
    print(f"results in {os.path.join(FLAGS.work_dir, 'results.json')}; "
          f"demo took {time.time() - started:.0f} s")
    return 0


def run():
    run_command(main, interrupted=INTERRUPTED)


if __name__ == "__main__":
    run()
