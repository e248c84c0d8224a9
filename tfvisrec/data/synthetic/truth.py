"""The ground truth of a generated world (`truth.npz` + `truth.json`) and questions about it.

Users and items are addressed either by raw id (str, e.g. "u0001", "i00001") or by their
index in the truth's own order (`Truth.user_ids`, `Truth.item_ids`); to compare with a loaded
dataset (whose index order may differ) use `scores_for(dataset)` / `align(dataset)`.
"""
import dataclasses
import json
import os
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from tfvisrec.data.errors import DataError
from tfvisrec.data.synthetic import eras

TRUTH_NPZ = "truth.npz"
TRUTH_JSON = "truth.json"
Key = Union[str, int, np.integer]


@dataclasses.dataclass
class Truth:
    """Everything the generator knew: attributes, regions, tastes, utilities, purchases."""

    user_ids: List[str]
    item_ids: List[str]
    attribute_names: List[str]
    attribute_values: List[List[str]]
    region_attributes: List[str]
    value_offsets: List[int]
    item_values: np.ndarray       # int32 [I, A] value index of each attribute
    region_boxes: np.ndarray      # float32 [I, R, 4] (ymin, xmin, ymax, xmax), first part; NaN absent
    region_parts: np.ndarray      # float32 [I, R, P, 4] every part (both sleeves); NaN absent
    garment_boxes: np.ndarray     # float32 [I, 4] the whole silhouette
    weights_start: np.ndarray     # float32 [U, V] taste at the start of the period
    weights_end: np.ndarray       # float32 [U, V] taste at the end (= start without drift)
    item_bias: np.ndarray         # float32 [I]
    utility_start: np.ndarray     # float32 [U, I]
    utility_end: np.ndarray       # float32 [U, I] (= start without drift)
    item_release: np.ndarray      # int64 [I] unix seconds
    is_cold_item: np.ndarray      # bool [I] released late
    interactions: Dict[str, np.ndarray]   # users, items, times (truth indices, unix seconds)
    time_range: Tuple[int, int]
    drift: bool
    config: Dict
    outfit_rules: Dict
    change_times: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros([0], np.int64))  # int64 [E − 1] era starts
    era_trends: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros([1, 0], np.float32))  # float32 [E, V] (eras.py)
    user_drivers: Optional[np.ndarray] = None   # int32 [U] each user's one driving attribute (--drivers); -1 / None: mixed tastes

    @property
    def utility(self) -> np.ndarray:
        """The true utility [U, I] at the end of the period (the only one without drift)."""
        return self.utility_end

    @property
    def user_weights(self) -> np.ndarray:
        return self.weights_end

    def user_index(self, user: Key) -> int:
        return _index(user, self.user_ids, self._user_lookup(), "user")

    def item_index(self, item: Key) -> int:
        return _index(item, self.item_ids, self._item_lookup(), "item")

    def alpha(self, time) -> np.ndarray:
        """Drift position α(t) ∈ [0, 1] of unix time(s) `time`."""
        start, end = self.time_range
        return np.clip((np.asarray(time, np.float64) - start) / float(end - start), 0.0, 1.0)

    def utility_at(self, time) -> np.ndarray:
        """u(t) = (1 − α(t)) u_start + α(t) u_end (+ the era's trend with change points):
        [U, I] for a scalar time, or per user for [U] times."""
        a = self.alpha(time)
        a = a[:, None] if a.ndim == 1 else a
        utility = (1.0 - a) * self.utility_start + a * self.utility_end
        if len(self.change_times):
            utility = utility + eras.era_utilities(self.era_trends, self.item_values)[eras.era_of(time, self.change_times)]
        return utility.astype(np.float32)

    def weights_at(self, user: Key, time=None) -> np.ndarray:
        u = self.user_index(user)
        if time is None:
            return self.weights_end[u]
        a = float(self.alpha(time))
        return ((1.0 - a) * self.weights_start[u] + a * self.weights_end[u]).astype(np.float32)

    def align(self, dataset) -> Tuple[np.ndarray, np.ndarray]:
        """Truth indices of a dataset's users and items (in the dataset's index order)."""
        return (self._lookup_all(dataset.user_ids, self._user_lookup(), "user"),
                self._lookup_all(dataset.item_ids, self._item_lookup(), "item"))

    def scores_for(self, dataset, time=None) -> np.ndarray:
        """True utilities [dataset.num_users, dataset.num_items] in the dataset's index order.

        `time`: None = end of the period; a unix time; or [dataset.num_users] unix times.
        """
        users, items = self.align(dataset)
        if time is None:
            return self.utility_end[np.ix_(users, items)]
        t = np.asarray(time)
        a = self.alpha(t)[:, None] if t.ndim == 1 else self.alpha(t)
        start = self.utility_start[np.ix_(users, items)]
        end = self.utility_end[np.ix_(users, items)]
        return ((1.0 - a) * start + a * end).astype(np.float32)

    def contributions(self, user: Key, item: Key, time=None) -> Dict[str, float]:
        """Each attribute's term w_user[a][value_a(item)] of the item's utility for the user."""
        w = self.weights_at(user, time)
        values = self.item_values[self.item_index(item)]
        return {name: float(w[self.value_offsets[a] + values[a]])
                for a, name in enumerate(self.attribute_names)}

    def driving_attribute(self, user: Key, item: Key, time=None) -> str:
        """The attribute with the largest (signed) contribution to u(user, item)."""
        c = self.contributions(user, item, time)
        return max(self.attribute_names, key=lambda name: c[name])

    def user_driver(self, user: Key) -> Optional[str]:
        """The one attribute that drives the user's taste (worlds made with --drivers), else None."""
        if self.user_drivers is None:
            return None
        a = int(self.user_drivers[self.user_index(user)])
        return self.attribute_names[a] if a >= 0 else None

    def item_value(self, item: Key, attribute: str) -> str:
        a = self._attribute_index(attribute)
        return self.attribute_values[a][int(self.item_values[self.item_index(item), a])]

    def region_box(self, item: Key, attribute: str) -> np.ndarray:
        """(ymin, xmin, ymax, xmax) in [0, 1] where `attribute` shows on the item's image.

        Region attributes: their first part (the viewer's left sleeve); NaN where the item's
        category has no such region. Whole-item attributes (category, colour, pattern): the
        garment's box.
        """
        i = self.item_index(item)
        if attribute in self.region_attributes:
            return self.region_boxes[i, self.region_attributes.index(attribute)].copy()
        self._attribute_index(attribute)
        return self.garment_boxes[i].copy()

    def region_part_boxes(self, item: Key, attribute: str) -> np.ndarray:
        """All boxes [parts, 4] of a region attribute (two for sleeves); empty when absent."""
        i = self.item_index(item)
        if attribute not in self.region_attributes:
            return self.region_box(item, attribute)[None, :]
        parts = self.region_parts[i, self.region_attributes.index(attribute)]
        return parts[~np.isnan(parts).any(axis=1)].copy()

    def _attribute_index(self, attribute: str) -> int:
        if attribute not in self.attribute_names:
            raise KeyError(f"unknown attribute {attribute!r}; known: {self.attribute_names}")
        return self.attribute_names.index(attribute)

    def _user_lookup(self):
        if not hasattr(self, "_users_by_id"):
            self._users_by_id = {k: i for i, k in enumerate(self.user_ids)}
        return self._users_by_id

    def _item_lookup(self):
        if not hasattr(self, "_items_by_id"):
            self._items_by_id = {k: i for i, k in enumerate(self.item_ids)}
        return self._items_by_id

    @staticmethod
    def _lookup_all(ids, lookup, kind):
        missing = [k for k in ids if k not in lookup]
        if missing:
            raise DataError(f"{len(missing)} dataset {kind}s are not in this world's truth "
                            f"(first: {missing[0]!r}); was the dataset ingested from another world?")
        return np.asarray([lookup[k] for k in ids], np.int64)


def _index(key, ids, lookup, kind) -> int:
    if isinstance(key, str):
        if key not in lookup:
            raise KeyError(f"unknown {kind} id {key!r}")
        return lookup[key]
    k = int(key)
    if not 0 <= k < len(ids):
        raise IndexError(f"{kind} index {k} out of range [0, {len(ids)})")
    return k


def load_truth(folder: str) -> Truth:
    """Read `truth.npz` + `truth.json` of a world written by `generate_world`."""
    npz_path, json_path = os.path.join(folder, TRUTH_NPZ), os.path.join(folder, TRUTH_JSON)
    for path in (npz_path, json_path):
        if not os.path.exists(path):
            raise DataError("not a synthetic world (missing ground truth); generate one with "
                            "`python -m tfvisrec.data.synthetic --out DIR`", path)
    with open(json_path, encoding="utf-8") as f:
        meta = json.load(f)
    with np.load(npz_path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    drift = bool(meta["drift"])
    return Truth(
        user_ids=[str(s) for s in arrays["user_ids"]],
        item_ids=[str(s) for s in arrays["item_ids"]],
        attribute_names=list(meta["attribute_names"]),
        attribute_values=[list(v) for v in meta["attribute_values"]],
        region_attributes=list(meta["region_attributes"]),
        value_offsets=list(meta["value_offsets"]),
        item_values=arrays["item_values"],
        region_boxes=arrays["region_boxes"],
        region_parts=arrays["region_parts"],
        garment_boxes=arrays["garment_boxes"],
        weights_start=arrays["weights_start"] if drift else arrays["user_weights"],
        weights_end=arrays["user_weights"],
        item_bias=arrays["item_bias"],
        utility_start=arrays["utility_start"] if drift else arrays["utility"],
        utility_end=arrays["utility"],
        item_release=arrays["item_release"],
        is_cold_item=arrays["is_cold_item"],
        interactions={k: arrays[f"interaction_{k}"] for k in ("users", "items", "times")},
        time_range=tuple(meta["time_range"]),
        drift=drift,
        config=dict(meta["config"]),
        outfit_rules=dict(meta.get("outfit_rules", {})),
        user_drivers=arrays.get("user_drivers"),
        **({"change_times": arrays["change_times"], "era_trends": arrays["era_trends"]}
           if "change_times" in arrays else {}),
    )
