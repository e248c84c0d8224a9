"""A configured model with no versions yet: the warning names every folder looked in, the
server says it waits for it, and the model is served once a version appears (TF Serving's
behaviour: it keeps polling); a `specific` version policy naming a version not on disk says so
(TF Serving warns too) instead of a silent "(no version loaded yet)"; a served version deleted
from disk, kept serving, is not called unserved; a base path that is a version folder itself
names the folder to pass; with polling off, the warning says a restart is needed."""
import logging
import os

from tensorflow_serving.apis import model_pb2

from tfvisrec.serving import model_config
from tfvisrec.serving.repository import ModelRepository


class _Loaded:
    def __init__(self, name, version, path):
        self.path = path

    def warmup(self):
        return 0


def _repository(base_path, roots):
    return ModelRepository(model_config.single_model("shop", base_path), poll_wait_seconds=0,
                           local_models_roots=roots, loader=_Loaded)


def test_a_container_path_names_the_local_folders_tried(tmp_path, caplog):
    roots = [str(tmp_path / "config_dir"), str(tmp_path / "export")]
    repository = _repository("/models/shop", roots)
    with caplog.at_level(logging.WARNING):
        repository.start()
    note = caplog.text
    assert "no versions of model shop" in note and "/models/shop" in note, note
    assert all(os.path.join(root, "shop") in note for root in roots), note
    assert repository.waiting_models() == ["shop"]

    os.makedirs(tmp_path / "export" / "shop" / "3")
    repository.poll()
    assert repository.waiting_models() == []
    assert repository.get(model_pb2.ModelSpec(name="shop")).path == str(tmp_path / "export" / "shop" / "3")


def test_an_existing_folder_without_versions_says_what_a_version_is(tmp_path, caplog):
    os.makedirs(tmp_path / "shop" / "not-a-version")
    repository = _repository(str(tmp_path / "shop"), [])
    with caplog.at_level(logging.WARNING):
        repository.start()
    assert "versions are folders named by integers" in caplog.text, caplog.text
    assert repository.waiting_models() == ["shop"]


def test_a_specific_version_not_on_disk_is_named_once(tmp_path, caplog):
    for version in ("1", "2"):
        os.makedirs(tmp_path / "shop" / version)
    config = model_config.single_model("shop", str(tmp_path / "shop"))
    entry = config.model_config_list.config[0]
    entry.model_version_policy.specific.versions.append(3)
    repository = ModelRepository(config, poll_wait_seconds=0, loader=_Loaded)
    with caplog.at_level(logging.WARNING):
        repository.start()
        repository.poll()
    assert caplog.text.count("version(s) 3 of its 'specific' version policy not found") == 1, caplog.text
    assert "(versions there: 1, 2)" in caplog.text, caplog.text
    assert repository.waiting_models() == ["shop"]

    os.makedirs(tmp_path / "shop" / "3")
    repository.poll()
    assert repository.get(model_pb2.ModelSpec(name="shop")).path == str(tmp_path / "shop" / "3")


def test_a_served_version_deleted_from_disk_is_said_to_be_still_served(tmp_path, caplog):
    os.makedirs(tmp_path / "shop" / "1")
    repository = _repository(str(tmp_path / "shop"), [])
    repository.start()
    os.rmdir(tmp_path / "shop" / "1")
    with caplog.at_level(logging.WARNING):
        repository.poll()
        repository.poll()
    assert caplog.text.count("version(s) 1 no longer under") == 1, caplog.text
    assert "still served from memory" in caplog.text and "it is served once" not in caplog.text, caplog.text
    assert repository.get(model_pb2.ModelSpec(name="shop")).path == str(tmp_path / "shop" / "1")


def test_a_base_path_that_is_a_version_folder_names_the_folder_to_pass(tmp_path, caplog):
    os.makedirs(tmp_path / "shop" / "1" / "variables")
    (tmp_path / "shop" / "1" / "saved_model.pb").write_bytes(b"")
    repository = _repository(str(tmp_path / "shop" / "1"), [])
    with caplog.at_level(logging.WARNING):
        repository.start()
    assert (f"{tmp_path}/shop/1 is one version itself (it holds saved_model.pb); the base path is "
            f"the folder of the versions, {tmp_path}/shop") in caplog.text, caplog.text


def test_without_polling_the_warning_says_a_restart_is_needed(tmp_path, caplog):
    os.makedirs(tmp_path / "shop")
    repository = _repository(str(tmp_path / "shop"), [])   # poll_wait_seconds=0: load once
    with caplog.at_level(logging.WARNING):
        repository.start()
    assert "it is not served if one appears later: versions are not polled (poll wait 0); " \
           "restart the server then" in caplog.text, caplog.text
    assert "served once" not in caplog.text, caplog.text
