"""Shared fixtures: tiny datasets written in the real dataset-folder format."""
import contextlib
import gc
import os
import sys

import pytest

import tfvisrec  # noqa: F401  (Keras 2 before TensorFlow)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))


def pytest_configure(config):
    """No cyclic garbage collection in an xdist worker. A worker lives through hundreds of
    trained models, and a full collection of what TensorFlow leaves (functions, checkpoints)
    took up to a minute inside whichever test triggered it: `pytest -n 2` ran in 534 s with it,
    440 s without it (2026-12-06, both with a timing plugin; up to 3.4 GB a worker, of 24)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        gc.freeze()
        gc.disable()
        # the same for the model server's collection after it unloads a version (memory
        # hygiene for a long-running server): in a worker it scans the whole heap, and took
        # 67 s in one test of a run, 0.1 s alone
        from tfvisrec.serving import repository
        repository.gc = _NoCollection()


def pytest_unconfigure(config):
    """TensorFlow's autograph writes each function it converts to a `__autograph_generated_file*.py`
    in the temp folder and removes it at exit (atexit). An xdist worker ends by `os._exit`, so a
    suite left some 240 of them in /tmp a run (tests/training + tests/serving alone); a worker
    removes its own here."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for name, module in list(sys.modules.items()):
            if name.startswith("__autograph_generated_file") and getattr(module, "__file__", None):
                with contextlib.suppress(OSError):
                    os.remove(module.__file__)


class _NoCollection:
    @staticmethod
    def collect(*_):
        return 0


@pytest.fixture
def low_rank_dataset(tmp_path):
    """A 60-user × 40-item dataset drawn from a rank-2 preference model (no images)."""
    from tiny_worlds import write_low_rank_dataset
    return write_low_rank_dataset(str(tmp_path / "lowrank"))


@pytest.fixture(scope="session")
def explain_run(tmp_path_factory):
    """A tiny trained `saers_fixed` run with a real attribute classifier (tests/explain_world.py);
    shared by the explain command line's and the explain signatures' tests (xdist group "explain")."""
    from explain_world import make_explain_run
    return make_explain_run(str(tmp_path_factory.mktemp("explain")))


@pytest.fixture
def tensorflow_log():
    """The records TensorFlow's Python logger ("tensorflow") emits during the test, as a list."""
    import logging
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
