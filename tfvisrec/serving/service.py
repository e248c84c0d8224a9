"""The gRPC services of TF Serving over a `ModelRepository`.

PredictionService: Predict and GetModelMetadata (signature_def); Classify, Regress and
MultiInference answer UNIMPLEMENTED. ModelService: GetModelStatus and
HandleReloadConfigRequest. Errors travel as `ServingError` and leave as their status code.
"""
import logging

import grpc
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2,
                                     model_management_pb2, model_service_pb2_grpc,
                                     prediction_service_pb2_grpc, status_pb2)

from tfvisrec.client.status import (DeadlineExceeded, FailedPrecondition, InvalidArgument,
                                    ServingError, Unimplemented)
from tfvisrec.serving import model_config
from tfvisrec.serving.repository import ModelRepository

SIGNATURE_DEF_FIELD = "signature_def"
log = logging.getLogger("tfvisrec.server")


def _serve(context, method: str, handler):
    """Run `handler()`; a ServingError (or anything unexpected) aborts the RPC with its code."""
    try:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded(f"{method}: deadline exceeded before the request was served")
        return handler()
    except ServingError as e:
        log.debug("%s failed: %s", method, e)
        context.abort(e.code, e.message)
    except Exception as e:  # a server bug must not look like a client error
        log.exception("%s failed unexpectedly", method)
        context.abort(grpc.StatusCode.INTERNAL, f"{method}: {type(e).__name__}: {e}")


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, repository: ModelRepository):
        self.repository = repository

    def Predict(self, request, context):
        return _serve(context, "Predict", lambda: self._predict(request))

    def _predict(self, request):
        if not request.HasField("model_spec"):  # predict_impl.cc
            raise InvalidArgument("Missing ModelSpec")
        return self.repository.get(request.model_spec).predict(request)

    def GetModelMetadata(self, request, context):
        return _serve(context, "GetModelMetadata", lambda: self._metadata(request))

    def _metadata(self, request):
        if not request.HasField("model_spec"):
            raise InvalidArgument("Missing ModelSpec")
        if not request.metadata_field:
            raise InvalidArgument("GetModelMetadataRequest must specify at least one metadata_field")
        for field in request.metadata_field:
            if field != SIGNATURE_DEF_FIELD:
                raise InvalidArgument(f"Metadata field {field} is not supported")
        version = self.repository.get(request.model_spec)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, signature_def in version.signature_defs.items():
            signature_map.signature_def[name].CopyFrom(signature_def)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = version.name
        response.model_spec.version.value = version.version
        response.metadata[SIGNATURE_DEF_FIELD].Pack(signature_map)
        return response

    def Classify(self, request, context):
        return _serve(context, "Classify", lambda: _unimplemented("Classify"))

    def Regress(self, request, context):
        return _serve(context, "Regress", lambda: _unimplemented("Regress"))

    def MultiInference(self, request, context):
        return _serve(context, "MultiInference", lambda: _unimplemented("MultiInference"))


def _unimplemented(method):
    raise Unimplemented(f"{method} is not implemented by the tfvisrec embedded server "
                        "(tfvisrec models export Predict signatures only); use Predict")


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, repository: ModelRepository):
        self.repository = repository

    def GetModelStatus(self, request, context):
        return _serve(context, "GetModelStatus", lambda: self._status(request))

    def _status(self, request):
        if not request.HasField("model_spec"):
            raise InvalidArgument("Missing ModelSpec")
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        response = get_model_status_pb2.GetModelStatusResponse()
        for number, status in self.repository.status(spec.name, version):
            entry = response.model_version_status.add()
            entry.version = number
            entry.state = status.state
            entry.status.error_code = status.error_code
            entry.status.error_message = status.error_message
        return response

    def HandleReloadConfigRequest(self, request, context):
        return _serve(context, "HandleReloadConfigRequest", lambda: self._reload(request))

    def _reload(self, request):
        if not request.config.HasField("model_config_list"):
            raise InvalidArgument("ModelServerConfig must hold a model_config_list "
                                  "(custom_model_config is not supported)")
        wrong = model_config.problem(request.config)
        if wrong:   # refused before anything changes, as TF Serving's ValidateModelConfigList
            log.error("model config reload refused: %s", wrong)
            raise InvalidArgument(wrong)
        wrong = self.repository.label_problem(request.config)
        if wrong:   # as TF Serving's UpdateModelVersionLabelMap
            log.error("model config reload refused: %s", wrong)
            raise FailedPrecondition(wrong)
        not_serving = self.repository.reload(request.config)
        if not_serving:   # applied, but not serving: TF Serving's WaitUntilModelsAvailable error
            message = (f"{len(not_serving)} model(s) did not become available: "
                       + "; ".join(f"{{{name}: {why}}}" for name, why in not_serving.items()))
            log.error("model config reloaded, but %s", message)
            raise ServingError(message)
        log.info("reloaded the model config: serving %s", ", ".join(self.repository.model_names()))
        return model_management_pb2.ReloadConfigResponse(status=status_pb2.StatusProto())
