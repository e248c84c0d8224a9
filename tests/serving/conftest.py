"""Session fixtures: the tiny world, its exports, and one embedded server on loopback."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import serving_world  # noqa: E402
from serving_world import start_server  # noqa: E402
from tfvisrec.export import export_model  # noqa: E402
from tfvisrec.serving import model_config  # noqa: E402


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """(dataset, {"mf" | "visual" | "mlp": trained model})."""
    return serving_world.make_world(str(tmp_path_factory.mktemp("world")))


@pytest.fixture(scope="session")
def export_root(world, tmp_path_factory):
    """export/ with version 1 of every tiny model and a generated models.config."""
    dataset, models = world
    root = str(tmp_path_factory.mktemp("export"))
    for kind, model in models.items():
        export_model(model, dataset, os.path.join(root, kind), top_k=20,
                     models_config=os.path.join(root, "models.config"))
    return root


@pytest.fixture(scope="session")
def server(export_root):
    """The embedded server over export_root (container paths mapped to it); label "stable"."""
    config = model_config.load(os.path.join(export_root, "models.config"))
    for entry in config.model_config_list.config:
        if entry.name == "mf":
            entry.version_labels["stable"] = 1
    srv = start_server(config, local_models_roots=[export_root])
    yield srv
    srv.stop(grace=1.0)


@pytest.fixture(scope="session")
def target(server):
    return f"127.0.0.1:{server.port}"
