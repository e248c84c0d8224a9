"""Does an outfit export score photos as it scores ids? `outfit_score_images` on the photos of
a split's outfits (the dataset's own JPEG bytes) against `outfit_score` on their ids.

    python bench/outfit_photo_parity.py --export export/pan/1 --dataset DIR [--split test]

The export must hold its feature backbone (`python -m tfvisrec.export` of a PAN / FHN trained on
maps that `python -m tfvisrec.vision.features --feature_maps` wrote). Prints the outfits and
photos compared, the spread of the scores, the largest and mean |difference|, whether the two
rank the outfits alike, and the time of each signature (in process, batches of --batch).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfvisrec  # noqa: E402,F401  (selects Keras 2 before TensorFlow loads)
import tensorflow as tf  # noqa: E402

from tfvisrec.data.dataset import load_dataset  # noqa: E402
from tfvisrec.data.outfits import load_outfits  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", required=True, help="a SavedModel version folder, e.g. export/pan/1")
    parser.add_argument("--dataset", required=True, help="the outfit dataset the model trained on")
    parser.add_argument("--split", default="test")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    outfits = load_outfits(dataset).split(args.split)
    loaded = tf.saved_model.load(args.export)
    if "outfit_score_images" not in loaded.signatures:
        sys.exit(f"error: {args.export} has no outfit_score_images (exported without its feature backbone)")
    by_id, by_photo = loaded.signatures["outfit_score"], loaded.signatures["outfit_score_images"]
    jpegs = dataset.image_bytes()
    item_ids, user_ids = np.array(dataset.item_ids, object), np.array(dataset.user_ids, object)
    ids, photos, seconds = [], [], [0.0, 0.0]
    for k in range(0, len(outfits), args.batch):
        users, items = outfits.users[k:k + args.batch], outfits.items[k:k + args.batch]
        user = tf.constant(user_ids[users].astype(str))
        names = np.where(items >= 0, item_ids[np.maximum(items, 0)], "").astype(str)
        images = np.array([[jpegs[i] if i >= 0 else b"" for i in row] for row in items], object)
        for n, (fn, kwargs, out) in enumerate([(by_id, {"items": tf.constant(names)}, ids),
                                               (by_photo, {"images": tf.constant(images)}, photos)]):
            start = time.perf_counter()
            out.append(fn(user=user, **kwargs)["scores"].numpy())
            seconds[n] += time.perf_counter() - start
    ids, photos = np.concatenate(ids), np.concatenate(photos)
    gap = np.abs(ids - photos)
    print(f"{len(ids)} {args.split} outfits ({int((outfits.items >= 0).sum())} photos); score std {ids.std():.4f}; "
          f"max |photos - ids| {gap.max():.2e}, mean {gap.mean():.2e}; "
          f"same ranking: {np.array_equal(np.argsort(ids, kind='stable'), np.argsort(photos, kind='stable'))}")
    print(f"time: outfit_score {seconds[0]:.2f} s, outfit_score_images {seconds[1]:.2f} s "
          f"(batches of {args.batch}, in process)")


if __name__ == "__main__":
    main()
