"""Whether a dataset or world may be written to a folder: `--overwrite` replaces only what
this tool wrote there (or an empty folder), never a folder of someone's other files."""
import os
from typing import Sequence

from tfvisrec.atomic import folder_output_problem
from tfvisrec.data.errors import DataError


def check_replaceable(path: str, overwrite: bool, markers: Sequence[str], what: str,
                      empty_is_free: bool = False) -> None:
    """DataError unless `path` may become the output: it does not exist (or is an empty folder
    and `empty_is_free`), or `overwrite` is set and it is an empty folder or one holding any of
    `markers` (the files only `what` has)."""
    if not os.path.exists(path):
        problem = folder_output_problem(path)   # a file on its way, a folder not writable
        if problem:
            raise DataError(problem)
        return
    if not os.path.isdir(path):
        raise DataError("output path exists and is not a folder", path)
    empty = not os.listdir(path)
    if empty and (empty_is_free or overwrite):
        return
    if not overwrite:
        raise DataError("output folder exists already (pass --overwrite to replace it)", path)
    if not any(os.path.exists(os.path.join(path, marker)) for marker in markers):
        raise DataError(f"--overwrite replaces only {what} (a folder with {' or '.join(markers)}), and "
                        "this folder holds other files: choose another output folder", path)
