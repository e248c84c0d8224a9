"""What a Ctrl-C is and the line it leaves, for every command of the package: a leaf (no absl, no
TensorFlow), so that it can be in place before a command imports anything heavy.

`interrupt_behind` is the one rule for whether an error is a Ctrl-C, `print_interrupted` writes
the line, `INTERRUPTED_STATUS` is the exit status, `interrupts_deferred` holds a Ctrl-C off a
few steps that must not be split. `remember_ctrl_c` also notes that a SIGINT came, for the
errors C code makes out of a KeyboardInterrupt with no trace of it (`ctrl_c_came`).
`tfvisrec.interruption` (run_command) and `tfvisrec.interrupted_while_loading` use them.
"""
import contextlib
import signal
import sys
import threading
from typing import NoReturn, Optional

from tfvisrec.progress import is_terminal

INTERRUPTED_STATUS = 130   # 128 + SIGINT: what a shell reports for a command Ctrl-C stopped

_sigints = []   # SIGINTs that came while remember_ctrl_c's handler was installed


def interrupt_behind(error: BaseException) -> Optional[KeyboardInterrupt]:
    """The KeyboardInterrupt `error` is or was raised from (or while handling), else None; a
    SystemExit is the command's own end. Python turns a Ctrl-C in some places into another
    error whose cause it is: in a class being created (a lazy import: PIL loads its plugins at
    the first `Image.save`) it becomes "RuntimeError: Error calling __set_name__"."""
    seen = set()
    while error is not None and not isinstance(error, SystemExit) and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return error
        seen.add(id(error))
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return None


def print_interrupted(note: str) -> None:
    """`note`, the line a command prints after Ctrl-C, on stderr."""
    # on a terminal the line starts below the ^C the terminal echoed (or a progress bar)
    sys.stderr.write(("\n" if is_terminal(sys.stderr) else "") + note + "\n")
    sys.stderr.flush()


def exit_interrupted() -> NoReturn:
    """Exit with `INTERRUPTED_STATUS`, by status and not by SIGINT. CPython ends a program by
    SIGINT (the status a parent process sees is −2, not 130) when a KeyboardInterrupt ever left
    code run through the C API's PyRun_String unhandled (its `_Py_UnhandledKeyboardInterrupt`),
    even when the command caught it further up: TensorFlow's pywrap runs code that way, so a
    Ctrl-C there made `train` end by SIGINT now and then. Each such run resets that flag first,
    so running `pass` once forgets it."""
    import ctypes   # here, not at the top: `import tfvisrec` imports this module
    with contextlib.suppress(Exception):   # not CPython: no such flag
        ctypes.pythonapi.PyRun_SimpleString(b"pass")
    sys.exit(INTERRUPTED_STATUS)


def _remembered_interrupt(signum, frame):
    """Python's default SIGINT handler (raises KeyboardInterrupt), noting that it ran."""
    _sigints.append(signum)
    signal.default_int_handler(signum, frame)


def remember_ctrl_c() -> None:
    """SIGINT still raises KeyboardInterrupt and is noted too (`ctrl_c_came`): some C code drops
    the KeyboardInterrupt for an error of its own with no cause (numpy's C-extension import,
    interrupted, raises "ImportError: PyCapsule_Import could not import module 'datetime'").
    Only where SIGINT has Python's default handler (not where it is ignored) and in the main
    thread."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
        signal.signal(signal.SIGINT, _remembered_interrupt)


def ctrl_c_came() -> bool:
    """Whether a SIGINT came since `remember_ctrl_c`."""
    return bool(_sigints)


def _sigint_raises_keyboard_interrupt() -> bool:
    return signal.getsignal(signal.SIGINT) in (signal.default_int_handler, _remembered_interrupt)


@contextlib.contextmanager
def interrupts_deferred():
    """Ctrl-C (SIGINT) held off while the block runs, then raised as KeyboardInterrupt when it
    ends well: for short steps that a Ctrl-C between them would leave half done. Outside the main
    thread, or when SIGINT does not raise KeyboardInterrupt (ignored, or a handler of the
    program's own), the block runs as it is."""
    if (threading.current_thread() is not threading.main_thread()
            or not _sigint_raises_keyboard_interrupt()):
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        if previous is _remembered_interrupt:
            _sigints.extend(received)
        raise KeyboardInterrupt
