"""TensorFlow's C++ start-up noise is held to TF_CPP_MIN_LOG_LEVEL; everything else passes."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tfvisrec.tensorflow_startup import BANNER, StartupFilter, filtered_stderr

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# what TensorFlow 2.21 writes on a machine without a GPU before it reads TF_CPP_MIN_LOG_LEVEL
NO_DRIVER = (b"I0000 00:00:1796212766.450674    4032 cudart_stub.cc:31] Could not find cuda "
             b"drivers on your machine, GPU will not be used.")
CUINIT = (b"E0000 00:00:1796212769.435080    4032 cuda_platform.cc:52] failed call to cuInit: "
          b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)")
WARNING = b"W0000 00:00:1796212769.5   4032 some_op.cc:12] a warning"
ERROR = b"E0000 00:00:1796212769.6   4032 some_op.cc:13] a real error"
FATAL = b"F0000 00:00:1796212769.7   4032 some_op.cc:14] Check failed"
PYTHON_WARNING = b"/x.py:3: DeprecationWarning: something"


def kept(level, lines):
    keep = StartupFilter(level).keep
    return [line for line in lines if keep(line)]


def test_default_level_hides_the_cuda_probe_only():
    lines = [BANNER, NO_DRIVER, CUINIT, WARNING, ERROR, FATAL, PYTHON_WARNING, b""]
    assert kept(2, lines) == [ERROR, FATAL, PYTHON_WARNING, b""]


def test_cuinit_failure_stays_an_error_when_a_driver_exists():
    assert kept(2, [CUINIT, ERROR]) == [CUINIT, ERROR]


@pytest.mark.parametrize("level, expected", [
    (0, [BANNER, NO_DRIVER, CUINIT, WARNING, ERROR, FATAL]),
    (1, [WARNING, ERROR, FATAL]),
    (3, [FATAL]),
    (7, [FATAL]),
])
def test_the_users_level_wins(level, expected):
    assert kept(level, [BANNER, NO_DRIVER, CUINIT, WARNING, ERROR, FATAL]) == expected


def test_filtered_stderr_forwards_kept_lines_in_order(capfd):
    os.write(2, b"before\n")
    with filtered_stderr(StartupFilter(2).keep):
        os.write(2, BANNER + b"\n" + NO_DRIVER + b"\nfirst ")
        os.write(2, b"line\n" + ERROR + b"\n")
        os.write(2, PYTHON_WARNING + b"\n")
        os.write(2, b"no newline at the end")
    os.write(2, b"\nafter\n")
    assert capfd.readouterr().err == (
        "before\nfirst line\n" + ERROR.decode() + "\n" + PYTHON_WARNING.decode()
        + "\nno newline at the end\nafter\n")


@pytest.fixture
def sigint_raises():
    """SIGINT raises KeyboardInterrupt in this process, as in a command (a test worker may ignore it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    saved_stderr = os.dup(2)
    try:
        yield
    finally:
        os.dup2(saved_stderr, 2)   # as it was, whatever the code under test left there
        os.close(saved_stderr)
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_before(monkeypatch, method):
    """A real SIGINT to this process as `threading.Thread.<method>` is called."""
    original = getattr(threading.Thread, method)

    def signalled(thread, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return original(thread, *args, **kwargs)
    monkeypatch.setattr(threading.Thread, method, signalled)


def test_ctrl_c_while_stderr_is_redirected_leaves_it_where_it_was(sigint_raises, monkeypatch, capfd):
    """A Ctrl-C as the forwarder started (fd 2 already in the pipe) left fd 2 in a pipe nobody
    read: the command's "interrupted" line, written after, was never seen."""
    _ctrl_c_before(monkeypatch, "start")
    with pytest.raises(KeyboardInterrupt):
        with filtered_stderr(StartupFilter(2).keep):
            pytest.fail("the block runs after the Ctrl-C")
    os.write(2, b"interrupted: the command's line\n")
    assert capfd.readouterr().err == "interrupted: the command's line\n"


def test_ctrl_c_while_stderr_is_restored_forwards_the_lines_first(sigint_raises, monkeypatch, capfd):
    """A Ctrl-C as the forwarder was joined ended it before the lines still in the pipe were out:
    the command's "interrupted" line came before them, or alone (the process exits at once)."""
    def slow_keep(line):
        time.sleep(0.2)   # the forwarder is still at the line when the block ends
        return True
    with pytest.raises(KeyboardInterrupt):
        with filtered_stderr(slow_keep):
            os.write(2, b"a line TensorFlow wrote\n")
            _ctrl_c_before(monkeypatch, "join")
    os.write(2, b"interrupted: the command's line\n")
    assert capfd.readouterr().err == "a line TensorFlow wrote\ninterrupted: the command's line\n"


def _import_tensorflow(level):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = REPO_ROOT
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    code = ("import tfvisrec, tensorflow as tf; "
            "print(len(tf.config.list_physical_devices('GPU')), float(tf.reduce_sum([1., 2.])))")
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_importing_tensorflow_through_tfvisrec_is_quiet():
    default, everything = _import_tensorflow(None), _import_tensorflow("0")
    out, err = default.communicate(timeout=600)
    all_out, all_err = everything.communicate(timeout=600)
    assert default.returncode == 0 and everything.returncode == 0, err + all_err
    gpus, total = out.split()
    assert total == b"3.0" and all_out == out
    for noise in (BANNER, b"cudart_stub", b"cuInit"):
        assert noise not in err
    if gpus == b"0":  # this machine has no GPU: TensorFlow did write the noise that was hidden
        assert b"Could not find cuda drivers" in all_err or b"cuInit" in all_err
