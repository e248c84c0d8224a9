"""The model repository the embedded server serves: config, version polling, load/unload.

Mirrors TF Serving's ServerCore with its default, availability-preserving policy: every
`poll_wait_seconds` each model's base path is listed; versions the model_version_policy
wants are loaded (and warmed up) *before* versions it no longer wants are unloaded, and the
served map is swapped atomically. A request holds a reference to the version it resolved, so
an unload never fails a request in flight. A version that fails to load is retried up to
`max_load_retries` times, `load_retry_interval_seconds` apart (TF Serving's 5 and one minute:
a version folder still being copied in gets minutes to complete, not the seconds of a few
polls), while the old version keeps serving.
"""
import dataclasses
import gc
import logging
import os
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.config import model_server_config_pb2

from tfvisrec.client.status import InvalidArgument, NotFound, ServingError
from tfvisrec.serving import layout, model_config
from tfvisrec.serving.loaded import LoadedVersion
from tfvisrec.serving.poller import Poller

State = get_model_status_pb2.ModelVersionStatus.State
log = logging.getLogger("tfvisrec.server")


@dataclasses.dataclass
class VersionStatus:
    state: int
    error_code: int = 0          # google.rpc.Code; 0 = OK
    error_message: str = ""


class ModelRepository:
    """Loaded versions of the configured models, kept in step with the file system."""

    def __init__(self, config: model_server_config_pb2.ModelServerConfig,
                 poll_wait_seconds: float = 1.0, local_models_roots: Sequence[str] = (),
                 container_models_root: str = model_config.CONTAINER_MODELS_ROOT,
                 warmup: bool = True, max_load_retries: int = 5,
                 load_retry_interval_seconds: float = 60.0,
                 loader: Callable[[str, int, str], LoadedVersion] = LoadedVersion,
                 clock: Callable[[], float] = time.monotonic):
        self.poll_wait_seconds = poll_wait_seconds
        self.local_models_roots = tuple(local_models_roots)
        self.container_models_root = container_models_root
        self.warmup = warmup
        self.max_load_retries = max_load_retries
        self.load_retry_interval_seconds = load_retry_interval_seconds
        self._loader = loader
        self._clock = clock
        self._lock = threading.Lock()          # guards the maps below
        self._poll_lock = threading.Lock()     # one poll (or reload) at a time
        self._configs: Dict[str, model_server_config_pb2.ModelConfig] = {}
        self._served: Dict[str, Dict[int, LoadedVersion]] = {}
        self._status: Dict[str, Dict[int, VersionStatus]] = {}
        self._failures: Dict[Tuple[str, int], Tuple[int, float]] = {}  # (failed loads, when last)
        self._notes: Dict[str, Optional[str]] = {}   # the last warning about a model's versions
        self._poller = Poller(self.poll, "model-poller", "model repository poll failed")
        self._set_config(config)

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Load what is there now (blocking), then poll in a background thread."""
        self.poll()
        if self.poll_wait_seconds > 0:
            self._poller.start(self.poll_wait_seconds)

    def stop(self) -> None:
        self._poller.stop()

    def reload(self, config: model_server_config_pb2.ModelServerConfig) -> Dict[str, str]:
        """Apply a new ModelServerConfig (HandleReloadConfigRequest): models added are loaded,
        models removed are unloaded, synchronously. Returns {model: why} of the models this
        config added that serve no version (TF Serving answers such a reload with an error)."""
        with self._poll_lock:
            added = [c.name for c in config.model_config_list.config if c.name not in self._configs]
            self._set_config(config)
            removed = [name for name in self._served if name not in self._configs]
            for name in removed:
                self._unload(name, set(self._served[name]))
                with self._lock:
                    del self._served[name]
            # a model removed starts afresh when added again (as in TF Serving): its given-up
            # versions are tried again, its warnings given again
            self._failures = {key: n for key, n in self._failures.items() if key[0] in self._configs}
            self._notes = {name: note for name, note in self._notes.items() if name in self._configs}
        self.poll()
        waiting = set(self.waiting_models())
        return {name: self._not_serving_note(name) for name in added if name in waiting}

    def label_problem(self, config: model_server_config_pb2.ModelServerConfig) -> Optional[str]:
        """A version label of `config` naming a version not served now (TF Serving refuses such
        a reload: ServerCore::UpdateModelVersionLabelMap), or None."""
        with self._lock:
            served = {name: set(versions) for name, versions in self._served.items()}
        for c in config.model_config_list.config:
            for label, version in sorted(c.version_labels.items()):
                if version not in served.get(c.name, ()):
                    return (f"Request to assign label to version {version} of model {c.name}, "
                            f"which is not currently available for inference (label {label!r})")
        return None

    def _not_serving_note(self, name: str) -> str:
        """Why a configured model serves no version: its failed loads, or no version found."""
        with self._lock:
            failed = [f"version {v}: {s.error_message}" for v, s in sorted(self._status.get(name, {}).items())
                      if s.error_message]
            config = self._configs[name]
        return "; ".join(failed) if failed else self._notes.get(name) or self._missing_note(config)

    def _set_config(self, config):
        configs = {c.name: c for c in config.model_config_list.config}
        with self._lock:
            self._configs = configs

    # ---- polling -----------------------------------------------------------------------
    def poll(self) -> None:
        with self._poll_lock:
            with self._lock:
                configs = list(self._configs.values())
            for config in configs:
                if self._poller.stopping:
                    return
                self._sync(config)

    def base_path(self, config) -> str:
        return model_config.resolve_base_path(config.base_path, self.local_models_roots,
                                              self.container_models_root)

    def _missing_note(self, config) -> str:
        """Why model `config.name` has no versions, naming every folder looked in."""
        path = self.base_path(config)
        if os.path.isfile(os.path.join(path, layout.SAVED_MODEL_FILE)):
            return (f"no versions of model {config.name}: {path} is one version itself (it holds "
                    f"{layout.SAVED_MODEL_FILE}); the base path is the folder of the versions, "
                    f"{os.path.dirname(path.rstrip('/'))}")
        if os.path.isdir(path):
            return (f"no versions of model {config.name} found under {path} (versions are folders "
                    f"named by integers, e.g. {os.path.join(path, '1')}); {self._when('one appears')}")
        local = [os.path.abspath(p) for p in model_config.local_candidates(
            config.base_path, self.local_models_roots, self.container_models_root)]
        also = f", nor do the local folders tried for it: {', '.join(local)}" if local else ""
        return (f"no versions of model {config.name}: its base path {path} does not exist{also}; "
                f"{self._when('a version appears there')}")

    def _when(self, event: str, subject: str = "it is") -> str:
        """When a version not there yet is served: at the next poll, or (polling off) never."""
        if self.poll_wait_seconds > 0:
            return f"{subject} served once {event}"
        return (f"{subject} not served if {event} later: versions are not polled (poll wait 0); "
                "restart the server then")

    def _kept_note(self, config, versions) -> str:
        """Served versions whose folders were deleted, kept as nothing else could replace them."""
        return (f"model {config.name}: version(s) {', '.join(map(str, versions))} no longer under "
                f"{self.base_path(config)} but still served from memory, as no version its policy "
                "serves could replace them")

    def _absent_note(self, config, available) -> Optional[str]:
        """The versions a `specific` version policy names that are not on disk, or None."""
        absent = model_config.absent_versions(config.model_version_policy, available)
        if not absent:
            return None
        return (f"model {config.name}: version(s) {', '.join(map(str, absent))} of its 'specific' "
                f"version policy not found under {self.base_path(config)} (versions there: "
                f"{', '.join(map(str, sorted(available)))}); {self._when('it appears', 'each is')}")

    def waiting_models(self) -> List[str]:
        """The configured models with no version loaded."""
        with self._lock:
            return sorted(name for name in self._configs if not self._served.get(name))

    def _sync(self, config) -> None:
        name = config.name
        available = layout.version_dirs(self.base_path(config))
        wanted = model_config.served_versions(config.model_version_policy, available)
        current = dict(self._served.get(name, {}))
        for version in sorted(wanted - set(current)):
            if not self._may_try(name, version):
                continue
            loaded = self._load(name, version, available[version])
            if loaded is not None:
                current[version] = loaded
                with self._lock:  # publish each new version as soon as it is ready
                    self._served[name] = dict(current)
        stale = set(current) - wanted
        if stale and not (set(current) & wanted):
            stale = set()  # availability first: keep the old version if no new one loaded
        if stale:
            self._unload(name, stale)
        kept_gone = sorted(set(current) - stale - set(available))
        if kept_gone:
            note = self._kept_note(config, kept_gone)
        elif not available:
            note = self._missing_note(config)
        else:
            note = self._absent_note(config, available)
        if note and note != self._notes.get(name):  # warn once, not at every poll
            log.warning("%s", note)
        self._notes[name] = note

    def _load(self, name: str, version: int, path: str) -> Optional[LoadedVersion]:
        self._set_status(name, version, VersionStatus(State.LOADING))
        try:
            loaded = self._loader(name, version, path)
            replayed = loaded.warmup() if self.warmup else 0
        except Exception as e:  # a bad version must not take the server down
            code = e.code.value[0] if isinstance(e, ServingError) else 2  # 2 = UNKNOWN
            failures = self._failures.get((name, version), (0, 0.0))[0] + 1
            self._failures[(name, version)] = (failures, self._clock())
            self._set_status(name, version, VersionStatus(State.END, code,
                                                          f"loading {path} failed: {e}"))
            retries_left = self.max_load_retries - failures + 1
            then = (f"retrying in {self.load_retry_interval_seconds:g} s ({retries_left} "
                    f"retr{'y' if retries_left == 1 else 'ies'} left)" if retries_left > 0 else
                    "giving up on it (export it again as a new version, reload the config without "
                    "the model and then with it, or restart the server)")
            log.error("loading model %s version %d from %s failed: %s; %s", name, version, path,
                      e, then)
            return None
        self._set_status(name, version, VersionStatus(State.AVAILABLE))
        log.info("model %s version %d loaded from %s (%d warmup requests)", name, version,
                 path, replayed)
        return loaded

    def _may_try(self, name: str, version: int) -> bool:
        """Whether a load of this version is due: never tried, or failed fewer than
        1 + max_load_retries times and last `load_retry_interval_seconds` ago or more."""
        failures, last = self._failures.get((name, version), (0, 0.0))
        return failures == 0 or (failures <= self.max_load_retries and
                                 self._clock() - last >= self.load_retry_interval_seconds)

    def _unload(self, name: str, versions) -> None:
        for version in versions:
            self._set_status(name, version, VersionStatus(State.UNLOADING))
        with self._lock:
            self._served[name] = {v: m for v, m in self._served.get(name, {}).items()
                                  if v not in versions}
        for version in versions:
            self._set_status(name, version, VersionStatus(State.END))
            log.info("model %s version %d unloaded", name, version)
        gc.collect()

    def _set_status(self, name, version, status):
        with self._lock:
            self._status.setdefault(name, {})[version] = status

    # ---- lookups (request path) --------------------------------------------------------
    def model_names(self) -> List[str]:
        with self._lock:
            return sorted(self._configs)

    def get(self, model_spec) -> LoadedVersion:
        """The loaded version a ModelSpec asks for (name + version | version_label | latest);
        errors as ServerCore::ServableRequestFromModelSpec and BasicManager give them."""
        name = model_spec.name
        if not name:
            raise InvalidArgument("ModelSpec has no name specified.")
        with self._lock:
            versions = self._served.get(name, {})
            config = self._configs.get(name)
        choice = model_spec.WhichOneof("version_choice")
        if choice == "version_label":
            label = model_spec.version_label
            if config is None or label not in config.version_labels:
                raise InvalidArgument(f"Unrecognized servable version label: {label}")
            version = config.version_labels[label]
        elif choice == "version":
            version = model_spec.version.value
        else:
            if not versions:
                raise NotFound(f"Servable not found for request: Latest({name})")
            return versions[max(versions)]
        if version not in versions:
            raise NotFound(f"Servable not found for request: Specific({name}, {version})")
        return versions[version]

    def status(self, name: str, version: Optional[int] = None) -> List[Tuple[int, VersionStatus]]:
        """(version, status) pairs as GetModelStatus reports them; NOT_FOUND like TF Serving."""
        with self._lock:
            statuses = dict(self._status.get(name, {}))
        if version is not None:
            if version not in statuses:
                raise NotFound(f"Could not find version {version} of model {name}")
            return [(version, statuses[version])]
        if not statuses:
            raise NotFound(f"Could not find any versions of model {name}")
        return sorted(statuses.items())
