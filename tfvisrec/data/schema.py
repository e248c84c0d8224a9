"""The dataset folder that `python -m tfvisrec.data ingest` writes and every model reads.

A dataset folder holds:

| file | content |
|---|---|
| `meta.json` | counts, split protocol, seed, cold threshold, category and attribute vocabularies |
| `users.txt`, `items.txt` | id vocabularies: line k is the raw id of index k |
| `interactions.npz` | the split: `{train,valid,test}_{users,items,times}` as int64 arrays (times are unix seconds, -1 when unknown) |
| `items.npz` | per item: `category` (int32, -1 none), `attributes` (int32 [items, attributes], -1 missing), `train_count` (int32), `is_cold` (bool) |
| `images-SSSSS-of-NNNNN.tfrecord` | one `tf.train.Example` per item with an image: `item` (int64 index), `image` (JPEG bytes) |
| `texts.json` (optional) | per item free text (title, description), a list aligned with `items.txt` |

A catalogue (`meta["kind"] == "catalogue"`, labelled images without users) has empty splits
and an extra `holdout_split` (int8: 0 train, 1 valid, 2 test) in `items.npz`.

Users and items are dense indices 0..n-1 everywhere inside the package; raw ids appear only
in the vocabularies (and at the serving edge).
"""

META_FILE = "meta.json"
USERS_FILE = "users.txt"
ITEMS_FILE = "items.txt"
INTERACTIONS_FILE = "interactions.npz"
ITEM_TABLE_FILE = "items.npz"
IMAGE_SHARD_PATTERN = "images-{shard:05d}-of-{num_shards:05d}.tfrecord"
IMAGE_SHARD_GLOB = "images-*-of-*.tfrecord"
TEXTS_FILE = "texts.json"
FORMAT_VERSION = 1

SPLITS = ("train", "valid", "test")
SPLIT_PROTOCOLS = ("leave_one_out", "temporal")
NO_TIME = -1
NO_LABEL = -1

# Feature keys of a batch of items, as the pipelines attach them and models read them.
ITEM = "item"            # int64 item index
IMAGE = "image"          # float32 [H, W, 3] in [-1, 1]
CATEGORY = "category"    # int32 category index (-1 none)
ATTRIBUTES = "attributes"  # int32 [A] attribute value indices (-1 missing)
FEATURES = "features"    # float32 [F] precomputed visual feature vector
TIME = "time"            # int64 unix seconds of the interaction
REGIONS = "regions"      # float32 [A, C] attribute region features f_a^k(i) (data/region_file.py)
REGION_BOXES = "region_boxes"      # float32 [A, 4] their boxes (explanations)
REGION_CLASSES = "region_classes"  # int32 [A] each attribute's predicted value (explanations)
REGION_KEYS = (REGIONS, REGION_BOXES, REGION_CLASSES)
