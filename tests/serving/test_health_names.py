"""gRPC health answers for the service names TF Serving's own health service reports
("ModelService", "PredictionService": server.cc with --enable_grpc_healthcheck_service), as
well as the full names, so a probe written for one server fits the other."""
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tfvisrec.serving import model_config
from tfvisrec.serving.model_server import ModelServer

NAMES = ["", "ModelService", "PredictionService", "tensorflow.serving.ModelService",
         "tensorflow.serving.PredictionService"]


def _statuses(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        out = []
        for name in NAMES:
            try:
                out.append(health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10).status)
            except grpc.RpcError as e:
                out.append(e.code().name)
        return out


def test_health_answers_tf_servings_service_names(tmp_path):
    server = ModelServer(model_config.single_model("shop", str(tmp_path / "shop")), port=0,
                         host="127.0.0.1", poll_wait_seconds=0, lame_duck_seconds=0)
    server.start()
    try:
        assert _statuses(server) == [health_pb2.HealthCheckResponse.SERVING] * len(NAMES)
    finally:
        server.stop(grace=0)
