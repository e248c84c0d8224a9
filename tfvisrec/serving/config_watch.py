"""`--model_config_file_poll_wait_seconds`: the models.config re-read while serving.

As TF Serving's flag of that name: every `poll_wait_seconds` the file is read again and, when
its text changed, applied like a HandleReloadConfigRequest (models added are loaded, models
removed are unloaded, policies and labels take effect), so a model `python -m tfvisrec.export`
adds to `export/models.config` is served without a restart. A file that no longer parses is
logged once and changes nothing; one whose version labels name versions not served now
(refused by TF Serving too) is logged once and tried again at each poll, until they are served.
Meanwhile the models keep serving as configured before.
"""
import logging
from typing import Callable, Dict, Optional, Tuple

from tensorflow_serving.config import model_server_config_pb2

from tfvisrec.data.errors import DataError
from tfvisrec.serving import model_config
from tfvisrec.serving.poller import Poller

log = logging.getLogger("tfvisrec.server")


class ConfigFileWatcher:
    """Applies `path`'s config through `apply` (ModelRepository.reload) when its text changes."""

    def __init__(self, path: str, apply: Callable[[model_server_config_pb2.ModelServerConfig],
                                                  Dict[str, str]],
                 poll_wait_seconds: float,
                 label_problem: Optional[Callable[[model_server_config_pb2.ModelServerConfig],
                                                  Optional[str]]] = None):
        self.path = path
        self.poll_wait_seconds = poll_wait_seconds
        self._apply = apply
        self._label_problem = label_problem
        self._seen = self._read()[0]     # the text the server started with
        self._refused: Optional[str] = None   # a text whose labels name versions not served
        self._poller = Poller(self.check, "model-config-poller", "model config poll failed")

    def _read(self) -> Tuple[Optional[str], str]:
        """(the file's text, "") or (None, why it cannot be read)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                return f.read(), ""
        except (OSError, UnicodeDecodeError) as e:
            return None, str(e)

    def check(self) -> None:
        """Read the file once; apply it if its text changed since the last check."""
        text, problem = self._read()
        if text == self._seen:
            return
        try:
            if problem:
                raise DataError(f"cannot be read: {problem}", self.path)
            config = model_config.parse(text, self.path)
        except DataError as e:
            self._seen = text
            log.error("model config not reloaded, the models serve as before: %s", e)
            return
        wrong = self._label_problem(config) if self._label_problem else None
        if wrong:   # tried again at each poll: the version may be served soon
            if text != self._refused:
                log.error("model config not reloaded yet, the models serve as before: %s: %s",
                          self.path, wrong)
            self._refused = text
            return
        self._seen = text
        not_serving = self._apply(config)
        log.info("model config %s reloaded: serving %s", self.path,
                 ", ".join(c.name for c in config.model_config_list.config))
        for name, why in not_serving.items():
            log.error("model %s of %s serves no version: %s", name, self.path, why)

    def start(self) -> None:
        """`check` every `poll_wait_seconds` in a background thread, until `stop`."""
        self._poller.start(self.poll_wait_seconds)

    def stop(self) -> None:
        self._poller.stop()
