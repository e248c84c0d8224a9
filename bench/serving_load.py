"""Load test of the embedded server on loopback: `recommend` (top-100 over a 100k catalogue).

    python bench/serving_load.py                       # 100k items, 1/8/32 clients, 10 s each
    python bench/serving_load.py --num_items 20000 --seconds 3

Exports a BPR-MF model (random factors: latency does not depend on training) over a synthetic
catalogue, starts `python -m tfvisrec.server` in its own process, and drives it with N client
threads (one gRPC channel each) for a fixed time per level. The same signature is called
directly in this process (the loaded SavedModel, N threads) as the baseline, and the table
gives QPS, p50 and p99 latency of both and the serving overhead (server p50 / direct p50).
Client and server share this machine's cores, so the server's numbers include that contention.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401
import tensorflow as tf  # noqa: E402

from tfvisrec.client import RecommenderClient  # noqa: E402
from tfvisrec.data import schema  # noqa: E402
from tfvisrec.data.dataset import Dataset, Split, item_table  # noqa: E402
from tfvisrec.export import export_model  # noqa: E402
from tfvisrec.models import registry  # noqa: E402
from tfvisrec.models.base import DataInfo  # noqa: E402

flags.DEFINE_integer("num_items", 100_000, "Catalogue size.")
flags.DEFINE_integer("num_users", 10_000, "Users.")
flags.DEFINE_integer("per_user", 20, "Training items per user (excluded from recommendations).")
flags.DEFINE_integer("dim", 64, "BPR-MF factors.")
flags.DEFINE_integer("top_k", 100, "K fixed at export and k asked for.")
flags.DEFINE_list("concurrency", ["1", "8", "32"], "Concurrent clients per level.")
flags.DEFINE_float("seconds", 10.0, "Measured seconds per level (after 1 s of warm-up).")
flags.DEFINE_string("out", "", "Also write the results as JSON here (e.g. bench/results/serving_load.json).")
FLAGS = flags.FLAGS


def synthetic_dataset(num_users, num_items, per_user, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(num_users, dtype=np.int64), per_user)
    items = rng.integers(0, num_items, users.size).astype(np.int64)
    train = Split(users, items, np.full(users.size, schema.NO_TIME, np.int64))
    empty = Split(*(np.zeros(0, np.int64) for _ in range(3)))
    return Dataset(path=None, meta={}, user_ids=[f"user-{u}" for u in range(num_users)],
                   item_ids=[f"item-{i}" for i in range(num_items)], train=train, valid=empty,
                   test=empty, **item_table(num_items, items))


def start_server(base_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "tfvisrec.server", f"--model_base_path={base_path}",
         "--port=0", "--host=127.0.0.1", "--grpc_max_threads=64"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    line = process.stdout.readline()
    if not line.startswith("tfvisrec.server: serving"):
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process, "127.0.0.1:" + line.strip().rsplit(":", 1)[1]


def drive(concurrency, seconds, make_call):
    """Run `concurrency` threads calling their own `make_call()` closure; latencies in ms."""
    latencies = [[] for _ in range(concurrency)]
    errors = []
    start_gate = threading.Barrier(concurrency + 1)
    window = {}

    def worker(row):
        call = make_call(row)
        call()  # per-thread warm-up (channel, first trace)
        start_gate.wait()
        while time.perf_counter() < window["end"]:
            t0 = time.perf_counter()
            try:
                call()
            except Exception as e:  # noqa: BLE001  (counted and reported, not raised)
                errors.append(repr(e))
                continue
            latencies[row].append((time.perf_counter() - t0) * 1000.0)

    threads = [threading.Thread(target=worker, args=(r,)) for r in range(concurrency)]
    for t in threads:
        t.start()
    window["end"] = time.perf_counter() + 1.0 + seconds
    start_gate.wait()
    for t in threads:
        t.join()
    flat = np.concatenate([np.asarray(l) for l in latencies]) if any(latencies) else np.zeros(0)
    elapsed = seconds + 1.0
    return {"requests": int(flat.size), "errors": len(errors), "qps": flat.size / elapsed,
            "p50_ms": float(np.percentile(flat, 50)) if flat.size else float("nan"),
            "p99_ms": float(np.percentile(flat, 99)) if flat.size else float("nan")}


def main(argv):
    del argv
    work = tempfile.mkdtemp(prefix="serving-load-")
    try:
        run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work):
    dataset = synthetic_dataset(FLAGS.num_users, FLAGS.num_items, FLAGS.per_user)
    config = registry.new_config("bprmf", embedding_dim=FLAGS.dim)
    model = registry.get("bprmf")(DataInfo.from_dataset(dataset), config)
    t0 = time.perf_counter()
    path = export_model(model, dataset, os.path.join(work, "bench"), top_k=FLAGS.top_k)
    export_s = time.perf_counter() - t0
    size_mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 2 ** 20
    print(f"exported BPR-MF ({FLAGS.num_users} users, {FLAGS.num_items} items, K={FLAGS.top_k}, "
          f"dim {FLAGS.dim}) in {export_s:.1f} s, {size_mb:.1f} MiB; cores: {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    user_ids = np.array(dataset.user_ids, object)
    recommend = tf.saved_model.load(path).signatures["recommend"]
    k = tf.constant([FLAGS.top_k], tf.int32)

    def direct(row):
        local = np.random.default_rng(row)
        return lambda: recommend(user=tf.constant([user_ids[local.integers(len(user_ids))]]), k=k)

    server, target = start_server(os.path.join(work, "bench"))
    clients = []

    def remote(row):
        client = RecommenderClient(target, model="bench", timeout=30)
        clients.append(client)
        local = np.random.default_rng(100 + row)
        return lambda: client.recommend(user_ids[local.integers(len(user_ids))], k=FLAGS.top_k)

    rows = []
    try:
        for level in [int(c) for c in FLAGS.concurrency]:
            d = drive(level, FLAGS.seconds, direct)
            s = drive(level, FLAGS.seconds, remote)
            rows.append({"clients": level, "server": s, "direct": d,
                         "overhead_p50": s["p50_ms"] / d["p50_ms"]})
    finally:
        for client in clients:
            client.close()
        server.terminate()
        server.wait(timeout=60)
    header = ("| clients | server QPS | p50 ms | p99 ms | direct QPS | p50 ms | p99 ms "
              "| overhead (p50 ratio) | errors |")
    print(header)
    print("|" + "---|" * 9)
    for r in rows:
        s, d = r["server"], r["direct"]
        print(f"| {r['clients']} | {s['qps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
              f"{d['qps']:.0f} | {d['p50_ms']:.2f} | {d['p99_ms']:.2f} | "
              f"{r['overhead_p50']:.2f}x | {s['errors'] + d['errors']} |")
    if FLAGS.out:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
        with open(FLAGS.out, "w", encoding="utf-8") as f:
            json.dump({"flags": {n: FLAGS[n].value for n in ("num_items", "num_users", "dim", "top_k", "seconds")},
                       "export_seconds": export_s, "saved_model_mib": size_mb, "levels": rows}, f, indent=2)


if __name__ == "__main__":
    app.run(main)
