"""The attribute regions of every item (`regions.npz`), as SAERS reads them (Hou et al. 2019, §3.1).

Written once per catalogue by `python -m tfvisrec.vision.features --regions` from a pretrained
attribute classifier (the Semantic Extraction Network), index-aligned with `items.txt`:

| array | dtype, shape | what |
|---|---|---|
| `features` | float32 [items, A, C] | f_a^k(i): the last conv maps ROI-pooled inside attribute k's box (the paper's), or attribute k's predicted class probabilities (`region_feature`) |
| `boxes` | float32 [items, A, 4] | (y1, x1, y2, x2) in [0, 1] of the largest Grad-AAM region |
| `classes` | int32 [items, A] | the predicted value index of each attribute |
| `class_probabilities` | float32 [items, A] | the classifier's softmax probability of that value (how sure it is); absent from files written before it existed |
| `names` | str [A] | attribute names; `values_<name>` str [|values|]: each attribute's value names |
| `region_feature` | str [] | what `features` holds: "roi" or "probabilities" (`REGION_FEATURES`); files written before it existed hold "roi" |

Numpy only (no TensorFlow): read by the item feature table, the models' builders and tests.
"""
import contextlib
import dataclasses
import os
import zipfile
from typing import List, Optional, Tuple

import numpy as np

from tfvisrec.data.errors import DataError
from tfvisrec.data.feature_files import REGIONS_FILE, require_one_run

ARRAYS = ("features", "boxes", "classes", "names")
# f_a^k(i): the paper's ROI-pooled conv maps, or the classifier's softmax over attribute k's values
# (zero-padded to the widest attribute), which only attribute k's information can fill
REGION_FEATURES = ("roi", "probabilities")


@dataclasses.dataclass(frozen=True)
class ItemRegions:
    """The arrays of `regions.npz` (see the module docstring)."""

    features: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    names: List[str]
    values: List[List[str]]
    region_feature: str = "roi"
    class_probabilities: Optional[np.ndarray] = None   # None: a file written before they were kept

    @property
    def shape(self) -> Tuple[int, int]:
        """(A, C): attributes and channels of each region feature."""
        return int(self.features.shape[1]), int(self.features.shape[2])

    def arrays(self):
        """The named arrays `np.savez` writes."""
        out = {"features": self.features, "boxes": self.boxes, "classes": self.classes,
               "names": np.asarray(self.names, dtype=str),
               "region_feature": np.asarray(self.region_feature, dtype=str)}
        out.update({f"values_{n}": np.asarray(v, dtype=str) for n, v in zip(self.names, self.values)})
        if self.class_probabilities is not None:
            out["class_probabilities"] = self.class_probabilities
        return out

    def class_probabilities_or_nan(self) -> np.ndarray:
        """float32 [items, A]: `class_probabilities`, NaN throughout for a file without them."""
        if self.class_probabilities is not None:
            return self.class_probabilities
        return np.full(self.classes.shape, np.nan, np.float32)


def regions_path(dataset, regions_file: str = "") -> str:
    """`regions_file`, else the dataset's own `regions.npz`; a DataError saying how to make it."""
    path = regions_file or (os.path.join(dataset.path, REGIONS_FILE) if dataset.path else "")
    if path:
        require_one_run(path)
    if not path or not os.path.exists(path):
        raise DataError("no attribute regions; run `python -m tfvisrec.vision.features --regions "
                        "--backbone_weights=<attribute classifier run> --dataset DIR` or pass --regions_file",
                        path or None)
    return path


def stored_region_shape(dataset, regions_file: str = "") -> Tuple[int, int]:
    """(A, C) of the stored region features, read from the .npy header inside the .npz (no data loaded)."""
    path = regions_path(dataset, regions_file)
    try:
        with zipfile.ZipFile(path) as archive, archive.open("features.npy") as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if major == 1
                           else np.lib.format.read_array_header_2_0)
            shape, _, _ = read_header(f)
    except (KeyError, zipfile.BadZipFile, ValueError, OSError) as e:
        raise DataError(f"not a regions file with a 'features' array ({e})", path) from None
    if len(shape) != 3 or shape[0] != dataset.num_items:
        raise DataError(f"region features have shape {tuple(shape)}, expected [{dataset.num_items}, A, C]", path)
    return int(shape[1]), int(shape[2])


@contextlib.contextmanager
def _opened(path: str):
    """The regions file at `path` as an open npz; what goes wrong reading it, inside the block
    too, is a DataError naming the file."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            yield npz
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(f"not a readable regions file ({e})", path) from None


def stored_region_feature(path: str) -> str:
    """What the regions file at `path` holds as f_a^k ("roi" | "probabilities"), without loading
    its features; DataError when the file is unreadable."""
    with _opened(path) as npz:
        return _region_feature(npz, path)


def _region_feature(npz, path: str) -> str:
    region_feature = str(npz["region_feature"]) if "region_feature" in npz.files else "roi"
    if region_feature not in REGION_FEATURES:
        raise DataError(f"regions 'region_feature' is {region_feature!r}, expected one of "
                        f"{', '.join(REGION_FEATURES)}", path)
    return region_feature


def read_regions(path: str, num_items: int) -> ItemRegions:
    """The regions file at `path`, checked against `num_items`; DataError naming what is wrong."""
    with _opened(path) as npz:
        missing = [name for name in ARRAYS if name not in npz.files]
        if missing:
            raise DataError(f"regions file lacks the arrays {', '.join(missing)}", path)
        names = [str(n) for n in npz["names"]]
        absent = [n for n in names if f"values_{n}" not in npz.files]
        if absent:
            raise DataError(f"regions file lacks the value names of {', '.join(absent)}", path)
        confidence = (np.asarray(npz["class_probabilities"], np.float32)
                      if "class_probabilities" in npz.files else None)
        regions = ItemRegions(np.asarray(npz["features"], np.float32), np.asarray(npz["boxes"], np.float32),
                              np.asarray(npz["classes"], np.int32), names,
                              [[str(v) for v in npz[f"values_{n}"]] for n in names], _region_feature(npz, path),
                              confidence)
    count = len(regions.names)
    expected = {"features": (num_items, count), "boxes": (num_items, count, 4), "classes": (num_items, count)}
    if regions.class_probabilities is not None:
        expected["class_probabilities"] = (num_items, count)
    for name, dims in expected.items():
        shape = getattr(regions, name).shape
        if shape[:len(dims)] != dims or len(shape) != (3 if name in ("features", "boxes") else 2):
            raise DataError(f"regions '{name}' has shape {shape}, expected [{', '.join(map(str, dims))}"
                            f"{', C' if name == 'features' else ''}] ({num_items} items, {count} attributes)", path)
    cardinalities = np.array([len(v) for v in regions.values])
    if ((regions.classes < 0) | (regions.classes >= cardinalities)).any():
        raise DataError("regions 'classes' holds a value index outside its attribute's values", path)
    confidence = regions.class_probabilities
    if confidence is not None and not ((confidence >= 0) & (confidence <= 1)).all():
        raise DataError("regions 'class_probabilities' holds a value outside [0, 1]", path)
    return regions
