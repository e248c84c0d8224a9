"""TF Serving's `BatchingParameters` text proto (`--batching_parameters_file`), read and checked.

The tensorflow-serving-api wheel does not ship the message, so it is rebuilt here field for
field from tensorflow_serving/servables/tensorflow/session_bundle_config.proto; a file that
TF Serving parses parses here, and a field TF Serving does not know fails the same way.
Defaults are TF Serving's: SharedBatchScheduler's QueueOptions (max_batch_size 1000,
batch_timeout_micros 0, max_enqueued_batches 10) and Options (num_batch_threads = cores).
"""
import dataclasses
import os
from typing import Tuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
from google.protobuf import wrappers_pb2

from tfvisrec.data.errors import DataError

Field = descriptor_pb2.FieldDescriptorProto


def proto_field(name, number, kind, type_name="", repeated=False) -> Field:
    """One field of a rebuilt TF Serving message."""
    field = Field(name=name, number=number, type=kind,
                  label=Field.LABEL_REPEATED if repeated else Field.LABEL_OPTIONAL)
    if type_name:
        field.type_name = type_name
    return field


def _batching_parameters_class():
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(wrappers_pb2.DESCRIPTOR.serialized_pb))
    file = descriptor_pb2.FileDescriptorProto(
        name="tfvisrec/session_bundle_config.proto", package="tensorflow.serving",
        syntax="proto3", dependency=["google/protobuf/wrappers.proto"])
    int64, boolean = ".google.protobuf.Int64Value", ".google.protobuf.BoolValue"
    file.message_type.add(name="BatchingParameters", field=[
        proto_field("max_batch_size", 1, Field.TYPE_MESSAGE, int64),
        proto_field("batch_timeout_micros", 2, Field.TYPE_MESSAGE, int64),
        proto_field("max_enqueued_batches", 3, Field.TYPE_MESSAGE, int64),
        proto_field("num_batch_threads", 4, Field.TYPE_MESSAGE, int64),
        proto_field("thread_pool_name", 5, Field.TYPE_MESSAGE, ".google.protobuf.StringValue"),
        proto_field("allowed_batch_sizes", 6, Field.TYPE_INT64, repeated=True),
        proto_field("pad_variable_length_inputs", 7, Field.TYPE_BOOL),
        proto_field("enable_large_batch_splitting", 8, Field.TYPE_MESSAGE, boolean),
        proto_field("max_execution_batch_size", 9, Field.TYPE_MESSAGE, int64)])
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


BatchingParameters = _batching_parameters_class()


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    """What the embedded server's batch scheduler reads (TF Serving's defaults)."""

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 10
    num_batch_threads: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    allowed_batch_sizes: Tuple[int, ...] = ()
    pad_variable_length_inputs: bool = False
    thread_pool_name: str = "model_server_batch_threads"

    def __post_init__(self):
        for name in ("max_batch_size", "max_enqueued_batches", "num_batch_threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_timeout_micros < 0:
            raise ValueError(f"batch_timeout_micros must be >= 0, got {self.batch_timeout_micros}")
        sizes = self.allowed_batch_sizes
        if sizes:  # bundle_factory_util.cc / batching_session.cc
            if sizes[-1] != self.max_batch_size:
                raise ValueError("Last entry in allowed_batch_sizes must match max_batch_size; "
                                 f"last entry was {sizes[-1]}; expected {self.max_batch_size}")
            if any(b <= a for a, b in zip(sizes, sizes[1:])) or sizes[0] < 1:
                raise ValueError("allowed_batch_sizes entries must be positive and "
                                 f"monotonically increasing, got {list(sizes)}")

    def batch_size_for(self, rows: int) -> int:
        """The batch size `rows` rows run at: the smallest allowed size >= rows (or rows)."""
        return next((size for size in self.allowed_batch_sizes if size >= rows), rows)


def from_proto(params) -> BatchingOptions:
    if params.HasField("enable_large_batch_splitting") and params.enable_large_batch_splitting.value:
        raise ValueError("enable_large_batch_splitting is not supported by the embedded server "
                         "(a request larger than max_batch_size is refused, as TF Serving does "
                         "without splitting)")
    values = {name: getattr(params, name).value
              for name in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches",
                           "num_batch_threads", "thread_pool_name")
              if params.HasField(name)}
    return BatchingOptions(allowed_batch_sizes=tuple(params.allowed_batch_sizes),
                           pad_variable_length_inputs=params.pad_variable_length_inputs,
                           **values)


def parse(text: str, path: str = "<batching parameters>") -> BatchingOptions:
    params = BatchingParameters()
    try:
        text_format.Parse(text, params)
        return from_proto(params)
    except (text_format.ParseError, ValueError) as e:
        raise DataError(f"not valid BatchingParameters: {e}", path) from None


def load(path: str) -> BatchingOptions:
    """`--batching_parameters_file`; "" gives TF Serving's defaults."""
    if not path:
        return BatchingOptions()
    if not os.path.exists(path):
        raise DataError("batching parameters file does not exist", path)
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), path)
