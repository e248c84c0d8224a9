"""The item feature maps file (`feature_maps.npz`, what PAN's and FHN's item encoders read) and
the record of the backbone that made them.

| array | content |
|---|---|
| `maps` | float16 [items, h, w, C]: a backbone's last convolutional maps of every item image |
| `source` (optional) | JSON string: {"weights": path, "backbone": the backbone spec (name, image_size, fc_width…)} |

`python -m tfvisrec.vision.features --feature_maps` writes both, so an export can hold the
same backbone and turn new photos into maps as the catalogue's were made (`outfit_score_images`).
Files without `source` (written before it was recorded) fall back to the `features.json` beside
them when that names maps of the same shape; synthetic maps have no source at all.
"""
import dataclasses
import json
import os
from typing import Dict, Optional, Tuple

import numpy as np

from tfvisrec.data.errors import DataError
from tfvisrec.data.feature_files import INFO_FILE, require_one_run

STORED_DTYPE = np.float16   # how the maps are stored (and what a served photo's maps are rounded through)


@dataclasses.dataclass(frozen=True)
class MapsSource:
    """Where a model's item feature maps came from: `weights` "" when unknown."""

    shape: Tuple[int, int, int]          # (h, w, C) of one item's maps
    weights: str = ""                    # the backbone weights that made them
    backbone: Optional[Dict] = None      # its spec (name, image_size, fc_width…)
    path: str = ""                       # the maps file


def maps_arrays(maps: np.ndarray, weights: str, backbone_spec: Dict) -> Dict[str, np.ndarray]:
    """The arrays of `feature_maps.npz` (see the module docstring)."""
    source = json.dumps({"weights": os.path.abspath(weights), "backbone": dict(backbone_spec)}, sort_keys=True)
    return {"maps": np.asarray(maps, STORED_DTYPE), "source": np.asarray(source)}


def read_feature_maps(path: str, num_items: int) -> Tuple[np.ndarray, MapsSource]:
    """→ (maps float32 [items, h, w, C], their `MapsSource`); DataError for a missing file or
    maps of the wrong shape."""
    require_one_run(path)
    if not os.path.exists(path):
        raise DataError("no item feature maps: write them with the outfit dataset or pass "
                        "--feature_maps_file", path)
    with np.load(path) as z:
        maps = np.asarray(z["maps"], np.float32)
        source = json.loads(str(z["source"])) if "source" in z.files else _source_beside(path, maps.shape[1:])
    if maps.ndim != 4 or maps.shape[0] != num_items:
        raise DataError(f"feature maps have shape {maps.shape}, expected [{num_items}, H, W, C]", path)
    return maps, MapsSource(tuple(int(d) for d in maps.shape[1:]), source.get("weights", ""),
                            source.get("backbone"), os.path.abspath(path))


def _source_beside(path: str, shape) -> Dict:
    """The source `features.json` beside an older maps file records, when it names maps of this shape."""
    info_path = os.path.join(os.path.dirname(path), INFO_FILE)
    if not os.path.exists(info_path):
        return {}
    with open(info_path, encoding="utf-8") as f:
        info = json.load(f)
    if list(info.get("feature_map_shape") or []) != list(shape):
        return {}
    return {"weights": info.get("weights", ""), "backbone": info.get("backbone")}
