"""`python -m tfvisrec.demo`: the main job on the built-in synthetic style world.

synthetic world → ingest → train each model with its flagfile → evaluate with the papers'
protocols (plus the oracle, which ranks by the world's true utilities) → a results table.
"""
import os
import sys
import time

import tfvisrec  # noqa: F401  (selects Keras 2 before TensorFlow loads)
from absl import app, flags, logging

flags.DEFINE_string("work_dir", "demo", "Where the world, dataset, runs and results go.")
flags.DEFINE_list("models", ["random", "poprank", "bprmf", "mmmf", "warp"],
                  "Models to train, each with configs/<model>.cfg.")
flags.DEFINE_string("configs_dir", "", "Folder of flagfiles (default: configs/ of the checkout).")
flags.DEFINE_integer("num_users", 300, "Users in the synthetic world.")
flags.DEFINE_integer("num_items", 600, "Items in the synthetic world.")
flags.DEFINE_integer("seed", 0, "Seed of the world and the split.")
flags.DEFINE_list("protocols", ["full_auc", "sampled_100"], "Evaluation protocols.")
flags.DEFINE_bool("fresh", False, "Regenerate the world and retrain even if outputs exist.")
flags.DEFINE_bool("serve", True, "Export the best model, serve it with the embedded server and "
                  "call it through the gRPC client.")
FLAGS = flags.FLAGS

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def prepare_world(work_dir, num_users, num_items, seed, fresh=False):
    """Generate the synthetic world and ingest it → (world folder, dataset folder)."""
    from tfvisrec.data.ingest import ingest
    from tfvisrec.data.synthetic import SyntheticConfig, generate_world
    world = os.path.join(work_dir, "world")
    dataset = os.path.join(work_dir, "dataset")
    if fresh or not os.path.exists(os.path.join(world, "truth.npz")):
        print(f"[1/5] drawing a synthetic style world: {num_users} users, {num_items} items")
        generate_world(world, SyntheticConfig(num_users=num_users, num_items=num_items, seed=seed),
                       overwrite=True)
    if fresh or not os.path.exists(os.path.join(dataset, "meta.json")):
        print("[2/5] ingesting it into a dataset folder (TFRecords, split, vocabularies)")
        ingest(os.path.join(world, "interactions.csv"), os.path.join(world, "items.csv"),
               images_dir=world, out_dir=dataset, seed=seed, overwrite=True)
    return world, dataset


def train_models(models, dataset_dir, work_dir, configs_dir, fresh=False):
    """Train each model with configs/<model>.cfg → {model: (model, summary)}."""
    from tfvisrec import config as config_lib
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.training import fit
    dataset = load_dataset(dataset_dir)
    trained = {}
    for k, name in enumerate(models, 1):
        flagfile = os.path.join(configs_dir, f"{name}.cfg")
        if not os.path.exists(flagfile):
            raise app.UsageError(f"no flagfile {flagfile} for model {name!r}")
        model_dir = os.path.join(work_dir, "runs", name)
        model_config, train_config = config_lib.configs_from_flagfile(
            flagfile, dataset=dataset_dir, model_dir=model_dir, resume=not fresh)
        print(f"[3/5] training {name} ({k}/{len(models)}) with {os.path.relpath(flagfile)}")
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


def serve_and_call(name, model, dataset, work_dir, k=5):
    """Export `model`, serve it on a free loopback port, and ask for one user's top-k over gRPC;
    checks that the served answer is the model's own top-k."""
    import numpy as np
    from tfvisrec.client import RecommenderClient
    from tfvisrec.evaluation.scoring import score_users
    from tfvisrec.export import export_model
    from tfvisrec.serving import model_config
    from tfvisrec.serving.model_server import ModelServer
    base = os.path.abspath(os.path.join(work_dir, "export", name))
    path = export_model(model, dataset, base, top_k=max(k, 10))
    print(f"[5/5] exported {name} to {path}; serving it over gRPC (TF Serving protocol)")
    server = ModelServer(model_config.single_model(name, base), port=0, host="127.0.0.1")
    port = server.start()
    try:
        user = dataset.user_ids[0]
        with RecommenderClient(f"127.0.0.1:{port}", model=name, timeout=30) as client:
            served = client.recommend(user, k=k)
        scores = score_users(model, dataset, np.array([0]))[0]
        seen = dataset.user_items(("train",))[0]
        scores[seen] = -np.inf
        own = [dataset.item_ids[i] for i in np.argsort(-scores, kind="stable")[:k]]
        print(f"    client.recommend({user!r}, k={k}) from 127.0.0.1:{port}:")
        for rec in served:
            print(f"      {rec.item_id}  {rec.score:.4f}")
        agree = [r.item_id for r in served] == own
        print(f"    served top-{k} {'equals' if agree else 'DIFFERS FROM'} the model's own top-{k}")
    finally:
        server.stop()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    from tfvisrec.data.errors import DataError
    from tfvisrec.data.synthetic import load_truth
    from tfvisrec.evaluation import protocols as protocols_lib
    from tfvisrec.atomic import write_json
    started = time.time()
    configs_dir = FLAGS.configs_dir or os.path.join(REPO_ROOT, "configs")
    try:
        world, dataset_dir = prepare_world(FLAGS.work_dir, FLAGS.num_users, FLAGS.num_items,
                                           FLAGS.seed, FLAGS.fresh)
        dataset, trained = train_models(FLAGS.models, dataset_dir, FLAGS.work_dir, configs_dir, FLAGS.fresh)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("[4/5] evaluating on the held-out test items")
    oracle = load_truth(world).scores_for(dataset)
    rows = [("oracle (true utility)", protocols_lib.evaluate_score_matrix(
        oracle, dataset, FLAGS.protocols, split="test"), "–")]
    for name, (model, summary) in trained.items():
        metrics = protocols_lib.evaluate(model, dataset, FLAGS.protocols, split="test")
        rows.append((name, metrics, f"{summary['train_seconds']:.1f}"))
    table = results_table(rows, FLAGS.protocols)
    print("\n" + table + "\n")
    write_json(os.path.join(FLAGS.work_dir, "results.json"),
                      {name: metrics for name, metrics, _ in rows})
    if FLAGS.serve:
        best = max((r for r in rows[1:] if trained[r[0]][0].trainable_by_gradient),
                   key=lambda r: r[1]["full_auc/auc"], default=None)
        if best is not None:
            serve_and_call(best[0], trained[best[0]][0], dataset, FLAGS.work_dir)
    print(f"results in {os.path.join(FLAGS.work_dir, 'results.json')}; "
          f"demo took {time.time() - started:.0f} s")
    return 0


def run():
    app.run(main)


if __name__ == "__main__":
    run()
