"""Where PAN's and FHN's item feature maps F come from (the input of PAN's item encoder, eq. 2-3):
fixed maps read from a file, or the maps of a CNN run on the items' photos and trained with the
outfit model (`--backbone_training`).

- `fixed` (PAN's Table 2 setting; the default): `feature_maps.npz`, the last convolutional maps of
  the project's pretrained backbone (`python -m tfvisrec.vision.features --feature_maps`);
- `end_to_end`: the backbone (`--backbone`, `--image_size`, `--fc_width`, CNN-F by default;
  `--backbone_weights` starts it from a pretrained classifier run, as DVBPR's does) runs on the
  items' photos, decoded as DVBPR's pipeline decodes them (`data.item_features.ItemFeatureTable`:
  aspect kept by padding, [-1, 1]), up to its last convolution, the layer whose maps PAN attends
  over; its weights receive the gradient of the outfit model's whole loss (BPR eq. 5 + λ1 eq. 7
  + λ2 eq. 9), plus DVBPR's weight decay on its kernels (`--weight_decay`).

Both answer `lookup(item ids, training)`. The end-to-end maps of a training step come from the
CNN in training mode on that batch's photos; outside training (validation, evaluation, the
exported `outfit_score`) they are gathered from the whole catalogue's maps, computed once with
the current weights and recomputed whenever the weights differ from those that made them (a
training step, a restored checkpoint), so every score of a model is that of its trained CNN.
"""
import dataclasses
import os
from typing import List

import numpy as np
import tensorflow as tf
import tf_keras as keras
from absl import logging

from tfvisrec.config import field
from tfvisrec.data import schema
from tfvisrec.data.errors import DataError
from tfvisrec.data.feature_files import FEATURE_MAPS_FILE
from tfvisrec.data.feature_maps import MapsSource, read_feature_maps
from tfvisrec.data.outfits import EMPTY
from tfvisrec.vision import backbones
from tfvisrec.vision.cnn_config import CNNConfig

FIXED, END_TO_END = "fixed", "end_to_end"
BACKBONE_TRAINING = (FIXED, END_TO_END)


@dataclasses.dataclass
class OutfitBackboneConfig(CNNConfig):
    """The item feature maps of an outfit model (the CNN fields are read with `end_to_end` only)."""

    backbone_training: str = field(FIXED, "Outfit models: `fixed` = read the item feature maps of "
                                          "--feature_maps_file (PAN's Table 2), `end_to_end` = run --backbone on the "
                                          "items' photos up to its last convolution and train it with the model.")
    feature_maps_file: str = field("", "Item feature maps (.npz with `maps` [items, H, W, C]); default <dataset>/feature_maps.npz.")
    backbone_lr_scale: float = field(0.01, "Outfit models trained end to end: the backbone's learning rate is the run's "
                                           "times this (its own optimizer; DVBPR trains its CNN at 1e-4, PAN's codes "
                                           "and attention learn at 1e-2).")


def make_item_maps(config):
    """The item-maps source `config.backbone_training` names (ValueError for another value)."""
    if config.backbone_training == FIXED:
        if config.backbone_weights:
            raise ValueError("--backbone_weights starts a backbone trained with the model: it needs "
                             "--backbone_training=end_to_end (fixed maps come from --feature_maps_file)")
        return FixedItemMaps(config.feature_maps_file)
    if config.backbone_training == END_TO_END:
        if config.feature_maps_file:
            raise ValueError("--feature_maps_file is read with --backbone_training=fixed only: an end-to-end "
                             "model makes its maps from the items' photos")
        return EndToEndItemMaps(config)
    raise ValueError(f"backbone_training must be one of {', '.join(BACKBONE_TRAINING)}, "
                     f"got {config.backbone_training!r}")


class FixedItemMaps:
    """The maps of `feature_maps.npz` (or `--feature_maps_file`), read once in `prepare`."""

    end_to_end = False

    def __init__(self, path: str = ""):
        self.path = path
        self.maps = None
        self.source = None

    def prepare(self, dataset) -> None:
        maps, self.source = read_feature_maps(self.path or os.path.join(dataset.path, FEATURE_MAPS_FILE),
                                              dataset.num_items)
        self.maps = tf.constant(maps)

    @property
    def map_shape(self):
        return tuple(self.source.shape)

    def lookup(self, items, training: bool = False):
        """Maps [..., h, w, C] of item indices [...] (an empty slot's are item 0's: ignored)."""
        return tf.gather(self.maps, tf.maximum(tf.cast(items, tf.int64), 0))

    def weight_penalty(self):
        return tf.constant(0.0)

    def photo_feature_maps(self):
        return None


class EndToEndItemMaps(keras.layers.Layer):
    """The backbone's last convolutional maps of the items' photos, trained (module docstring).

    Only the layers up to that convolution are kept (`map_network`): the classifier's fully
    connected layers get no gradient from an outfit loss, so they are neither trained nor saved.
    """

    end_to_end = True

    def __init__(self, config, **kwargs):
        super().__init__(name=kwargs.pop("name", "item_backbone"), **kwargs)
        backbone = backbones.build_backbone(**{**config.backbone_spec(), "output_dim": 0})
        self.weights_path = str(config.backbone_weights)
        if self.weights_path:
            from tfvisrec.vision import pretrained
            pretrained.load_backbone_weights(backbone, self.weights_path)
        self.spec = {k: v for k, v in backbone.spec.items() if k != "output_dim"}
        self.image_size = int(backbone.spec["image_size"])
        self.map_network = backbone.feature_map_model()   # the trunk's layers up to its last convolution
        self.weight_decay = float(config.weight_decay)
        self._dataset = None
        self._images = None            # ItemFeatureTable of the catalogue's photos, made on first use
        self._catalogue = None         # (weights they were made with, maps [items, h, w, C])

    @property
    def map_shape(self):
        return tuple(int(d) for d in self.map_network.output.shape[1:])

    @property
    def source(self) -> MapsSource:
        """The maps' shape and the backbone (its starting weights); no file holds them."""
        return MapsSource(self.map_shape, self.weights_path and os.path.abspath(self.weights_path), dict(self.spec))

    def prepare(self, dataset) -> None:
        """Remembers the dataset whose photos the CNN reads (decoded when first needed)."""
        if not dataset.has_images:
            raise DataError("--backbone_training=end_to_end reads the items' photos, but this dataset has none "
                            "(write the outfit dataset with its images, or train on fixed feature maps)",
                            dataset.path)
        self._dataset = dataset

    @tf.autograph.experimental.do_not_convert   # no tensor-dependent Python control flow: nothing to convert
    def lookup(self, items, training: bool = False):
        """Maps [..., h, w, C] of item indices [...]; an empty slot's (-1) are zeros."""
        items = tf.cast(items, tf.int64)
        if not training:
            return tf.gather(self.catalogue_maps(), tf.maximum(items, 0))
        flat = tf.reshape(items, [-1])
        filled = tf.not_equal(flat, EMPTY)
        images = self._image_table().lookup(tf.boolean_mask(flat, filled))[schema.IMAGE]
        maps = tf.scatter_nd(tf.where(filled), self.map_network(images, training=True),
                             tf.concat([tf.shape(flat, out_type=tf.int64), self.map_shape], 0))
        return tf.reshape(maps, tf.concat([tf.shape(items), self.map_shape], 0))

    @tf.autograph.experimental.do_not_convert
    def catalogue_maps(self, batch_size: int = 256) -> tf.Tensor:
        """Maps of every catalogue item [items, h, w, C] from the current weights (inference
        mode), recomputed when the weights changed; called while tracing a function, they are
        computed outside it and captured as a constant."""
        with tf.init_scope():
            weights = [v.numpy() for v in self.map_network.weights]
            if self._catalogue is None or not _same(self._catalogue[0], weights):
                table = self._image_table()
                logging.info("item feature maps of %d items from the trained backbone", table.num_items)
                maps = [self.map_network(batch[schema.IMAGE], training=False)
                        for _, batch in table.catalogue_batches(batch_size)]
                self._catalogue = (weights, tf.concat(maps, axis=0))
            return self._catalogue[1]

    @tf.autograph.experimental.do_not_convert
    def _image_table(self):
        with tf.init_scope():
            if self._images is None:
                if self._dataset is None:
                    raise ValueError("call prepare(dataset) before scoring: the CNN reads the dataset's photos")
                from tfvisrec.data.item_features import ItemFeatureTable
                self._images = ItemFeatureTable(self._dataset, (schema.IMAGE,), image_size=self.image_size)
            return self._images

    def weight_penalty(self):
        """weight_decay · Σ ½‖W‖² over the trained convolution kernels (DVBPR's, `Backbone.weight_penalty`)."""
        kernels = [layer.kernel for layer in self.map_network.layers if isinstance(layer, keras.layers.Conv2D)]
        if self.weight_decay == 0.0 or not kernels:
            return tf.constant(0.0)
        return self.weight_decay * tf.add_n([tf.nn.l2_loss(k) for k in kernels])

    def photo_feature_maps(self):
        """New photos → maps by this (trained) backbone, as the catalogue's: for `outfit_score_images`."""
        from tfvisrec.vision.photo_maps import PhotoFeatureMaps
        return PhotoFeatureMaps(self.map_network, self.image_size, stored_dtype=None)


BACKBONE_OPTIMIZER = "backbone_optimizer"


def backbone_optimizers(model, backbone_variables, make_optimizer, lr_scale: float):
    """{"optimizer": over the model's other variables, "backbone_optimizer": over the backbone's,
    at `lr_scale` times the run's learning rate} (each built, so a resumed run restores its slots)."""
    if lr_scale <= 0:
        raise ValueError(f"backbone_lr_scale must be positive, got {lr_scale}")
    own = {v.ref() for v in backbone_variables}
    out = {"optimizer": make_optimizer(), BACKBONE_OPTIMIZER: make_optimizer()}
    rate = out[BACKBONE_OPTIMIZER].learning_rate
    out[BACKBONE_OPTIMIZER].learning_rate = float(keras.backend.get_value(rate)) * float(lr_scale)
    out["optimizer"].build([v for v in model.trainable_variables if v.ref() not in own])
    out[BACKBONE_OPTIMIZER].build(list(backbone_variables))
    return out


def backbone_train_step(model, backbone_variables, batch, optimizers):
    """`Recommender.train_step` with the backbone's gradient applied by its own optimizer."""
    replicas = tf.distribute.get_replica_context().num_replicas_in_sync
    own = {v.ref() for v in backbone_variables}
    others = [v for v in model.trainable_variables if v.ref() not in own]
    backbone = list(backbone_variables)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(batch, training=True)
        if model.losses:
            loss += tf.add_n(model.losses)
        scaled = loss / replicas
    gradients = tape.gradient(scaled, backbone + others)
    optimizers[BACKBONE_OPTIMIZER].apply_gradients(zip(gradients[:len(backbone)], backbone))
    optimizers["optimizer"].apply_gradients(zip(gradients[len(backbone):], others))
    return loss


def _same(a: List[np.ndarray], b: List[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))

