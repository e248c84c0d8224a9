"""An export adds its model's entry to models.config; an entry there already keeps what an
operator set in it (a version policy pinning a rollback, version labels), instead of being
reset to `latest 1` without labels by the next export (which TF Serving, polling the file,
then applied: the pinned version replaced, clients asking for a label refused)."""
import contextlib
import threading

from tensorflow_serving.config import model_server_config_pb2

from tfvisrec.serving import model_config


def test_an_existing_entry_keeps_its_policy_and_labels(tmp_path):
    path = str(tmp_path / "models.config")
    pinned = model_config.model_entry("shop", "/models/shop", labels={"stable": 3})
    pinned.model_version_policy.specific.versions.extend([3, 4])
    model_config.upsert(path, pinned)
    model_config.upsert(path, model_config.model_entry("other", "/models/other"))

    written = model_config.upsert(path, model_config.model_entry("shop", "/models/shop2"))
    config = model_config.load(path)
    assert [c.name for c in config.model_config_list.config] == ["other", "shop"]
    entry = config.model_config_list.config[1]
    assert list(entry.model_version_policy.specific.versions) == [3, 4]
    assert dict(entry.version_labels) == {"stable": 3}
    assert entry.base_path == "/models/shop2" and entry.model_platform == "tensorflow"
    assert entry == written


def test_a_new_entry_serves_the_latest_version(tmp_path):
    path = str(tmp_path / "models.config")
    written = model_config.upsert(path, model_config.model_entry("shop", "/models/shop"))
    assert written.model_version_policy.latest.num_versions == 1
    assert model_config.load(path).model_config_list.config[0] == written
    assert isinstance(written, model_server_config_pb2.ModelConfig)


def test_two_exports_at_once_keep_both_entries(tmp_path, monkeypatch):
    # each read the file before the other wrote it; the second rename dropped the first's entry
    path = str(tmp_path / "models.config")
    model_config.upsert(path, model_config.model_entry("shop", "/models/shop"))
    both_read = threading.Barrier(2, timeout=1)   # with the lock held, the second cannot read: broken
    load = model_config.load

    def load_while_the_other_export_reads(*args):
        config = load(*args)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return config

    monkeypatch.setattr(model_config, "load", load_while_the_other_export_reads)
    exports = [threading.Thread(target=model_config.upsert,
                                args=(path, model_config.model_entry(name, f"/models/{name}"))) for name in "ab"]
    for export in exports:
        export.start()
    for export in exports:
        export.join()
    names = sorted(c.name for c in model_config.load(path).model_config_list.config)
    assert names == ["a", "b", "shop"]
