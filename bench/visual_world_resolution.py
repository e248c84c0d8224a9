"""The synthetic visual world at several image sizes: how close do the visual models get to the oracle?

    nice python bench/visual_world_resolution.py [--sizes 32,64] [--models vbpr,imgrec_ft,dvbpr]
                                                 [--dvbpr_epochs 3] [--dvbpr_negatives 1]

For each size, the visual test world of tests/visual_world.py (300 users, 600 items, the
attribute classifier pretrained on another world's catalogue) is built with the backbone
input at that size (cached like the tests' world, in $TFVISREC_TEST_CACHE), then each model
trains with its flagfile (DVBPR from the pretrained CNN, `--dvbpr_epochs`, batch 64, as in
tests/models/test_visual_e2e_learning.py) and is evaluated by full AUC on the test split.
Prints the pretraining's per-attribute test accuracy and one table row per (size, model)
with the gap to the oracle (the acceptance bar is 0.05).
"""
import os
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags  # noqa: E402

flags.DEFINE_list("sizes", ["32", "64"], "Backbone input sizes (the world is drawn at 64 px).")
flags.DEFINE_list("models", ["vbpr", "imgrec_ft", "dvbpr"], "Flagfiles in configs/ to train.")
flags.DEFINE_integer("dvbpr_epochs", 3, "DVBPR's epochs (the suite's run: 3).")
flags.DEFINE_integer("dvbpr_negatives", 1, "DVBPR's negatives per purchase.")
flags.DEFINE_string("work_dir", "/tmp/tfvisrec-bench/visual-world-resolution", "Run folders.")
FLAGS = flags.FLAGS
CNN_MODELS = ("dvbpr", "imgrec_ete")


def train_and_evaluate(name, world, dataset, size):
    """One model on one world → (AUC, AUC cold, train seconds)."""
    from tfvisrec.models import model_flags
    from tfvisrec.evaluation import protocols
    from tfvisrec.training import fit
    overrides = {}
    if name in CNN_MODELS:
        settings = world.info["settings"]
        overrides = dict(backbone="cnnf", backbone_weights=world.pretrained_dir, image_size=size,
                         fc_width=settings["fc_width"])
    if name == "dvbpr":
        overrides.update(epochs=FLAGS.dvbpr_epochs, batch_size=64, patience=0,
                         num_negatives=FLAGS.dvbpr_negatives)
    model_config, train_config = model_flags.configs_from_flagfile(
        os.path.join(REPO_ROOT, "configs", f"{name}.cfg"), dataset=dataset.path,
        model_dir=os.path.join(FLAGS.work_dir, f"{size}px-{name}-{int(time.time())}"), verbose=0,
        resume=False, **overrides)
    model, summary = fit(model_config, train_config, dataset=dataset)
    result = protocols.evaluate(model, dataset, ["full_auc"], split="test")
    return result["full_auc/auc"], result["full_auc/auc_cold"], summary["train_seconds"]


def main(argv):
    del argv
    from visual_world import VisualWorldSettings, cached_visual_world
    rows = []
    for size in (int(s) for s in FLAGS.sizes):
        world = cached_visual_world(VisualWorldSettings(image_size=size))
        accuracy = world.info["pretraining"]["test_accuracy"]
        print(f"{size} px pretraining, test accuracy: "
              + ", ".join(f"{k} {v:.2f}" for k, v in sorted(accuracy.items())), flush=True)
        dataset = world.load_dataset()
        oracle = world.oracle_results(dataset)["full_auc/auc"]
        for name in FLAGS.models:
            auc, cold, seconds = train_and_evaluate(name, world, dataset, size)
            rows.append((size, name, auc, cold, oracle - auc, seconds))
            print(f"{size} px {name}: AUC {auc:.4f}, cold {cold:.4f}, {seconds:.0f} s", flush=True)
    print("\n| size | method | AUC | AUC cold | gap to oracle | train time (s) |\n|---|---|---|---|---|---|")
    for size, name, auc, cold, gap, seconds in rows:
        label = (f"dvbpr ({FLAGS.dvbpr_epochs} ep., {FLAGS.dvbpr_negatives} neg.)"
                 if name == "dvbpr" else name)
        print(f"| {size} px | {label} | {auc:.3f} | {cold:.3f} | {gap:.3f} | {seconds:.0f} |")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
