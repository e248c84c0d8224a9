"""Write-then-rename helpers: a reader never sees a half-written file or folder."""
import json
import os
import re
import shutil
from typing import BinaryIO, Callable

from tfvisrec import temp_folders


def publish_folder(tmp: str, path: str) -> None:
    """Move the finished folder `tmp` to `path`, replacing an existing `path` (same parent).

    The previous `path` is first renamed into a temporary `.<name>.old-…` folder beside it, then
    removed. A process killed between those steps leaves that folder (a whole previous output,
    and no `path` if it died before the second rename): the next publish of `path` removes it,
    but never one of a process still replacing `path` (`tfvisrec.temp_folders`)."""
    parent = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}.old-"
    temp_folders.remove_abandoned(parent, prefix)
    if not os.path.exists(path):
        os.rename(tmp, path)
        return
    with temp_folders.held_temp_folder(parent, prefix) as old:
        os.rename(path, os.path.join(old, "previous"))
        os.rename(tmp, path)
        shutil.rmtree(old, ignore_errors=True)


def write_json(path: str, payload) -> None:
    """JSON to `path` through a temporary file in the same folder."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str))


def write_text(path: str, text: str) -> None:
    """UTF-8 `text` to `path` through a temporary file in the same folder."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str, data: bytes) -> None:
    """`data` to `path` through a temporary file in the same folder."""
    write_with(path, lambda f: f.write(data))


def write_with(path: str, write: Callable[[BinaryIO], object]) -> None:
    """`write(f)` into a temporary file beside `path` (opened "wb"), then renamed to `path`.
    The file gets the mode a plain `open` would give it (mkstemp's is private). An OSError that
    names no file (a full disk under numpy: "1624576 requested and 523232 written") is raised
    again naming `path`. The temporary files of `path` that killed writers left are removed
    first, never that of a writer still running (`tfvisrec.temp_folders`)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    prefix = f".{os.path.basename(path)}.tmp-"
    temp_folders.remove_abandoned(folder, prefix)
    with temp_folders.held_temp_file(folder, prefix) as tmp:
        try:
            with open(tmp, "wb") as f:
                write(f)
            os.chmod(tmp, 0o666 & ~temp_folders.current_umask())
            os.replace(tmp, path)
        except BaseException as e:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise_naming(e, path)


def file_output_problem(path: str):
    """Why a file cannot be written at `path` (it is a folder; a folder on its way is a file, or
    not writable), or None: for command lines to say so before their long work."""
    if os.path.isdir(path):
        return f"{path} is a folder; give a file name"
    return _nearest_folder_problem(path, os.path.dirname(os.path.abspath(path)))


def folder_output_problem(path: str):
    """Why files cannot be written into a folder at `path` (it, or a folder on its way, is a
    file, or not writable), or None: for command lines to say so before their long work."""
    if os.path.exists(path) and not os.path.isdir(path):
        return f"{path} is a file, not a folder"
    return _nearest_folder_problem(path, os.path.abspath(path))


def require_writable(path: str, flag: str, folder: bool = False) -> None:
    """ValueError "`flag`: why" when the file (or, with `folder`, the folder) `path` cannot be
    written: what a command line checks before its long work."""
    problem = folder_output_problem(path) if folder else file_output_problem(path)
    if problem:
        raise ValueError(f"{flag}: {problem}")


def _nearest_folder_problem(path: str, folder: str):
    """The problem of the nearest existing folder at or above `folder`, where `path` would go."""
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        return f"cannot write {path}: {folder} is a file, not a folder"
    if not os.access(folder, os.W_OK):
        return f"cannot write {path}: {folder} is not writable"
    return None


def raise_naming(error: BaseException, what: str) -> None:
    """Re-raise `error` (call in an `except` clause), as an OSError naming `what` when it is one
    that names no file: numpy's and PIL's writes on a full disk ("1624576 requested and 523232
    written") say neither which output nor where."""
    if isinstance(error, OSError) and error.filename is None:
        raise OSError(f"cannot write {what} ({error.strerror or error})") from None
    raise error


def write_error_reason(error) -> str:
    """Why TensorFlow could not write a file, from its OpError: the cause its message ends with
    ("No space left on device"), without the op's name and the temporary file's path."""
    lines = str(getattr(error, "message", error)).strip().splitlines() or [type(error).__name__]
    return re.sub(r"\s*\[Op:\w+\]$", "", lines[-1]).split("; ")[-1]
