"""The model repository layout TF Serving reads: `<base_path>/<version>/saved_model.pb`.

A version is a sub-folder whose name is a non-negative integer; anything else (such as the
`.tmp-*` folders an export writes into before its rename) is ignored, so a half-written
version is never visible.
"""
import os
from typing import Dict

SAVED_MODEL_FILE = "saved_model.pb"


def version_dirs(base_path: str) -> Dict[int, str]:
    """{version: path} of the integer-named sub-folders of `base_path` ({} if it is missing)."""
    try:
        names = os.listdir(base_path)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    out = {}
    for name in names:
        path = os.path.join(base_path, name)
        if name.isdigit() and os.path.isdir(path):
            out[int(name)] = path
    return out


def next_version(base_path: str) -> int:
    """One more than the highest existing version (1 for an empty repository)."""
    versions = version_dirs(base_path)
    return max(versions) + 1 if versions else 1
