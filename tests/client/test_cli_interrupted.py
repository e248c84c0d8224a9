"""Ctrl-C in `python -m tfvisrec.client` while it waits on a server: one line on stderr and exit
status 130, as the package's other commands (`tfvisrec.interruption`), not Python's traceback."""
import concurrent.futures
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time

import grpc
import pytest

from ctrl_c_launcher import has_mapped, python_m, python_script
from tfvisrec.client.protos import prediction_service_pb2_grpc
from tfvisrec.interrupted_while_loading import INTERRUPTED_LOADING

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class HeldPredictions(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Takes every call and answers none until released."""

    def __init__(self):
        self.called, self.release = threading.Event(), threading.Event()

    def Predict(self, request, context):
        self.called.set()
        self.release.wait(60)
        context.abort(grpc.StatusCode.UNAVAILABLE, "released")


@contextlib.contextmanager
def server_holding_the_call():
    """(target, a sign the client waits): a gRPC server that never answers the call."""
    held = HeldPredictions()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(held, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", held.called.is_set
    finally:
        held.release.set()
        server.stop(0)


@contextlib.contextmanager
def socket_saying_nothing():
    """(target, a sign the client waits): a port that accepts the connection and says nothing
    (no HTTP/2 handshake: the client waits to connect)."""
    accepted = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
        try:
            yield f"127.0.0.1:{listener.getsockname()[1]}", lambda: bool(accepted)
        finally:
            for connection in accepted:
                connection.close()


@pytest.mark.parametrize("server", [server_holding_the_call, socket_saying_nothing])
@pytest.mark.parametrize("command", [["recommend", "--user", "u"],
                                     ["generate", "--user", "u", "--category", "top", "--out_dir", "designs"]])
def test_ctrl_c_while_waiting_on_the_server_is_one_line_and_status_130(server, command, tmp_path):
    with server() as (target, waiting):
        # not preexec_fn: in this process gRPC runs, and its fork handlers can abort the child
        client = subprocess.Popen(
            python_m("tfvisrec.client", "--target", target, "--timeout", "60", *command),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": REPO_ROOT})
        deadline = time.monotonic() + 60
        while not waiting() and client.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.poll() is None and waiting(), client.communicate()
        client.send_signal(signal.SIGINT)
        out, err = client.communicate(timeout=30)
    assert client.returncode == 130, err[-3000:]
    assert out == "" and err.splitlines() == [err.strip()] and "Traceback" not in err, err[-3000:]
    assert err.startswith(f"interrupted: {command[0]} stopped before its answer was printed")
    assert not os.path.exists(tmp_path / "designs")   # no PNG came


def _console_script(folder):
    """A `tfvisrec-client` console script as pip writes it (setup.py's entry point)."""
    script = folder / "bin" / "tfvisrec-client"
    script.parent.mkdir()
    script.write_text("import sys\nfrom tfvisrec.client import run\nif __name__ == '__main__':\n    sys.exit(run())\n")
    return python_script(str(script))


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc/<pid>/maps")
@pytest.mark.parametrize("started_as", ["python -m", "console script"])
def test_ctrl_c_while_the_client_loads_is_one_line_and_status_130(started_as, tmp_path):
    """Ctrl-C while `python -m tfvisrec.client` (or `tfvisrec-client`) still imported numpy,
    gRPC… (its package, before `main`) printed Python's traceback and died of SIGINT, or, inside
    numpy's C-extension import, numpy's 'Importing the numpy C-extensions failed' ImportError and
    exit status 1."""
    command = python_m("tfvisrec.client") if started_as == "python -m" else _console_script(tmp_path)
    client = subprocess.Popen(
        command + ["--target", "127.0.0.1:1", "--timeout", "60", "recommend", "--user", "u"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": REPO_ROOT})
    deadline = time.monotonic() + 60
    while not has_mapped(client.pid, "_multiarray_umath") and client.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert client.poll() is None, client.communicate()
    client.send_signal(signal.SIGINT)
    out, err = client.communicate(timeout=30)
    assert (client.returncode, out) == (130, ""), err[-3000:]
    # the loading line; on a machine slow enough that the imports ended first, main's own line
    assert err in (f"{INTERRUPTED_LOADING}\n",
                   "interrupted: recommend stopped before its answer was printed\n"), err[-3000:]


def test_a_ctrl_c_python_turned_into_another_error_is_still_one_line(monkeypatch, capsys):
    """One rule for what a Ctrl-C is, the package commands' (`interruption.interrupt_behind`): a
    KeyboardInterrupt that reaches the CLI as the cause of another error is one; another error
    is not."""
    from tfvisrec.client import cli

    def interrupted_in_a_lazy_import(client, args):
        raise RuntimeError("Error calling __set_name__") from KeyboardInterrupt()
    monkeypatch.setattr(cli, "run_command", interrupted_in_a_lazy_import)
    assert cli.main(["--target", "127.0.0.1:1", "recommend", "--user", "u"]) == 130
    assert capsys.readouterr().err == "interrupted: recommend stopped before its answer was printed\n"

    def failing(client, args):
        raise RuntimeError("a real error")
    monkeypatch.setattr(cli, "run_command", failing)
    with pytest.raises(RuntimeError, match="a real error"):
        cli.main(["--target", "127.0.0.1:1", "recommend", "--user", "u"])
