"""Ctrl-C while a command still loads (its modules import numpy, gRPC, TensorFlow…: up to
seconds): one line on stderr and exit status 130, as later in the command
(`interruption.run_command`, the client's `main`), not Python's traceback from inside an import.

`import tfvisrec` imports this module first, before anything heavy. When the program is one of
the package's commands (`python -m tfvisrec.<command>`, a console script `tfvisrec-<command>`),
a KeyboardInterrupt that reaches the top — one raised before the command's own handler takes
over — is reported by `sys.excepthook`; so is any other error that ends the program after a
SIGINT came (`ctrl_c.remember_ctrl_c`: numpy's C-extension import, interrupted, raises an
ImportError that keeps no trace of the KeyboardInterrupt). Imported otherwise (a test, a
notebook, another program importing `tfvisrec`) it changes nothing.
"""
import os
import sys
from typing import Optional

from tfvisrec.ctrl_c import (INTERRUPTED_STATUS, ctrl_c_came, interrupt_behind, print_interrupted,
                             remember_ctrl_c)

INTERRUPTED_LOADING = "interrupted while the command was loading: nothing was written"
_OPTIONS_WITH_A_VALUE = ("-W", "-X", "--check-hash-based-pycs")


def _module_run_with_python_m() -> Optional[str]:
    """The module of `python [options] -m module …` (`sys.orig_argv`), else None. Checked while
    Python still imports that module's packages (where `__main__` is not that module yet)."""
    argv = sys.orig_argv[1:]
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        option = argv[i]
        if option == "-m":
            return argv[i + 1] if i + 1 < len(argv) else None
        if option.startswith("-m"):
            return option[2:]
        if option.startswith("-c"):
            return None
        i += 2 if option in _OPTIONS_WITH_A_VALUE else 1
    return None


def _running_a_command() -> bool:
    """Whether the program is one of this package's commands."""
    spec = vars(sys.modules["__main__"]).get("__spec__")
    module = spec.name if spec is not None else _module_run_with_python_m()
    if module is not None:
        return module == "tfvisrec" or module.startswith("tfvisrec.")
    # a console script (setup.py's entry points: tfvisrec-train, tfvisrec-client…)
    return os.path.basename(sys.argv[0] if sys.argv else "").startswith("tfvisrec-")


def _report_interrupt(kind, value, traceback, previous=sys.excepthook):
    if interrupt_behind(value) is None and not ctrl_c_came():
        previous(kind, value, traceback)
        return
    print_interrupted(INTERRUPTED_LOADING)
    sys.stdout.flush()
    # Python ends a program an uncaught KeyboardInterrupt stopped by killing itself with SIGINT
    # (after this hook): status 130 as run_command's needs the exit here; its cleanups are
    # those of a half-done import
    os._exit(INTERRUPTED_STATUS)


if _running_a_command():
    sys.excepthook = _report_interrupt
    remember_ctrl_c()
