"""`RecommenderClient.wait_until_ready` against a server without gRPC's health service (TF
Serving's default: --enable_grpc_healthcheck_service is off, Health/Check is UNIMPLEMENTED):
the server answered, and TF Serving listens only once its models are loaded, so it is ready;
the call returns instead of waiting out its timeout and raising DeadlineExceeded."""
import concurrent.futures

import grpc
import pytest

from tfvisrec.client import DeadlineExceeded, RecommenderClient


@pytest.fixture
def server_without_health():
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def test_a_server_without_the_health_service_is_ready_once_it_answers(server_without_health):
    with RecommenderClient(server_without_health, model="m") as client:
        client.wait_until_ready(timeout=2.0)


def test_no_server_is_still_a_deadline(tmp_path):
    with RecommenderClient(f"unix:{tmp_path}/nobody.sock", model="m") as client:
        with pytest.raises(DeadlineExceeded, match="not SERVING after 0.3 s"):
            client.wait_until_ready(timeout=0.3)
