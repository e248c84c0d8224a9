"""One loaded version of one model: its SignatureDefs and the Predict logic of TF Serving.

Generic: any SavedModel with signatures, not only those `tfvisrec.export` writes. With a
`BatchScheduler` (`--enable_batching`), signature calls of concurrent requests are merged.
"""
import os
from typing import Dict, Optional

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import predict_pb2

from tfvisrec.client.status import InvalidArgument, from_tf_error, signature_not_found
from tfvisrec.client.tensors import to_tensor_proto
from tfvisrec.serving import flat_call, layout, requests, warmup
from tfvisrec.serving.batching import BatchScheduler

DEFAULT_SIGNATURE = tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY
SERVE_TAG = tf.saved_model.SERVING


def read_signature_defs(path: str) -> Dict[str, object]:
    """The SignatureDefs of the `serve` MetaGraph (what GetModelMetadata reports)."""
    with open(os.path.join(path, layout.SAVED_MODEL_FILE), "rb") as f:
        saved_model = saved_model_pb2.SavedModel.FromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        if SERVE_TAG in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    raise ValueError(f"{path}: no MetaGraph tagged '{SERVE_TAG}'")


class LoadedVersion:
    """A SavedModel loaded for serving, with TF Serving's Predict semantics."""

    def __init__(self, name: str, version: int, path: str,
                 batcher: Optional[BatchScheduler] = None):
        self.name = name
        self.version = int(version)
        self.path = path
        self.signature_defs = read_signature_defs(path)
        self._module = tf.saved_model.load(path, tags=[SERVE_TAG])
        self._functions = dict(self._module.signatures)
        self._callers = {name: flat_call.caller(f) for name, f in self._functions.items()}
        self._batcher = batcher

    def signature_def(self, signature_name: str):
        if signature_name.startswith("__") or signature_name not in self._functions:
            raise signature_not_found(signature_name)
        return self.signature_defs[signature_name]

    def run(self, signature_name: str, inputs: Dict[str, np.ndarray],
            batch: bool = True) -> Dict[str, np.ndarray]:
        """Call one signature on validated numpy inputs (batched with other requests when a
        scheduler is set and `batch`); TF errors become ServingErrors."""
        if self._batcher is None or not batch:
            return self._call(signature_name, inputs)
        return self._batcher.run((self, signature_name), inputs,
                                 lambda merged: self._call(signature_name, merged))

    def _call(self, signature_name: str, inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        try:
            return self._callers[signature_name](inputs)
        except tf.errors.OpError as e:
            raise from_tf_error(e.error_code, e.message) from None
        except (TypeError, ValueError) as e:
            raise InvalidArgument(f"signature '{signature_name}' rejected the inputs: {e}") from None

    def predict(self, request: predict_pb2.PredictRequest,
                batch: bool = True) -> predict_pb2.PredictResponse:
        signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
        signature_def = self.signature_def(signature_name)
        inputs = requests.parse_inputs(signature_def, request.inputs, signature_name)
        aliases = requests.output_aliases(signature_def, request.output_filter)
        outputs = self.run(signature_name, inputs, batch)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = self.name
        response.model_spec.version.value = self.version
        response.model_spec.signature_name = signature_name
        for alias in aliases:
            response.outputs[alias].CopyFrom(to_tensor_proto(outputs[alias]))
        return response

    def warmup(self) -> int:
        """Replay `assets.extra/tf_serving_warmup_requests`; returns the number replayed.

        A failing warmup request fails the load, as in TF Serving. Nothing can be merged with
        them (the version is not served yet), so they run unbatched."""
        count = 0
        for record in warmup.read_warmup(self.path):
            kind = record.WhichOneof("log_type")
            if kind != "predict_log":
                raise ValueError(f"{self.path}: warmup record of type {kind!r} is not supported "
                                 "(only predict_log)")
            self.predict(record.predict_log.request, batch=False)
            count += 1
        return count
