"""The server CLI in its own process: models.config with container paths, SIGTERM shutdown."""
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from absl import flags

from tfvisrec import server as server_cli
from tfvisrec.client import RecommenderClient
from tfvisrec.client.status import ServingError, Unavailable
from tfvisrec.config import UsageError
import serving_world

pytestmark = pytest.mark.xdist_group("serving")  # share the session world and server

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _lines(stream, sink):
    for line in stream:
        sink.put(line)


def test_server_process_serves_and_shuts_down_gracefully_on_sigterm(export_root):
    """With TF Serving's batching flags, serving/batching.config and serving/session.config."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tfvisrec.server", f"--model_config_file={export_root}/models.config",
         "--port=0", "--host=127.0.0.1", "--grace_seconds=5",
         "--enable_batching", "--batching_parameters_file=serving/batching.config",
         "--tensorflow_session_config_file=serving/session.config"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        ready = lines.get(timeout=120)
        assert ready.startswith("tfvisrec.server: serving mf,mlp,visual on 127.0.0.1:"), ready
        target = "127.0.0.1:" + ready.strip().rsplit(":", 1)[1]
        outcomes = []
        jpegs = [serving_world.jpeg(i) for i in range(50)]

        def keep_asking():  # requests in flight while SIGTERM arrives
            with RecommenderClient(target, model="visual", retries=0, timeout=10) as client:
                for _ in range(2000):
                    try:
                        client.score_images("u00", jpegs)
                        outcomes.append("ok")
                    except ServingError as e:
                        outcomes.append(e.code.name)
                        return

        asker = threading.Thread(target=keep_asking)
        asker.start()
        while outcomes.count("ok") < 3 and asker.is_alive():
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        asker.join(timeout=60)
        assert lines.get(timeout=5).strip() == "tfvisrec.server: stopped"
        assert outcomes.count("ok") >= 3 and set(outcomes) <= {"ok", "UNAVAILABLE"}, outcomes[-3:]
        with RecommenderClient(target, model="visual", retries=0, timeout=5) as client:
            with pytest.raises(Unavailable):
                client.recommend("u00", 4)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_server_flags_to_config(tmp_path):
    server_cli.define_flags()
    try:
        flags.FLAGS(["server", f"--model_base_path={tmp_path}/shop/"])
        config, roots = server_cli.server_config()
        entry = config.model_config_list.config[0]
        assert (entry.name, entry.base_path, roots) == ("shop", f"{tmp_path}/shop", [])
        flags.FLAGS(["server", f"--model_base_path={tmp_path}/shop", "--model_config_file=x"])
        with pytest.raises(UsageError, match="exactly one"):
            server_cli.server_config()
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["server", "--model_config_file=x", "--model_name=shop"])
        with pytest.raises(UsageError, match="the names are the file's"):
            server_cli.server_config()
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["server", f"--model_base_path={tmp_path}", "--batching_parameters_file=x"])
        with pytest.raises(UsageError, match="without --enable_batching"):  # as TF Serving
            server_cli.batching_options()
    finally:
        flags.FLAGS.unparse_flags()


@pytest.mark.parametrize("flag, message", [
    ("--lame_duck_seconds=-1", "--lame_duck_seconds must be >= 0, got -1"),
    ("--grace_seconds=-5", "--grace_seconds must be >= 0, got -5"),
    ("--file_system_poll_wait_seconds=-1", "--file_system_poll_wait_seconds must be >= 0, got -1"),
    ("--port=99999", "--port must be in 0..65535, got 99999"),   # gRPC took it modulo 65536
    ("--port=-5", "--port must be in 0..65535, got -5"),
    ("--grpc_max_threads=0", "--grpc_max_threads must be at least 1, got 0"),
    ("--max_message_mb=0", "--max_message_mb must be in 1..2047, got 0"),   # every message refused
    ("--max_message_mb=4096", "--max_message_mb must be in 1..2047, got 4096"),
    ("--tensorflow_intra_op_parallelism=-1", "--tensorflow_intra_op_parallelism must be >= 0, got -1"),
    ("--max_num_load_retries=-1", "--max_num_load_retries must be >= 0, got -1"),
])
def test_server_refuses_out_of_range_numbers_before_it_starts(tmp_path, capsys, flag, message):
    server_cli.define_flags()
    try:
        flags.FLAGS(["server", f"--model_base_path={tmp_path}/shop", flag])
        assert server_cli.main([]) == 2
        assert capsys.readouterr().err == f"error: {message}\n"
    finally:
        flags.FLAGS.unparse_flags()


class _SlowStartingServer:
    """A ModelServer whose model loading is interrupted by a SIGTERM (sent to this process)."""
    listened = stopped = False

    def __init__(self, *args, **kwargs):
        self.repository = self

    def model_names(self):
        return ["shop"]

    def waiting_models(self):
        return []

    def start(self):
        os.kill(os.getpid(), signal.SIGTERM)   # the operator stops the server while it loads
        for _ in range(1000):                  # ... the rest of the loading (Python bytecode)
            pass
        _SlowStartingServer.listened = True
        return 8500

    def stop(self, grace=10.0):
        _SlowStartingServer.stopped = True


def test_a_signal_while_the_models_load_stops_the_server_before_it_listens(tmp_path, capsys, monkeypatch):
    server_cli.define_flags()
    _SlowStartingServer.listened = _SlowStartingServer.stopped = False
    monkeypatch.setattr(server_cli, "ModelServer", _SlowStartingServer)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        flags.FLAGS(["server", f"--model_base_path={tmp_path}/shop"])
        assert server_cli.main([]) == 0
    finally:
        flags.FLAGS.unparse_flags()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    out = capsys.readouterr().out
    assert not _SlowStartingServer.listened and _SlowStartingServer.stopped
    assert out == "tfvisrec.server: stopped before serving (signal while loading the models)\n"
