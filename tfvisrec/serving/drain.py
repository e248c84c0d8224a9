"""Lame-duck draining: on shutdown, refuse new RPCs with UNAVAILABLE before gRPC stops.

gRPC's own `server.stop(grace)` lets in-flight RPCs finish, but an RPC that reaches the server
in the moment its transport shuts down is answered CANCELLED, which most clients do not retry
(ours does, its calls only read; the gate narrows that moment for every client). So shutdown
goes in two steps: first this gate answers every new call UNAVAILABLE ("shutting down", which
clients and load balancers retry elsewhere) for at least the lame-duck period and until the
calls already admitted have finished (plus a short settling time, so a client whose call just
returned meets the gate, not a closing port, with its next one); only then does gRPC stop. The
health service is left out, so probes keep seeing NOT_SERVING.
"""
import threading
import time

import grpc

SHUTTING_DOWN = "the server is shutting down; retry (on another replica)"
SETTLE_SECONDS = 0.1


class DrainGate(grpc.ServerInterceptor):
    """Counts admitted RPCs; after `close()`, refuses new ones (except `exempt_services`)."""

    def __init__(self, exempt_services=("grpc.health.v1.Health",),
                 settle_seconds: float = SETTLE_SECONDS):
        self._exempt = tuple(f"/{service}/" for service in exempt_services)
        self._settle_seconds = settle_seconds
        self._condition = threading.Condition()
        self._in_flight = 0
        self._last_finished = float("-inf")
        self._closed = False

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(self._exempt):
            return handler
        if handler.request_streaming or handler.response_streaming:
            return handler  # the TF Serving services are unary; streams pass untouched
        with self._condition:
            if self._closed:
                return grpc.unary_unary_rpc_method_handler(
                    _refuse, request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer)
            self._in_flight += 1
        return grpc.unary_unary_rpc_method_handler(
            self._counted(handler.unary_unary), request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)

    def _counted(self, behaviour):
        def run(request, context):
            try:
                return behaviour(request, context)
            finally:
                with self._condition:
                    self._in_flight -= 1
                    self._last_finished = time.monotonic()
                    self._condition.notify_all()
        return run

    def close(self) -> None:
        with self._condition:
            self._closed = True

    def drain(self, lame_duck_seconds: float, deadline: float) -> int:
        """Close, then wait at least `lame_duck_seconds`, until no admitted RPC is running and
        the last one finished `settle_seconds` ago (but not past `deadline`, a
        `time.monotonic()` value). Returns the RPCs still running."""
        self.close()
        lame_duck_end = time.monotonic() + lame_duck_seconds
        with self._condition:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return self._in_flight
                if self._in_flight == 0:
                    quiet_from = max(lame_duck_end, self._last_finished + self._settle_seconds)
                    if now >= quiet_from:
                        return 0
                    wake = quiet_from
                else:
                    wake = deadline
                self._condition.wait(timeout=min(wake, deadline) - now)


def _refuse(request, context):
    del request
    context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
