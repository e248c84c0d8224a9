"""A background thread that calls a function every few seconds until stopped: the model
repository's version polling and the models.config re-read (`--model_config_file_poll_wait_seconds`).

A call that raises is logged, with its traceback, and the next one comes at the next interval:
the server keeps serving what it has loaded meanwhile.
"""
import logging
import threading
from typing import Callable, Optional

log = logging.getLogger("tfvisrec.server")


class Poller:
    """Calls `poll()` every `wait_seconds` in a daemon thread named `name`, from `start()` until
    `stop()`; a failed call is logged as `failure` ("model repository poll failed")."""

    def __init__(self, poll: Callable[[], None], name: str, failure: str):
        self._poll = poll
        self.name = name
        self.failure = failure
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def stopping(self) -> bool:
        """`stop()` was called: a long poll may return early."""
        return self._stop.is_set()

    def start(self, wait_seconds: float) -> None:
        """The first call after `wait_seconds`, then every `wait_seconds` after the last one ended."""
        self._thread = threading.Thread(target=self._loop, args=(wait_seconds,), name=self.name, daemon=True)
        self._thread.start()

    def _loop(self, wait_seconds: float) -> None:
        while not self._stop.wait(wait_seconds):
            try:
                self._poll()
            except Exception:  # keep serving what is loaded; the next poll retries
                log.exception(self.failure)

    def stop(self) -> None:
        """No call after this one; waits for a call in progress to end (also when never started)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
