"""The lame-duck gate: new RPCs get UNAVAILABLE once draining, admitted ones finish, health
stays reachable."""
import concurrent.futures
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tfvisrec.serving.drain import SETTLE_SECONDS, SHUTTING_DOWN, DrainGate

METHOD = "/test.Slow/Echo"


@pytest.fixture
def slow_server():
    """A server with one unary method that waits for `release`, behind a DrainGate."""
    release, entered = threading.Event(), threading.Event()

    def echo(request, context):
        entered.set()
        release.wait(10)
        return request

    gate = DrainGate()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(4), interceptors=[gate])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "test.Slow", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})])
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    call = channel.unary_unary(METHOD)
    yield gate, call, channel, release, entered
    release.set()
    channel.close()
    server.stop(0)


def test_drain_refuses_new_calls_and_waits_for_admitted_ones(slow_server):
    gate, call, channel, release, entered = slow_server
    admitted = call.future(b"first", timeout=10)
    assert entered.wait(5)
    finished = []
    drainer = threading.Thread(target=lambda: finished.append(
        gate.drain(lame_duck_seconds=0.0, deadline=time.monotonic() + 10)))
    gate.close()   # as drain() does first: closed before the next call, whenever the thread runs
    drainer.start()
    with pytest.raises(grpc.RpcError) as refused:
        call(b"second", timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert refused.value.details() == SHUTTING_DOWN
    probe = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert probe.status == health_pb2.HealthCheckResponse.SERVING  # the probe is not gated
    assert drainer.is_alive() and not finished  # still waiting for the admitted call
    release.set()
    assert admitted.result() == b"first"
    drainer.join(5)
    assert finished == [0]


def test_drain_lasts_the_lame_duck_period_and_gives_up_at_the_deadline(slow_server):
    gate, call, _, release, entered = slow_server
    start = time.monotonic()
    assert gate.drain(lame_duck_seconds=0.3, deadline=start + 10) == 0  # nothing in flight
    assert time.monotonic() - start >= 0.3


def test_drain_returns_the_calls_still_running_at_the_deadline(slow_server):
    gate, call, _, release, entered = slow_server
    stuck = call.future(b"stuck", timeout=10)
    assert entered.wait(5)
    start = time.monotonic()
    assert gate.drain(lame_duck_seconds=0.0, deadline=start + 0.2) == 1
    assert time.monotonic() - start >= 0.2
    release.set()
    assert stuck.result() == b"stuck"


def test_drain_waits_a_settling_time_after_the_last_admitted_call(slow_server):
    gate, call, _, release, entered = slow_server
    admitted = call.future(b"late", timeout=10)
    assert entered.wait(5)
    released = []
    threading.Timer(0.2, lambda: (released.append(time.monotonic()), release.set())).start()
    assert gate.drain(lame_duck_seconds=0.0, deadline=time.monotonic() + 10) == 0
    assert admitted.result() == b"late"
    assert time.monotonic() - released[0] >= SETTLE_SECONDS
