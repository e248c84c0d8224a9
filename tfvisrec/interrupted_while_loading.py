"""Ctrl-C while a command still loads (importing TensorFlow takes seconds): one line on stderr and
exit status 130, as later in the command (`interruption.run_command`), not Python's traceback
from inside TensorFlow's import.

The commands whose module imports TensorFlow at its top (train, export: their flags are defined
beside the models and signatures) import this module first, before TensorFlow. When that module
runs as the program (`python -m tfvisrec.train`), a KeyboardInterrupt that reaches the top — one
raised before `run_command` takes over — is reported by `sys.excepthook`. Imported otherwise (a
test, a notebook, another program importing `tfvisrec.train`) it changes nothing.
"""
import os
import sys

from tfvisrec.interruption import INTERRUPTED_STATUS, interrupt_behind, print_interrupted

INTERRUPTED_LOADING = "interrupted while the command was loading: nothing was written"


def _running_a_command() -> bool:
    """Whether the program is a module of this package run with `python -m`."""
    spec = vars(sys.modules["__main__"]).get("__spec__")
    return spec is not None and spec.name.startswith("tfvisrec.")


def _report_interrupt(kind, value, traceback, previous=sys.excepthook):
    if interrupt_behind(value) is None:
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
