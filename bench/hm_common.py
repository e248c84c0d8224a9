"""What the H&M benches share: the cached dataset, one training run → one result row, the table.

Every bench row is trained and evaluated the same way: our models with the shared trainer
(`tfvisrec.training.fit`, early stopping on validation AUC) from a flagfile, peers as score
matrices, and all of them through `tfvisrec.evaluation.protocols` (`full_auc` on the test
split: AUC of the test item against every item the user never bought; "cold" = users whose
test item has < 5 training buyers).
"""
import os
import shutil
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_HM_DIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "data", "hm")
PROTOCOL = "full_auc"


def checked_methods(argv, flag_values):
    """A bench's --models (label=flagfile list) → {label: flagfile}; stray arguments, a bad
    --reference or --peers → UsageError.

    Also quiets absl (unless --verbosity is given) and TensorFlow's Python logger: the table
    is the output.
    """
    import tensorflow as tf
    from absl import app, logging
    from bench import peers as peers_lib
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not flag_values["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    tf.get_logger().setLevel("ERROR")
    models, reference, peers = flag_values.models, flag_values.reference, flag_values.peers
    bad = [item for item in models if "=" not in item]
    if bad:
        raise app.UsageError(f"--models entries must be label=flagfile, got {bad}")
    ours = dict(item.split("=", 1) for item in models)
    if reference not in ours:
        raise app.UsageError(f"--reference={reference} is not one of --models {sorted(ours)}")
    unknown = set(peers) - set(peers_lib.PEERS)
    if unknown:
        raise app.UsageError(f"unknown --peers {sorted(unknown)}; known: {sorted(peers_lib.PEERS)}")
    missing = [f for f in ours.values() if not os.path.exists(os.path.join(REPO_ROOT, f))]
    if missing:
        raise app.UsageError(f"flagfiles not found (relative to {REPO_ROOT}): {missing}")
    return ours


def load_or_ingest(hm_dir, work_dir, seed, with_images=False):
    """The H&M dataset folder for split `seed`, ingested into `work_dir` on first use."""
    from tfvisrec.data.adapters.hm import ingest_hm
    from tfvisrec.data.dataset import load_dataset
    name = f"hm-images-seed{seed}" if with_images else f"hm-seed{seed}"
    path = os.path.join(work_dir, name)
    if not os.path.exists(os.path.join(path, "meta.json")):
        print(f"ingesting {hm_dir} → {path}" + (" (with photos)" if with_images else ""), flush=True)
        ingest_hm(hm_dir, path, seed=seed, with_images=with_images, overwrite=True)
    return load_dataset(path)


def describe(dataset, seed):
    cold_users = int(dataset.is_cold[dataset.test.items].sum())
    return (f"H&M: {dataset.num_users} users, {dataset.num_items} items, {len(dataset.train)} "
            f"training interactions, {cold_users} of {len(dataset.test)} test items cold; "
            f"split seed {seed}")


def run_ours(label, flagfile, dataset, work_dir, seed, **overrides):
    """Train one of our models from its flagfile (+ `overrides`) → result row."""
    from tfvisrec.models import model_flags
    from tfvisrec.evaluation import protocols
    from tfvisrec.training import fit
    model_dir = os.path.join(work_dir, "runs", f"{label}-seed{seed}")
    shutil.rmtree(model_dir, ignore_errors=True)
    model_config, train_config = model_flags.configs_from_flagfile(
        os.path.join(REPO_ROOT, flagfile), dataset=dataset.path, model_dir=model_dir,
        seed=seed, resume=False, verbose=0, **overrides)
    started = time.perf_counter()
    model, summary = fit(model_config, train_config, dataset=dataset)
    seconds = time.perf_counter() - started
    results = protocols.evaluate(model, dataset, protocols=(PROTOCOL,), split="test")
    name = f"{model_config.model} ({os.path.basename(flagfile)})"
    loop_seconds = sum(record.get("seconds", 0.0) for record in summary["history"])
    return row(name, results, seconds, epochs=summary["epochs_completed"],
               best_epoch=summary["best_epoch"], validation=summary["best_validation"],
               train_loop_seconds=loop_seconds)


def run_all(ours, peers, dataset, work_dir, seed, overrides=lambda label: {}):
    """Train every {label: flagfile} of ours (+ `overrides(label)`), then fit each peer key,
    printing each row as it comes → {label or peer key: row}, in that order."""
    rows = {}
    for label, flagfile in ours.items():
        rows[label] = run_ours(label, flagfile, dataset, work_dir, seed, **overrides(label))
        print_row(rows[label])
    for key in peers:
        rows[key] = run_peer(key, dataset, seed)
        print_row(rows[key])
    return rows


def run_peer(key, dataset, seed):
    """Fit peer `key` of bench/peers.py on the training split → result row."""
    from bench import peers as peers_lib
    from tfvisrec.evaluation import protocols
    peer = peers_lib.PEERS[key](dataset, seed=seed)
    results = protocols.evaluate_score_matrix(peer.scores, dataset, protocols=(PROTOCOL,),
                                              split="test")
    return row(peer.name, results, peer.fit_seconds)


def row(name, results, seconds, **extra):
    return dict(method=name, auc=results[f"{PROTOCOL}/auc"],
                auc_cold=results[f"{PROTOCOL}/auc_cold"], fit_seconds=seconds, **extra)


def print_row(r):
    line = f"  {r['method']}: AUC {r['auc']:.4f} / cold {r['auc_cold']:.4f} in {r['fit_seconds']:.1f}s"
    if "epochs" in r:
        line += (f" ({r['epochs']} epochs, best epoch {r['best_epoch'] + 1}, "
                 f"{r['train_loop_seconds']:.1f}s in training steps)")
    print(line, flush=True)


def markdown_table(rows, reference_seconds, kinds=None):
    """Rows → Markdown; `kinds` (method → "CF" / "visual") adds a column when given."""
    kind_head, kind_rule = ("| kind ", "|---") if kinds else ("", "")
    lines = [f"| method {kind_head}| AUC all | AUC cold | fit time (s) | fit time ratio vs ours |",
             f"|---{kind_rule}|---|---|---|---|"]
    for r in rows:
        ratio = r["fit_seconds"] / reference_seconds if reference_seconds > 0 else float("nan")
        kind = f"| {kinds[r['method']]} " if kinds else ""
        lines.append(f"| {r['method']} {kind}| {r['auc']:.4f} | {r['auc_cold']:.4f} | "
                     f"{r['fit_seconds']:.1f} | {ratio:.2f} |")
    return "\n".join(lines)


def write_atomic(path, text_or_bytes):
    """Write a file through a temp file in the same folder and a rename."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    binary = isinstance(text_or_bytes, bytes)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
        f.write(text_or_bytes)
    os.chmod(tmp, 0o644)   # mkstemp makes it private
    os.replace(tmp, path)
