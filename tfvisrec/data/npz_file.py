"""Reading a whole `.npz` archive, with whatever goes wrong named as a DataError on the file."""
import zipfile
from typing import Dict, Optional, Sequence

import numpy as np

from tfvisrec.data.errors import DataError

# Missing or unreadable, not a zip, cut short, pickled, or lacking an array.
_READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def read_npz(path: str, problem: str, required: Optional[Sequence[str]] = None,
             optional: Sequence[str] = ()) -> Dict[str, np.ndarray]:
    """{name: array} of the .npz at `path`: the `required` arrays (None: every array in it) and
    those of `optional` it holds. When it cannot be read so: DataError on `path` saying
    `problem`, its "{error}" replaced by what went wrong."""
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files) if required is None else [*required, *(n for n in optional if n in z.files)]
            return {name: z[name] for name in names}
    except _READ_ERRORS as e:
        raise DataError(problem.format(error=f"{type(e).__name__}: {e}"), path) from None
