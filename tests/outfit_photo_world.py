"""A tiny outfit world with photos, its feature maps made the real way, for the outfit signatures.

The synthetic outfit world's outfits (users, slots, splits), each item drawn as a 32 px JPEG
(its colour as the background, a patch of its detail's colour in its detail cell), and a
small attribute classifier (CNN-F, its weights its initialisation, saved as a checkpoint)
whose last convolutional maps `tfvisrec.vision.features.extract(..., with_feature_maps=True)`
writes into the dataset folder as `python -m tfvisrec.vision.features --feature_maps` would
(`feature_maps.npz`, recording the classifier as its source). Tests check that every path
turns a photo into the same maps and scores, not what the maps mean.
"""
import os
from typing import List, NamedTuple

import numpy as np

PHOTO_SIZE = 32
CARDINALITIES = (3, 2)
COLOURS = np.array([[200, 40, 40], [40, 160, 60], [40, 60, 200], [220, 200, 60], [120, 40, 160],
                    [240, 240, 240], [30, 30, 30], [60, 200, 200]], np.uint8)


class OutfitPhotoWorld(NamedTuple):
    dataset_dir: str
    backbone: str            # checkpoint prefix of the classifier that made feature_maps.npz
    photos: List[bytes]      # each item's JPEG, as stored in the dataset


def make_outfit_photo_world(root: str, num_users: int = 4, items_per_slot: int = 6, **world) -> OutfitPhotoWorld:
    """`world`: more `OutfitWorldConfig` fields (default 4 outfits per user: 2 train, 1 valid, 1 test)."""
    import tensorflow as tf
    import tf_keras as keras
    from tfvisrec.data.dataset import load_dataset
    from tfvisrec.data.outfits import write_outfit_dataset
    from tfvisrec.data.synthetic.outfit_world import OutfitWorldConfig, make_outfit_world
    from tfvisrec.vision import attributes, features

    settings = dict(outfits_per_user=4, valid_per_user=1, test_per_user=1, candidates=30)
    world = make_outfit_world(OutfitWorldConfig(num_users=num_users, items_per_slot=items_per_slot,
                                                **{**settings, **world}))
    cell = PHOTO_SIZE // world.config.map_size
    photos = []
    for colour, detail, where in zip(world.item_colour, world.item_detail, world.detail_cell):
        pixels = np.tile(COLOURS[colour % len(COLOURS)], (PHOTO_SIZE, PHOTO_SIZE, 1))
        row, col = divmod(int(where), world.config.map_size)
        pixels[row * cell:(row + 1) * cell, col * cell:(col + 1) * cell] = COLOURS[-1 - detail % len(COLOURS)]
        photos.append(tf.io.encode_jpeg(pixels, quality=95).numpy())
    dataset_dir = write_outfit_dataset(os.path.join(root, "outfits"), world.user_ids, world.item_ids, world.table,
                                       meta={"name": "outfit_photos"}, images=photos)
    keras.utils.set_random_seed(0)
    network = attributes.AttributeNetwork(CARDINALITIES, {"name": "cnnf", "image_size": PHOTO_SIZE,
                                                          "fc_width": 16, "dropout": 0.0, "weight_decay": 0.0})
    backbone = os.path.join(root, "classifier", "weights")
    network.save_weights(backbone)
    item_features, probs, info, maps = features.extract(load_dataset(dataset_dir), backbone, batch_size=64,
                                                        with_feature_maps=True)
    features.write_outputs(dataset_dir, item_features, probs, info, maps)
    return OutfitPhotoWorld(dataset_dir, backbone, photos)
