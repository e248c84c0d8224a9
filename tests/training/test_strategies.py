"""Mirrored (two logical CPUs) and multi-worker (two local processes) training."""
import json
import subprocess
import time

import pytest

from cli_runs import env, free_ports, read_summary, run, train_command


def test_mirrored_on_two_logical_cpus(low_rank_dataset, tmp_path):
    model_dir = str(tmp_path / "mirrored")
    run(train_command(low_rank_dataset, model_dir, "--strategy=mirrored", "--num_cpu_devices=2",
                      "--epochs=8", "--learning_rate=0.1"), env=env())
    summary = read_summary(model_dir)
    assert summary["num_replicas"] == 2
    assert summary["best_validation"] > 0.7


# The ports are free when picked but may be taken before TensorFlow binds them (TF's gRPC
# server refuses SO_REUSEPORT, so they cannot be held meanwhile): then pick others.
PORT_TAKEN = "Could not start gRPC server"


def _two_workers(dataset, model_dir, log_dir):
    """Both workers' (returncode, stderr); the other is stopped as soon as one fails."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    procs, logs = [], [log_dir / f"worker{index}.err" for index in range(2)]
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        with open(logs[index], "w") as log:
            procs.append(subprocess.Popen(
                train_command(dataset, model_dir, "--strategy=multi_worker", "--epochs=8", "--learning_rate=0.1"),
                env=env(TF_CONFIG=tf_config), stdout=subprocess.DEVNULL, stderr=log))
    try:
        deadline = time.monotonic() + 300
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            if any(p.poll() not in (None, 0) for p in procs):
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return [(p.wait(), log.read_text()) for p, log in zip(procs, logs)]


def test_multi_worker_two_local_processes(low_rank_dataset, tmp_path):
    for attempt in range(3):
        model_dir = str(tmp_path / f"multi{attempt}")
        results = _two_workers(low_rank_dataset, model_dir, tmp_path)
        if not any(PORT_TAKEN in err for _, err in results):
            break
    for code, err in results:
        assert code == 0, err[-3000:]
    summary = read_summary(model_dir)
    assert summary["num_replicas"] == 2
    assert summary["best_validation"] > 0.7
