"""Where one client's time goes: the embedded server against its floors, side by side.

    python bench/serving_overhead.py --seconds 3 --rounds 5
    python bench/serving_overhead.py --server "inter1=server --tensorflow_inter_op_parallelism=1"

The model, catalogue and request of `serving_load.py` (BPR-MF, 100k items, 64 factors, top-100;
its flags apply), one closed-loop client, and every server kept running at once so that the
modes can alternate: each round measures every mode for `--seconds` (after 0.5 s of warm-up),
rounds alternate the order, and the table gives the median over rounds of each mode's p50 and
of its ratio to the same round's `direct` p50, so a busy neighbour moves all modes alike.
- `direct`: the signature called in this process (as `serving_load.py`'s direct rows);
- `echo`: a bare grpcio server answering a canned PredictResponse of the real size;
- `canned`: the embedded server with the signature call replaced by its first answer;
- `server`: `python -m tfvisrec.server` (unbatched);
- more with `--server "LABEL=KIND FLAGS..."` (KIND: one of the above; FLAGS: server flags).
"""
import os
import shlex
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serving_load  # noqa: E402  (its flags: --num_items, --dim, --top_k, --seconds, ...)
import load_generator  # noqa: E402
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)

flags.DEFINE_multi_string("server", [
    "echo=echo", "canned=canned", "server=server",
    "session.config=server --tensorflow_session_config_file=serving/session.config"],
                          "Modes beside `direct`: LABEL=KIND [server flags] (module doc).")
FLAGS = flags.FLAGS
# serving_load.py defines --rounds too (the same idea: modes measured in alternating rounds);
# here each round measures every mode once, 5 by default.
FLAGS.set_default("rounds", 5)
OVERHEAD_SERVERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "overhead_servers.py")
KINDS = {"server": ("-m", "tfvisrec.server"), "echo": (OVERHEAD_SERVERS, "--mode=echo"),
         "canned": (OVERHEAD_SERVERS, "--mode=canned")}


def parse_servers(specs):
    servers = []
    for spec in specs:
        label, _, rest = spec.partition("=")
        words = shlex.split(rest)
        if not label or not words or words[0] not in KINDS:
            raise app.UsageError(f"--server {spec!r}: expected LABEL=KIND [flags], KIND one of "
                                 f"{sorted(KINDS)}")
        servers.append((label, KINDS[words[0]], words[1:]))
    return servers


def main(argv):
    del argv
    serving_load.in_temp_folder("serving-overhead-", run)


def run(work):
    servers = parse_servers(FLAGS.server)
    dataset = serving_load.synthetic_dataset(FLAGS.num_users, FLAGS.num_items, FLAGS.per_user)
    base = os.path.join(work, "bench")
    path, _, _ = serving_load.export_bench_model(dataset, base)
    direct = serving_load.direct_calls(path, dataset.user_ids)

    users = list(np.random.default_rng(7).choice(dataset.user_ids, 1000))
    processes = {}
    try:
        for label, command, extra in servers:
            processes[label] = serving_load.start_server(base, extra_flags=extra, command=command)
        labels = ["direct"] + [label for label, _, _ in servers]
        results = {label: [] for label in labels}
        print(f"load average before: {os.getloadavg()}", flush=True)
        for r in range(FLAGS.rounds):
            for label in (labels if r % 2 == 0 else labels[::-1]):
                if label == "direct":
                    result = serving_load.drive_direct(1, FLAGS.seconds, direct)
                else:
                    process, target = processes[label]
                    report = load_generator.drive(
                        target, "bench", users, FLAGS.top_k, 1, 1, FLAGS.seconds, warmup_seconds=0.5,
                        cpu_probe=lambda: serving_load.process_cpu_seconds(process.pid))
                    result = serving_load.summary(report["latencies"], report["errors"], FLAGS.seconds,
                                                  report["server_cpu_seconds"],
                                                  report["client_cpu_seconds"])
                results[label].append(result)
            print(f"round {r + 1}: " + ", ".join(f"{label} {results[label][-1]['p50_ms']:.2f}"
                                                 for label in labels), flush=True)
        print(f"load average after: {os.getloadavg()}")
        print_table(labels, results)
    finally:
        for process, _ in processes.values():
            process.terminate()
            process.wait(timeout=60)


def print_table(labels, results):
    direct = np.array([r["p50_ms"] for r in results["direct"]])
    print("| mode | p50 ms (median of rounds) | p50 / direct p50 (median; min-max) | p99 ms "
          "| server CPU ms / request | errors |")
    print("|" + "---|" * 6)
    for label in labels:
        rs = results[label]
        p50 = np.array([r["p50_ms"] for r in rs])
        ratio = p50 / direct
        print(f"| {label} | {np.median(p50):.2f} | {np.median(ratio):.2f} ({ratio.min():.2f}-"
              f"{ratio.max():.2f}) | {np.median([r['p99_ms'] for r in rs]):.2f} | "
              f"{np.median([r['server_cpu_s_per_1k'] for r in rs]):.2f} | "
              f"{sum(r['errors'] for r in rs)} |")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
