"""Hyper-parameters as dataclasses whose fields become absl flags.

Every hyper-parameter is a flag (flagfiles in `configs/` are the experiment format, as in
TF Model Garden); the dataclasses give models and the trainer typed, testable configs.
Adding a hyper-parameter = adding one field here with its help text.
"""
import dataclasses
from typing import Any, Dict, Type

from absl import flags


def _field(default, help_text):
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass
class ModelConfig:
    """Model hyper-parameters (the names follow the papers where they have one)."""

    model: str = _field("bprmf", "Registered model name (see `python -m tfvisrec.train --list_models`).")
    embedding_dim: int = _field(20, "Latent factors K of user/item embeddings (gamma).")
    visual_dim: int = _field(20, "Visual factors K' (theta_u, E f_i) for visual models.")
    l2_user: float = _field(0.01, "L2 weight on the user factors involved in a batch (lambda_theta).")
    l2_item: float = _field(0.01, "L2 weight on the positive/negative item factors in a batch.")
    l2_bias: float = _field(0.001, "L2 weight on item biases.")
    l2_visual: float = _field(0.001, "L2 weight on the visual projection E and beta'.")
    use_item_bias: bool = _field(True, "Learn an item bias beta_i.")
    margin: float = _field(1.0, "Hinge margin for MM-MF and WARP.")
    num_negatives: int = _field(1, "Negatives sampled per positive (WARP samples several).")
    init_stddev: float = _field(0.1, "Stddev of the normal initialiser of embeddings.")
    image_size: int = _field(64, "Square input size of images fed to CNN backbones (224 in the papers).")
    backbone: str = _field("cnnf", "Image backbone: cnnf | alexnet | resnet50.")
    backbone_weights: str = _field("", "Path to backbone weights (a checkpoint of configs/attributes.cfg or a Keras weights file).")
    dropout: float = _field(0.5, "Dropout rate inside CNN backbones.")
    weight_decay: float = _field(1e-4, "Weight decay on CNN weights (DVBPR).")
    fc_width: int = _field(4096, "Width of the fully connected layers fc6/fc7 of CNN-F and AlexNet (4096 in the papers; e.g. 512 on CPU).")
    features_file: str = _field("", "Precomputed item features (.npy [items, F]) for fixed-feature visual models; default <dataset>/features.npy.")
    time_epochs: int = _field(4, "Number of time epochs for temporal models (TVBPR, I-TVBPR).")
    l2_drift: float = _field(0.01, "L2 weight on the per-epoch deviations of temporal models (TVBPR's w(t), ΔE(t), Δβ'(t)).")
    fm_item_interactions: bool = _field(True, "FM: keep the terms that involve no user (w_i, item x feature and feature x feature interactions); false keeps only the (user, item) and (user, feature) interactions plus w^T f_i.")
    visrank_pooling: str = _field("mean", "VisRank: pool the cosine similarities to the user's items by mean | max.")
    feature_norm: str = _field("l2", "Fixed features f_i of VBPR/DeepStyle/TVBPR/FM: l2 = scaled to unit length (Adam's steps on E f_i otherwise grow with the features' magnitude), none = as extracted.")
    user_lr_multiplier: float = _field(1.0, "DVBPR: the user factors theta_u learn this many times faster than the CNN (exact under Adam; each user's row is updated only by the batches holding that user).")
    imgrec_fc_dim: int = _field(150, "ImgRec: width of the ReLU layer on image features (150 in Elsayed et al. 2021).")
    trainable_backbone_layers: int = _field(-1, "DVBPR, ImgRec-EtE (stage 2): train only the last N layers of the backbone trunk, the rest stays as loaded (-1 = all; ImgRec-EtE's paper: 50 of ResNet-50).")
    stage1_epochs: int = _field(0, "Two-stage training (ImgRec-EtE): at most this many epochs with the backbone frozen before joint training (early stopping's patience ends the frozen stage sooner; joint training then starts from its best weights); 0 = joint from the start.")
    stage2_lr_scale: float = _field(0.1, "Two-stage training (ImgRec-EtE): the learning rate is multiplied by this in the joint stage (the unfrozen CNN layers start with fresh Adam moments).")
    seed: int = _field(42, "Random seed for initialisation and data order.")


@dataclasses.dataclass
class TrainConfig:
    """Training-loop settings shared by all models."""

    dataset: str = _field("", "Dataset folder written by `python -m tfvisrec.data ingest`.")
    model_dir: str = _field("runs/model", "Where checkpoints, TensorBoard logs and the run summary go.")
    epochs: int = _field(20, "Maximum training epochs.")
    batch_size: int = _field(256, "Global batch size (split across replicas).")
    optimizer: str = _field("adam", "Optimizer: adam | sgd | adagrad | rmsprop.")
    learning_rate: float = _field(0.01, "Learning rate.")
    steps_per_epoch: int = _field(0, "Batches per epoch; 0 = one pass over the training interactions.")
    steps_per_loop: int = _field(20, "Training steps run inside one tf.function call (fewer Python round trips; the progress bar and loss summaries update per call).")
    checkpoint_every: int = _field(200, "Save a checkpoint every N steps (and at each epoch end).")
    eval_every_epochs: int = _field(1, "Validate every N epochs.")
    patience: int = _field(5, "Early stopping: epochs without validation-AUC improvement before stopping (or, in a staged model's first stage, before its next stage starts); 0 = never.")
    resume: bool = _field(True, "Continue from the latest checkpoint in model_dir if there is one.")
    strategy: str = _field("default", "Distribution: default | mirrored | multi_worker (TF_CONFIG).")
    num_cpu_devices: int = _field(0, "Split the CPU into N logical devices (to run `mirrored` on a CPU-only machine).")
    image_cache: str = _field("auto", "Decoded image cache: memory | decode | auto (memory when it fits in --image_cache_mb).")
    image_cache_mb: int = _field(4096, "Largest in-memory uint8 image cache for --image_cache=auto.")
    eval_negatives: int = _field(0, "Validation protocol: 0 = full-catalogue AUC, N = sampled AUC with N negatives.")
    max_steps: int = _field(0, "Stop after this many steps in total (0 = no limit); for tests and smoke runs.")
    verbose: int = _field(1, "0 = quiet, 1 = a live progress bar on a terminal (one line per epoch when stdout is a file or pipe), 2 = one line per epoch.")


def define_flags(*config_classes: Type) -> None:
    """Define one absl flag per field of each dataclass (skips flags defined already)."""
    for cls in config_classes:
        for f in dataclasses.fields(cls):
            if f.name in flags.FLAGS:
                continue
            help_text = f.metadata.get("help", f.name)
            definer = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
                       float: flags.DEFINE_float, str: flags.DEFINE_string}[_field_type(f)]
            definer(f.name, f.default, help_text)


def from_flags(cls: Type, flag_values=None):
    """Build a config dataclass from parsed flags."""
    fv = flag_values or flags.FLAGS
    return cls(**{f.name: getattr(fv, f.name) for f in dataclasses.fields(cls)})


def to_dict(config) -> Dict[str, Any]:
    return dataclasses.asdict(config)


def _field_type(f):
    t = f.type
    if isinstance(t, str):
        t = {"bool": bool, "int": int, "float": float, "str": str}[t]
    return t


def read_flagfile(path: str) -> Dict[str, str]:
    """`--name=value` lines of an absl flagfile (comments and blank lines skipped; nested
    `--flagfile=` lines are followed relative to the working directory, as absl does)."""
    values: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith(("#", "//")):
                continue
            if not line.startswith("--"):
                raise ValueError(f"{path}, line {number}: expected --name=value, got {line!r}")
            name, equals, value = line[2:].partition("=")
            if name == "flagfile":
                values.update(read_flagfile(value))
            elif not equals:  # boolean flag: --name or --noname
                negated = name.startswith("no") and name not in _ALL_FIELDS
                values[name[2:] if negated else name] = "false" if negated else "true"
            else:
                values[name] = value
    return values


_ALL_FIELDS = {f.name for c in (ModelConfig, TrainConfig) for f in dataclasses.fields(c)}


def configs_from_flagfile(path: str, **overrides):
    """(ModelConfig, TrainConfig) from a flagfile plus keyword overrides, without absl parsing
    (for the demo and benchmarks, which train several models in one process)."""
    values: Dict[str, Any] = dict(read_flagfile(path))
    values.update(overrides)
    out = []
    for cls in (ModelConfig, TrainConfig):
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in values:
                kwargs[f.name] = _convert(_field_type(f), values[f.name], path, f.name)
        out.append(cls(**kwargs))
    unknown = set(values) - _ALL_FIELDS - {"verbosity", "deterministic"}
    if unknown:
        raise ValueError(f"{path}: unknown flags {sorted(unknown)}")
    return tuple(out)


def _convert(kind, value, path, name):
    if not isinstance(value, str):
        return kind(value)
    try:
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "1")
        return kind(value)
    except ValueError:
        raise ValueError(f"{path}: --{name}={value!r} is not a valid {kind.__name__}") from None
