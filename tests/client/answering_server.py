"""A PredictionService on loopback that answers from the request alone (no model, no
TensorFlow): for testing the client's command line. `recommend` answers each user row with
"<user>-best", "<user>-next"; `generate` a one-pixel PNG per seed."""
import concurrent.futures
import contextlib
import io
from typing import Iterator

import grpc
import numpy as np
from PIL import Image

from tfvisrec.client.protos import predict_pb2, prediction_service_pb2_grpc
from tfvisrec.client.tensors import to_ndarray, to_tensor_proto


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


class AnsweringPredictions(prediction_service_pb2_grpc.PredictionServiceServicer):
    def Predict(self, request, context):
        inputs = {name: to_ndarray(proto) for name, proto in request.inputs.items()}
        signature = request.model_spec.signature_name
        if signature == "recommend":
            users = [u.decode("utf-8") for u in inputs["user"]]
            outputs = {"item_ids": np.array([[f"{u}-best".encode(), f"{u}-next".encode()] for u in users], object),
                       "scores": np.array([[2.0, 1.0]] * len(users), np.float32)}
        elif signature == "generate":
            seeds = len(inputs["seed"])
            outputs = {"images": np.array([[_png()]] * seeds, object),
                       "scores": np.ones([seeds, 1], np.float32),
                       "objective": np.ones([seeds, 1], np.float32)}
        else:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"no {signature!r} here")
        response = predict_pb2.PredictResponse()
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(to_tensor_proto(value))
        return response


@contextlib.contextmanager
def answering_server() -> Iterator[str]:
    """Yield the "127.0.0.1:port" of an `AnsweringPredictions` server running meanwhile."""
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(AnsweringPredictions(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)
