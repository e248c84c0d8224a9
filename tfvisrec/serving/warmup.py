"""Warmup requests: `assets.extra/tf_serving_warmup_requests`, a TFRecord of PredictionLog.

TF Serving replays these after loading a version and before serving it (so the first real
request does not pay for graph tracing); the embedded server does the same. At most 1000
records are read (TF Serving's `WarmupConsts::kMaxNumRecords`).
"""
import os
from typing import Dict, Iterator

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

from tfvisrec.client.tensors import to_tensor_proto

ASSETS_EXTRA = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000


def warmup_path(saved_model_dir: str) -> str:
    return os.path.join(saved_model_dir, ASSETS_EXTRA, WARMUP_FILE)


def predict_log(model_name: str, signature_name: str,
                inputs: Dict[str, np.ndarray]) -> prediction_log_pb2.PredictionLog:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(to_tensor_proto(value))
    return prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request))


def write_warmup(saved_model_dir: str, model_name: str,
                 requests: Dict[str, Dict[str, np.ndarray]]) -> str:
    """One Predict record per signature: `requests` = {signature_name: inputs}."""
    if len(requests) > MAX_RECORDS:
        raise ValueError(f"{len(requests)} warmup records exceed TF Serving's {MAX_RECORDS}")
    path = warmup_path(saved_model_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for signature_name, inputs in requests.items():
            writer.write(predict_log(model_name, signature_name, inputs).SerializeToString())
    return path


def read_warmup(saved_model_dir: str) -> Iterator[prediction_log_pb2.PredictionLog]:
    """The PredictionLogs of a version's warmup file (none if it has no file)."""
    path = warmup_path(saved_model_dir)
    if not os.path.exists(path):
        return
    for count, record in enumerate(tf.data.TFRecordDataset(path).as_numpy_iterator()):
        if count >= MAX_RECORDS:
            raise ValueError(f"number of warmup records exceeds the maximum ({MAX_RECORDS}) "
                             f"at {path}")
        yield prediction_log_pb2.PredictionLog.FromString(record)
