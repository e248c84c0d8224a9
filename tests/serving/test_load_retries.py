"""A version that fails to load is retried `load_retry_interval_seconds` apart, as TF Serving
does (one minute, 5 retries): a version folder still being copied in (cp -r, rsync) when a
poll first sees it is served once it is complete, instead of being given up after the few
seconds of a few polls."""
import logging
import os

from tensorflow_serving.apis import model_pb2

from tfvisrec.serving import model_config
from tfvisrec.serving.repository import ModelRepository


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class _Loaded:
    """Loads a version folder holding saved_model.pb (counting every attempt)."""
    attempts = []

    def __init__(self, name, version, path):
        _Loaded.attempts.append(version)
        if not os.path.exists(os.path.join(path, "saved_model.pb")):
            raise OSError(f"no saved_model.pb in {path}")
        self.path = path

    def warmup(self):
        return 0


def _version(base, number, complete=True):
    os.makedirs(base / str(number))
    if complete:
        (base / str(number) / "saved_model.pb").write_bytes(b"")


def _repository(base, clock, **kwargs):
    _Loaded.attempts = []
    return ModelRepository(model_config.single_model("shop", str(base)), poll_wait_seconds=0,
                           loader=_Loaded, clock=clock, **kwargs)


def _served_path(repository):
    return repository.get(model_pb2.ModelSpec(name="shop")).path


def test_a_version_still_being_copied_in_is_served_once_complete(tmp_path):
    clock, base = _Clock(), tmp_path / "shop"
    _version(base, 1)
    repository = _repository(base, clock)
    repository.start()
    _version(base, 2, complete=False)      # the copy has made the folder, not its files yet
    for _ in range(10):                    # ten polls in the same second: one attempt
        repository.poll()
    assert _Loaded.attempts == [1, 2]
    assert _served_path(repository) == str(base / "1")
    (base / "2" / "saved_model.pb").write_bytes(b"")   # the copy completes
    clock.now += 59
    repository.poll()
    assert _served_path(repository) == str(base / "1")
    clock.now += 1
    repository.poll()
    assert _served_path(repository) == str(base / "2")
    assert _Loaded.attempts == [1, 2, 2]


def test_a_version_that_never_loads_is_given_up_after_the_retries(tmp_path, caplog):
    clock, base = _Clock(), tmp_path / "shop"
    _version(base, 1)
    repository = _repository(base, clock, max_load_retries=2, load_retry_interval_seconds=5)
    repository.start()
    _version(base, 2, complete=False)
    with caplog.at_level(logging.ERROR, logger="tfvisrec.server"):
        repository.poll()
        for _ in range(6):
            clock.now += 5
            repository.poll()
    assert _Loaded.attempts == [1, 2, 2, 2]   # the first attempt and 2 retries
    assert "retrying in 5 s (2 retries left)" in caplog.text, caplog.text
    assert "retrying in 5 s (1 retry left)" in caplog.text, caplog.text
    assert "giving up on it" in caplog.text, caplog.text
    assert _served_path(repository) == str(base / "1")
