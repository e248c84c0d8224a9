"""A port another process listens on is refused with the reason and the remedy before the
models load (minutes for a large catalogue), not after them with gRPC's "Failed to bind ...;
set GRPC_VERBOSITY=debug"."""
import socket

import pytest

from tfvisrec.serving import model_config
from tfvisrec.serving.model_server import ModelServer


@pytest.fixture
def taken_port():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_a_taken_port_is_refused_before_the_models_load(tmp_path, taken_port):
    server = ModelServer(model_config.single_model("shop", str(tmp_path / "shop")),
                         port=taken_port, host="127.0.0.1", poll_wait_seconds=0)
    loads = []
    server.repository.start = lambda: loads.append("loaded")
    with pytest.raises(OSError) as error:
        server.start()
    assert str(error.value) == (f"cannot listen on 127.0.0.1:{taken_port}: Address already in use "
                                "(stop the process listening there, or choose another port: "
                                "--port, 0 = any free one)")
    assert loads == []
