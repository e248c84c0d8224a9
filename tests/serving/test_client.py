"""The client against a scripted PredictionService: retries on UNAVAILABLE and CANCELLED with backoff,
deadlines, one exception class per status code, the requests it sends, padded answers."""
import concurrent.futures
import socket
import threading

import grpc
import numpy as np
import pytest
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from tfvisrec import client as client_lib
from tfvisrec.client import status
from tfvisrec.client.tensors import dtype_name, to_ndarray, to_tensor_proto


class ScriptedPredictions(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Fails the first `failures` calls with `code`, then answers `outputs` (after `delay` s)."""

    def __init__(self, failures=0, code=grpc.StatusCode.UNAVAILABLE, delay=0.0, outputs=None):
        self.failures, self.code, self.delay = failures, code, delay
        self.outputs = outputs or {
            "item_ids": np.array([[b"a", b"b", b""]], object),
            "scores": np.array([[2.0, 1.0, -np.inf]], np.float32)}
        self.requests = []
        self.release = threading.Event()

    def Predict(self, request, context):
        self.requests.append(request)
        if len(self.requests) <= self.failures:
            context.abort(self.code, f"scripted {self.code.name}")
        if self.delay:
            self.release.wait(self.delay)
        response = predict_pb2.PredictResponse()
        for name, value in self.outputs.items():
            response.outputs[name].CopyFrom(to_tensor_proto(value))
        return response


@pytest.fixture
def serve():
    servers = []

    def start(servicer):
        server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append((server, servicer))
        return f"127.0.0.1:{port}"

    yield start
    for server, servicer in servers:
        servicer.release.set()
        server.stop(0)


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED])
def test_unavailable_and_cancelled_are_retried_then_answer(serve, code):
    fake = ScriptedPredictions(failures=2, code=code)
    with client_lib.RecommenderClient(serve(fake), model="m", retries=3, backoff=0.01) as client:
        assert client.recommend("u1", k=3) == [("a", 2.0), ("b", 1.0)]  # "" = padding dropped
    assert len(fake.requests) == 3


def test_retries_are_bounded(serve):
    fake = ScriptedPredictions(failures=10)
    with client_lib.RecommenderClient(serve(fake), model="m", retries=2, backoff=0.01) as client:
        with pytest.raises(status.Unavailable, match="scripted UNAVAILABLE"):
            client.recommend("u1")
    assert len(fake.requests) == 3


@pytest.mark.parametrize("code, error", [
    (grpc.StatusCode.NOT_FOUND, status.NotFound),
    (grpc.StatusCode.INVALID_ARGUMENT, status.InvalidArgument),
    (grpc.StatusCode.FAILED_PRECONDITION, status.FailedPrecondition),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, status.ResourceExhausted),
    (grpc.StatusCode.UNIMPLEMENTED, status.Unimplemented),
    (grpc.StatusCode.INTERNAL, status.Internal),
])
def test_other_codes_raise_their_exception_without_retry(serve, code, error):
    fake = ScriptedPredictions(failures=1, code=code)
    with client_lib.RecommenderClient(serve(fake), model="m", retries=3, backoff=0.01) as client:
        with pytest.raises(error) as raised:
            client.score("u1", ["a"])
    assert raised.value.code == code and len(fake.requests) == 1


def test_deadline(serve):
    fake = ScriptedPredictions(delay=30.0)
    with client_lib.RecommenderClient(serve(fake), model="m", timeout=0.2) as client:
        with pytest.raises(status.DeadlineExceeded):
            client.recommend("u1")


def test_no_server_is_unavailable():
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with client_lib.RecommenderClient(f"127.0.0.1:{port}", model="m", retries=1, backoff=0.01,
                                      timeout=5) as client:
        with pytest.raises(status.Unavailable):
            client.recommend("u1")


def test_requests_follow_the_serving_contract(serve):
    fake = ScriptedPredictions(outputs={"scores": np.array([[0.5, 0.25, 9.0, 9.0]], np.float32),
                                        "item_ids": np.array([[b"a", b"b", b"c", b"d"]], object)})
    target = serve(fake)
    with client_lib.RecommenderClient(target, model="shop", version_label="stable") as client:
        # a batched TF Serving may pad N: only the items asked for come back
        np.testing.assert_array_equal(client.score("u1", ["a", "b"]), [0.5, 0.25])
        client.score_images("u1", [b"\xff\xd8jpeg"])
        client.outfit_score("u1", ["a", "b", "c"])
    with client_lib.RecommenderClient(target, model="shop", version=4) as client:
        client.recommend_many(["u1", "é"], k=7)
        with pytest.raises(status.ServingError, match="lacks output"):   # the fake has no images
            client.generate("u1", "dress", n=3, seed=10)
    specs = [(r.model_spec.name, r.model_spec.signature_name, r.model_spec.version_label,
              r.model_spec.version.value) for r in fake.requests]
    assert specs == [("shop", "score", "stable", 0), ("shop", "score_images", "stable", 0),
                     ("shop", "outfit_score", "stable", 0), ("shop", "recommend", "", 4),
                     ("shop", "generate", "", 4)]
    inputs = [{k: (dtype_name(v.dtype), to_ndarray(v).tolist()) for k, v in r.inputs.items()}
              for r in fake.requests]
    assert inputs[0] == {"user": ("DT_STRING", [b"u1"]), "items": ("DT_STRING", [[b"a", b"b"]])}
    assert inputs[1]["images"] == ("DT_STRING", [[b"\xff\xd8jpeg"]])
    assert inputs[2]["items"] == ("DT_STRING", [[b"a", b"b", b"c"]])
    assert inputs[3] == {"user": ("DT_STRING", [b"u1", "é".encode()]), "k": ("DT_INT32", [7, 7])}
    assert inputs[4] == {"user": ("DT_STRING", [b"u1"] * 3), "category": ("DT_STRING", [b"dress"] * 3),
                         "seed": ("DT_INT64", [10, 11, 12])}


def test_answer_without_the_contract_outputs(serve):
    fake = ScriptedPredictions(outputs={"probabilities": np.array([[0.5]], np.float32)})
    with client_lib.RecommenderClient(serve(fake), model="m") as client:
        with pytest.raises(status.ServingError, match=r"lacks output\(s\) \['item_ids', 'scores'\]"):
            client.recommend("u1")


def test_version_and_label_are_exclusive():
    with pytest.raises(ValueError, match="not both"):
        client_lib.RecommenderClient("127.0.0.1:1", version=1, version_label="stable")
