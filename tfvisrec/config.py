"""Hyper-parameters as dataclasses whose fields become absl flags.

Every hyper-parameter is a flag (flagfiles in `configs/` are the experiment format, as in
TF Model Garden); the dataclasses give models and the trainer typed, testable configs.
Adding a hyper-parameter = adding one field, with its help text, to the dataclass that reads
it: `TrainConfig` here for the training loop, a model family's config beside its model.
"""
import contextlib
import dataclasses
import math
from typing import Any, Dict, Iterable, List, Optional, Type

from absl import app, flags

# `define_flags` and `define_once` define flags on behalf of their caller: absl then counts the
# flags as the calling command's own (key flags), so its `--help` lists them, not this module's.
flags.disclaim_key_flags()


class UsageError(app.UsageError):
    """Bad command-line use (a missing or contradictory flag): absl prints the command's usage
    and the message, and the command exits with status 2, as argparse's and the `error:` lines'
    do, rather than absl's default 1."""

    def __init__(self, message, exitcode=2):
        super().__init__(message, exitcode)


HELP_FLAGS = ("help", "helpshort", "helpfull", "helpxml", "?")


def asked_for_help(argv) -> bool:
    """Whether the command line `argv` (program name first) asks for absl's help."""
    return any(arg.lstrip("-").split("=", 1)[0] in HELP_FLAGS for arg in argv[1:] if arg.startswith("-"))


@contextlib.contextmanager
def help_exits_zero(argv):
    """absl's help flags print the help, then exit with status 1: here with 0, as every other
    command line's `--help` does."""
    try:
        yield
    except SystemExit as e:
        if e.code == 1 and asked_for_help(argv):
            raise SystemExit(0) from None
        raise


def parse_flags(argv):
    """The `flags_parser` of every absl command line (`app.run(main, flags_parser=parse_flags)`):
    absl's own parsing and messages, with the exit statuses README promises: 0 after `--help`,
    `--helpshort` or `--helpfull`, and 2 for an unknown flag or a bad value, as for any other
    bad use (absl exits 1 for both)."""
    try:
        return app.parse_flags_with_usage(argv)
    except SystemExit as e:
        if e.code == 1:
            raise SystemExit(0 if asked_for_help(argv) else 2) from None
        raise


def field(default, help_text: str):
    """A dataclass field that becomes a flag with `help_text`."""
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass
class ModelConfig:
    """What every model reads. Each model family extends it with its own dataclass, declared
    beside the model and named by its `config_class` (e.g. `models/vbpr.py`'s `VBPRConfig`);
    `tfvisrec/models/model_flags.py` turns all of them into flags."""

    model: str = field("bprmf", "Registered model name (see `python -m tfvisrec.train --list_models`).")
    seed: int = field(42, "Random seed for initialisation and data order.")
    num_negatives: int = field(1, "Negatives sampled per positive (WARP samples several).")

    def problems(self) -> List[str]:
        """What is out of range in the settings every model shares ([] when nothing)."""
        return [] if self.num_negatives >= 1 else [f"--num_negatives must be at least 1, got {self.num_negatives}"]


@dataclasses.dataclass
class TrainConfig:
    """Training-loop settings shared by all models."""

    dataset: str = field("", "Dataset folder written by `python -m tfvisrec.data ingest` (or another "
                         "`tfvisrec.data` command); empty: the built-in synthetic world, built once into "
                         "--default_world_cache.")
    model_dir: str = field("runs/model", "Where checkpoints, TensorBoard logs and the run summary go.")
    epochs: int = field(20, "Maximum training epochs.")
    batch_size: int = field(256, "Global batch size (split across replicas).")
    optimizer: str = field("adam", "Optimizer: adam | sgd | adagrad | rmsprop.")
    learning_rate: float = field(0.01, "Learning rate.")
    steps_per_epoch: int = field(0, "Batches per epoch; 0 = one pass over the training interactions.")
    steps_per_loop: int = field(0, "Training steps run inside one tf.function call (fewer Python round trips; the progress bar and loss summaries update per call, and a Ctrl-C is answered between calls); 0 = 1 for a model that runs a CNN on the photos of every batch, else 20.")
    checkpoint_every: int = field(200, "Save a checkpoint every N steps (and at each epoch end).")
    eval_every_epochs: int = field(1, "Validate every N epochs.")
    patience: int = field(5, "Early stopping: epochs without validation-AUC improvement before stopping (or, in a staged model's first stage, before its next stage starts); 0 = never.")
    resume: bool = field(True, "Continue from the latest checkpoint in model_dir if there is one.")
    strategy: str = field("default", "Distribution: default | mirrored | multi_worker (TF_CONFIG).")
    num_cpu_devices: int = field(0, "Split the CPU into N logical devices (to run `mirrored` on a CPU-only machine).")
    image_cache: str = field("auto", "Decoded image cache: memory | decode | auto (memory when it fits in --image_cache_mb).")
    image_cache_mb: int = field(4096, "Largest in-memory uint8 image cache for --image_cache=auto.")
    eval_negatives: int = field(0, "Validation protocol: 0 = full-catalogue AUC, N = sampled AUC with N negatives.")
    max_steps: int = field(0, "Stop after this many steps in total (0 = no limit); for tests and smoke runs.")
    verbose: int = field(1, "0 = quiet, 1 = a live progress bar on a terminal (one line per epoch when stdout is a file or pipe; the validation's bar on stderr when that is a terminal), 2 = one line per epoch.")

    def problems(self) -> List[str]:
        """What is out of range here ([] when nothing), each naming its flag."""
        at_least = {"epochs": 1, "batch_size": 1, "steps_per_epoch": 0, "steps_per_loop": 0,
                    "checkpoint_every": 0, "eval_every_epochs": 1, "patience": 0, "num_cpu_devices": 0,
                    "image_cache_mb": 0, "eval_negatives": 0, "max_steps": 0}
        found = [f"--{name} must be at least {low}, got {getattr(self, name)}"
                 for name, low in at_least.items() if getattr(self, name) < low]
        if not self.learning_rate > 0 or math.isinf(self.learning_rate):
            found.append(f"--learning_rate must be a positive number, got {self.learning_rate}")
        if self.image_cache not in ("memory", "decode", "auto"):
            found.append(f"--image_cache must be memory, decode or auto, got {self.image_cache!r}")
        if self.verbose not in (0, 1, 2):
            found.append(f"--verbose must be 0, 1 or 2, got {self.verbose}")
        return found


def define_flags(*config_classes: Type, module_name: Optional[str] = None,
                 help_suffix: Optional[Dict[str, str]] = None,
                 only: Optional[Iterable[str]] = None, flag_values=None) -> None:
    """Define one absl flag per field of each dataclass (skips flags defined already).

    `module_name` groups the flags in `--helpfull`; `help_suffix` adds text to some flags'
    help; `only` limits the fields defined to these names; `flag_values` defaults to FLAGS.
    """
    fv = flag_values if flag_values is not None else flags.FLAGS
    for cls in config_classes:
        for f in dataclasses.fields(cls):
            if f.name in fv or (only is not None and f.name not in only):
                continue
            help_text = f.metadata.get("help", f.name) + (help_suffix or {}).get(f.name, "")
            definer = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
                       float: flags.DEFINE_float, str: flags.DEFINE_string}[field_type(f)]
            definer(f.name, f.default, help_text, module_name=module_name, flag_values=fv)


def define_once(definer, name: str, default, help_text: str, **kwargs) -> None:
    """`definer(name, default, help_text, ...)` unless a flag `name` exists already (command
    lines that share flags such as --model_dir can then live in one process, e.g. tests)."""
    if name not in flags.FLAGS:
        definer(name, default, help=help_text, **kwargs)


def from_flags(cls: Type, flag_values=None):
    """Build a config dataclass from parsed flags."""
    fv = flag_values or flags.FLAGS
    return cls(**{f.name: getattr(fv, f.name) for f in dataclasses.fields(cls)})


def to_dict(config) -> Dict[str, Any]:
    return dataclasses.asdict(config)


def field_type(f) -> type:
    """The Python type of a dataclass field (bool, int, float or str)."""
    t = f.type
    if isinstance(t, str):
        t = {"bool": bool, "int": int, "float": float, "str": str}[t]
    return t


def read_flagfile(path: str, flag_names: Iterable[str] = ()) -> Dict[str, str]:
    """`--name=value` lines of an absl flagfile (comments and blank lines skipped; nested
    `--flagfile=` lines are followed relative to the working directory, as absl does).
    A bare `--noname` reads as name=false unless `noname` is itself one of `flag_names`."""
    flag_names = set(flag_names)
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
                values.update(read_flagfile(value, flag_names))
            elif not equals:  # boolean flag: --name or --noname
                negated = name.startswith("no") and name not in flag_names
                values[name[2:] if negated else name] = "false" if negated else "true"
            else:
                values[name] = value
    return values


def from_values(cls: Type, values: Dict[str, Any], source: str):
    """`cls` with the fields named in `values` (strings from a flagfile, or typed values);
    `source` names where they came from in errors."""
    kwargs = {f.name: convert(field_type(f), values[f.name], source, f.name)
              for f in dataclasses.fields(cls) if f.name in values}
    return cls(**kwargs)


def convert(kind: type, value, path: str, name: str):
    """`value` (a flagfile string or a typed value) as `kind`; a ValueError naming `--name`."""
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
