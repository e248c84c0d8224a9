"""TF Serving's MonitoringConfig proto, rebuilt from its .proto definition
(tensorflow_serving/config/monitoring_config.proto): the tensorflow-serving-api wheel does not
ship it, and the config file must parse as TF Serving will parse it. BatchingParameters is
rebuilt the same way in the package (`tfvisrec.serving.batching_config`), which reads it."""
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tfvisrec.serving.batching_config import BatchingParameters, Field, proto_field


def _build():
    pool = descriptor_pool.DescriptorPool()
    file = descriptor_pb2.FileDescriptorProto(
        name="tfvisrec_tests/tf_serving_configs.proto", package="tensorflow.serving",
        syntax="proto3")
    file.message_type.add(name="PrometheusConfig", field=[
        proto_field("enable", 1, Field.TYPE_BOOL), proto_field("path", 2, Field.TYPE_STRING)])
    file.message_type.add(name="MonitoringConfig", field=[
        proto_field("prometheus_config", 1, Field.TYPE_MESSAGE, ".tensorflow.serving.PrometheusConfig")])
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.MonitoringConfig"))


MonitoringConfig = _build()
__all__ = ["BatchingParameters", "MonitoringConfig"]
