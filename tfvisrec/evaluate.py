"""`python -m tfvisrec.evaluate`: a trained model under the named protocols of the papers.

    python -m tfvisrec.evaluate --model_dir runs/dvbpr --protocols full_auc,sampled_100

Prints a table and writes the results as JSON (atomically) to --output, by default
`<model_dir>/eval_<split>_<checkpoint>.json`: one file per checkpoint and split, in which a
run's protocols replace their own results and those of the other protocols evaluated earlier
on the same weights stay (`tfvisrec.evaluation.results_file`). Protocols: see
`tfvisrec.evaluation.protocols`.
On a terminal a bar on stderr follows the held-out queries (a minute or more for a large shop).
Bad input (no trained model, no dataset) prints `error: …` and exits with status 2.
"""
import os
import sys

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import flags

from tfvisrec.config import UsageError, define_once as _define
from tfvisrec.data.errors import DataError
from tfvisrec.interruption import run_command

FLAGS = flags.FLAGS

_define(flags.DEFINE_string, "model_dir", "", "Folder of a trained model (written by `python -m tfvisrec.train`).")
_define(flags.DEFINE_string, "dataset", "", "Dataset folder; default: the one the model was trained on.")
_define(flags.DEFINE_list, "protocols", ["full_auc"], "Comma-separated protocols: full_auc, sampled_100, sampled_500, sampled_<N>; outfits (outfit models: personal / random AUC and NDCG, FITB; their default).")
_define(flags.DEFINE_enum, "split", "test", "Held-out split to evaluate.", enum_values=["test", "valid"])
_define(flags.DEFINE_enum, "checkpoint", "best", "Which checkpoint to load.", enum_values=["best", "latest"])
_define(flags.DEFINE_string, "output", "", "Results JSON; default <model_dir>/eval_<split>_<checkpoint>.json. The file gathers the protocols evaluated on the checkpoint: this run's protocols replace their own results, the other protocols' results already there stay (when the file is of the same checkpoint's weights, split and dataset; else it is replaced). A file that is not an evaluation's results is refused, not written over.")
_define(flags.DEFINE_integer, "eval_seed", 0, "Seed of the negatives the sampled protocols draw.")
_define(flags.DEFINE_integer, "trials", 5, "Repeats of the sampled protocols (mean and std are reported).")


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS.model_dir:
        raise UsageError("--model_dir is required")
    from tfvisrec.evaluation import protocols, report
    try:
        for name in FLAGS.protocols:
            protocols.get_protocol(name)
    except ValueError as err:
        raise UsageError(str(err))
    if FLAGS.trials < 1:
        raise UsageError("--trials must be at least 1")
    from tfvisrec.atomic import require_writable
    from tfvisrec.evaluation.results_file import foreign_file_problem, write_results
    from tfvisrec.training.checkpoints import checkpoint_sha256, checkpoint_used, load_trained
    which = checkpoint_used(FLAGS.model_dir, FLAGS.checkpoint)   # best falls back to latest
    output = FLAGS.output or os.path.join(FLAGS.model_dir, f"eval_{FLAGS.split}_{which}.json")
    try:
        if FLAGS.output:
            require_writable(output, "--output")   # before the evaluation
        foreign = foreign_file_problem(output)
        if foreign:
            raise ValueError(f"--output: {foreign}" if FLAGS.output else foreign)
        weights = checkpoint_sha256(FLAGS.model_dir, FLAGS.checkpoint)
        model, dataset = load_trained(FLAGS.model_dir, which=FLAGS.checkpoint,
                                      dataset_dir=FLAGS.dataset or None)
        names = list(FLAGS.protocols)
        if model.scores_outfits and not FLAGS["protocols"].present:
            names = [protocols.OUTFITS]
        results = protocols.evaluate(model, dataset, protocols=names, split=FLAGS.split,
                                     seed=FLAGS.eval_seed, trials=FLAGS.trials, progress=sys.stderr)
    except (DataError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    model_name = model.registered_name
    kept = write_results(output, {
        "model": model_name, "model_dir": os.path.abspath(FLAGS.model_dir),
        "checkpoint": which, "checkpoint_sha256": weights, "dataset": dataset.path, "split": FLAGS.split,
        "protocols": names, "settings": {name: {"seed": FLAGS.eval_seed, "trials": FLAGS.trials} for name in names},
        "results": results,
    })
    fallback = "; the run has no best one" if which != FLAGS.checkpoint else ""
    print(report.format_table(results, title=f"{model_name} ({which} checkpoint{fallback}) "
                                              f"on {dataset.path}, {FLAGS.split} split"))
    print(f"wrote {output}" + (f" (kept the results of {', '.join(kept)} already there)" if kept else ""))
    return 0


def run():
    run_command(main, interrupted="interrupted: no results were written (they are written, whole, only when the "
                "evaluation ends)")


if __name__ == "__main__":
    run()
