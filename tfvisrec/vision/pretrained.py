"""Load fashion-pretrained (or the user's own) backbone weights from a path.

Accepted paths:
- a training run folder (`python -m tfvisrec.train` model_dir: `best/` is used, else `ckpt/`),
  a checkpoint folder, or a checkpoint prefix. Any checkpoint holding one `Backbone` works
  (the attribute classifier's, or DVBPR's fine-tuned one): its trunk is found by the path
  `…/trunk/` in the checkpoint, whatever model holds it, and restored by object graph;
- a Keras HDF5 weights file (`.h5`, e.g. ImageNet ResNet-50 "notop" weights), matched by
  layer name.
Every trunk variable must be found with the right shape, else a DataError says what
differs. The output head is never loaded: it belongs to the model that uses the backbone.
"""
import dataclasses
import json
import os
import re
from typing import Dict, Optional

import tensorflow as tf

from tfvisrec.checkpoint_files import checkpoint_in
from tfvisrec.data.errors import DataError
from tfvisrec.vision import backbones
from tfvisrec.vision.cnn_config import CNNConfig

H5_SUFFIXES = (".h5", ".hdf5")
_SPEC_KEY = re.compile(r"^(|.*/)pretraining_spec/\.ATTRIBUTES/py_state$")
_TRUNK_KEY = re.compile(r"^(|.*/)trunk/layer_with_weights-0/")


def resolve_checkpoint(path: str) -> str:
    """A checkpoint prefix for `path` (see the module docstring); DataError when there is none."""
    if not path:
        raise DataError("no weights path given (--backbone_weights)")
    if tf.io.gfile.exists(path + ".index"):
        return path
    if tf.io.gfile.isdir(path):
        best = checkpoint_in(os.path.join(path, "best"))
        if best:
            return best
        for folder in (os.path.join(path, "ckpt"), path):
            if tf.io.gfile.isdir(folder):
                latest = tf.train.latest_checkpoint(folder)
                if latest:
                    return latest
        raise DataError("no TensorFlow checkpoint in this folder (nor in its best/ or ckpt/)", path)
    raise DataError("weights path is neither a checkpoint nor a folder holding one", path)


def read_pretraining_spec(path: str) -> Optional[Dict]:
    """The attribute classifier's spec saved in the checkpoint at `path`, or None."""
    prefix = resolve_checkpoint(path)
    reader = tf.train.load_checkpoint(prefix)
    keys = [k for k in reader.get_variable_to_shape_map() if _SPEC_KEY.match(k)]
    if not keys:
        return None
    raw = reader.get_tensor(sorted(keys, key=len)[0])
    return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))


def spec_prefix(prefix: str) -> Optional[str]:
    """The object path (e.g. "model/") of the attribute classifier inside a checkpoint."""
    keys = [k for k in tf.train.list_variables(prefix) if _SPEC_KEY.match(k[0])]
    return _SPEC_KEY.match(sorted(k for k, _ in keys)[0]).group(1) if keys else None


def load_backbone_weights(backbone: backbones.Backbone, path: str) -> str:
    """Load the trunk weights of `backbone` from `path`; returns the file or prefix read."""
    if path.endswith(H5_SUFFIXES):
        return _load_h5(backbone, path)
    prefix = resolve_checkpoint(path)
    names = [name for name, _ in tf.train.list_variables(prefix)]
    found = sorted({m.group(1) for m in map(_TRUNK_KEY.match, names) if m})
    if not found:
        raise DataError("the checkpoint holds no image backbone", prefix)
    if len(found) > 1:
        raise DataError(f"the checkpoint holds several backbones ({', '.join(p + 'trunk' for p in found)})",
                        prefix)
    restore_at(prefix, found[0] + "trunk", backbone.trunk, what=f"{backbone.spec['name']} backbone")
    return prefix


def restore_at(prefix: str, object_path: str, obj, what: str) -> None:
    """Restore `obj` from the object `object_path` ("model/backbone/trunk") of a checkpoint;
    every variable of `obj` must be found there with its shape."""
    segments = object_path.strip("/").split("/")
    if segments[-1] == "trunk":
        check_trunk_shapes(prefix, object_path, obj, what)
    child = obj
    for segment in reversed(segments[1:]):
        holder = tf.Module()
        setattr(holder, segment, child)
        child = holder
    try:
        status = tf.train.Checkpoint(**{segments[0]: child}).read(prefix)
        status.expect_partial()   # optimizer slots, training state, other heads: not ours
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
        raise DataError(f"the checkpoint does not match the {what} built here ({_first_line(e)})", prefix) from None


def check_trunk_shapes(prefix: str, object_path: str, trunk, what: str) -> None:
    """Compare each trunk variable with its checkpoint entry before restoring, so a mismatch
    is reported by layer name (and the restore never fails half-way)."""
    shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    for index, layer in enumerate(layer for layer in trunk.layers if layer.weights):
        for variable in layer.weights:
            attribute = variable.name.split("/")[-1].split(":")[0]
            key = f"{object_path.strip('/')}/layer_with_weights-{index}/{attribute}/.ATTRIBUTES/VARIABLE_VALUE"
            here = list(variable.shape)
            if key not in shapes or list(shapes[key]) != here:
                there = shapes.get(key)
                raise DataError(f"the checkpoint does not match the {what} built here: layer {layer.name!r} "
                                f"{attribute} is {there if there is not None else 'missing'} there, {here} here; "
                                "build it with the flags it was trained with (--backbone, --image_size, "
                                "--fc_width, --conv1_stride, --cnn_top)", prefix)


def build_pretrained_backbone(path: str, output_dim: int = 0, dropout: Optional[float] = None,
                              weight_decay: Optional[float] = None, name: str = "", image_size: int = 0,
                              fc_width: int = 0) -> backbones.Backbone:
    """A backbone with its trunk loaded from `path` and a fresh head of `output_dim`.

    The architecture comes from the checkpoint (the attribute classifier's spec, or the
    run's config.json); `name`/`image_size`/`fc_width` are used only when the path says
    nothing (a Keras .h5 file), and must agree with it otherwise.
    """
    spec = _architecture(path) or {}
    given = {"name": name, "image_size": image_size, "fc_width": fc_width}
    for key, value in given.items():
        if value and key in spec and spec[key] != value:
            raise DataError(f"{key} is {spec[key]!r} in these weights, not {value!r}", path)
        if value and key not in spec:
            spec[key] = value
    if "name" not in spec or "image_size" not in spec:
        raise DataError("cannot tell the backbone architecture of these weights: give the backbone "
                        "name and image_size (--backbone, --image_size)", path)
    if path.endswith(H5_SUFFIXES) and spec["name"] == "resnet50":
        spec.setdefault("imagenet_preprocessing", True)
    spec["output_dim"] = output_dim
    if dropout is not None:
        spec["dropout"] = dropout
    if weight_decay is not None:
        spec["weight_decay"] = weight_decay
    backbone = backbones.build_backbone(**spec)
    load_backbone_weights(backbone, path)
    return backbone


def load_attribute_classifier(path: str):
    """The whole attribute classifier (backbone and heads) from its checkpoint, or None when
    the checkpoint at `path` holds no attribute classifier."""
    from tfvisrec.vision.attributes import AttributeNetwork
    if path.endswith(H5_SUFFIXES):
        return None
    prefix = resolve_checkpoint(path)
    spec = read_pretraining_spec(prefix)
    if spec is None:
        return None
    model = AttributeNetwork([len(v) for v in spec["attribute_values"]], spec["backbone"])
    where = spec_prefix(prefix)
    if where:   # "model/" in the trainer's checkpoints
        restore_at(prefix, where, model, what="attribute classifier")
    else:       # the classifier is the checkpoint's root (`model.save_weights`)
        status = model.load_weights(prefix)
        status.assert_existing_objects_matched()
        status.expect_partial()
    return model


def load_feature_extractor(path: str, name: str = "", image_size: int = 0, fc_width: int = 0):
    """→ (backbone, attribute classifier or None): the backbone whose features and maps
    `tfvisrec.vision.features` writes, the classifier's own when `path` holds one (then
    `name`/`image_size`/`fc_width`, when given, must agree with it), else the trunk of
    `build_pretrained_backbone` without a head."""
    classifier = load_attribute_classifier(path)
    if classifier is None:
        return build_pretrained_backbone(path, name=name, image_size=image_size, fc_width=fc_width), None
    given = {"name": name, "image_size": image_size, "fc_width": fc_width}
    for key, value in given.items():
        if value and classifier.backbone.spec.get(key) != value:
            raise DataError(f"{key} is {classifier.backbone.spec.get(key)!r} in these weights, not {value!r}", path)
    return classifier.backbone, classifier


def _architecture(path: str) -> Optional[Dict]:
    if path.endswith(H5_SUFFIXES):
        return None
    prefix = resolve_checkpoint(path)
    spec = read_pretraining_spec(prefix)
    if spec is not None:
        arch = dict(spec["backbone"])
        arch.pop("output_dim", None)
        return arch
    run_dir = path if tf.io.gfile.isdir(path) else os.path.dirname(os.path.dirname(prefix))
    config_path = os.path.join(run_dir, "config.json")
    if tf.io.gfile.exists(config_path):
        with tf.io.gfile.GFile(config_path) as f:
            model = json.load(f).get("model", {})
        if model.get("backbone") and model.get("image_size"):
            # the run's own CNN settings, read as its trainer read them (dropout and weight
            # decay are the caller's: they do not change the weights' shapes)
            known = {f.name for f in dataclasses.fields(CNNConfig)}
            spec = CNNConfig(**{k: v for k, v in model.items() if k in known}).backbone_spec()
            return {k: v for k, v in spec.items() if k not in ("dropout", "weight_decay")}
    return None


def _load_h5(backbone, path):
    import h5py
    if not os.path.exists(path):
        raise DataError("weights file does not exist", path)
    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            in_file = {n.decode() if isinstance(n, bytes) else n for n in group.attrs.get("layer_names", [])}
    except OSError as e:
        raise DataError(f"not a readable HDF5 weights file ({e})", path) from None
    wanted = {layer.name for layer in backbone.trunk.layers if layer.weights}
    missing = sorted(wanted - in_file)
    if missing:
        raise DataError(f"{len(missing)} layers of the {backbone.spec['name']} backbone are not in this "
                        f"weights file (first: {missing[0]!r})", path)
    try:
        backbone.trunk.load_weights(path, by_name=True)
    except ValueError as e:
        raise DataError(f"weights do not fit the {backbone.spec['name']} backbone ({_first_line(e)})", path) from None
    return path


def _first_line(error) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
