"""Ctrl-C in a command line: one line on stderr and exit status 130, not Python's traceback.

Every long-running absl command starts through `run_command(main, interrupted=…)`, where
`interrupted` is the line its user reads after Ctrl-C: what stopped and what is left (the
commands write their outputs to a temporary place and rename them when complete, so that line
can say nothing partial was published). A command that knows more at the moment of the
interruption (training: which checkpoint it resumes from) raises `Interrupted(line)` instead.
Steps that must not be split by a Ctrl-C (publishing an export's version and adding its
models.config entry) run inside `interrupts_deferred()`.
"""
import contextlib
import signal
import sys
import threading
from typing import Callable, List, Optional

from absl import app

from tfvisrec.config import parse_flags
from tfvisrec.progress import is_terminal

INTERRUPTED_STATUS = 130   # 128 + SIGINT: what a shell reports for a command Ctrl-C stopped


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C caught where the command can say more than its `run_command` line: `note`."""

    def __init__(self, note: str):
        super().__init__(note)
        self.note = note


def run_command(main: Callable[[List[str]], Optional[int]], interrupted: str,
                flags_parser=parse_flags, argv: Optional[List[str]] = None) -> None:
    """`app.run(main, argv, flags_parser)`; Ctrl-C (a KeyboardInterrupt anywhere in it) prints
    `interrupted` (or an `Interrupted`'s note) on stderr and exits with status 130."""
    try:
        app.run(main, argv=argv, flags_parser=flags_parser)
    except BaseException as e:   # re-raised unless a Ctrl-C is behind it
        cause = interrupt_behind(e)
        if cause is None:
            raise
        print_interrupted(cause.note if isinstance(cause, Interrupted) else interrupted)
        sys.exit(INTERRUPTED_STATUS)


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


@contextlib.contextmanager
def interrupts_deferred():
    """Ctrl-C (SIGINT) held off while the block runs, then raised as KeyboardInterrupt when it
    ends well: for short steps that a Ctrl-C between them would leave half done. Outside the main
    thread, or when SIGINT is not Python's default handler, the block runs as it is."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
