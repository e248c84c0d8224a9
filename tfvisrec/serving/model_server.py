"""The embedded model server: a grpcio server with TF Serving's services and gRPC health.

    server = ModelServer(model_config.single_model("demo", "export/demo"), port=0)
    port = server.start()      # loads the models, then listens
    ...
    server.stop()              # health NOT_SERVING, lame duck, drain in-flight RPCs, stop

Health (`grpc.health.v1.Health`) reports SERVING for "" and for both TF Serving services (by
their full names and by the short ones TF Serving's health service uses) once the initial
models are loaded, NOT_SERVING from the start of a shutdown. During the
shutdown new RPCs are answered UNAVAILABLE (see `drain.py`) while admitted ones finish.
With `batching` (TF Serving's BatchingParameters), concurrent Predict calls of one version
and signature are merged into one signature call (`batching.py`).
"""
import concurrent.futures
import functools
import logging
import socket
import time
from typing import Optional, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from tfvisrec.serving import model_config
from tfvisrec.serving.batching import BatchScheduler
from tfvisrec.serving.batching_config import BatchingOptions
from tfvisrec.serving.drain import DrainGate
from tfvisrec.serving.loaded import LoadedVersion
from tfvisrec.serving.repository import ModelRepository
from tfvisrec.serving.service import ModelServicer, PredictionServicer

PREDICTION_SERVICE = "tensorflow.serving.PredictionService"
MODEL_SERVICE = "tensorflow.serving.ModelService"
# The names TF Serving's own health service reports (--enable_grpc_healthcheck_service,
# server.cc), so one probe configuration fits both servers.
TF_SERVING_HEALTH_NAMES = ("ModelService", "PredictionService")
DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024 * 1024

log = logging.getLogger("tfvisrec.server")


class ModelServer:
    """TF-Serving-protocol gRPC server over a model repository (see module docstring)."""

    def __init__(self, config, port: int = 8500, host: str = "0.0.0.0", max_workers: int = 16,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                 poll_wait_seconds: float = 1.0, local_models_roots: Sequence[str] = (),
                 container_models_root: str = model_config.CONTAINER_MODELS_ROOT,
                 warmup: bool = True, lame_duck_seconds: float = 0.5,
                 batching: Optional[BatchingOptions] = None, max_load_retries: int = 5,
                 load_retry_interval_seconds: float = 60.0):
        self.host = host
        self.requested_port = port
        self.port: Optional[int] = None
        self.max_workers = max_workers
        self.max_message_bytes = max_message_bytes
        self.batcher = BatchScheduler(batching) if batching is not None else None
        self.repository = ModelRepository(config, poll_wait_seconds=poll_wait_seconds,
                                          local_models_roots=local_models_roots,
                                          container_models_root=container_models_root,
                                          warmup=warmup, max_load_retries=max_load_retries,
                                          load_retry_interval_seconds=load_retry_interval_seconds,
                                          loader=functools.partial(LoadedVersion,
                                                                   batcher=self.batcher))
        self.health = health.HealthServicer(experimental_non_blocking=True)
        self.lame_duck_seconds = lame_duck_seconds
        self._gate = DrainGate()
        self._server: Optional[grpc.Server] = None

    def start(self) -> int:
        """Load the configured models, then listen; returns the bound port. A port taken by
        another process is refused before the (maybe long) loading, not after it."""
        address = f"{self.host}:{self.requested_port}"
        problem = bind_problem(self.host, self.requested_port) if self.requested_port else None
        if problem:
            raise OSError(f"cannot listen on {address}: {problem} (stop the process listening "
                          "there, or choose another port: --port, 0 = any free one)")
        self.repository.start()
        options = [("grpc.max_receive_message_length", self.max_message_bytes),
                   ("grpc.max_send_message_length", self.max_message_bytes),
                   ("grpc.so_reuseport", 0)]  # never share a port with another server
        server = grpc.server(concurrent.futures.ThreadPoolExecutor(
            max_workers=self.max_workers, thread_name_prefix="grpc"), options=options,
            interceptors=[self._gate])
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionServicer(self.repository), server)
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelServicer(self.repository), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        try:
            port = server.add_insecure_port(address)
        except RuntimeError as e:
            self._stop_models()
            raise OSError(f"cannot listen on {address}: {e}") from None
        server.start()
        self._server, self.port = server, port
        for service in ("", PREDICTION_SERVICE, MODEL_SERVICE, *TF_SERVING_HEALTH_NAMES):
            self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving %s on %s:%d", ", ".join(self.repository.model_names()), self.host, port)
        return port

    def stop(self, grace: float = 10.0) -> None:
        """Graceful shutdown: refuse new RPCs with UNAVAILABLE for the lame-duck period, let
        in-flight ones finish, then stop gRPC; all within `grace` seconds."""
        self.health.enter_graceful_shutdown()
        if self._server is not None:
            deadline = time.monotonic() + grace
            still_running = self._gate.drain(self.lame_duck_seconds, deadline)
            if still_running:
                log.warning("%d request(s) still running after %.1f s of grace; cancelling",
                            still_running, grace)
            self._server.stop(max(0.0, deadline - time.monotonic())).wait()
            self._server = None
        self._stop_models()

    def _stop_models(self) -> None:
        self.repository.stop()
        if self.batcher is not None:
            self.batcher.stop()

    def wait(self, timeout: Optional[float] = None) -> bool:
        return self._server.wait_for_termination(timeout) if self._server else True


def bind_problem(host: str, port: int) -> Optional[str]:
    """Why a listening socket cannot be bound to host:port now (e.g. "Address already in use"),
    or None. Binds as gRPC does (SO_REUSEADDR) and lets go at once."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        return str(e)
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            return e.strerror or str(e)
    return None
