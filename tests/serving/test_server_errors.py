"""Acceptance 2: each bad request gets TF Serving's status code and a clear message, and the
server keeps serving afterwards.

CASES is the parity table: each row names the TF Serving source (tensorflow/serving, files
under tensorflow_serving/) that gives the code and, where it has one, the words; rows marked
"graph" are errors TF Serving leaves to TensorFlow's Session::Run (same code; our message
names the input), rows marked "tfvisrec" are checks of our signatures (TF Serving would
answer whatever the exported graph raises, here our INVALID_ARGUMENT asserts)."""
import io

import grpc
import numpy as np
import pytest
from PIL import Image
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import serving_world as world_lib
from serving_world import start_server
from tfvisrec.client.tensors import to_tensor_proto
from tfvisrec.serving import model_config

pytestmark = pytest.mark.xdist_group("serving")  # share the session world and server

S = lambda *values: np.array(values, object)  # noqa: E731  (a string tensor)
I32 = lambda *values: np.array(values, np.int32)  # noqa: E731
GOOD = {"user": S(b"u00"), "k": I32(3)}


def _truncated_jpeg():
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8)).save(
        buffer, format="JPEG")
    return buffer.getvalue()[:300]


def _request(model="visual", signature="", inputs=GOOD, version=None, label=None,
             output_filter=(), model_spec=True):
    request = predict_pb2.PredictRequest()
    if model_spec:
        request.model_spec.name = model
    if signature:
        request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(to_tensor_proto(value))
    request.output_filter.extend(output_filter)
    return request


CASES = {  # case: (request, code, words in the message, TF Serving source)
    "unknown model": (_request(model="nope"), "NOT_FOUND",
                      "Servable not found for request: Latest(nope)",
        "core/basic_manager.cc"),
    "unknown version": (_request(version=99), "NOT_FOUND",
                        "Servable not found for request: Specific(visual, 99)",
        "core/basic_manager.cc"),
    "unknown label": (_request(model="mf", label="canary"), "INVALID_ARGUMENT",
                      "Unrecognized servable version label: canary",
        "model_servers/server_core.cc"),
    "unknown signature": (_request(signature="explain"), "FAILED_PRECONDITION",
                          'Serving signature key "explain" not found.',
        "servables/tensorflow/predict_util.cc"),
    "internal signature": (_request(signature="__saved_model_init_op"), "FAILED_PRECONDITION",
                           "not found",
        "servables/tensorflow/predict_util.cc"),
    "missing input": (_request(inputs={"user": S(b"u00")}), "INVALID_ARGUMENT",
                      "input size does not match signature: 1!=2 len({user}) != len({k,user}). "
                      "Sent extra: {}. Missing but required: {k}.",
        "servables/tensorflow/predict_util.cc"),
    "extra input": (_request(inputs={**GOOD, "seed": I32(1)}), "INVALID_ARGUMENT",
                    "Sent extra: {seed}. Missing but required: {}.",
        "servables/tensorflow/predict_util.cc"),
    "renamed input": (_request(inputs={"users": S(b"u00"), "k": I32(3)}), "INVALID_ARGUMENT",
                      "Sent extra: {users}. Missing but required: {user}.",
        "servables/tensorflow/predict_util.cc"),
    "wrong dtype": (_request(inputs={"user": np.array([1.0], np.float32), "k": I32(3)}),
                    "INVALID_ARGUMENT",
                    "input 'user' has dtype DT_FLOAT but signature 'serving_default' expects DT_STRING",
        "graph"),
    "wrong rank": (_request(inputs={"user": S([b"u00"]), "k": I32(3)}), "INVALID_ARGUMENT",
                   "input 'user' has shape [1, 1] but signature 'serving_default' expects [-1]",
        "graph"),
    "scalar": (_request(inputs={"user": np.array(b"u00", object), "k": I32(3)}),
               "INVALID_ARGUMENT", "input 'user' has shape [] but signature",
        "graph"),
    "empty batch": (_request(inputs={"user": S(), "k": I32()}), "INVALID_ARGUMENT",
                    "empty batch (0th) dimension",
        "tfvisrec"),
    "unequal batch": (_request(inputs={"user": S(b"u00", b"u01"), "k": I32(3)}),
                      "INVALID_ARGUMENT", "Batching Run() input tensors must have equal "
                      "0th-dimension size (batch size) (k: 1, user: 2)",
        "batching/batching_util.h"),
    "oversized k": (_request(inputs={"user": S(b"u00"), "k": I32(21)}), "INVALID_ARGUMENT",
                    "k must be between 1 and K=20 (fixed at export); got 21",
        "tfvisrec"),
    "zero k": (_request(inputs={"user": S(b"u00"), "k": I32(0)}), "INVALID_ARGUMENT",
               "k must be between 1 and K=20",
        "tfvisrec"),
    "unknown user": (_request(inputs={"user": S(b"u00", b"ghost"), "k": I32(3, 3)}),
                     "INVALID_ARGUMENT", 'unknown user id(s), not in the training vocabulary: "ghost"',
        "tfvisrec"),
    "empty user id": (_request(inputs={"user": S(b""), "k": I32(3)}),
                      "INVALID_ARGUMENT", 'unknown user id(s), not in the training vocabulary: ""',
        "tfvisrec"),
    "unknown item": (_request(signature="score",
                              inputs={"user": S(b"u00"), "items": S([b"item-001", b"item-999"])}),
                     "INVALID_ARGUMENT", 'unknown item id(s), not in the training vocabulary: "item-999"',
        "tfvisrec"),
    "corrupt jpeg": (_request(signature="score_images",
                              inputs={"user": S(b"u00"), "images": S([b"\x00garbage"])}),
                     "INVALID_ARGUMENT", "Unknown image file format",
        "graph"),
    "truncated jpeg": (_request(signature="score_images",
                                inputs={"user": S(b"u00"), "images": S([_truncated_jpeg()])}),
                       "INVALID_ARGUMENT", "Invalid JPEG data",
        "graph"),
    "bad output filter": (_request(output_filter=["score"]), "INVALID_ARGUMENT",
                          "output tensor alias not found in signature: score Outputs expected "
                          "to be in the set {item_ids,scores}.",
        "servables/tensorflow/predict_util.cc"),
    "duplicate output filter": (_request(output_filter=["scores", "scores"]), "INVALID_ARGUMENT",
                                "duplicate output tensor alias: scores",
        "servables/tensorflow/predict_util.cc"),
    "missing model spec": (_request(model_spec=False), "INVALID_ARGUMENT", "Missing ModelSpec",
                           "servables/tensorflow/predict_impl.cc"),
    "empty model name": (_request(model=""), "INVALID_ARGUMENT",
                         "ModelSpec has no name specified.", "model_servers/server_core.cc"),
}


@pytest.fixture(scope="module")
def stub(target):
    channel = grpc.insecure_channel(target)
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()


def _still_serving(stub):
    response = stub.Predict(_request(), timeout=10)
    assert len(response.outputs["item_ids"].string_val) == 3


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_request(stub, case):
    request, code, message, source = CASES[case]
    assert source in ("graph", "tfvisrec") or source.endswith((".cc", ".h"))
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(request, timeout=10)
    assert error.value.code().name == code, error.value.details()
    assert message in error.value.details()
    assert "Traceback" not in error.value.details() and "{{node" not in error.value.details()
    _still_serving(stub)


def test_expired_deadline(stub):
    big = _request(signature="score_images",
                   inputs={"user": S(b"u00"), "images": S([world_lib.jpeg(1)] * 200)})
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(big, timeout=0.0005)
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    _still_serving(stub)


def test_huge_message_is_resource_exhausted(export_root):
    config = model_config.single_model("visual", f"{export_root}/visual")
    server = start_server(config, max_message_bytes=6 * 1024 * 1024, warmup=False)
    options = [("grpc.max_send_message_length", 64 * 1024 * 1024)]
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}", options=options) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            huge = _request(signature="score_images",
                            inputs={"user": S(b"u00"), "images": S([b"x" * (7 * 1024 * 1024)])})
            with pytest.raises(grpc.RpcError) as error:
                stub.Predict(huge, timeout=30)
            assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "larger than max" in error.value.details()
            _still_serving(stub)
    finally:
        server.stop(grace=1.0)
