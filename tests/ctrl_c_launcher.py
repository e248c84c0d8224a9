"""`python -m module args` started so that Ctrl-C (SIGINT) reaches it as in a terminal.

A command started from a background job inherits SIGINT ignored, and Python then keeps it
ignored. The launcher gives the command Python's own handler back. Not `preexec_fn`: that makes
subprocess fork() and run Python in the child, where gRPC's fork handlers (grpcio ≥ 1.80,
grpc/grpc#43055) restart its poller, whose epoll fd subprocess then closes before exec: the
child aborts ("ev_epoll1_linux.cc:373] … epoll_wait error: Bad file descriptor", SIGABRT; at
times SIGSEGV, or only that line on the command's stderr) whenever the test process has gRPC
running (a server or a channel of an earlier test).
"""
import sys
from typing import List

LAUNCHER = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)")


def python_m(module: str, *args: str) -> List[str]:
    """The command line running `python -m module args` with Python's SIGINT handler."""
    return [sys.executable, "-c", LAUNCHER, module, *args]
