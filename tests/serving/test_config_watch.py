"""--model_config_file_poll_wait_seconds (TF Serving's flag, in the Docker files): a models.config
changed while serving (a model `export` added) is applied as a reload, so the new model is
served without a restart; a file that no longer parses is logged once and changes nothing, one
that labels a version not served yet is logged once and applied once that version is served."""
import logging
import os

from absl import flags
import pytest
from tensorflow_serving.apis import model_pb2

from tfvisrec import server as server_cli
from tfvisrec.client.status import InvalidArgument
from tfvisrec.config import UsageError
from tfvisrec.serving import model_config
from tfvisrec.serving.config_watch import ConfigFileWatcher
from tfvisrec.serving.repository import ModelRepository


class _Loaded:
    def __init__(self, name, version, path):
        self.path = path

    def warmup(self):
        return 0


def _write(path, *names):
    config = model_config.single_model(names[0], f"/models/{names[0]}")
    for name in names[1:]:
        config.model_config_list.config.append(model_config.model_entry(name, f"/models/{name}"))
    with open(path, "w", encoding="utf-8") as f:
        f.write(model_config.to_text(config))


@pytest.fixture
def served(tmp_path):
    for name in ("shop", "new"):
        os.makedirs(tmp_path / name / "1")
    path = str(tmp_path / "models.config")
    _write(path, "shop")
    repository = ModelRepository(model_config.load(path), poll_wait_seconds=0,
                                 local_models_roots=[str(tmp_path)], loader=_Loaded)
    repository.start()
    return path, repository, ConfigFileWatcher(path, repository.reload, poll_wait_seconds=60)


def _serves(repository, name):
    return bool(repository.get(model_pb2.ModelSpec(name=name)))


def test_a_model_added_to_the_file_is_served_without_a_restart(served):
    path, repository, watcher = served
    watcher.check()
    assert repository.model_names() == ["shop"]
    _write(path, "shop", "new")    # what `python -m tfvisrec.export --export_base export/new` does
    watcher.check()
    assert repository.model_names() == ["new", "shop"] and _serves(repository, "new")


def test_a_file_that_no_longer_parses_changes_nothing_and_is_logged_once(served, caplog):
    path, repository, watcher = served
    with open(path, "a", encoding="utf-8") as f:
        f.write("model_config_list {\n")
    with caplog.at_level(logging.ERROR, logger="tfvisrec.server"):
        watcher.check()
        watcher.check()
    assert caplog.text.count("model config not reloaded, the models serve as before") == 1, caplog.text
    assert repository.model_names() == ["shop"] and _serves(repository, "shop")


def test_the_poll_flag_goes_with_a_config_file(tmp_path):
    server_cli.define_flags()
    try:
        flags.FLAGS(["server", f"--model_base_path={tmp_path}/shop",
                     "--model_config_file_poll_wait_seconds=60"])
        with pytest.raises(UsageError, match="goes with --model_config_file"):
            server_cli.server_config()
    finally:
        flags.FLAGS.unparse_flags()


def test_a_label_on_a_version_not_served_waits_for_it(served, caplog):
    path, repository, _ = served
    watcher = ConfigFileWatcher(path, repository.reload, 60, repository.label_problem)
    config = model_config.load(path)
    config.model_config_list.config[0].version_labels["stable"] = 7
    with open(path, "w", encoding="utf-8") as f:
        f.write(model_config.to_text(config))
    with caplog.at_level(logging.ERROR, logger="tfvisrec.server"):
        watcher.check()
        watcher.check()
    assert caplog.text.count("label to version 7 of model shop, which is not currently available") == 1, \
        caplog.text
    with pytest.raises(InvalidArgument, match="Unrecognized servable version label: stable"):
        repository.get(model_pb2.ModelSpec(name="shop", version_label="stable"))
    os.makedirs(os.path.join(os.path.dirname(path), "shop", "7"))   # version 7 arrives ...
    repository.poll()
    watcher.check()                                                 # ... and the label applies
    assert repository.get(model_pb2.ModelSpec(name="shop", version_label="stable")).path.endswith("7")
