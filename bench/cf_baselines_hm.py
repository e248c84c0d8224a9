"""H&M bench: our collaborative baselines beside cornac's and implicit's BPR, one split.

    pip install -r bench/requirements.txt
    python bench/cf_baselines_hm.py [--hm_dir=../shared/data/hm] [--work_dir=/tmp/tfvisrec-bench] [--seed=0]

Ingests the H&M sample once (cached in --work_dir, without images: these models use ids
only), trains Random, PopRank, BPR-MF, MM-MF and WARP with the shared trainer from their
flagfiles, fits the peers on the same training split, evaluates everything with the same
full-catalogue AUC code (all test users / users whose test item is cold) and prints a
Markdown table, also written to <work_dir>/results-seed<seed>.md (and .json).
"""
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from absl import app, flags  # noqa: E402

from bench import hm_common  # noqa: E402
from bench import peers as peers_lib  # noqa: E402

flags.DEFINE_string("hm_dir", hm_common.DEFAULT_HM_DIR,
                    "Folder with the H&M transactions sample (see ../shared/data/README.md).")
flags.DEFINE_string("work_dir", "/tmp/tfvisrec-bench", "Cached dataset, model runs and results.")
flags.DEFINE_integer("seed", 0, "Seed of the leave-one-out split, of our models and of the peers.")
flags.DEFINE_list("models", ["random=configs/random.cfg", "poprank=configs/poprank.cfg",
                             "bprmf=configs/hm_bprmf.cfg", "mmmf=configs/mmmf.cfg",
                             "warp=configs/warp.cfg"],
                  "Our methods as label=flagfile (relative to the repository).")
flags.DEFINE_string("reference", "bprmf", "Label of our method the fit-time ratios divide by.")
flags.DEFINE_list("peers", sorted(peers_lib.PEERS), "Peer methods to fit (bench/peers.py).")
FLAGS = flags.FLAGS


def main(argv):
    ours = hm_common.checked_methods(argv, FLAGS)
    from tfvisrec.data.errors import DataError
    try:
        dataset = hm_common.load_or_ingest(FLAGS.hm_dir, FLAGS.work_dir, FLAGS.seed)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(hm_common.describe(dataset, FLAGS.seed), flush=True)
    by_label = hm_common.run_all(ours, FLAGS.peers, dataset, FLAGS.work_dir, FLAGS.seed)
    rows, reference = list(by_label.values()), by_label[FLAGS.reference]
    table = hm_common.markdown_table(rows, reference["fit_seconds"])
    print()
    print(table)
    print(f"\nFull-catalogue AUC on the test split; fit time ratio = fit time / "
          f"{reference['method']}'s. Our fit times include per-epoch validation.")
    stem = os.path.join(FLAGS.work_dir, f"results-seed{FLAGS.seed}")
    hm_common.write_atomic(stem + ".md", table + "\n")
    hm_common.write_atomic(stem + ".json", json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
