"""I-VBPR's interpretable item features: the attribute classifier's class probabilities.

I-VBPR is VBPR fed with named, low-dimensional features instead of CNN activations: here
f_i is the concatenation, over the attributes a, of the classifier's probabilities
P(a = v | image i) for every value v, so column "colour=red" of f_i is how red item i looks.
`python -m tfvisrec.vision.features` writes them as `attribute_probs.npz`: `names` [A] and,
per attribute, `prob_<name>` float32 [items, |values|] and `values_<name>` [|values|].
"""
import dataclasses
from typing import List, Optional

import numpy as np

from tfvisrec.data.attribute_probs import probs_path, read_attribute_probs
from tfvisrec.data.errors import DataError


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
    matrix, names = read_attribute_probs(path)
    if num_items is not None and matrix.shape[0] != num_items:
        raise DataError(f"has {matrix.shape[0]} items, the dataset {num_items}", probs_path(path))
    if norm not in ("none", "l2"):
        raise ValueError(f"norm must be 'none' or 'l2', got {norm!r}")
    if norm == "l2":
        lengths = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.maximum(lengths, 1e-12)
    return InterpretableFeatures(matrix, names)
