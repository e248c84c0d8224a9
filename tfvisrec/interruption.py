"""Ctrl-C in a command line: one line on stderr and exit status 130, not Python's traceback.

Every long-running absl command starts through `run_command(main, interrupted=…)`, where
`interrupted` is the line its user reads after Ctrl-C: what stopped and what is left (the
commands write their outputs to a temporary place and rename them when complete, so that line
can say nothing partial was published). A command that knows more at the moment of the
interruption (training: which checkpoint it resumes from) raises `Interrupted(line)` instead.
Steps that must not be split by a Ctrl-C (publishing an export's version and adding its
models.config entry) run inside `interrupts_deferred()`.
"""
from typing import Callable, List, Optional

from absl import app

from tfvisrec.config import parse_flags
# what a Ctrl-C is and the line it leaves: the leaf module's, here for the commands
from tfvisrec.ctrl_c import (INTERRUPTED_STATUS, exit_interrupted, interrupt_behind, interrupts_deferred,  # noqa: F401
                             print_interrupted)


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
        exit_interrupted()
