"""An export's version and its models.config entry: a Ctrl-C cannot part them, and a version a
killed export left without its entry gets it from the next export of that model."""
import os
import signal

import pytest

from tfvisrec import export
from tfvisrec.interruption import Interrupted
from tfvisrec.serving import layout, model_config

pytestmark = pytest.mark.xdist_group("serving")  # share the session world


def _entries(path):
    return [c.name for c in model_config.load(path).model_config_list.config] if os.path.exists(path) else []


def test_a_ctrl_c_just_after_the_rename_still_adds_the_models_config_entry(world, tmp_path, monkeypatch):
    dataset, models = world
    base, config = str(tmp_path / "mf"), str(tmp_path / "models.config")
    publish = export._publish

    def publish_then_ctrl_c(tmp, final):
        published = publish(tmp, final)
        os.kill(os.getpid(), signal.SIGINT)
        return published

    monkeypatch.setattr(export, "_publish", publish_then_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a command line
    try:
        with pytest.raises(KeyboardInterrupt) as raised:
            export.export_model(models["mf"], dataset, base, top_k=5, models_config=config)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert os.listdir(base) == ["1"]
    assert _entries(config) == ["mf"]   # it was left out: a first export's version served by nothing
    assert isinstance(raised.value, Interrupted)
    assert raised.value.note == f"interrupted: {base}/1 was published and its entry added to {config}"


def test_a_version_left_without_its_entry_gets_it_from_the_next_export(world, tmp_path, monkeypatch):
    dataset, models = world
    base, config = str(tmp_path / "mf"), str(tmp_path / "models.config")
    upsert = model_config.upsert

    def killed(*args, **kwargs):   # what a SIGKILL between the rename and the update leaves
        raise SystemExit(137)

    monkeypatch.setattr(model_config, "upsert", killed)
    with pytest.raises(SystemExit):
        export.export_model(models["mf"], dataset, base, top_k=5, models_config=config)
    assert os.listdir(base) == ["1"] and _entries(config) == []
    monkeypatch.setattr(model_config, "upsert", upsert)
    export.export_model(models["mf"], dataset, base, top_k=5, models_config=config)
    entry = model_config.load(config).model_config_list.config[0]
    assert entry.name == "mf" and entry.base_path == "/models/mf"
    assert model_config.served_versions(entry.model_version_policy, layout.version_dirs(base)) == {2}
