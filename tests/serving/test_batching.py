"""Request batching (`--enable_batching`): TF Serving's BatchingParameters, merging and
splitting, full queues, and a bad request that must fail only itself.

The scheduler tests hold the only batch thread busy in a first call, so the requests sent
meanwhile are queued together deterministically (no timing involved)."""
import os
import threading
import time

import numpy as np
import pytest

import serving_world as world_lib
from serving_world import start_server
from tfvisrec.client import InvalidArgument, RecommenderClient
from tfvisrec.client.status import Unavailable
from tfvisrec.data.errors import DataError
from tfvisrec.serving import batch_tensors, batching_config, model_config
from tfvisrec.serving.batching import BatchScheduler
from tfvisrec.serving.batching_config import BatchingOptions

pytestmark = pytest.mark.xdist_group("serving")  # share the session world and server

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class HeldSignature:
    """Stands for a signature call: y = 2x, INVALID_ARGUMENT if any x < 0. The first call
    waits for `release`, keeping the scheduler's one thread busy meanwhile."""

    def __init__(self):
        self.calls = []
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, inputs):
        self.calls.append(batch_tensors.rows(inputs))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(60)
        if (inputs["x"] < 0).any():
            raise InvalidArgument("x must be >= 0")
        return {"y": inputs["x"] * 2}


def _submit(scheduler, signature, x, outcomes, key="model"):
    def send():
        try:
            outcomes[id(x)] = scheduler.run(key, {"x": x}, signature)["y"]
        except Exception as e:  # noqa: BLE001  (the outcome under test)
            outcomes[id(x)] = e

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def _until(predicate):
    deadline = time.monotonic() + 60
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def _send_while_held(scheduler, signature, outcomes, threads, requests):
    """Send `requests` while the first call holds the thread, each queued before the next is
    sent (threads started together may take the queue in any order), then release and wait."""
    try:
        rows = 0
        for x in requests:
            threads.append(_submit(scheduler, signature, x, outcomes))
            rows += len(x)
            _until(lambda: scheduler.queued_rows() == rows)
        signature.release.set()
        for thread in threads:
            thread.join()
    finally:
        signature.release.set()
        scheduler.stop()


def _held_scheduler(**options):
    options.setdefault("num_batch_threads", 1)
    scheduler, signature, outcomes = BatchScheduler(BatchingOptions(**options)), HeldSignature(), {}
    first = np.array([[100]])
    threads = [_submit(scheduler, signature, first, outcomes)]
    assert signature.entered.wait(60)
    return scheduler, signature, outcomes, threads


@pytest.mark.parametrize("with_bad_request", [False, True])
def test_queued_requests_run_as_one_call_and_a_bad_one_fails_alone(with_bad_request):
    scheduler, signature, outcomes, threads = _held_scheduler(max_batch_size=8)
    requests = [np.array([[1], [2]]), np.array([[-1 if with_bad_request else 5]]), np.array([[3]])]
    _send_while_held(scheduler, signature, outcomes, threads, requests)
    good, bad, last = requests
    np.testing.assert_array_equal(outcomes[id(good)], [[2], [4]])
    np.testing.assert_array_equal(outcomes[id(last)], [[6]])
    if with_bad_request:  # the merged call failed: each request ran alone
        assert isinstance(outcomes[id(bad)], InvalidArgument)
        assert signature.calls == [1, 4, 2, 1, 1]
    else:
        np.testing.assert_array_equal(outcomes[id(bad)], [[10]])
        assert signature.calls == [1, 4]
        assert scheduler.batch_sizes == {1: 1, 4: 1}


def test_full_queue_is_unavailable_and_an_oversized_request_invalid():
    scheduler, signature, outcomes, threads = _held_scheduler(max_batch_size=2,
                                                              max_enqueued_batches=1)
    try:
        threads.append(_submit(scheduler, signature, np.array([[1], [2]]), outcomes))
        _until(lambda: scheduler.queued_rows() == 2)
        with pytest.raises(Unavailable, match="max_enqueued_batches is 1"):
            scheduler.run("model", {"x": np.array([[3]])}, signature)
        with pytest.raises(InvalidArgument, match="Task size 3 is larger than maximum input "
                                                  "batch size 2"):
            scheduler.run("model", {"x": np.zeros((3, 1))}, signature)
    finally:
        signature.release.set()
        for thread in threads:
            thread.join()
        scheduler.stop()
    assert signature.calls == [1, 2]


@pytest.mark.parametrize("pad", [False, True])
def test_only_requests_of_equal_inner_shape_merge_unless_padded(pad):
    scheduler, signature, outcomes, threads = _held_scheduler(max_batch_size=8,
                                                              pad_variable_length_inputs=pad)
    wide, narrow = np.array([[1, 2, 3]]), np.array([[4], [5]])
    _send_while_held(scheduler, signature, outcomes, threads, [wide, narrow])
    np.testing.assert_array_equal(outcomes[id(wide)], [[2, 4, 6]])
    if pad:  # TF Serving pads with the request's first element and returns the padded width
        np.testing.assert_array_equal(outcomes[id(narrow)], [[8, 8, 8], [10, 8, 8]])
        assert sorted(signature.calls) == [1, 3]
    else:
        np.testing.assert_array_equal(outcomes[id(narrow)], [[8], [10]])
        assert sorted(signature.calls) == [1, 1, 2]


def test_allowed_batch_sizes_pad_rows_that_the_split_drops():
    requests = [{"x": np.array([[1.0], [2.0]])}, {"x": np.array([[3.0]])}]
    options = BatchingOptions(max_batch_size=8, allowed_batch_sizes=(2, 4, 8))
    size = options.batch_size_for(3)
    merged = batch_tensors.merge(requests, size)
    np.testing.assert_array_equal(merged["x"][:, 0], [1, 2, 3, 3])  # first row of the last request
    parts = batch_tensors.split({"y": merged["x"] * 10}, [2, 1], size)
    np.testing.assert_array_equal(parts[0]["y"][:, 0], [10, 20])
    np.testing.assert_array_equal(parts[1]["y"][:, 0], [30])
    with pytest.raises(Exception, match="0th dimension does not equal"):
        batch_tensors.split({"y": np.zeros((3, 1))}, [2, 1], size)


def test_batching_parameters_file_as_tf_serving_reads_it():
    options = batching_config.load(os.path.join(REPO, "serving", "batching.config"))
    assert (options.max_batch_size, options.batch_timeout_micros, options.num_batch_threads,
            options.max_enqueued_batches, options.pad_variable_length_inputs) == (64, 0, 1, 256, True)
    defaults = batching_config.load("")
    assert (defaults.max_batch_size, defaults.batch_timeout_micros,
            defaults.max_enqueued_batches) == (1000, 0, 10)
    with pytest.raises(DataError, match="Last entry in allowed_batch_sizes must match max_batch_size"):
        batching_config.parse("max_batch_size { value: 8 } allowed_batch_sizes: 4")
    with pytest.raises(DataError, match="not valid BatchingParameters"):
        batching_config.parse("max_batch_size: 8")  # a wrapper message, not a scalar


def test_server_merges_recommend_calls_and_isolates_an_unknown_user(world, export_root):
    dataset, models = world
    scores = world_lib.masked_scores(world_lib.reference_scores(models["mf"], dataset), dataset,
                                     range(len(dataset.user_ids)))
    # a batch closes when 4 requests are in it (the timeout is only a fallback)
    options = BatchingOptions(max_batch_size=4, batch_timeout_micros=30_000_000, num_batch_threads=1)
    server = start_server(model_config.single_model("mf", os.path.join(export_root, "mf")),
                          batching=options, poll_wait_seconds=0)
    users = ["u01", "u02", "nobody", "u03"]
    outcomes = {}

    def ask(user):
        # the first three wait in the batch for the fourth: a deadline well past a slow start
        with RecommenderClient(f"127.0.0.1:{server.port}", model="mf", retries=0, timeout=60) as client:
            try:
                outcomes[user] = client.recommend(user, k=5)
            except InvalidArgument as e:
                outcomes[user] = e

    try:
        threads = [threading.Thread(target=ask, args=(u,)) for u in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.stop(grace=1.0)
    assert server.batcher.batch_sizes == {4: 1}
    assert "unknown user" in str(outcomes["nobody"])
    for user in ("u01", "u02", "u03"):
        got = outcomes[user]
        world_lib.assert_top_k_matches([r.item_id for r in got], [r.score for r in got],
                                       scores[dataset.user_ids.index(user)], dataset.item_ids)
