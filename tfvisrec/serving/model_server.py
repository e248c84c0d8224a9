"""The embedded model server: a grpcio server with TF Serving's services and gRPC health.

    server = ModelServer(model_config.single_model("demo", "export/demo"), port=0)
    port = server.start()      # loads the models, then listens
    ...
    server.stop()              # health NOT_SERVING, drain in-flight RPCs, stop polling

Health (`grpc.health.v1.Health`) reports SERVING for "" and for both TF Serving services
once the initial models are loaded, NOT_SERVING from the start of a shutdown.
"""
import concurrent.futures
import logging
from typing import Optional, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from tfvisrec.serving import model_config
from tfvisrec.serving.repository import ModelRepository
from tfvisrec.serving.service import ModelServicer, PredictionServicer

PREDICTION_SERVICE = "tensorflow.serving.PredictionService"
MODEL_SERVICE = "tensorflow.serving.ModelService"
DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024 * 1024

log = logging.getLogger("tfvisrec.server")


class ModelServer:
    """TF-Serving-protocol gRPC server over a model repository (see module docstring)."""

    def __init__(self, config, port: int = 8500, host: str = "0.0.0.0", max_workers: int = 16,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                 poll_wait_seconds: float = 1.0, local_models_roots: Sequence[str] = (),
                 container_models_root: str = model_config.CONTAINER_MODELS_ROOT,
                 warmup: bool = True):
        self.host = host
        self.requested_port = port
        self.port: Optional[int] = None
        self.max_workers = max_workers
        self.max_message_bytes = max_message_bytes
        self.repository = ModelRepository(config, poll_wait_seconds=poll_wait_seconds,
                                          local_models_roots=local_models_roots,
                                          container_models_root=container_models_root,
                                          warmup=warmup)
        self.health = health.HealthServicer(experimental_non_blocking=True)
        self._server: Optional[grpc.Server] = None

    def start(self) -> int:
        """Load the configured models, then listen; returns the bound port."""
        self.repository.start()
        options = [("grpc.max_receive_message_length", self.max_message_bytes),
                   ("grpc.max_send_message_length", self.max_message_bytes),
                   ("grpc.so_reuseport", 0)]  # never share a port with another server
        server = grpc.server(concurrent.futures.ThreadPoolExecutor(
            max_workers=self.max_workers, thread_name_prefix="grpc"), options=options)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionServicer(self.repository), server)
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelServicer(self.repository), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        address = f"{self.host}:{self.requested_port}"
        try:
            port = server.add_insecure_port(address)
        except RuntimeError as e:
            self.repository.stop()
            raise OSError(f"cannot listen on {address}: {e}") from None
        server.start()
        self._server, self.port = server, port
        for service in ("", PREDICTION_SERVICE, MODEL_SERVICE):
            self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving %s on %s:%d", ", ".join(self.repository.model_names()), self.host, port)
        return port

    def stop(self, grace: float = 10.0) -> None:
        """Graceful shutdown: refuse new RPCs, let in-flight ones finish (up to `grace` s)."""
        self.health.enter_graceful_shutdown()
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None
        self.repository.stop()

    def wait(self, timeout: Optional[float] = None) -> bool:
        return self._server.wait_for_termination(timeout) if self._server else True
