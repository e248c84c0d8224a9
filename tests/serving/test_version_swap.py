"""Acceptance 3: a new version exported under load is swapped in with zero failed requests
(with request batching on, so batches of the old version drain while the new one serves);
plus version policies and a broken version that must not take the old one down."""
import os
import threading
import time

import grpc
import numpy as np
import pytest
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
from tensorflow_serving.config import file_system_storage_path_source_pb2

import serving_world as world_lib
from serving_world import start_server
from tfvisrec.client import RecommenderClient
from tfvisrec.client.tensors import to_ndarray, to_tensor_proto
from tfvisrec.export import export_model
from tfvisrec.serving import model_config
from tfvisrec.serving.batching_config import BatchingOptions

pytestmark = pytest.mark.xdist_group("serving")  # share the session world and server

ITEMS = ["item-000", "item-007", "item-019"]
THREADS = 8


def _score_request(user="u02"):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "shop"
    request.model_spec.signature_name = "score"
    request.inputs["user"].CopyFrom(to_tensor_proto(np.array([user], object)))
    request.inputs["items"].CopyFrom(to_tensor_proto(np.array([ITEMS], object)))
    return request


def _expected(model, dataset):
    scores = world_lib.reference_scores(model, dataset)
    return scores[2, [dataset.item_ids.index(i) for i in ITEMS]]


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_new_version_swaps_in_under_load_without_failures(world, tmp_path):
    dataset, models = world
    old_model = models["mf"]
    new_model = world_lib.train(world_lib.build_model("mf", dataset), dataset, steps=30, seed=7)
    expected = {1: _expected(old_model, dataset), 2: _expected(new_model, dataset)}
    assert not np.allclose(expected[1], expected[2], atol=1e-3)
    base = str(tmp_path / "shop")
    export_model(old_model, dataset, base, top_k=10)
    server = start_server(model_config.single_model("shop", base), poll_wait_seconds=0.1,
                          batching=BatchingOptions(max_batch_size=THREADS, batch_timeout_micros=1000,
                                                   num_batch_threads=2))
    results = [[] for _ in range(THREADS)]
    failures = []
    stop = threading.Event()

    def hammer(row):
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            for _ in range(5000):  # bounded even if `stop` never came
                if stop.is_set():
                    return
                try:
                    response = stub.Predict(_score_request(), timeout=30)
                except grpc.RpcError as e:
                    failures.append(f"{e.code().name}: {e.details()}")
                    continue
                results[row].append((response.model_spec.version.value,
                                     to_ndarray(response.outputs["scores"])[0]))

    threads = [threading.Thread(target=hammer, args=(row,)) for row in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        _wait_for(lambda: sum(map(len, results)) >= 40)
        export_model(new_model, dataset, base, top_k=10)      # version 2, under load
        _wait_for(lambda: all(r and r[-1][0] == 2 for r in results))
        with RecommenderClient(f"127.0.0.1:{server.port}", model="shop") as client:
            _wait_for(lambda: [s["state"] for s in client.status()] == ["END", "AVAILABLE"])
        counts = [len(r) for r in results]
        _wait_for(lambda: all(len(r) >= c + 5 for r, c in zip(results, counts)))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        server.stop(grace=1.0)
    assert failures == []
    for row in results:
        versions = [v for v, _ in row]
        assert versions == sorted(versions), "a thread saw the old version after the new one"
        assert versions[-5:] == [2] * 5
        for version, scores in row:
            np.testing.assert_allclose(scores, expected[version], rtol=1e-5, atol=1e-5)
    assert {v for row in results for v, _ in row} == {1, 2}


def test_broken_version_keeps_the_old_one_serving(world, tmp_path):
    dataset, models = world
    base = str(tmp_path / "shop")
    export_model(models["mf"], dataset, base, top_k=5)
    server = start_server(model_config.single_model("shop", base), poll_wait_seconds=0.1)
    try:
        os.makedirs(os.path.join(base, "2"))
        with open(os.path.join(base, "2", "saved_model.pb"), "wb") as f:
            f.write(b"not a saved model")
        with RecommenderClient(f"127.0.0.1:{server.port}", model="shop") as client:
            def broken_version_reported():
                status = {s["version"]: s for s in client.status()}
                return (status.get(2, {}).get("state") == "END" and "loading" in status[2]["error"]
                        and status[1]["state"] == "AVAILABLE")

            _wait_for(broken_version_reported)
            assert len(client.recommend("u00", 3)) == 3
    finally:
        server.stop(grace=1.0)


Policy = file_system_storage_path_source_pb2.FileSystemStoragePathSourceConfig.ServableVersionPolicy


@pytest.mark.parametrize("text, expected", [
    ("", {7}),
    ("latest { num_versions: 2 }", {3, 7}),
    ("all {}", {1, 3, 7}),
    ("specific { versions: 1 versions: 5 }", {1}),
])
def test_version_policies(text, expected):
    from google.protobuf import text_format
    policy = text_format.Parse(text, Policy())
    assert model_config.served_versions(policy, [3, 1, 7]) == expected
