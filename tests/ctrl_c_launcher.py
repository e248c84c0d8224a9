"""`python -m module args` started so that Ctrl-C (SIGINT) reaches it as in a terminal.

A command started from a background job inherits SIGINT ignored, and Python then keeps it
ignored. The launcher sets SIGINT back to its default and execs `python -m module args` (the
same process, so its pid is the command's): Python then installs its own handler, and the
command starts as it does from a shell (`sys.orig_argv` is `python -m module …`; the package
is imported while Python locates the module, as there). Not `preexec_fn`: that makes
subprocess fork() and run Python in the child, where gRPC's fork handlers (grpcio ≥ 1.80,
grpc/grpc#43055) restart its poller, whose epoll fd subprocess then closes before exec: the
child aborts ("ev_epoll1_linux.cc:373] … epoll_wait error: Bad file descriptor", SIGABRT; at
times SIGSEGV, or only that line on the command's stderr) whenever the test process has gRPC
running (a server or a channel of an earlier test).
"""
import sys
from typing import List

LAUNCHER = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
            "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


def python_m(module: str, *args: str) -> List[str]:
    """The command line running `python -m module args` with Python's SIGINT handler."""
    return [sys.executable, "-c", LAUNCHER, "-m", module, *args]


def python_script(path: str, *args: str) -> List[str]:
    """The command line running `python path args` (a console script) with Python's SIGINT handler."""
    return [sys.executable, "-c", LAUNCHER, path, *args]


def has_mapped(pid: int, library: str) -> bool:
    """Whether process `pid` has mapped a file whose name holds `library` (`/proc/<pid>/maps`):
    how a test knows a command is inside an import (libtensorflow: seconds to go;
    _multiarray_umath, numpy's C extension: ~0.1 s) before it sends the Ctrl-C."""
    try:
        with open(f"/proc/{pid}/maps", encoding="ascii", errors="replace") as f:
            return library in f.read()
    except OSError:
        return False
