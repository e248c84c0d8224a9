"""Load test of the embedded server on loopback: `recommend` (top-100 over a 100k catalogue).

    python bench/serving_load.py                       # 100k items, 1/8/32/64 clients, 10 s each
    python bench/serving_load.py --num_items 20000 --seconds 3 --concurrency 1,8
    python bench/serving_load.py --concurrency 1,32 --seconds 5 --rounds 4   # medians, goals per round

Exports a BPR-MF model (random factors: latency does not depend on training) over a synthetic
catalogue and measures, at each level of concurrency, in one run:
- `direct`: the loaded SavedModel's signature called in this process by N threads (the floor;
  TensorFlow's default runtime settings);
- `server`: `python -m tfvisrec.server` in its own process, without batching (every server
  mode with `--tensorflow_session_config_file=serving/session.config`, or `--session_config_file`);
- `server, default runtime` / `batching, default runtime`: with a `--session_config_file`, the
  unbatched / batching server without it (TensorFlow's default executor and threads);
- `batching`: `server` with `--enable_batching --batching_parameters_file=...`;
- `batching:<file>`: the same with each of `--extra_batching_files` (configs side by side).
With `--rounds N` (> 1) every server is started once and kept up, each round measures every
mode at every level in alternating order (a busy neighbour then moves all modes alike), and
the table gives medians over the rounds, then the goals of issue 14 round by round (32 clients
with batching: QPS >= 1,000 with p99 <= 100 ms; 1 client: server p50 <= 1.5 x the direct
call's p50 of the same round).
Clients are closed loops (one request in flight each) spread over `--client_processes`
processes (`load_generator.py`), so the load generator's GIL is not the bottleneck; its CPU
use is printed beside the server's (CPU seconds per 1,000 requests, from /proc). Client and
server share this machine's cores, so the server's numbers include that contention.
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

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_generator  # noqa: E402
import tfvisrec  # noqa: E402,F401
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
import tensorflow as tf  # noqa: E402

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
flags.DEFINE_list("concurrency", ["1", "8", "32", "64"], "Concurrent clients per level.")
flags.DEFINE_integer("client_processes", 4, "Processes the server's clients are spread over.")
flags.DEFINE_string("batching_parameters_file", "serving/batching.config",
                    "BatchingParameters of the `batching` rows (relative to the repository).")
flags.DEFINE_list("extra_batching_files", [], "More BatchingParameters files, each its own "
                  "`batching:<file name>` rows in the same run (e.g. bench/batching_2ms_4_threads.config).")
flags.DEFINE_list("server_flags", [], "Extra flags of both server modes, e.g. "
                  "--tensorflow_intra_op_parallelism=1,--tensorflow_inter_op_parallelism=2.")
flags.DEFINE_string("session_config_file", "serving/session.config",
                    "--tensorflow_session_config_file of every server mode ('' = TensorFlow's "
                    "defaults); the unbatched and batching servers also run without it, as "
                    "`server, default runtime` and `batching, default runtime`.")
flags.DEFINE_float("seconds", 10.0, "Measured seconds per level (after 1 s of warm-up).")
flags.DEFINE_integer("rounds", 1, "Rounds of every mode at every level, in alternating order, "
                     "servers kept up; > 1 prints medians over rounds and the goals per round.", lower_bound=1)
flags.DEFINE_string("out", "", "Also write the results as JSON here (e.g. bench/results/serving_load.json).")
FLAGS = flags.FLAGS
GOAL_CLIENTS, GOAL_QPS, GOAL_P99_MS = 32, 1000, 100.0  # issue 14: 32 clients, batching


def synthetic_dataset(num_users, num_items, per_user, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(num_users, dtype=np.int64), per_user)
    items = rng.integers(0, num_items, users.size).astype(np.int64)
    train = Split(users, items, np.full(users.size, schema.NO_TIME, np.int64))
    empty = Split(*(np.zeros(0, np.int64) for _ in range(3)))
    return Dataset(path=None, meta={}, user_ids=[f"user-{u}" for u in range(num_users)],
                   item_ids=[f"item-{i}" for i in range(num_items)], train=train, valid=empty,
                   test=empty, **item_table(num_items, items))


def export_bench_model(dataset, base_path):
    """BPR-MF (random factors, --dim) over `dataset` exported under `base_path` with K = --top_k:
    the version's path, the export's seconds and its MiB."""
    config = registry.new_config("bprmf", embedding_dim=FLAGS.dim)
    model = registry.get("bprmf")(DataInfo.from_dataset(dataset), config)
    t0 = time.perf_counter()
    path = export_model(model, dataset, base_path, top_k=FLAGS.top_k)
    export_s = time.perf_counter() - t0
    size_mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 2 ** 20
    return path, export_s, size_mb


def start_server(base_path, batching_file="", session_config_file="", extra_flags=None,
                 command=("-m", "tfvisrec.server")):
    """A server process on a free loopback port (`command`: what `python` runs), and its target."""
    flags_ = [f"--model_base_path={base_path}", "--port=0", "--host=127.0.0.1",
              "--grpc_max_threads=128"] + list(FLAGS.server_flags if extra_flags is None else extra_flags)
    if session_config_file:
        flags_.append(f"--tensorflow_session_config_file={session_config_file}")
    if batching_file:
        flags_ += ["--enable_batching", f"--batching_parameters_file={batching_file}"]
    process = subprocess.Popen([sys.executable, *command] + flags_,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               cwd=REPO)
    line = process.stdout.readline()
    if not line.startswith("tfvisrec.server: serving"):
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process, "127.0.0.1:" + line.strip().rsplit(":", 1)[1]


def process_cpu_seconds(pid) -> float:
    """User + system CPU seconds of a process, all threads (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive_direct(concurrency, seconds, make_call):
    """`concurrency` threads of this process calling their own `make_call(row)` closure for
    1 s of warm-up + `seconds`; latencies (ms) and this process's CPU over the last `seconds`."""
    latencies = [[] for _ in range(concurrency)]
    errors = []
    start_gate = threading.Barrier(concurrency + 1)
    window = {}

    def worker(row):
        call = make_call(row)
        call()  # per-thread warm-up (first trace)
        start_gate.wait()
        while time.perf_counter() < window["end"]:
            t0 = time.perf_counter()
            try:
                call()
            except Exception as e:  # noqa: BLE001  (counted and reported, not raised)
                errors.append(repr(e))
                continue
            if t0 >= window["begin"]:
                latencies[row].append((time.perf_counter() - t0) * 1000.0)

    threads = [threading.Thread(target=worker, args=(r,)) for r in range(concurrency)]
    for t in threads:
        t.start()
    window["begin"] = time.perf_counter() + 1.0
    window["end"] = window["begin"] + seconds
    start_gate.wait()
    time.sleep(max(0.0, window["begin"] - time.perf_counter()))
    cpu0 = time.process_time()
    time.sleep(max(0.0, window["end"] - time.perf_counter()))
    cpu = time.process_time() - cpu0
    for t in threads:
        t.join()
    return summary(np.concatenate([np.asarray(l) for l in latencies]), errors, seconds,
                   server_cpu=cpu, client_cpu=float("nan"))


def summary(latencies, errors, seconds, server_cpu, client_cpu):
    n = int(latencies.size)
    per_1k = lambda cpu: cpu / n * 1000.0 if n else float("nan")  # noqa: E731
    return {"requests": n, "errors": len(errors), "error_examples": sorted(set(errors))[:3],
            "qps": n / seconds,
            "p50_ms": float(np.percentile(latencies, 50)) if n else float("nan"),
            "p99_ms": float(np.percentile(latencies, 99)) if n else float("nan"),
            "server_cpu_s_per_1k": per_1k(server_cpu), "client_cpu_s_per_1k": per_1k(client_cpu)}


def drive_server(process, target, users, level):
    report = load_generator.drive(target, "bench", users, FLAGS.top_k, level,
                                  FLAGS.client_processes, FLAGS.seconds,
                                  cpu_probe=lambda: process_cpu_seconds(process.pid))
    return summary(report["latencies"], report["errors"], FLAGS.seconds,
                   report["server_cpu_seconds"], report["client_cpu_seconds"])


def in_temp_folder(prefix, run):
    """run(folder) in a fresh temporary folder, removed afterwards."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def direct_calls(path, user_ids):
    """`make_call(row)` for `drive_direct`: the export's `recommend` called in this process,
    each call for a user drawn by a generator seeded with the row."""
    recommend = tf.saved_model.load(path).signatures["recommend"]
    user_ids = np.array(user_ids, object)
    k = tf.constant([FLAGS.top_k], tf.int32)

    def make_call(row):
        local = np.random.default_rng(row)
        return lambda: recommend(user=tf.constant([user_ids[local.integers(len(user_ids))]]), k=k)
    return make_call


def main(argv):
    del argv
    in_temp_folder("serving-load-", run)


def run(work):
    dataset = synthetic_dataset(FLAGS.num_users, FLAGS.num_items, FLAGS.per_user)
    path, export_s, size_mb = export_bench_model(dataset, os.path.join(work, "bench"))
    print(f"exported BPR-MF ({FLAGS.num_users} users, {FLAGS.num_items} items, K={FLAGS.top_k}, "
          f"dim {FLAGS.dim}) in {export_s:.1f} s, {size_mb:.1f} MiB; cores: {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    levels = [int(c) for c in FLAGS.concurrency]
    users = list(np.random.default_rng(7).choice(dataset.user_ids, 1000))
    servers = server_modes()
    if FLAGS.rounds == 1:
        results = one_pass(work, path, dataset, levels, users, servers)
    else:
        rounds = alternating_rounds(work, path, dataset, levels, users, servers)
        results = medians(rounds)
        print_goals(rounds)
    print_table(results)
    if FLAGS.out:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
        with open(FLAGS.out, "w", encoding="utf-8") as f:
            json.dump({"flags": {n: FLAGS[n].value for n in ("num_items", "num_users", "dim", "top_k",
                                                             "seconds", "rounds", "client_processes",
                                                             "batching_parameters_file", "extra_batching_files",
                                                             "session_config_file", "server_flags")},
                       "export_seconds": export_s, "saved_model_mib": size_mb,
                       "levels": {str(k): v for k, v in results.items()}}, f, indent=2)


def server_modes():
    """(mode, batching parameters file, session config file) of every server row."""
    session = os.path.join(REPO, FLAGS.session_config_file) if FLAGS.session_config_file else ""
    servers = [("server", "", session)]
    if session:
        servers.append(("server, default runtime", "", ""))
    servers.append(("batching", os.path.join(REPO, FLAGS.batching_parameters_file), session))
    if session:
        servers.append(("batching, default runtime",
                        os.path.join(REPO, FLAGS.batching_parameters_file), ""))
    servers += [(f"batching:{os.path.basename(f)}", os.path.abspath(f), session)
                for f in FLAGS.extra_batching_files]
    return servers


def one_pass(work, path, dataset, levels, users, servers):
    """Every level direct, then one server at a time (only one catalogue copy in memory)."""
    direct = direct_calls(path, dataset.user_ids)
    results = {level: {"direct": drive_direct(level, FLAGS.seconds, direct)} for level in levels}
    del direct   # the in-process copy of the catalogue, before the servers load theirs
    for mode, batching, session_file in servers:
        process, target = start_server(os.path.join(work, "bench"), batching, session_file)
        try:
            for level in levels:
                results[level][mode] = drive_server(process, target, users, level)
        finally:
            process.terminate()
            process.wait(timeout=60)
    return results


def alternating_rounds(work, path, dataset, levels, users, servers):
    """[round][level][mode] -> summary; all servers up at once, modes in alternating order."""
    direct = direct_calls(path, dataset.user_ids)
    processes = {}
    try:
        for mode, batching, session_file in servers:
            processes[mode] = start_server(os.path.join(work, "bench"), batching, session_file)
        order = ["direct"] + [mode for mode, _, _ in servers]
        rounds = []
        for number in range(FLAGS.rounds):
            results = {level: {} for level in levels}
            for mode in (order if number % 2 == 0 else order[::-1]):
                for level in levels:
                    if mode == "direct":
                        results[level][mode] = drive_direct(level, FLAGS.seconds, direct)
                    else:
                        results[level][mode] = drive_server(*processes[mode], users, level)
            rounds.append(results)
            print(f"round {number + 1} of {FLAGS.rounds} done (load average "
                  f"{os.getloadavg()[0]:.1f})", flush=True)
        return rounds
    finally:
        for process, _ in processes.values():
            process.terminate()
            process.wait(timeout=60)


def medians(rounds):
    """Per level and mode, the median over rounds of every number (errors: the sum)."""
    out = {}
    for level, modes in rounds[0].items():
        out[level] = {}
        for mode in modes:
            runs = [r[level][mode] for r in rounds]
            row = {key: float(np.median([run[key] for run in runs]))
                   for key in ("qps", "p50_ms", "p99_ms", "server_cpu_s_per_1k", "client_cpu_s_per_1k")}
            row["qps_range"] = (min(run["qps"] for run in runs), max(run["qps"] for run in runs))
            row["errors"] = sum(run["errors"] for run in runs)
            row["error_examples"] = sorted({e for run in runs for e in run["error_examples"]})[:3]
            out[level][mode] = row
    return out


def print_goals(rounds):
    """Issue 14's two goals, round by round, where the levels were measured."""
    for number, results in enumerate(rounds, 1):
        parts = []
        if GOAL_CLIENTS in results and "batching" in results[GOAL_CLIENTS]:
            r = results[GOAL_CLIENTS]["batching"]
            met = r["qps"] >= GOAL_QPS and r["p99_ms"] <= GOAL_P99_MS and not r["errors"]
            parts.append(f"{GOAL_CLIENTS} clients, batching: {r['qps']:.0f} QPS, p99 {r['p99_ms']:.1f} ms "
                         f"({'met' if met else 'not met'})")
        if 1 in results:
            direct = results[1]["direct"]["p50_ms"]
            ratios = ", ".join(f"{mode} {r['p50_ms'] / direct:.2f}x"
                               for mode, r in results[1].items() if mode != "direct")
            parts.append(f"1 client, server p50 / direct p50 ({direct:.2f} ms): {ratios}")
        print(f"round {number}: " + "; ".join(parts))


def print_table(results):
    if FLAGS.rounds > 1:
        print(f"medians over {FLAGS.rounds} rounds (QPS: median (min–max))")
    print(f"load average after the run: {os.getloadavg()[0]:.1f}; batching parameters: "
          f"{FLAGS.batching_parameters_file}; session config: {FLAGS.session_config_file or '-'}; "
          f"server flags: {' '.join(FLAGS.server_flags) or '-'}")
    print("| clients | mode | QPS | p50 ms | p99 ms | errors | server CPU s / 1k req "
          "| client CPU s / 1k req |")
    print("|" + "---|" * 8)
    for level, modes in results.items():
        for mode, r in modes.items():
            qps = f"{r['qps']:.0f}"
            if "qps_range" in r:
                qps += f" ({r['qps_range'][0]:.0f}–{r['qps_range'][1]:.0f})"
            print(f"| {level} | {mode} | {qps} | {r['p50_ms']:.2f} | {r['p99_ms']:.1f} | "
                  f"{r['errors']} | {r['server_cpu_s_per_1k']:.2f} | {r['client_cpu_s_per_1k']:.2f} |")
        for mode, r in modes.items():
            if r["error_examples"]:
                print(f"  {level} {mode} errors, e.g.: {r['error_examples']}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
