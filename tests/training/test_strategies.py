"""Mirrored (two logical CPUs) and multi-worker (two local processes) training."""
import json
import subprocess

import pytest

from cli_runs import env, free_ports, read_summary, run, train_command


def test_mirrored_on_two_logical_cpus(low_rank_dataset, tmp_path):
    model_dir = str(tmp_path / "mirrored")
    run(train_command(low_rank_dataset, model_dir, "--strategy=mirrored", "--num_cpu_devices=2",
                      "--epochs=8", "--learning_rate=0.1"), env=env())
    summary = read_summary(model_dir)
    assert summary["num_replicas"] == 2
    assert summary["best_validation"] > 0.7


def test_multi_worker_two_local_processes(low_rank_dataset, tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    model_dir = str(tmp_path / "multi")
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(
            train_command(low_rank_dataset, model_dir, "--strategy=multi_worker", "--epochs=8", "--learning_rate=0.1"),
            env=env(TF_CONFIG=tf_config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=300))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    summary = read_summary(model_dir)
    assert summary["num_replicas"] == 2
    assert summary["best_validation"] > 0.7
