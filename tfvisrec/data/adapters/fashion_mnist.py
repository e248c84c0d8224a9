"""Fashion-MNIST (Xiao et al. 2017; Debian package `dataset-fashion-mnist`) → a catalogue
dataset folder without users: 70,000 grey 28 × 28 product images in 10 classes.

The source folder holds the four IDX files of the release (`train-images-idx3-ubyte.gz`,
`train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`;
Debian installs them in /usr/share/datasets/fashion-mnist). Items are `train-00000` …,
`test-00000` …; category = the class name, also the one attribute `class` (so the attribute
classifier and the GAN read it), images stored as greyscale JPEG. items.npz gains
`holdout_split` (0 train, 1 valid, 2 test): the release's test images are the test split,
`valid_fraction` of its training images (drawn with `seed`) the validation split.
"""
import gzip
import io
import os
from typing import Optional, Tuple

import numpy as np
from PIL import Image

from tfvisrec.data.errors import DataError
from tfvisrec.data.image_reader import JPEG_QUALITY, Progress
from tfvisrec.data.ingest import check_output, write_items_dataset
from tfvisrec.data.item_encoding import ItemLabels
from tfvisrec.data.split import empty_splits

DEFAULT_SOURCE = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049   # IDX: unsigned bytes, 3 and 1 dimensions


def read_idx(path: str, magic: int) -> np.ndarray:
    """An IDX file (gzip or plain) of unsigned bytes → uint8 array of its shape."""
    if not os.path.isfile(path):
        raise DataError("Fashion-MNIST file not found (apt-get install dataset-fashion-mnist, "
                        f"or pass the folder of the release's four files)", path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read: {e}", path) from None
    dims = magic - 2048
    if len(data) < 4 + 4 * dims or int.from_bytes(data[:4], "big") != magic:
        found = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
        raise DataError(f"not an IDX file of {dims}-dimensional unsigned bytes (magic number "
                        f"{found}, expected {magic})", path)
    shape = tuple(int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(dims))
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise DataError(f"truncated or padded: the header says {shape} ({int(np.prod(shape))} "
                        f"bytes), the file holds {body.size}", path)
    return body.reshape(shape)


def read_part(source_dir: str, part: str, limit: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels uint8 [N]) of "train" or "test", checked."""
    image_file, label_file = (os.path.join(source_dir, f) for f in FILES[part])
    images, labels = read_idx(image_file, _IMAGES_MAGIC), read_idx(label_file, _LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(f"{len(images)} images but {len(labels)} labels in {label_file}", image_file)
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataError(f"label {int(labels.max())} is not one of the {len(CLASS_NAMES)} classes", label_file)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def _jpeg(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def ingest_fashion_mnist(source_dir: Optional[str], out_dir: str, *, valid_fraction: float = 0.1,
                         seed: int = 0, limit: Optional[int] = None, image_shards: int = 4,
                         overwrite: bool = False, name: Optional[str] = None,
                         progress: bool = False) -> str:
    """Write the dataset folder from the release in `source_dir` (None: `DEFAULT_SOURCE`, where
    Debian's package puts it); `limit`: at most this many images of each part (quick runs)."""
    source_dir = source_dir or DEFAULT_SOURCE
    check_output(out_dir, overwrite)
    if not 0 <= valid_fraction < 1:
        raise DataError(f"the validation fraction must be in [0, 1), got {valid_fraction}")
    if limit is not None and limit < 1:
        raise DataError(f"the limit must be at least 1 image per part, got {limit}")
    parts = {part: read_part(source_dir, part, limit) for part in ("train", "test")}
    item_ids, pixels, classes, holdout = [], [], [], []
    rng = np.random.default_rng(seed)
    for part, (images, labels) in parts.items():
        item_ids += [f"{part}-{k:05d}" for k in range(len(images))]
        pixels.append(images)
        classes.append(labels.astype(np.int32))
        if part == "train":
            split = np.zeros(len(images), np.int8)
            split[rng.permutation(len(images))[:int(round(valid_fraction * len(images)))]] = 1
        else:
            split = np.full(len(images), 2, np.int8)
        holdout.append(split)
    pixels, category, holdout = np.concatenate(pixels), np.concatenate(classes), np.concatenate(holdout)
    counter = Progress(len(pixels), "encoding images") if progress else None
    images = []
    for image in pixels:
        images.append(_jpeg(image))
        if counter:
            counter.step()
    if counter:
        counter.close()
    labels = ItemLabels(category, category[:, None], list(CLASS_NAMES), ["class"],
                        [list(CLASS_NAMES)], texts=None)
    meta = {"name": name or os.path.basename(os.path.abspath(out_dir)),
            "source": os.path.abspath(source_dir), "adapter": "fashion_mnist", "kind": "catalogue",
            "split": "holdout", "seed": seed, "valid_fraction": valid_fraction,
            "label_columns": ["class"], "has_time": False, "min_user_interactions": None,
            "num_holdout": {s: int((holdout == k).sum()) for k, s in enumerate(("train", "valid", "test"))}}
    return write_items_dataset(out_dir, meta, [], item_ids, empty_splits(), labels, images,
                               cold_threshold=0, image_shards=image_shards, overwrite=overwrite,
                               extra_item_arrays={"holdout_split": holdout})
