"""One training at a time in a `--model_dir`: an exclusive `fcntl.flock` on the folder itself.

Two trainings in one run folder would save their checkpoints into the same `ckpt/`, each
rewriting its `checkpoint` state file and deleting the other's files, and leave a
`config.json` that fits neither. The second one is refused instead, before it reads or writes
anything there. The lock belongs to the open folder: the kernel drops it when the process
ends, however it ends (Ctrl-C, SIGKILL), so there is no stale lock to clean up and no file
left in the run folder. Folders that are not local paths (`gs://…`) are not locked.
"""
import contextlib
import fcntl
import os

from tfvisrec.data.errors import DataError


@contextlib.contextmanager
def training_lock(model_dir: str):
    """Hold `model_dir` for one training; DataError when another process holds it. A folder
    made here for the lock is removed again when the training leaves it empty (it failed first)."""
    if "://" in model_dir:
        yield
        return
    made = not os.path.exists(model_dir)
    os.makedirs(model_dir, exist_ok=True)
    fd = os.open(model_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError("another training is running in this --model_dir: wait for it to end, or "
                            "train in another folder", model_dir) from None
        yield
    finally:
        os.close(fd)   # releases the lock
        if made and not os.listdir(model_dir):
            with contextlib.suppress(OSError):
                os.rmdir(model_dir)
