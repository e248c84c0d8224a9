"""New photos → the fixed item feature maps an outfit model (PAN, FHN) reads, made exactly as
`python -m tfvisrec.vision.features --feature_maps` made the catalogue's: the same backbone
(the weights `feature_maps.npz` records), the same decoding (`data.images.decode_batch` at the
backbone's image size: aspect kept by padding, [-1, 1]), the trunk's last convolutional maps,
rounded through float16 as the file stores them. What `outfit_score_images` runs in the graph.
A model whose backbone was trained end to end (`--backbone_training=end_to_end`) hands its own
trained backbone here, unrounded: its catalogue maps come from that backbone, never from a file.
"""
import os
from typing import Optional, Sequence

import tensorflow as tf

from tfvisrec.data import images as image_ops
from tfvisrec.data.errors import DataError
from tfvisrec.data.feature_maps import STORED_DTYPE, MapsSource


class PhotoFeatureMaps(tf.Module):
    """Encoded photos [N] → feature maps float32 [N, h, w, C] (see the module docstring)."""

    def __init__(self, map_network, image_size: int, weights: str = "", stored_dtype=STORED_DTYPE):
        """`map_network`: images [N, S, S, 3] in [-1, 1] → the maps (`Backbone.feature_map_model()`);
        `weights`: the file the backbone was loaded from ("" = a model's own backbone);
        `stored_dtype`: the maps are rounded through it as the catalogue's were stored (None:
        the catalogue's maps were never stored, as a backbone trained end to end makes them)."""
        super().__init__(name="photo_feature_maps")
        self.map_network = map_network
        self.weights = os.path.abspath(weights) if weights else ""
        self.stored_dtype = stored_dtype
        self.image_size = int(image_size)
        self.map_shape = tuple(int(d) for d in map_network.output.shape[1:])

    def __call__(self, jpeg_bytes):
        images = image_ops.decode_batch(tf.convert_to_tensor(jpeg_bytes, tf.string), self.image_size)
        maps = self.map_network(images, training=False)
        if self.stored_dtype is None:
            return maps
        return tf.cast(tf.cast(maps, tf.as_dtype(self.stored_dtype)), tf.float32)

    def require_shape(self, shape: Sequence[int], where: Optional[str] = None) -> None:
        """DataError unless this backbone's maps have `shape` (h, w, C): those the model read."""
        if tuple(shape) != self.map_shape:
            raise DataError(f"the backbone {self.weights or 'of the model'} makes feature maps of shape {list(self.map_shape)}, "
                            f"but the model was trained on maps of shape {list(shape)}: not the backbone "
                            "that made them", where)


def load_photo_feature_maps(source: MapsSource, weights: str = "") -> PhotoFeatureMaps:
    """The backbone of a model's feature maps: `weights` when given, else the one `source`
    records (its spec fills in what a bare .h5 file cannot say), checked to make maps of the
    model's shape; DataError when none is known or it does not fit."""
    from tfvisrec.vision import pretrained
    path = weights or source.weights
    if not path:
        raise DataError("the item feature maps record no backbone (synthetic maps, or written before "
                        "features.py recorded it): pass the weights that made them (--feature_backbone)",
                        source.path or None)
    if not os.path.exists(path) and not tf.io.gfile.exists(path + ".index"):
        raise DataError("the backbone weights of the item feature maps do not exist (moved?); "
                        "pass --feature_backbone", path)
    spec = (source.backbone or {}) if not weights or weights == source.weights else {}
    backbone, _ = pretrained.load_feature_extractor(path, spec.get("name", ""), int(spec.get("image_size", 0)),
                                                    int(spec.get("fc_width", 0)))
    photos = PhotoFeatureMaps(backbone.feature_map_model(), backbone.spec["image_size"], path)
    photos.require_shape(source.shape, source.path or None)
    return photos
