"""The reference servers of `serving_overhead.py`, each in its own process:

    python bench/overhead_servers.py --mode=echo   --model_base_path=DIR
    python bench/overhead_servers.py --mode=canned --model_base_path=DIR [server flags]

- `echo`: a bare grpcio server (thread pool, no interceptor, no model) whose Predict parses
  the PredictRequest and answers a canned PredictResponse: the real answer of `recommend`
  for one user (100 ids + 100 scores), computed once at start. The floor of any Python
  gRPC server.
- `canned`: the embedded server (`tfvisrec.server`'s flags, model loaded and warmed up), with
  the signature call replaced by its first answer: parsing, validation, routing,
  interceptor and response encoding, but no TensorFlow per request.

Both print the line `tfvisrec.server` prints once listening ("... serving NAME on HOST:PORT").
"""
import concurrent.futures
import os
import sys
import threading

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
import tfvisrec  # noqa: E402,F401
from tfvisrec.config import parse_flags  # noqa: E402  (--help exits 0, a flag error 2)
from tfvisrec import server as server_cli  # noqa: E402
from tfvisrec.serving.loaded import LoadedVersion  # noqa: E402

flags.DEFINE_enum("mode", "canned", ["echo", "canned"], "Which reference server (module doc).")
FLAGS = flags.FLAGS
server_cli.define_flags()


def canned_calls():
    """Make every LoadedVersion answer each signature with its first real answer."""
    real_call = LoadedVersion._call  # pylint: disable=protected-access
    answers = {}

    def canned(self, signature_name, inputs):
        key = (id(self), signature_name)
        if key not in answers:
            answers[key] = real_call(self, signature_name, inputs)
        return answers[key]

    LoadedVersion._call = canned  # pylint: disable=protected-access


def serve_echo():
    import grpc
    import numpy as np
    from tensorflow_serving.apis import predict_pb2

    from tfvisrec.client.tensors import to_tensor_proto

    version_dirs = sorted(int(v) for v in os.listdir(FLAGS.model_base_path) if v.isdigit())
    version = LoadedVersion("bench", version_dirs[-1],
                            os.path.join(FLAGS.model_base_path, str(version_dirs[-1])))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "bench"
    request.model_spec.signature_name = "recommend"
    request.inputs["user"].CopyFrom(to_tensor_proto(np.array(["user-0"], object)))
    request.inputs["k"].CopyFrom(to_tensor_proto(np.array([100], np.int32)))
    answer = version.predict(request, batch=False)

    def predict(request, context):
        del request, context
        return answer

    handler = grpc.method_handlers_generic_handler("tensorflow.serving.PredictionService", {
        "Predict": grpc.unary_unary_rpc_method_handler(
            predict, request_deserializer=predict_pb2.PredictRequest.FromString,
            response_serializer=predict_pb2.PredictResponse.SerializeToString)})
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=FLAGS.grpc_max_threads),
                         handlers=[handler])
    port = server.add_insecure_port(f"{FLAGS.host}:{FLAGS.port}")
    server.start()
    print(f"tfvisrec.server: serving bench on {FLAGS.host}:{port}", flush=True)
    threading.Event().wait()


def main(argv):
    del argv
    if FLAGS.mode == "echo":
        serve_echo()
        return 0
    canned_calls()
    return server_cli.main([])


if __name__ == "__main__":
    app.run(lambda argv: sys.exit(main(argv)), flags_parser=parse_flags)
