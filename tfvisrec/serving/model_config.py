"""`models.config`: TF Serving's ModelServerConfig text proto, read, written and applied.

`python -m tfvisrec.export` adds (or replaces) one `config { ... }` entry per exported model;
TF Serving (`--model_config_file`) and the embedded server read the same file. Base paths
written for the container start with `/models/` (export/ is mounted there); the embedded
server maps that prefix to a local folder (`resolve_base_path`). Exports into one export folder
may run at once: `upsert` holds an exclusive lock on `.models.config.lock` beside the file
across its read, merge and rename, so each adds its entry.
"""
import os
from typing import Iterable, List, Optional, Sequence, Set

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tfvisrec import atomic
from tfvisrec.data.errors import DataError
from tfvisrec.lock_file import exclusive_lock

CONTAINER_MODELS_ROOT = "/models"


def parse(text: str, path: str = "<models.config>") -> model_server_config_pb2.ModelServerConfig:
    config = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as e:
        raise DataError(f"not a valid ModelServerConfig text proto: {e}", path) from None
    if not config.HasField("model_config_list"):
        raise DataError("expected a model_config_list { config { ... } }", path)
    wrong = problem(config)
    if wrong:
        raise DataError(wrong, path)
    return config


def problem(config: model_server_config_pb2.ModelServerConfig) -> Optional[str]:
    """What is wrong with the entries of a model_config_list (None when nothing is): read from
    a file, or sent to HandleReloadConfigRequest."""
    names = [c.name for c in config.model_config_list.config]
    for c in config.model_config_list.config:
        if not c.name or not c.base_path:
            return "every config needs a name and a base_path"
        if c.model_platform not in ("", "tensorflow"):
            return f"model {c.name!r}: platform {c.model_platform!r} is not 'tensorflow'"
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        return f"model name(s) configured twice: {duplicates}"
    return None


def load(path: str) -> model_server_config_pb2.ModelServerConfig:
    if not os.path.exists(path):
        raise DataError("model config file does not exist", path)
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), path)


def to_text(config: model_server_config_pb2.ModelServerConfig) -> str:
    return text_format.MessageToString(config)


def one_line(message) -> str:
    """A config message as text on one line (for log lines)."""
    return text_format.MessageToString(message, as_one_line=True)


def model_entry(name: str, base_path: str, num_versions: int = 1,
                labels=None) -> model_server_config_pb2.ModelConfig:
    """One `config { name base_path model_platform model_version_policy }` entry."""
    entry = model_server_config_pb2.ModelConfig(name=name, base_path=base_path,
                                                model_platform="tensorflow")
    entry.model_version_policy.latest.num_versions = num_versions
    for label, version in (labels or {}).items():
        entry.version_labels[label] = int(version)
    return entry


def single_model(name: str, base_path: str) -> model_server_config_pb2.ModelServerConfig:
    """The config `--model_name/--model_base_path` stand for."""
    config = model_server_config_pb2.ModelServerConfig()
    config.model_config_list.config.append(model_entry(name, base_path))
    return config


def upsert(path: str, entry: model_server_config_pb2.ModelConfig) -> model_server_config_pb2.ModelConfig:
    """Add `entry` to the config file at `path`, replacing one of the same name: that one keeps
    what else it sets (an operator's version policy, e.g. a rollback pinned by `specific`,
    and version labels) and takes `entry`'s base_path and platform; atomic, and one update at
    a time (another process's waits). Returns the entry written."""
    with _updating(path):
        if os.path.exists(path):
            config = load(path)
        else:
            config = model_server_config_pb2.ModelServerConfig()
            config.model_config_list.SetInParent()
        entries = config.model_config_list.config
        old = next((c for c in entries if c.name == entry.name), None)
        if old is not None:
            merged = model_server_config_pb2.ModelConfig()
            merged.CopyFrom(old)
            merged.base_path, merged.model_platform = entry.base_path, entry.model_platform
            entry = merged
        kept = [c for c in entries if c.name != entry.name]
        del entries[:]
        entries.extend(kept + [entry])
        atomic.write_text(path, to_text(config))
    return entry


def _updating(path: str):
    """An exclusive lock on `.<name>.lock` beside the config file `path`. Without it two exports
    each read the old file and the second's rename dropped the first's entry."""
    folder, name = os.path.split(os.path.abspath(path))
    return exclusive_lock(os.path.join(folder, f".{name}.lock"))


def resolve_base_path(base_path: str, local_models_roots: Sequence[str] = (),
                      container_root: str = CONTAINER_MODELS_ROOT) -> str:
    """The local folder of a configured base path.

    A container path (`/models/<name>`) that does not exist here is looked up under each of
    `local_models_roots` in turn (e.g. the config file's folder, then `export/`), so one
    models.config serves both TF Serving in Docker and the embedded server."""
    if os.path.exists(base_path):
        return base_path
    return next((path for path in local_candidates(base_path, local_models_roots, container_root)
                 if os.path.exists(path)), base_path)


def local_candidates(base_path: str, local_models_roots: Sequence[str] = (),
                     container_root: str = CONTAINER_MODELS_ROOT) -> List[str]:
    """The local folders `resolve_base_path` tries for a container path (none for another path)."""
    prefix = container_root.rstrip("/") + "/"
    if not base_path.startswith(prefix):
        return []
    return [os.path.join(root, base_path[len(prefix):]) for root in local_models_roots]


def served_versions(policy, available: Iterable[int]) -> Set[int]:
    """The versions a `model_version_policy` serves among `available` (default: latest 1)."""
    available = sorted(set(available))
    which = policy.WhichOneof("policy_choice")
    if which == "all":
        return set(available)
    if which == "specific":
        return set(policy.specific.versions) & set(available)
    count = policy.latest.num_versions if which == "latest" and policy.latest.num_versions else 1
    return set(available[-count:]) if available else set()


def absent_versions(policy, available: Iterable[int]) -> List[int]:
    """The versions a `specific` policy names that are not among `available` (TF Serving warns
    of each: AspireSpecificVersions); none for the other policies."""
    if policy.WhichOneof("policy_choice") != "specific":
        return []
    return sorted(set(policy.specific.versions) - set(available))
