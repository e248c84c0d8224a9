"""JSON outputs written over only when the file there is one of ours: a `--out` or `--output`
that names another file (a run's config.json, say) is refused before any work, not replaced."""
import json
import os
from typing import Callable, Optional


def read_json_object(path: str) -> Optional[dict]:
    """The JSON object at `path`, or None (no file, not JSON, not an object: nothing to keep).
    Other read errors (no permission) are raised."""
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (FileNotFoundError, ValueError):   # UnicodeDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def foreign_json_problem(path: str, is_ours: Callable[[dict], bool], what: str, advice: str) -> Optional[str]:
    """Why `path` may not be written: a file is there whose JSON object `is_ours` refuses (or
    that is not a JSON object). `what` names the kind of file expected; None when the path is
    free, is a folder (the writer's own check names that), or holds one of ours."""
    if not os.path.lexists(path) or os.path.isdir(path):
        return None
    earlier = read_json_object(path)
    if earlier is not None and is_ours(earlier):
        return None
    return f"{path} exists and is not {what}, so it is not written over: {advice}"
