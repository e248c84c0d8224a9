"""`generate_world`: write a style world as canonical CSVs + images + its ground truth.

Output folder (filled in a temporary sibling, renamed into place when complete):

| file | content |
|---|---|
| `interactions.csv` | `user_id,item_id,timestamp` (`YYYY-MM-DD HH:MM:SS`, UTC), by user then time |
| `items.csv` | `item_id,image,category,colour,pattern,sleeve,neckline,print` (value names) |
| `images/<item_id>.jpg` | one square RGB JPEG per item |
| `outfits.csv` | with `outfits`: `outfit_id,user_id,item_1,item_2,item_3,compatible,violation` |
| `truth.npz`, `truth.json` | the ground truth (see `truth.py`) |
"""
import csv
import datetime
import json
import os
import shutil

import numpy as np

from tfvisrec import temp_folders
from tfvisrec.atomic import publish_folder, raise_naming
from tfvisrec.data.errors import DataError
from tfvisrec.data.output_folder import check_replaceable
from tfvisrec.data.synthetic import drawing
from tfvisrec.data.synthetic import eras
from tfvisrec.data.synthetic import interactions as interactions_lib
from tfvisrec.data.synthetic import items as items_lib
from tfvisrec.data.synthetic import outfits as outfits_lib
from tfvisrec.data.synthetic import users as users_lib
from tfvisrec.data.synthetic import vocabulary as vocab
from tfvisrec.data.synthetic.config import SyntheticConfig
from tfvisrec.data.synthetic.truth import TRUTH_JSON, TRUTH_NPZ

# Independent random streams, so that e.g. turning outfits on leaves images and purchases alike.
_ITEMS, _IMAGES, _USERS, _PURCHASES, _OUTFITS, _ERAS = range(6)
MAX_PARTS = 2   # region parts per item (two sleeves)


def generate_world(out_dir: str, config: SyntheticConfig, overwrite: bool = False) -> str:
    """Generate the world described by `config` into `out_dir`; returns its absolute path.

    Refuses (DataError) to replace an existing non-empty folder unless `overwrite`.
    """
    config.validate()
    path = os.path.abspath(out_dir)
    check_replaceable(path, overwrite, (TRUTH_JSON,), "a synthetic world", empty_is_free=True)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    temp_folders.remove_abandoned(parent, f".{os.path.basename(path)}.tmp-")   # of killed runs
    with temp_folders.held_temp_folder(parent, f".{os.path.basename(path)}.tmp-") as tmp:
        try:
            _write_world(tmp, config)
            publish_folder(tmp, path)
        except BaseException as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise_naming(e, f"the world {path}")
    return path


def _rng(config, stream, *key):
    return np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(stream, *key)))


def _write_world(folder, config):
    user_ids = [f"u{u + 1:0{max(4, len(str(config.num_users)))}d}" for u in range(config.num_users)]
    item_ids = [f"i{i + 1:0{max(5, len(str(config.num_items)))}d}" for i in range(config.num_items)]
    item_values = items_lib.sample_item_values(config.num_items, _rng(config, _ITEMS))
    boxes = _draw_images(folder, item_ids, item_values, config)
    prefs = users_lib.sample_preferences(config.num_users, config.num_items, config.drift,
                                         config.popularity_scale, _rng(config, _USERS),
                                         users_lib.parse_drivers(config.drivers))
    utility_start = users_lib.utility(prefs.weights_start, item_values, prefs.item_bias)
    utility_end = users_lib.utility(prefs.weights_end, item_values, prefs.item_bias)
    changes = eras.change_times(eras.parse_change_points(config.change_points), config.time_range())
    trends = eras.sample_era_trends(len(changes) + 1, config.trend_scale, _rng(config, _ERAS))
    era_utility = eras.era_utilities(trends, item_values) if len(changes) else None
    purchases = interactions_lib.sample_purchases(utility_start, utility_end, config,
                                                  _rng(config, _PURCHASES), era_utility, changes)
    _write_items_csv(os.path.join(folder, "items.csv"), item_ids, item_values)
    _write_interactions_csv(os.path.join(folder, "interactions.csv"), user_ids, item_ids, purchases)
    if config.outfits:
        outfits = outfits_lib.sample_outfits(item_values, utility_end, config.outfits_per_user,
                                             config.temperature, _rng(config, _OUTFITS))
        _write_outfits_csv(os.path.join(folder, "outfits.csv"), user_ids, item_ids, outfits)
    arrays = {
        "user_ids": np.asarray(user_ids), "item_ids": np.asarray(item_ids),
        "item_values": item_values, **boxes,
        "user_weights": prefs.weights_end, "item_bias": prefs.item_bias, "utility": utility_end,
        "item_release": purchases.release, "is_cold_item": purchases.is_cold,
        "interaction_users": purchases.users, "interaction_items": purchases.items,
        "interaction_times": purchases.times, "user_drivers": prefs.drivers,
    }
    if config.drift:
        arrays.update(weights_start=prefs.weights_start, utility_start=utility_start)
    if len(changes):
        arrays.update(change_times=changes, era_trends=trends)
    np.savez(os.path.join(folder, TRUTH_NPZ), **arrays)
    meta = {
        "attribute_names": list(vocab.ATTRIBUTE_NAMES),
        "attribute_values": [list(v) for _, v in vocab.ATTRIBUTES],
        "region_attributes": list(vocab.REGION_ATTRIBUTES),
        "value_offsets": vocab.value_offsets(),
        "box_format": "normalised ymin, xmin, ymax, xmax",
        "time_range": list(config.time_range()),
        "drift": config.drift,
        "change_times": [int(c) for c in changes],
        "config": config.to_dict(),
        "outfit_rules": vocab.outfit_rules() if config.outfits else {},
        "counts": {"users": config.num_users, "items": config.num_items,
                   "interactions": int(len(purchases.users)),
                   "cold_items": int(purchases.is_cold.sum())},
    }
    with open(os.path.join(folder, TRUTH_JSON), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, sort_keys=True)


def _draw_images(folder, item_ids, item_values, config):
    """Write images/<item_id>.jpg; returns the box arrays of the truth."""
    os.makedirs(os.path.join(folder, "images"))
    n, r = len(item_ids), len(vocab.REGION_ATTRIBUTES)
    region_parts = np.full((n, r, MAX_PARTS, 4), np.nan, np.float32)
    garment_boxes = np.zeros((n, 4), np.float32)
    for i, item_id in enumerate(item_ids):
        d = drawing.draw_item(items_lib.value_names(item_values[i]), config.image_size,
                              _rng(config, _IMAGES, i), part_scale=config.part_scale)
        d.image.save(os.path.join(folder, "images", f"{item_id}.jpg"), format="JPEG",
                     quality=config.jpeg_quality)
        garment_boxes[i] = d.garment_box
        for k, name in enumerate(vocab.REGION_ATTRIBUTES):
            for p, box in enumerate(d.regions.get(name, [])):
                region_parts[i, k, p] = box
    return {"region_boxes": region_parts[:, :, 0].copy(), "region_parts": region_parts,
            "garment_boxes": garment_boxes}


def _write_items_csv(path, item_ids, item_values):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["item_id", "image", *vocab.ATTRIBUTE_NAMES])
        for item_id, row in zip(item_ids, item_values):
            names = items_lib.value_names(row)
            w.writerow([item_id, f"images/{item_id}.jpg", *(names[a] for a in vocab.ATTRIBUTE_NAMES)])


def _write_interactions_csv(path, user_ids, item_ids, purchases):
    order = np.lexsort((purchases.items, purchases.times, purchases.users))
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["user_id", "item_id", "timestamp"])
        for k in order:
            w.writerow([user_ids[purchases.users[k]], item_ids[purchases.items[k]],
                        format_time(purchases.times[k])])


def _write_outfits_csv(path, user_ids, item_ids, outfits):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["outfit_id", "user_id", "item_1", "item_2", "item_3", "compatible", "violation"])
        width = max(5, len(str(len(outfits))))
        for k, o in enumerate(outfits):
            w.writerow([f"o{k + 1:0{width}d}", user_ids[o.user], *(item_ids[i] for i in o.items),
                        int(o.compatible), o.violation])


def format_time(seconds) -> str:
    """Unix seconds → `YYYY-MM-DD HH:MM:SS` (UTC), the timestamp format of interactions.csv."""
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
