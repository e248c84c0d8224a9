"""A multi-process gRPC load generator for `serving_load.py`: the client must not be the
bottleneck, so clients run in `processes` separate processes (no shared GIL), each with its
share of the client threads; every thread has its own channel and sends pre-serialised
`recommend` requests back to back (a closed loop: one request in flight per client).

Each process reports its latencies, errors and its own CPU seconds, so the table can show
how busy the clients were beside the server.
"""
import multiprocessing
import os
import threading
import time
from typing import Callable, Dict, List, Optional

import numpy as np


def _requests(model: str, users: List[str], top_k: int) -> List[bytes]:
    from tensorflow_serving.apis import predict_pb2

    from tfvisrec.client.tensors import to_tensor_proto
    out = []
    for user in users:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.model_spec.signature_name = "recommend"
        request.inputs["user"].CopyFrom(to_tensor_proto(np.array([user], object)))
        request.inputs["k"].CopyFrom(to_tensor_proto(np.array([top_k], np.int32)))
        out.append(request.SerializeToString())
    return out


def _client_process(target, model, users, top_k, threads, seed, ready, start, result):
    import grpc
    identity = lambda b: b  # noqa: E731  (requests are sent as pre-serialised bytes)
    payloads = _requests(model, users, top_k)
    latencies = [[] for _ in range(threads)]
    errors: List[str] = []
    window = {}

    def worker(row):
        rng = np.random.default_rng(seed * 1000 + row)
        with grpc.insecure_channel(target) as channel:
            predict = channel.unary_unary("/tensorflow.serving.PredictionService/Predict",
                                          request_serializer=identity,
                                          response_deserializer=identity)
            predict(payloads[0], timeout=60)  # connect and warm up
            barrier.wait()
            go.wait()
            while time.time() < window["end"]:
                payload = payloads[rng.integers(len(payloads))]
                t0 = time.perf_counter()
                try:
                    predict(payload, timeout=60)
                except grpc.RpcError as e:
                    errors.append(f"{e.code().name}: {e.details()}")
                    continue
                if time.time() >= window["begin"]:
                    latencies[row].append((time.perf_counter() - t0) * 1000.0)

    barrier, go = threading.Barrier(threads + 1), threading.Event()
    pool = [threading.Thread(target=worker, args=(r,)) for r in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    ready.put(os.getpid())
    begin, end = start.get()
    window.update(begin=begin, end=end)
    go.set()  # warm-up until `begin`, measured until `end`
    while time.time() < begin:
        time.sleep(0.001)
    cpu0 = time.process_time()
    for thread in pool:
        thread.join()
    result.put({"latencies": [x for row in latencies for x in row], "errors": errors,
                "cpu_seconds": time.process_time() - cpu0})


def drive(target: str, model: str, users: List[str], top_k: int, clients: int,
          processes: int, seconds: float, warmup_seconds: float = 1.0,
          cpu_probe: Optional[Callable[[], float]] = None) -> Dict:
    """`clients` closed-loop clients over `processes` processes for warm-up + `seconds`;
    latencies of the last `seconds` only. `cpu_probe()` (the server's CPU seconds so far) is
    read at the start and the end of the measured window."""
    # fork: the clients need none of the parent's TensorFlow (spawn would import it again in
    # every client process); this process never opens a gRPC channel before forking
    context = multiprocessing.get_context("fork")
    processes = max(1, min(processes, clients))
    ready, start, result = context.Queue(), context.Queue(), context.Queue()
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    procs = [context.Process(target=_client_process,
                             args=(target, model, users, top_k, n, i, ready, start, result))
             for i, n in enumerate(shares)]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=300)
    begin = time.time() + 0.2 + warmup_seconds
    for _ in procs:
        start.put((begin, begin + seconds))
    server_cpu = []
    if cpu_probe is not None:
        for moment in (begin, begin + seconds):
            time.sleep(max(0.0, moment - time.time()))
            server_cpu.append(cpu_probe())
    reports = [result.get(timeout=seconds + 300) for _ in procs]
    for proc in procs:
        proc.join()
    return {"begin": begin, "end": begin + seconds, "latencies": np.concatenate(
        [np.asarray(r["latencies"]) for r in reports]),
        "errors": [e for r in reports for e in r["errors"]],
        "client_cpu_seconds": sum(r["cpu_seconds"] for r in reports),
        "server_cpu_seconds": server_cpu[1] - server_cpu[0] if server_cpu else float("nan")}
