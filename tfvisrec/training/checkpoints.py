"""What a training run leaves in `model_dir`, and how to load a trained model from it.

    model_dir/config.json      model + train configs (enough to rebuild the model)
    model_dir/ckpt/            latest checkpoints (model, optimizer, step, epoch, batch in epoch)
    model_dir/best/            the checkpoint with the best validation score
    model_dir/logs/            TensorBoard scalars (and images)
    model_dir/samples/         per-epoch pictures of models that make them (a GAN's samples)
    model_dir/summary.json     the run summary (rewritten after every epoch)
"""
import contextlib
import hashlib
import json
import os
import shutil
import sys
from typing import List, Tuple

import tensorflow as tf
from google.protobuf import text_encoding

from tfvisrec import atomic, config as config_lib
from tfvisrec.checkpoint_files import checkpoint_in
from tfvisrec.data import schema
from tfvisrec.data.dataset import fingerprint, load_dataset
from tfvisrec.data.errors import DataError

CONFIG_FILE = "config.json"
LATEST_DIR = "ckpt"
BEST_DIR = "best"
LOGS_DIR = "logs"
SAMPLES_DIR = "samples"
SUMMARY_FILE = "summary.json"


class TrainingState(tf.Module):
    """Loop counters saved with every checkpoint so `--resume` continues exactly."""

    def __init__(self):
        super().__init__(name="training_state")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.batch_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch_in_epoch")
        self.best_score = tf.Variable(-1.0, dtype=tf.float64, trainable=False, name="best_score")
        self.best_epoch = tf.Variable(-1, dtype=tf.int64, trainable=False, name="best_epoch")
        self.bad_epochs = tf.Variable(0, dtype=tf.int64, trainable=False, name="bad_epochs")
        # Staged models: the first stage allowed, raised when early stopping ends a stage.
        self.min_stage = tf.Variable(0, dtype=tf.int64, trainable=False, name="min_stage")


class BestCheckpoint:
    """`model_dir/best/`: the files of the latest checkpoint whose validation was the best,
    hard-linked (copied where links cannot be made) rather than written a second time: an
    improving epoch serialises the model and its optimizers once, not twice. The checkpoint
    state file is updated last and older best files are removed after it, so a run killed
    midway still leaves a complete best checkpoint."""

    def __init__(self, directory: str):
        self.directory = directory

    @property
    def latest_checkpoint(self):
        """The best checkpoint's prefix inside `directory`, or None."""
        return checkpoint_in(self.directory)

    def keep(self, checkpoint_path: str) -> str:
        """Make the checkpoint at `checkpoint_path` (a prefix in another folder) the best one."""
        tf.io.gfile.makedirs(self.directory)
        name = os.path.basename(checkpoint_path)
        for source in tf.io.gfile.glob(checkpoint_path + ".*"):
            target = os.path.join(self.directory, os.path.basename(source))
            if tf.io.gfile.exists(target):
                if os.path.exists(target) and os.path.samefile(source, target):
                    continue   # already the best: removing it first would leave a moment without one
                tf.io.gfile.remove(target)
            try:
                os.link(source, target)
            except OSError:   # another file system, or one without hard links
                tf.io.gfile.copy(source, target)
        # The state file TF's readers expect (a CheckpointState text proto), recording `name`
        # relative to best/ so the run folder can move; written here rather than by the
        # deprecated tf.compat.v1.train.update_checkpoint_state, which warns on every run.
        quoted = '"' + text_encoding.CEscape(name, as_utf8=True) + '"'
        atomic.write_text(os.path.join(self.directory, "checkpoint"),
                          f"model_checkpoint_path: {quoted}\nall_model_checkpoint_paths: {quoted}\n")
        for old in tf.io.gfile.glob(os.path.join(self.directory, "*.index")) + tf.io.gfile.glob(
                os.path.join(self.directory, "*.data-*")):
            if not os.path.basename(old).startswith(name + "."):
                tf.io.gfile.remove(old)
        return os.path.join(self.directory, name)


def save_latest(manager: tf.train.CheckpointManager, number: int) -> str:
    """`manager.save(checkpoint_number=number)` → its prefix. A checkpoint TensorFlow cannot
    write (a full disk, a folder made read-only) is an OSError naming it and why, in one line,
    its partial files removed; the checkpoints before it are untouched."""
    try:
        return manager.save(checkpoint_number=number)
    except tf.errors.OpError as e:
        prefix = os.path.join(manager.directory, f"ckpt-{number}")
        shutil.rmtree(prefix + "_temp", ignore_errors=True)   # TensorFlow's half-written shards
        raise OSError(f"cannot write the checkpoint {prefix} ({atomic.write_error_reason(e)}): make room or fix the folder, "
                      "then run the same command again to resume from the checkpoint before it") from None


def remove_partial_saves(directory: str) -> None:
    """Remove the `ckpt-N_temp` folders saves killed midway left in `directory`: TensorFlow writes
    a checkpoint's shards there (`….tempstate<random>`) before merging them into `ckpt-N.*`, and
    saving that number again later does not remove another process's shard, so every kill during
    a save left up to a checkpoint's size behind for good. Call with the run folder locked to
    this training (`run_lock`): no other save can be under way there."""
    for path in tf.io.gfile.glob(os.path.join(directory, "ckpt-*_temp")):
        shutil.rmtree(path, ignore_errors=True)


def latest_readable(manager: tf.train.CheckpointManager):
    """The newest of `manager`'s checkpoints whose files read back whole (every tensor), or
    None when it has none. A run killed or out of disk space while it wrote its latest
    checkpoint leaves that one short: the run then resumes from the one before, losing the
    steps in between rather than failing, and says so on stderr."""
    candidates = list(manager.checkpoints) or _checkpoint_files(manager.directory)
    if candidates and not manager.checkpoints:
        print(f"warning: {os.path.join(manager.directory, 'checkpoint')} lists no checkpoint (missing or "
              f"unreadable); looking at the checkpoint files there instead", file=sys.stderr)
    for path in reversed(candidates):
        try:
            reader = tf.train.load_checkpoint(path)
            for name in reader.get_variable_to_shape_map():
                reader.get_tensor(name)
            return path
        except (tf.errors.OpError, RuntimeError, ValueError, IndexError) as e:   # IndexError: data short
            print(f"warning: checkpoint {path} does not read back ({_last_line(e)}); trying the one before",
                  file=sys.stderr)
    if candidates:
        names = ", ".join(os.path.basename(path) for path in candidates)
        raise DataError(f"none of the checkpoints ({names}) reads back whole; train again in a new "
                        f"--model_dir, or here with --noresume", manager.directory)
    return None


def _last_line(error) -> str:
    """TensorFlow's reading errors end with the line that names the cause."""
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__


def check_resumable(model_dir: str, model_config) -> None:
    """DataError when `model_dir` holds a run of another model than `model_config.model`
    (resuming would load its weights into the wrong model, or fail in TensorFlow's words)."""
    if not os.path.exists(os.path.join(model_dir, CONFIG_FILE)):
        return
    saved = _read_raw_configs(model_dir)["model"]["model"]
    if saved != model_config.model:
        raise DataError(f"this folder holds a {saved} run, not {model_config.model}: train "
                        f"{model_config.model} in another --model_dir", model_dir)


def changed_settings(model_dir: str, model_config, train_config) -> List[str]:
    """`section.name: old → new` for each setting the run's config.json records otherwise (a
    resumed call trains on with the new ones; config.json then records those)."""
    if not os.path.exists(os.path.join(model_dir, CONFIG_FILE)):
        return []
    saved = _read_raw_configs(model_dir)
    now = json.loads(json.dumps({"model": config_lib.to_dict(model_config),
                                 "train": config_lib.to_dict(train_config)}))
    return [f"{section}.{name}: {saved[section][name]!r} → {value!r}"
            for section in ("model", "train") for name, value in now[section].items()
            if name in saved.get(section, {}) and saved[section][name] != value]


def earlier_calls(model_dir: str) -> Tuple[List[dict], float]:
    """(epoch records, training seconds) summary.json holds from the run's earlier calls;
    ([], 0) when it has none or it cannot be read (the epochs' numbers are in logs/ too)."""
    try:
        with open(os.path.join(model_dir, SUMMARY_FILE), encoding="utf-8") as f:
            summary = json.load(f)
        history = [r for r in summary["history"] if isinstance(r, dict) and isinstance(r.get("epoch"), int)]
        return history, float(summary["train_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return [], 0.0


def interrupted_note(model_dir: str) -> str:
    """What a run interrupted by Ctrl-C can do next: resume from its latest checkpoint, or, when
    it has none yet (still building the default world, or before the first save), start again."""
    ckpt = os.path.join(model_dir, LATEST_DIR)
    if _checkpoint_files(ckpt):
        return (f"interrupted: run the same command again to resume from the latest checkpoint in {ckpt} "
                "(the steps after it are trained again)")
    return "interrupted before the first checkpoint: run the same command again to start over"


def _checkpoint_files(directory: str):
    """The checkpoint prefixes (`ckpt-N`) in `directory`, oldest first, found by their files."""
    prefixes = [path[:-len(".index")] for path in tf.io.gfile.glob(os.path.join(directory, "ckpt-*.index"))]
    numbered = [(int(p.rsplit("-", 1)[1]), p) for p in prefixes if p.rsplit("-", 1)[1].isdigit()]
    return [p for _, p in sorted(numbered)]


def save_configs(model_dir: str, model_config, train_config, dataset=None) -> None:
    """config.json: the configs and, with `dataset`, the fingerprint of the data it trains on."""
    configs = {"model": config_lib.to_dict(model_config), "train": config_lib.to_dict(train_config)}
    if dataset is not None:
        configs["dataset_fingerprint"] = fingerprint(dataset)
    atomic.write_json(os.path.join(model_dir, CONFIG_FILE), configs)


def _trained_on_other_data(model_dir: str, dataset) -> bool:
    trained_on = _read_raw_configs(model_dir).get("dataset_fingerprint")
    return trained_on is not None and trained_on != fingerprint(dataset)


def check_same_dataset(model_dir: str, dataset, remedy: str) -> None:
    """DataError when `dataset` is not the data the run in `model_dir` trained on (other user or
    item ids, or another split): its weights would belong to other shoppers and items, silently.
    Runs saved before config.json recorded a fingerprint are not checked."""
    if _trained_on_other_data(model_dir, dataset):
        raise DataError(f"the run in {model_dir} was trained on other data than the dataset here "
                        "(other user or item ids, or another split: ingested again since?); "
                        f"{remedy}", dataset.path)


def read_configs(model_dir: str):
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(path):
        raise DataError("not a trained model folder (no config.json); train one with "
                        "`python -m tfvisrec.train`", model_dir)
    raw = _read_raw_configs(model_dir)
    from tfvisrec.models import registry
    model_values = raw["model"]
    model_cls = registry.config_class(model_values["model"])
    return _config(model_cls, model_values), _config(config_lib.TrainConfig, raw["train"])


def _misfit_hint(model_dir: str, train_config, dataset, dataset_dir) -> str:
    """Why a run's checkpoint may not fit the model its dataset builds now."""
    if dataset_dir and _sizes(dataset_dir) != _sizes(train_config.dataset):
        return (f"the run was trained on {train_config.dataset}, and --dataset {dataset_dir} has "
                f"{dataset.num_users} users and {dataset.num_items} items")
    if _trained_on_other_data(model_dir, dataset):
        return (f"{dataset.path} was ingested again since training, with other users or items: train "
                "again on it")
    # e.g. regions.npz remade with another --region_feature: E^k follows it
    return "were the dataset's item features or regions remade since training (features.npy, regions.npz)?"


@contextlib.contextmanager
def _tensorflow_logs_held_to_errors():
    """TensorFlow's logger held to errors while a restore runs: a failed one logs a warning per
    value it did not restore (17 lines around the command's one `error:` line for a BPR-MF run
    that no longer fits its dataset)."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def _sizes(dataset_dir: str):
    """(users, items) a dataset folder's meta.json records, or None when it cannot be read."""
    try:
        with open(os.path.join(dataset_dir, schema.META_FILE), encoding="utf-8") as f:
            meta = json.load(f)
        return meta["num_users"], meta["num_items"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_raw_configs(model_dir: str):
    """config.json as saved: {"model": {"model": name, ...}, "train": {...}}; DataError naming
    the file when it is not that."""
    path = os.path.join(model_dir, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        if not isinstance(raw["model"]["model"], str) or not isinstance(raw["train"], dict):
            raise TypeError("no model name or train settings")
        return raw
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"unreadable run configuration ({type(e).__name__}: {e})", path) from None


def _config(cls, values):
    """`cls` from saved values; values it has no field for are dropped (runs saved before
    each model family had its own config kept every model's hyper-parameters)."""
    import dataclasses
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})


def _chosen_checkpoint(model_dir: str, which: str):
    """(checkpoint prefix or None, "best" | "latest"): the best checkpoint when asked for and
    there is one, else the latest (e.g. a run stopped before its first validation)."""
    if which not in ("best", "latest"):
        raise ValueError(f"checkpoint must be best or latest, not {which!r}")
    if which == "best":
        best = BestCheckpoint(os.path.join(model_dir, BEST_DIR)).latest_checkpoint
        if best is not None:
            return best, "best"
    return tf.train.latest_checkpoint(os.path.join(model_dir, LATEST_DIR)), "latest"


def checkpoint_used(model_dir: str, which: str = "best") -> str:
    """The checkpoint `load_trained(model_dir, which)` reads: "best" or "latest"."""
    return _chosen_checkpoint(model_dir, which)[1]


def checkpoint_sha256(model_dir: str, which: str = "best"):
    """SHA-256 (hex) of the index file of the checkpoint `load_trained(model_dir, which)` reads,
    which holds every tensor's checksum: another value once the run has trained on (its
    weights changed); None without a checkpoint."""
    path, _ = _chosen_checkpoint(model_dir, which)
    if path is None:
        return None
    with open(path + ".index", "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_trained(model_dir: str, which: str = "best", dataset_dir: str = None):
    """Rebuild a trained model from `model_dir` → (model, dataset).

    `which` = "best" (best validation checkpoint; falls back to the latest) or "latest".
    """
    from tfvisrec.training import building
    model_config, train_config = read_configs(model_dir)
    dataset = load_dataset(dataset_dir or train_config.dataset)
    model = building.build_model(model_config, dataset)
    path, _ = _chosen_checkpoint(model_dir, which)
    if path is None:
        raise DataError("no checkpoint found", model_dir)
    misfit = None
    with _tensorflow_logs_held_to_errors():
        try:
            tf.train.Checkpoint(model=model).read(path).expect_partial()
        except ValueError as e:
            misfit = str(e).splitlines()[0]
        except (tf.errors.OpError, IndexError) as e:   # IndexError: a data file cut short
            raise DataError(f"the checkpoint does not read back whole ({_last_line(e)}): its files are damaged; "
                            "try the other checkpoint (best or latest) or train again", path) from None
    if misfit is not None:
        raise DataError(f"the checkpoint does not fit the model built from the run's config and dataset "
                        f"({misfit}); {_misfit_hint(model_dir, train_config, dataset, dataset_dir)}", path)
    check_same_dataset(model_dir, dataset, "train again on it, or give the dataset it was trained on")
    return model, dataset
