"""I-VBPR's interpretable item features: the attribute classifier's class probabilities.

I-VBPR is VBPR fed with named, low-dimensional features instead of CNN activations: here
f_i is the concatenation, over the attributes a, of the classifier's probabilities
P(a = v | image i) for every value v, so column "colour=red" of f_i is how red item i looks.
`python -m tfvisrec.vision.features` writes them as `attribute_probs.npz`: `names` [A] and,
per attribute, `prob_<name>` float32 [items, |values|] and `values_<name>` [|values|].
"""
import dataclasses
import os
import zipfile
from typing import List, Optional

import numpy as np

from tfvisrec.data.errors import DataError
from tfvisrec.data.feature_files import PROBS_FILE
NAME_SEPARATOR = "="


@dataclasses.dataclass(frozen=True)
class InterpretableFeatures:
    """f [items, F] with one column per (attribute, value), named "attribute=value"."""

    matrix: np.ndarray
    names: List[str]

    def index(self, name: str) -> int:
        """The column of feature `name`; a ValueError listing the names when unknown."""
        return feature_index(name, self.names)


def feature_index(feature, names) -> int:
    """Column of `feature` (a name from `names`, or an int column) → int, checked."""
    names = list(names)
    if isinstance(feature, (int, np.integer)):
        if not 0 <= int(feature) < len(names):
            raise ValueError(f"feature column {feature} is out of range: there are {len(names)} features")
        return int(feature)
    if feature not in names:
        raise ValueError(f"unknown feature {feature!r}; the features are: {', '.join(names)}")
    return names.index(feature)


def load_interpretable_features(path: str, num_items: Optional[int] = None,
                                norm: str = "none") -> InterpretableFeatures:
    """Read `attribute_probs.npz` (a file, or the folder holding it) into f [items, F].

    Columns follow the order of `names`, then of each attribute's values. With norm="l2"
    every row is scaled to unit length, as a VBPR trained with `--feature_norm=l2` sees it
    (that model's affinities and scores refer to these rows, not the raw probabilities).
    Raises DataError naming the file when it is missing, unreadable or inconsistent, or
    when `num_items` is given and the file has another number of rows.
    """
    if os.path.isdir(path):
        path = os.path.join(path, PROBS_FILE)
    if not os.path.isfile(path):
        raise DataError("no attribute probabilities: run `python -m tfvisrec.vision.features "
                        "--backbone_weights <attribute classifier> --dataset DIR`", path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"not a readable .npz file ({error})", path) from error
    columns, names = _named_columns(arrays, path)
    matrix = np.concatenate(columns, axis=1).astype(np.float32)
    if num_items is not None and matrix.shape[0] != num_items:
        raise DataError(f"has {matrix.shape[0]} items, the dataset {num_items}", path)
    if norm not in ("none", "l2"):
        raise ValueError(f"norm must be 'none' or 'l2', got {norm!r}")
    if norm == "l2":
        lengths = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.maximum(lengths, 1e-12)
    return InterpretableFeatures(matrix, names)


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
