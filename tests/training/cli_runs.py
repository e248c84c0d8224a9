"""Run `python -m tfvisrec.train` in subprocesses (for strategies and kill/resume tests)."""
import json
import os
import socket
import subprocess
import sys

ENV_DROP = ("TF_CONFIG",)


def train_command(dataset, model_dir, *extra):
    return [sys.executable, "-m", "tfvisrec.train", "--model=bprmf", f"--dataset={dataset}",
            f"--model_dir={model_dir}", "--embedding_dim=4", "--batch_size=32",
            "--learning_rate=0.05", "--verbose=0", "--patience=0", *extra]


def env(**extra):
    out = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
    out.update({k: str(v) for k, v in extra.items()})
    return out


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def read_summary(model_dir):
    with open(os.path.join(model_dir, "summary.json")) as f:
        return json.load(f)


def run(cmd, timeout=300, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc
