"""The client package stands alone: no TensorFlow runtime, nothing from the higher layers, and
TensorFlow imported afterwards in the same process still works with the client's protos."""
import os
import subprocess
import sys
import textwrap

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHECK = textwrap.dedent("""
    import socket, sys
    from tfvisrec.client import RecommenderClient, Unavailable
    from tfvisrec.client import cli, tensors
    import numpy as np

    with socket.socket() as s:  # a free port nobody listens on: a full call, UNAVAILABLE
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert cli.main(["recommend", "--target", f"127.0.0.1:{port}", "--model", "m",
                     "--user", "u", "--retries", "0", "--timeout", "2"]) == 1
    loaded = sorted(m for m in sys.modules if m == "tensorflow" or m.startswith(
        ("tensorflow.python", "tf_keras", "tfvisrec.serving", "tfvisrec.models",
         "tfvisrec.training", "tfvisrec.data", "tfvisrec.vision")))
    assert not loaded, loaded
    print("no tensorflow runtime")

    import tensorflow as tf  # afterwards: the real package, sharing the proto classes
    proto = tf.make_tensor_proto(np.array([[1.5, 2.0]], np.float32))
    assert isinstance(proto, tensors.tensor_pb2.TensorProto)
    np.testing.assert_array_equal(tensors.to_ndarray(proto), [[1.5, 2.0]])
    back = tf.make_ndarray(tensors.to_tensor_proto(np.array([b"a", b"b"], object)))
    assert back.tolist() == [b"a", b"b"] and float(tf.reduce_sum(tf.constant([1.0, 2.0]))) == 3.0
    print("tensorflow after the client works")
""")


def test_client_loads_no_tensorflow_runtime_and_tensorflow_still_works_after():
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    done = subprocess.run([sys.executable, "-c", CHECK], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:2] == ["no tensorflow runtime",
                                           "tensorflow after the client works"]
    assert "error: UNAVAILABLE" in done.stderr
