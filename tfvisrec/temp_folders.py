"""Temporary output folders (and files) that the next run removes when their writer died, and only then.

Outputs are built in a temporary sibling folder and renamed into place when complete. A writer
killed before the rename (SIGKILL, the OOM killer, a power cut) cannot remove its folder, so
the next run of the same command removes it (`remove_abandoned`) — but never the folder of a
writer still running: two exports into one export folder, or two ingests beside each other,
may run at once.

Whether a writer is still running is read from two marks it leaves:

- an exclusive `fcntl.flock` on the folder itself, held from just after its creation until
  the writer publishes or removes it. The kernel drops it when the process ends, however it
  ends, and it holds across containers sharing the volume (a pid of another pid namespace
  means nothing here);
- its pid and the process's start time (`/proc/<pid>/stat`, so a reused pid is not taken for
  the writer) in the folder's name, `<prefix>p<pid>s<start>-<random>`: they cover the instant
  between the folder's creation and its lock.

A folder is removed only when neither says its writer runs. Folders without that mark in
their name (made by an older version, or by hand) are left alone. Temporary files
(`held_temp_file`: `atomic.write_with`'s `.<name>.tmp-*` beside its output) carry the same two
marks and are removed the same way, as do the `.<name>.old-*` folders that `atomic.publish_folder`
moves a replaced output into before removing it.
"""
import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from typing import Optional

from tfvisrec import ctrl_c

_OWNER = re.compile(r"p(\d+)s(\d+)-[a-z0-9_]+$")


def held_temp_folder(parent: str, prefix: str) -> "HeldTemp":
    """A new folder in `parent`, named `prefix` + this process's mark, locked by this process
    while the block runs (publish or remove it inside the block). It gets the mode a plain
    mkdir gives (mkdtemp's own is private, 0700, and would stay the output's)."""
    return HeldTemp(_make_folder, parent, prefix)


def held_temp_file(parent: str, prefix: str) -> "HeldTemp":
    """A new empty file in `parent` (mode 0600, mkstemp's), named `prefix` + this process's
    mark, locked by this process while the block runs (write, then rename or remove it inside
    the block: the lock is on the file itself, so it holds across the rename)."""
    return HeldTemp(_make_file, parent, prefix)


class HeldTemp:
    """`with` block around a held temp folder or file: it gives the path, and releases the lock
    when the block ends. What the block's failure does to the path is the block's business
    (`atomic.publish_folder` holds the previous output in one, and must not lose it).

    Making it is all or nothing: a Ctrl-C while it is made (between the mkdir and the lock, say)
    is held off until it is made, and then removes it before it is raised. Otherwise a Ctrl-C
    there left a folder the writer's own cleanup, which starts in the block, never saw. A
    class, not a generator: `contextmanager.__enter__` runs Python code after the generator's
    yield (where a Ctrl-C could still land) and before the block's cleanup starts.
    """

    def __init__(self, make, parent: str, prefix: str):
        self._make, self._parent, self._prefix = make, parent, prefix
        self._fd: Optional[int] = None

    def __enter__(self) -> str:
        made = None
        try:
            with ctrl_c.interrupts_deferred():
                made = self._make(self._parent, self._prefix + _own_mark())
        except BaseException:
            if made is not None:
                _remove(*made)
            raise
        path, self._fd = made
        return path

    def __exit__(self, *exc_info) -> None:
        os.close(self._fd)   # releases the lock


def _make_folder(parent: str, prefix: str):
    """(path, locked descriptor) of a new folder with a plain mkdir's mode (none if a step
    fails: the folder is removed again)."""
    tmp = tempfile.mkdtemp(prefix=prefix, dir=parent)
    fd = None
    try:
        fd = os.open(tmp, os.O_RDONLY)
        _lock(fd)
        os.chmod(tmp, 0o777 & ~current_umask())
    except BaseException:
        _remove(tmp, fd)
        raise
    return tmp, fd


def _make_file(parent: str, prefix: str):
    """(path, locked descriptor) of a new empty file (none if locking fails: the file is
    removed again)."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=parent)
    try:
        _lock(fd)
    except BaseException:
        _remove(tmp, fd)
        raise
    return tmp, fd


def _remove(path: str, fd: Optional[int]) -> None:
    """Remove a temp folder or file this process has just made, and close its descriptor."""
    if fd is not None:
        os.close(fd)
    _delete(path)


def _delete(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.remove(path)


def remove_abandoned(parent: str, prefix: str) -> None:
    """Remove the folders and files in `parent` named `prefix`… by `held_temp_folder` or
    `held_temp_file` whose writer has ended without removing them (killed); those of running
    writers stay."""
    try:
        names = os.listdir(parent)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        owner = _OWNER.search(name[len(prefix):]) if name.startswith(prefix) else None
        if owner is None or _running(int(owner.group(1)), int(owner.group(2))):
            continue
        path = os.path.join(parent, name)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:   # removed (or renamed into place) meanwhile, or not ours to read
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:   # held: its writer runs (in another pid namespace, or on another host)
                continue
            _delete(path)
        finally:
            os.close(fd)


def current_umask() -> int:
    """The process's umask (read by setting it, then putting it back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _own_mark() -> str:
    """This process's mark in a temp name: `p<pid>s<start time>-`."""
    return f"p{os.getpid()}s{_start_time(os.getpid()) or 0}-"


def _lock(fd: int) -> None:
    """An exclusive flock on `fd`, the writer's mark for `remove_abandoned`."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:   # a file system without flock: the pid mark alone says it is in use
        pass


def _running(pid: int, start: int) -> bool:
    """Whether process `pid`, started at `start` (0 = not recorded), still runs."""
    if start and os.path.isdir("/proc/self"):
        return _start_time(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # it exists, as another user's
        return True
    return True


def _start_time(pid: int) -> Optional[int]:
    """The start time of process `pid` in clock ticks since boot, from /proc (None: no such
    process, or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()   # after "pid (name) ": the name may hold spaces
    return int(fields[19]) if len(fields) > 19 else None
