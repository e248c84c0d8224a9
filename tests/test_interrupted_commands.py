"""Ctrl-C in a long-running command: one line on stderr, exit status 130, no traceback, and
nothing partial published (`tfvisrec/interruption.py`)."""
import dataclasses
import glob
import os
import signal
import subprocess
import sys
import time

import pytest
from absl import flags

from ctrl_c_launcher import has_mapped, python_m
from tfvisrec import ctrl_c, interrupted_while_loading, interruption


def _interrupt_once_working(module, args, work_sign):
    """Run `python -m module args`, send SIGINT once `work_sign` (a glob) matches → (status, stderr)."""
    proc = subprocess.Popen(python_m(module, *args),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not glob.glob(work_sign) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"{module} ended before it could be interrupted: {proc.stderr.read()[-3000:]}"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_synthetic_world_interrupted_while_drawing(tmp_path):
    out = tmp_path / "world"
    status, err = _interrupt_once_working(
        "tfvisrec.data.synthetic", [f"--out={out}", "--num_users=3000", "--num_items=3000"],
        str(tmp_path / ".world.tmp-*" / "*"))
    assert status == interruption.INTERRUPTED_STATUS, err[-3000:]
    assert "Traceback" not in err and err.strip().splitlines() == [err.strip()], err[-3000:]
    assert err.startswith("interrupted: no world was written")
    assert os.listdir(tmp_path) == []   # neither the world nor its temporary folder


def test_export_interrupted_while_saving(tmp_path):
    from tiny_worlds import write_low_rank_dataset
    from tfvisrec.config import TrainConfig
    from tfvisrec.models import registry
    from tfvisrec.training import fit
    dataset_dir = write_low_rank_dataset(str(tmp_path / "data"))
    model_dir = str(tmp_path / "model")
    fit(registry.new_config("bprmf", embedding_dim=4),
        dataclasses.replace(TrainConfig(), dataset=dataset_dir, model_dir=model_dir, epochs=1,
                            batch_size=32, verbose=0))
    export_base = tmp_path / "export" / "bprmf"
    status, err = _interrupt_once_working(
        "tfvisrec.export", [f"--model_dir={model_dir}", f"--export_base={export_base}"],
        str(export_base / ".tmp-*"))
    assert status == interruption.INTERRUPTED_STATUS, err[-3000:]
    assert "Traceback" not in err and "interrupted: no version was published" in err, err[-3000:]
    assert not os.path.exists(export_base) or os.listdir(export_base) == []
    assert not os.path.exists(tmp_path / "export" / "models.config")


def _loading_tensorflow(pid):
    return has_mapped(pid, "libtensorflow")


def _loading_numpy(pid):
    return has_mapped(pid, "_multiarray_umath")


def _interrupt_once(command, loading):
    """Run `command`, send SIGINT once `loading(pid)` → (status, stderr)."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not loading(proc.pid) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, f"it ended before it could be interrupted: {proc.stderr.read()[-3000:]}"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc/<pid>/maps")
@pytest.mark.parametrize("module", ["tfvisrec.train", "tfvisrec.server"])
def test_command_interrupted_while_importing_tensorflow(module):
    """Ctrl-C in the first seconds of `python -m tfvisrec.train` (or the server), while its module
    still imported TensorFlow (before run_command, or the server's own SIGINT handler, took
    over), printed Python's traceback from inside TensorFlow and died of SIGINT; now one line
    and status 130, as later in the command."""
    status, err = _interrupt_once(python_m(module, "--helpfull"), _loading_tensorflow)
    assert (status, err) == (interruption.INTERRUPTED_STATUS,
                             f"{interrupted_while_loading.INTERRUPTED_LOADING}\n"), err[-3000:]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc/<pid>/maps")
def test_data_synthetic_interrupted_while_loading(tmp_path):
    """`python -m tfvisrec.data synthetic` imports the synthetic world's module (numpy, PIL…)
    before run_command takes over: a Ctrl-C there printed Python's traceback and died of SIGINT."""
    from tfvisrec.data.__main__ import INTERRUPTED as NOTHING_PARTIAL
    status, err = _interrupt_once(
        python_m("tfvisrec.data", "synthetic", f"--out={tmp_path / 'world'}", "--num_users=3000",
                 "--num_items=3000"), _loading_numpy)
    assert status == interruption.INTERRUPTED_STATUS, err[-3000:]
    # the loading line; on a machine slow enough that the imports ended first, the command's own
    assert err in (f"{interrupted_while_loading.INTERRUPTED_LOADING}\n", NOTHING_PARTIAL + "\n"), err[-3000:]
    assert not os.path.exists(tmp_path / "world")


class _Exited(Exception):
    pass


def _exit(status):
    raise _Exited(status)


def _a_swallowed_ctrl_c():
    """A real SIGINT whose KeyboardInterrupt C code replaces, as numpy's C-extension import does."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        pass
    return ImportError('PyCapsule_Import could not import module "datetime"')


def test_an_error_made_of_a_ctrl_c_without_a_trace_of_it_is_still_one_line(monkeypatch, capsys):
    """A Ctrl-C inside numpy's C-extension import (the client's first 0.1 s) ended the program
    with numpy's 'Importing the numpy C-extensions failed' ImportError, raised from one that keeps
    no trace of the KeyboardInterrupt, and exit status 1: a SIGINT that came is remembered."""
    monkeypatch.setattr(ctrl_c, "_sigints", [])
    monkeypatch.setattr(interrupted_while_loading.os, "_exit", _exit)
    previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ctrl_c.remember_ctrl_c()
        error = _a_swallowed_ctrl_c()
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    with pytest.raises(_Exited) as exited:
        interrupted_while_loading._report_interrupt(ImportError, error, None, previous=pytest.fail)
    assert exited.value.args == (130,)
    assert capsys.readouterr().err == interrupted_while_loading.INTERRUPTED_LOADING + "\n"


def test_an_error_with_no_ctrl_c_is_reported_as_it_is(monkeypatch):
    monkeypatch.setattr(ctrl_c, "_sigints", [])
    reported = []
    error = ImportError("a real one")
    interrupted_while_loading._report_interrupt(ImportError, error, None,
                                                previous=lambda *args: reported.append(args))
    assert reported == [(ImportError, error, None)]


@pytest.mark.parametrize("orig_argv, module", [
    (["python", "-m", "tfvisrec.client", "recommend"], "tfvisrec.client"),
    (["python", "-u", "-X", "importtime", "-W", "error", "-mtfvisrec.train", "--x"], "tfvisrec.train"),
    (["python", "-c", "import tfvisrec", "-m", "tfvisrec.train"], None),
    (["python", "script.py", "-m", "tfvisrec.train"], None),
    (["python"], None),
])
def test_the_module_of_python_m_is_read_from_the_command_line(monkeypatch, orig_argv, module):
    """Python still imports the package of `python -m tfvisrec.client` (where the client's imports
    run) before `__main__` is that module: the command line says which module it is."""
    monkeypatch.setattr(sys, "orig_argv", orig_argv)
    assert interrupted_while_loading._module_run_with_python_m() == module


def _flags_left_as_they_are(argv):
    """A flags_parser for in-process runs: other tests' flag values are kept."""
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()
    return argv


def _run_command_exit(main, capsys):
    with pytest.raises(SystemExit) as stopped:
        interruption.run_command(main, interrupted="interrupted: the default line",
                                 argv=["command"], flags_parser=_flags_left_as_they_are)
    return stopped.value.code, capsys.readouterr()


_THROUGH_PYRUN_STRING = """
import ctypes
from tfvisrec.interruption import run_command
api = ctypes.pythonapi
api.PyRun_String.restype = ctypes.py_object
api.PyRun_String.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.py_object, ctypes.py_object]
def main(argv):
    api.PyRun_String(b"raise KeyboardInterrupt", 257, {}, {})   # 257: Py_file_input
run_command(main, interrupted="interrupted: nothing was written")
"""


def test_a_ctrl_c_through_c_code_running_python_still_exits_with_status_130(tmp_path):
    """A KeyboardInterrupt that passed through the C API's PyRun_String (TensorFlow's pywrap runs
    code so) made CPython end a `python -m` program by SIGINT (−2 to its parent) after
    run_command's line, not with status 130 (the train command's Ctrl-C test, now and then;
    `python -c` exits by its own path, so the module is run with -m as the commands are)."""
    (tmp_path / "through_pyrun_string.py").write_text(_THROUGH_PYRUN_STRING)
    done = subprocess.run([sys.executable, "-m", "through_pyrun_string"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])})
    assert done.returncode == interruption.INTERRUPTED_STATUS, done.stderr[-3000:]
    assert done.stderr == "interrupted: nothing was written\n"


def test_run_command_turns_ctrl_c_into_its_line_and_status_130(capsys):
    def main(argv):
        raise KeyboardInterrupt
    code, printed = _run_command_exit(main, capsys)
    assert code == 130 and printed.err == "interrupted: the default line\n" and printed.out == ""


def test_a_command_that_knows_more_says_it(capsys):
    def main(argv):
        raise interruption.Interrupted("interrupted: resume from ckpt-8")
    code, printed = _run_command_exit(main, capsys)
    assert code == 130 and printed.err == "interrupted: resume from ckpt-8\n"


def test_a_command_that_ends_keeps_its_status(capsys):
    code, printed = _run_command_exit(lambda argv: 3, capsys)
    assert code == 3 and printed.err == ""


def test_a_ctrl_c_python_turned_into_another_error_is_still_a_ctrl_c(capsys):
    """A Ctrl-C while a class is created (PIL loading its plugins at the first Image.save, in the
    synthetic world's drawing) reaches the command as "RuntimeError: Error calling __set_name__"
    raised from the KeyboardInterrupt; it printed that traceback and exit status 1."""
    def main(argv):
        class Lazy:
            def __set_name__(self, owner, name):
                raise KeyboardInterrupt

        type("Plugin", (), {"lazy": Lazy()})
    code, printed = _run_command_exit(main, capsys)
    assert code == 130 and printed.err == "interrupted: the default line\n"


def test_the_commands_own_exit_and_other_errors_pass_through():
    def main(argv):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemExit(4)
    with pytest.raises(SystemExit) as stopped:
        interruption.run_command(main, interrupted="unused", argv=["command"],
                                 flags_parser=_flags_left_as_they_are)
    assert stopped.value.code == 4

    def failing(argv):
        raise ValueError("a real error")
    with pytest.raises(ValueError, match="a real error"):
        interruption.run_command(failing, interrupted="unused", argv=["command"],
                                 flags_parser=_flags_left_as_they_are)
