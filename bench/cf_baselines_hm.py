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
import shutil
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
from absl import app, flags, logging  # noqa: E402

from bench import peers as peers_lib  # noqa: E402

flags.DEFINE_string("hm_dir", os.path.join(os.path.dirname(REPO_ROOT), "shared", "data", "hm"),
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

PROTOCOL = "full_auc"


def load_or_ingest(hm_dir, work_dir, seed):
    """The H&M dataset folder for `seed`, ingested on first use (no images)."""
    from tfvisrec.data.adapters.hm import ingest_hm
    from tfvisrec.data.dataset import load_dataset
    path = os.path.join(work_dir, f"hm-seed{seed}")
    if not os.path.exists(os.path.join(path, "meta.json")):
        print(f"ingesting {hm_dir} → {path}", flush=True)
        ingest_hm(hm_dir, path, seed=seed, with_images=False, overwrite=True)
    return load_dataset(path)


def run_ours(label, flagfile, dataset, work_dir, seed):
    """Train one of our models from its flagfile → result row."""
    from tfvisrec import config as config_lib
    from tfvisrec.evaluation import protocols
    from tfvisrec.training import fit
    model_dir = os.path.join(work_dir, "runs", f"{label}-seed{seed}")
    shutil.rmtree(model_dir, ignore_errors=True)
    model_config, train_config = config_lib.configs_from_flagfile(
        os.path.join(REPO_ROOT, flagfile), dataset=dataset.path, model_dir=model_dir,
        seed=seed, resume=False, verbose=0)
    started = time.perf_counter()
    model, summary = fit(model_config, train_config, dataset=dataset)
    seconds = time.perf_counter() - started
    results = protocols.evaluate(model, dataset, protocols=(PROTOCOL,), split="test")
    name = f"{model_config.model} ({os.path.basename(flagfile)})"
    loop_seconds = sum(record.get("seconds", 0.0) for record in summary["history"])
    return _row(name, results, seconds, epochs=summary["epochs_completed"],
                best_epoch=summary["best_epoch"], validation=summary["best_validation"],
                train_loop_seconds=loop_seconds)


def run_peer(key, dataset, seed):
    from tfvisrec.evaluation import protocols
    peer = peers_lib.PEERS[key](dataset, seed=seed)
    results = protocols.evaluate_score_matrix(peer.scores, dataset, protocols=(PROTOCOL,),
                                              split="test")
    return _row(peer.name, results, peer.fit_seconds)


def _row(name, results, seconds, **extra):
    return dict(method=name, auc=results[f"{PROTOCOL}/auc"],
                auc_cold=results[f"{PROTOCOL}/auc_cold"], fit_seconds=seconds, **extra)


def markdown_table(rows, reference_seconds):
    lines = ["| method | AUC all | AUC cold | fit time (s) | fit time ratio vs ours |",
             "|---|---|---|---|---|"]
    for r in rows:
        ratio = r["fit_seconds"] / reference_seconds if reference_seconds > 0 else float("nan")
        lines.append(f"| {r['method']} | {r['auc']:.4f} | {r['auc_cold']:.4f} | "
                     f"{r['fit_seconds']:.1f} | {ratio:.2f} |")
    return "\n".join(lines)


def _write_atomic(path, text):
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # the table is the output
    import tensorflow as tf
    from tfvisrec.data.errors import DataError
    tf.get_logger().setLevel("ERROR")
    ours = dict(item.split("=", 1) for item in FLAGS.models)
    if FLAGS.reference not in ours:
        raise app.UsageError(f"--reference={FLAGS.reference} is not one of --models {sorted(ours)}")
    unknown = set(FLAGS.peers) - set(peers_lib.PEERS)
    if unknown:
        raise app.UsageError(f"unknown --peers {sorted(unknown)}; known: {sorted(peers_lib.PEERS)}")
    try:
        dataset = load_or_ingest(FLAGS.hm_dir, FLAGS.work_dir, FLAGS.seed)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cold_users = int(dataset.is_cold[dataset.test.items].sum())
    print(f"H&M: {dataset.num_users} users, {dataset.num_items} items, {len(dataset.train)} "
          f"training interactions, {cold_users} of {len(dataset.test)} test items cold; "
          f"split seed {FLAGS.seed}", flush=True)
    rows, reference = [], None
    for label, flagfile in ours.items():
        row = run_ours(label, flagfile, dataset, FLAGS.work_dir, FLAGS.seed)
        print(f"  {row['method']}: AUC {row['auc']:.4f} / cold {row['auc_cold']:.4f} in "
              f"{row['fit_seconds']:.1f}s ({row['epochs']} epochs, best {row['best_epoch']}, "
              f"{row['train_loop_seconds']:.1f}s in training steps)", flush=True)
        rows.append(row)
        if label == FLAGS.reference:
            reference = row
    for key in FLAGS.peers:
        row = run_peer(key, dataset, FLAGS.seed)
        print(f"  {row['method']}: AUC {row['auc']:.4f} / cold {row['auc_cold']:.4f} in "
              f"{row['fit_seconds']:.1f}s", flush=True)
        rows.append(row)
    table = markdown_table(rows, reference["fit_seconds"])
    print()
    print(table)
    print(f"\nFull-catalogue AUC on the test split; fit time ratio = fit time / "
          f"{reference['method']}'s. Our fit times include per-epoch validation.")
    stem = os.path.join(FLAGS.work_dir, f"results-seed{FLAGS.seed}")
    _write_atomic(stem + ".md", table + "\n")
    _write_atomic(stem + ".json", json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    app.run(main)
