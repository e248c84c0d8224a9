"""The protos the client speaks (TF Serving's API, TensorFlow's TensorProto), loaded without
starting TensorFlow.

`tensorflow_serving.apis` imports TensorFlow's proto modules (`tensorflow.core.framework.
tensor_pb2`, ...). They are plain generated protobuf code, but importing them the ordinary way
runs `tensorflow/__init__.py` first, which loads the whole runtime (seconds and several hundred
MB before the first request). So unless TensorFlow is imported already, a bare `tensorflow`
package (its real `__path__`, nothing executed; its sub-packages up to the proto modules have
empty `__init__.py` files) stands in while the proto modules load, and is removed again: a later
`import tensorflow` runs TensorFlow's own `__init__` and finds these proto modules loaded, the
same classes (a TensorProto built here is a `tf.make_tensor_proto` TensorProto).

Import the client before threads start importing TensorFlow: a thread importing `tensorflow`
during the few hundred milliseconds the stand-in exists would get the bare package.
"""
import importlib
import importlib.machinery
import importlib.util
import sys

_MODULES = ("tensorflow.core.framework.tensor_pb2",
            "tensorflow.core.framework.tensor_shape_pb2",
            "tensorflow.core.framework.types_pb2",
            "tensorflow_serving.apis.get_model_metadata_pb2",
            "tensorflow_serving.apis.get_model_status_pb2",
            "tensorflow_serving.apis.model_service_pb2_grpc",
            "tensorflow_serving.apis.predict_pb2",
            "tensorflow_serving.apis.prediction_service_pb2_grpc")


def _import_all():
    return [importlib.import_module(name) for name in _MODULES]


def _import_without_tensorflow_runtime():
    if "tensorflow" in sys.modules:
        return _import_all()
    spec = importlib.machinery.PathFinder.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        return _import_all()  # raises the ordinary ModuleNotFoundError
    stand_in = importlib.util.module_from_spec(spec)  # __path__ set, __init__ not executed
    sys.modules["tensorflow"] = stand_in
    try:
        return _import_all()
    finally:
        if sys.modules.get("tensorflow") is stand_in:
            del sys.modules["tensorflow"]


(tensor_pb2, tensor_shape_pb2, types_pb2, get_model_metadata_pb2, get_model_status_pb2,
 model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc) = \
    _import_without_tensorflow_runtime()
