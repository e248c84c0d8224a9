"""Status codes shared by the embedded server and the client, as TF Serving uses them.

The server raises a `ServingError` subclass and the gRPC layer turns it into the status code;
the client turns a failed RPC back into the same subclass, so callers catch e.g. `NotFound`
whichever server (TF Serving or the embedded one) answered.
"""
import re
from typing import Dict, Type

import grpc


class ServingError(Exception):
    """A request the server could not serve; `code` is the gRPC status code."""

    code = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, code: grpc.StatusCode = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return f"{self.code.name}: {self.message}"


class InvalidArgument(ServingError):
    """Bad inputs: names, dtypes, shapes, unknown ids, undecodable images, bad k."""
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServingError):
    """No such model, or no such version loaded."""
    code = grpc.StatusCode.NOT_FOUND


class FailedPrecondition(ServingError):
    """The model has no signature of that name (or another precondition failed)."""
    code = grpc.StatusCode.FAILED_PRECONDITION


class MissingSignature(FailedPrecondition):
    """Client side: the served model does not export the signature that was called."""


class NotAnImage(InvalidArgument):
    """Client side: a file that is not an image the server decodes (another format, or cut short or
    damaged), refused before sending."""


class Unavailable(ServingError):
    """Server unreachable or shutting down (the client retries these)."""
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ServingError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class ResourceExhausted(ServingError):
    """Typically a message above the server's (or client's) size limit."""
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unimplemented(ServingError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(ServingError):
    code = grpc.StatusCode.INTERNAL


class Cancelled(ServingError):
    code = grpc.StatusCode.CANCELLED


_BY_CODE: Dict[grpc.StatusCode, Type[ServingError]] = {
    cls.code: cls for cls in (InvalidArgument, NotFound, FailedPrecondition, Unavailable,
                              DeadlineExceeded, ResourceExhausted, Unimplemented, Internal,
                              Cancelled)}
# TensorFlow's error codes are numerically gRPC's (both follow google.rpc.Code).
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}

_TF_NOISE = re.compile(
    r"^(Graph execution error:|Detected at node|\s+File \"|<stack traces unavailable>|\s*$)")
_ASSERTION = "assertion failed: ["   # how a failed tf.debugging.Assert begins
_TF_NODE_SUFFIX = re.compile(r"\s*\[\[\{\{node [^}]*\}\}\]\].*$|\s*\[Op:[^\]]*\]\s*$")


# TF Serving's words for a signature the model lacks; the embedded server uses the same.
_SIGNATURE_NOT_FOUND = re.compile(r'^Serving signature key "(?P<name>[^"]*)" not found')


def signature_not_found(name: str) -> FailedPrecondition:
    """The server's answer to a Predict on a signature the model does not export."""
    return FailedPrecondition(f'Serving signature key "{name}" not found.')


def missing_signature_name(error: ServingError):
    """The signature name if `error` is the server's "signature not found" answer, else None."""
    if not isinstance(error, FailedPrecondition):
        return None
    match = _SIGNATURE_NOT_FOUND.match(error.message)
    return match.group("name") if match else None


def error_for(code: grpc.StatusCode, message: str) -> ServingError:
    """The `ServingError` subclass for a gRPC status code."""
    cls = _BY_CODE.get(code, ServingError)
    return cls(message) if cls is not ServingError else ServingError(message, code)


def from_tf_error(error_code: int, message: str) -> ServingError:
    """A `tf.errors.OpError` (its `error_code`, `message`) as a ServingError, message cleaned
    of graph-execution noise (stack summary, node names) so the client sees only the cause."""
    code = _BY_NUMBER.get(int(error_code), grpc.StatusCode.UNKNOWN)
    return error_for(code, clean_tf_message(message))


def clean_tf_message(message: str) -> str:
    """The cause alone: no stack summary or node names, and a failed `tf.debugging.Assert`'s
    'assertion failed: [text] [\\"data\\"]' read as 'text "data"'."""
    lines = [_TF_NODE_SUFFIX.sub("", line) for line in message.splitlines()]
    kept = [line.strip() for line in lines if not _TF_NOISE.match(line) and line.strip()]
    text = " ".join(kept) if kept else message.strip()
    if text.startswith(_ASSERTION) and text.endswith("]"):
        text = text[len(_ASSERTION):-1].replace("] [", " ").replace('\\"', '"')   # TF escapes the data
    return text


def from_rpc_error(error: grpc.RpcError) -> ServingError:
    """A failed RPC (client side) as the matching ServingError subclass."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return error_for(code, clean_tf_message(details or ""))   # TF Serving sends TF's own text
