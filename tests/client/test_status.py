"""The client's errors read the same whichever server answered: TF Serving sends TensorFlow's
own text (node names, "assertion failed: [..] [..]"), the embedded server cleans it first."""
import grpc
import pytest

from tfvisrec.client.status import FailedPrecondition, InvalidArgument, clean_tf_message, from_rpc_error


class _FailedCall(grpc.RpcError):
    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


@pytest.mark.parametrize("raw, clean", [
    ('assertion failed: [unknown user id(s), not in the training vocabulary:] [\\"ghost\\" \\"\\"]\n'
     '\t [[{{node StatefulPartitionedCall/Assert/Assert}}]]',
     'unknown user id(s), not in the training vocabulary: "ghost" ""'),
    ("assertion failed: [k must be between 1 and K=20 (fixed at export); got] [0]",
     "k must be between 1 and K=20 (fixed at export); got 0"),
    ("Graph execution error:\n\nDetected at node DecodeJpeg defined at (most recent call last):\n"
     "<stack traces unavailable>\nInvalid JPEG data or crop window.\n\t [[{{node DecodeJpeg}}]]",
     "Invalid JPEG data or crop window."),
    ("input 'user' has an empty batch (0th) dimension; send at least one row",
     "input 'user' has an empty batch (0th) dimension; send at least one row"),
])
def test_tensorflow_text_is_read_as_its_cause(raw, clean):
    assert clean_tf_message(raw) == clean
    assert clean_tf_message(clean) == clean        # the embedded server's, already clean
    error = from_rpc_error(_FailedCall(grpc.StatusCode.INVALID_ARGUMENT, raw))
    assert isinstance(error, InvalidArgument) and error.message == clean
    assert str(error) == f"INVALID_ARGUMENT: {clean}"


def test_other_codes_keep_their_class():
    error = from_rpc_error(_FailedCall(grpc.StatusCode.FAILED_PRECONDITION, 'Serving signature key "explain" not found.'))
    assert isinstance(error, FailedPrecondition) and error.message == 'Serving signature key "explain" not found.'
