"""Request batching for the embedded server, after TF Serving's SharedBatchScheduler and
batching session (`--enable_batching`; tensorflow/core/kernels/batching_util/
shared_batch_scheduler.h, tensorflow_serving/batching/batching_session.cc).

Concurrent Predict calls of one loaded version and signature are queued together; a queue
holds batches of at most `max_batch_size` rows, the last one open. A batch is run, on one of
`num_batch_threads` threads shared by every queue, when it is full, when a later request did
not fit in it, or when its first request has waited `batch_timeout_micros` (0 = as soon as a
thread is free: under load, requests gather while the threads are busy). One signature call
serves the whole batch; its outputs are split back per request (`batch_tensors`).

As in TF Serving: a request larger than max_batch_size is INVALID_ARGUMENT ("Task size ...");
a queue already holding `max_enqueued_batches` batches answers UNAVAILABLE ("... is full").
Beyond TF Serving:
- only requests whose non-batch dimensions agree share a batch (or, with
  pad_variable_length_inputs, whose ranks agree), so a mismatch never fails a batch;
- a request with a bad value (an unknown user id, k out of range: checks inside the graph)
  fails only itself: when the merged call fails, each request of the batch is run alone and
  gets its own answer. Requests are checked against the signature (names, dtypes, shapes)
  before they are queued.
"""
import collections
import logging
import threading
import time
from typing import Callable, Dict, Hashable, List, Optional

import numpy as np

from tfvisrec.client.status import InvalidArgument, ServingError, Unavailable
from tfvisrec.serving import batch_tensors
from tfvisrec.serving.batching_config import BatchingOptions

Arrays = Dict[str, np.ndarray]
Run = Callable[[Arrays], Arrays]
log = logging.getLogger("tfvisrec.server")


class _Task:
    __slots__ = ("inputs", "size", "done", "outputs", "error")

    def __init__(self, inputs: Arrays, size: int):
        self.inputs, self.size = inputs, size
        self.done = threading.Event()
        self.outputs: Optional[Arrays] = None
        self.error: Optional[BaseException] = None


class _Batch:
    __slots__ = ("tasks", "size", "deadline", "run")

    def __init__(self, deadline: float, run: Run):
        self.tasks: List[_Task] = []
        self.size = 0
        self.deadline = deadline
        self.run = run


class BatchScheduler:
    """Queues keyed by (loaded version, signature, input shapes); see the module docstring."""

    def __init__(self, options: BatchingOptions):
        self.options = options
        self._timeout = options.batch_timeout_micros / 1e6
        self._condition = threading.Condition()
        self._queues: Dict[Hashable, collections.deque] = {}
        self._stopping = False
        self.batch_sizes = collections.Counter()  # rows per batch run (merged requests)
        self._threads = [threading.Thread(target=self._work, daemon=True,
                                          name=f"{options.thread_pool_name}-{i}")
                         for i in range(options.num_batch_threads)]
        for thread in self._threads:
            thread.start()

    def run(self, key: Hashable, inputs: Arrays, run: Run) -> Arrays:
        """`run(inputs)`, batched with other requests of the same `key`; blocks until done.

        `run` must be the same function for every request of a key (it is the loaded
        version's signature call)."""
        size = batch_tensors.rows(inputs)
        if size > self.options.max_batch_size:
            raise InvalidArgument(f"Task size {size} is larger than maximum input batch size "
                                  f"{self.options.max_batch_size}")
        key = (key, batch_tensors.shape_key(inputs, self.options.pad_variable_length_inputs))
        task = _Task(inputs, size)
        with self._condition:
            if self._stopping:
                raise Unavailable("the server is shutting down; retry (on another replica)")
            batches = self._queues.setdefault(key, collections.deque())
            if not batches or batches[-1].size + size > self.options.max_batch_size:
                if len(batches) >= self.options.max_enqueued_batches:
                    raise Unavailable(
                        "The batch scheduling queue to which this task was submitted is full; "
                        f"currently {len(batches)} batches enqueued and max_enqueued_batches "
                        f"is {self.options.max_enqueued_batches}")
                batches.append(_Batch(time.monotonic() + self._timeout, run))
            batch = batches[-1]
            batch.tasks.append(task)
            batch.size += size
            self._condition.notify()
        task.done.wait()
        if task.error is not None:
            raise task.error
        return task.outputs

    def queued_rows(self) -> int:
        """Rows waiting in the queues (not yet taken by a batch thread)."""
        with self._condition:
            return sum(b.size for batches in self._queues.values() for b in batches)

    def stop(self) -> None:
        """Run what is queued, then end the batch threads; later requests get UNAVAILABLE."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join()

    # ---- batch threads -----------------------------------------------------------------
    def _ready(self, batches, now: float) -> bool:
        first = batches[0]
        return (len(batches) > 1 or first.size >= self.options.max_batch_size
                or now >= first.deadline or self._stopping)

    def _next_batch(self) -> Optional[_Batch]:
        """The ready batch waiting longest (None once stopping and nothing is left)."""
        with self._condition:
            while True:
                now = time.monotonic()
                ready = [(batches[0].deadline, key) for key, batches in self._queues.items()
                         if self._ready(batches, now)]
                if ready:
                    key = min(ready)[1]
                    batches = self._queues[key]
                    batch = batches.popleft()
                    self.batch_sizes[batch.size] += 1
                    if not batches:
                        del self._queues[key]
                    if self._queues:
                        self._condition.notify()  # another thread may take the next one
                    return batch
                if self._stopping:
                    return None
                deadlines = [b[0].deadline for b in self._queues.values()]
                self._condition.wait(min(deadlines) - now if deadlines else None)

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                _process(batch, self.options)
            except BaseException as e:  # noqa: BLE001  (never leave a request waiting)
                log.exception("batch of %d requests failed", len(batch.tasks))
                for task in batch.tasks:
                    if task.outputs is None and task.error is None:
                        task.error = e
            finally:
                for task in batch.tasks:
                    task.done.set()


def _run_alone(task: _Task, run: Run) -> None:
    try:
        task.outputs = run(task.inputs)
    except ServingError as e:
        task.error = e


def _process(batch: _Batch, options: BatchingOptions) -> None:
    tasks = batch.tasks
    batch_size = options.batch_size_for(batch.size)
    if len(tasks) == 1 and batch_size == batch.size:
        _run_alone(tasks[0], batch.run)
        return
    merged = batch_tensors.merge([t.inputs for t in tasks], batch_size)
    try:
        outputs = batch.run(merged)
    except ServingError:
        # One bad request (an unknown id, k out of range) fails the merged call: give each
        # request its own answer instead of failing them all.
        for task in tasks:
            _run_alone(task, batch.run)
        return
    parts = batch_tensors.split(outputs, [t.size for t in tasks], batch_size)
    for task, part in zip(tasks, parts):
        task.outputs = part
