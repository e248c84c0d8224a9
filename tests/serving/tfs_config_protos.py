"""TF Serving's BatchingParameters and MonitoringConfig protos, rebuilt from their .proto
definitions (tensorflow_serving/servables/tensorflow/session_bundle_config.proto and
tensorflow_serving/config/monitoring_config.proto): the tensorflow-serving-api wheel ships
neither, and the config files must parse as TF Serving will parse them."""
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

F = descriptor_pb2.FieldDescriptorProto


def _field(name, number, kind, type_name="", repeated=False):
    field = F(name=name, number=number, type=kind,
              label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
    if type_name:
        field.type_name = type_name
    return field


def _build():
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(wrappers_pb2.DESCRIPTOR.serialized_pb))
    file = descriptor_pb2.FileDescriptorProto(
        name="tfvisrec_tests/tf_serving_configs.proto", package="tensorflow.serving",
        syntax="proto3", dependency=["google/protobuf/wrappers.proto"])
    int64 = ".google.protobuf.Int64Value"
    file.message_type.add(name="BatchingParameters", field=[
        _field("max_batch_size", 1, F.TYPE_MESSAGE, int64),
        _field("batch_timeout_micros", 2, F.TYPE_MESSAGE, int64),
        _field("max_enqueued_batches", 3, F.TYPE_MESSAGE, int64),
        _field("num_batch_threads", 4, F.TYPE_MESSAGE, int64),
        _field("thread_pool_name", 5, F.TYPE_MESSAGE, ".google.protobuf.StringValue"),
        _field("allowed_batch_sizes", 6, F.TYPE_INT64, repeated=True),
        _field("pad_variable_length_inputs", 7, F.TYPE_BOOL)])
    file.message_type.add(name="PrometheusConfig", field=[
        _field("enable", 1, F.TYPE_BOOL), _field("path", 2, F.TYPE_STRING)])
    file.message_type.add(name="MonitoringConfig", field=[
        _field("prometheus_config", 1, F.TYPE_MESSAGE, ".tensorflow.serving.PrometheusConfig")])
    pool.Add(file)
    get = lambda name: message_factory.GetMessageClass(  # noqa: E731
        pool.FindMessageTypeByName(f"tensorflow.serving.{name}"))
    return get("BatchingParameters"), get("MonitoringConfig")


BatchingParameters, MonitoringConfig = _build()
