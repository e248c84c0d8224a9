"""One writer at a time: an exclusive `fcntl.flock` on a lock file, waited for.

The kernel drops the lock when the holder's file closes, however the process ends (Ctrl-C,
SIGKILL), so a lock is never stale. The lock file itself stays: removed, a third process
could lock a new file of the same name while a second still holds the old one.
"""
import contextlib
import fcntl
import sys
from typing import Optional


@contextlib.contextmanager
def exclusive_lock(path: str, waiting: Optional[str] = None):
    """Hold the lock on the file `path` (made if missing) while the block runs, waiting for
    another holder first; `waiting`: a line printed on stderr when there is one."""
    with open(path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                print(waiting, file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
