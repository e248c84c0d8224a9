"""Reading `attribute_probs.npz`: the attribute classifier's class probabilities per item.

`python -m tfvisrec.vision.features` writes `names` [A] and, per attribute a,
`prob_<a>` float32 [items, |values|] and `values_<a>` [|values|]. Read as one matrix
[items, F] whose columns, named "attribute=value", follow `names` and then each attribute's
values: the named, low-dimensional f_i of I-VBPR / I-TVBPR.
"""
import os
from typing import List, Tuple

import numpy as np

from tfvisrec.data.errors import DataError
from tfvisrec.data.npz_file import read_npz
from tfvisrec.data.feature_files import PROBS_FILE, require_one_run

NAME_SEPARATOR = "="
MAKE_COMMAND = ("python -m tfvisrec.vision.features --backbone_weights <attribute classifier> "
                "--dataset DIR")


def probs_path(path: str) -> str:
    """`path` itself, or the `attribute_probs.npz` inside it when it is a folder."""
    return os.path.join(path, PROBS_FILE) if os.path.isdir(path) else path


def read_attribute_probs(path: str) -> Tuple[np.ndarray, List[str]]:
    """→ (probabilities float32 [items, F], feature names ["attribute=value"] [F]) from the
    file `path` (or the folder holding it). DataError naming the file when it is missing
    (with the command that makes it), unreadable or inconsistent."""
    path = probs_path(path)
    require_one_run(path)
    if not os.path.isfile(path):
        raise DataError(f"no attribute probabilities: run `{MAKE_COMMAND}`", path)
    arrays = read_npz(path, "not a readable .npz file ({error})")
    columns, names = _named_columns(arrays, path)
    return np.concatenate(columns, axis=1).astype(np.float32), names


def _named_columns(arrays, path):
    """→ ([prob arrays [items, V_a]], ["attr=value" …]), validated."""
    if "names" not in arrays:
        raise DataError("has no `names` array (not written by tfvisrec.vision.features?)", path)
    attributes = [str(a) for a in np.atleast_1d(arrays["names"])]
    if not attributes:
        raise DataError("names no attribute", path)
    columns, names, num_items = [], [], None
    for attribute in attributes:
        prob_key, values_key = f"prob_{attribute}", f"values_{attribute}"
        missing = [k for k in (prob_key, values_key) if k not in arrays]
        if missing:
            raise DataError(f"attribute {attribute!r} has no {' or '.join(missing)}", path)
        probs, values = arrays[prob_key], [str(v) for v in np.atleast_1d(arrays[values_key])]
        if probs.ndim != 2 or probs.shape[1] != len(values):
            raise DataError(f"{prob_key} has shape {probs.shape}; expected [items, {len(values)}] "
                            f"for the values {values}", path)
        if num_items is None:
            num_items = probs.shape[0]
        elif probs.shape[0] != num_items:
            raise DataError(f"{prob_key} has {probs.shape[0]} rows, the attributes before it {num_items}", path)
        if not np.issubdtype(probs.dtype, np.number) or not np.all(np.isfinite(probs)):
            raise DataError(f"{prob_key} holds non-finite or non-numeric values", path)
        columns.append(probs)
        names.extend(f"{attribute}{NAME_SEPARATOR}{value}" for value in values)
    if len(set(names)) != len(names):
        raise DataError("two columns share a name (repeated attribute or value)", path)
    return columns, names
