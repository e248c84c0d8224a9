"""Validation of a PredictRequest against a SignatureDef, with TF Serving's status codes.

Everything is checked before TensorFlow runs, so a bad request gets INVALID_ARGUMENT with a
message naming the input, never an error from deep inside the graph. Where TF Serving has a
fixed message (input count, output filter) the same words are used.
"""
from typing import Dict, List

import numpy as np

from tfvisrec.client.status import InvalidArgument
from tfvisrec.client.tensors import TensorError, dtype_name, to_ndarray


def _shape_text(dims) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def expected_shape(tensor_info):
    """The signature's shape of an input as a list (-1 = any size), or None if unknown rank."""
    if tensor_info.tensor_shape.unknown_rank:
        return None
    return [d.size for d in tensor_info.tensor_shape.dim]


def parse_inputs(signature_def, request_inputs, signature_name: str) -> Dict[str, np.ndarray]:
    """Request inputs -> numpy arrays, after checking names, dtypes, shapes and the batch."""
    expected = set(signature_def.inputs)
    sent = set(request_inputs)
    if sent != expected:
        raise InvalidArgument(
            f"input size does not match signature: {len(sent)}!={len(expected)} "
            f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(expected))}}}). "
            f"Sent extra: {{{','.join(sorted(sent - expected))}}}. "
            f"Missing but required: {{{','.join(sorted(expected - sent))}}}.")
    arrays = {}
    for alias in sorted(expected):
        info, proto = signature_def.inputs[alias], request_inputs[alias]
        if proto.dtype != info.dtype:
            raise InvalidArgument(
                f"input '{alias}' has dtype {dtype_name(proto.dtype)} but signature "
                f"'{signature_name}' expects {dtype_name(info.dtype)}")
        try:
            array = to_ndarray(proto)
        except TensorError as e:
            raise InvalidArgument(f"input '{alias}': {e}") from None
        shape = expected_shape(info)
        if shape is not None and (array.ndim != len(shape) or any(
                want >= 0 and want != got for want, got in zip(shape, array.shape))):
            raise InvalidArgument(
                f"input '{alias}' has shape {_shape_text(array.shape)} but signature "
                f"'{signature_name}' expects {_shape_text(shape)} (rank {len(shape)}; -1 = any size)")
        arrays[alias] = array
    _check_batch(arrays)
    return arrays


def _check_batch(arrays: Dict[str, np.ndarray]) -> None:
    """Every input has the same, non-empty, 0th (batch) dimension, as TF Serving batching needs."""
    for alias, array in arrays.items():
        if array.ndim == 0:
            raise InvalidArgument(f"input '{alias}' is a scalar; every input needs a batch "
                                  "(0th) dimension (send [x], not x)")
        if array.shape[0] == 0:
            raise InvalidArgument(f"input '{alias}' has an empty batch (0th) dimension; "
                                  "send at least one row")
    sizes = {alias: array.shape[0] for alias, array in arrays.items()}
    if len(set(sizes.values())) > 1:
        detail = ", ".join(f"{a}: {n}" for a, n in sorted(sizes.items()))
        raise InvalidArgument("Batching Run() input tensors must have equal 0th-dimension "
                              f"size (batch size) ({detail})")  # batching_util.h


def output_aliases(signature_def, output_filter) -> List[str]:
    """The outputs to return: `output_filter`, checked, or all of the signature's outputs."""
    if not output_filter:
        return sorted(signature_def.outputs)
    seen = []
    for alias in output_filter:
        if alias not in signature_def.outputs:
            raise InvalidArgument(
                f"output tensor alias not found in signature: {alias} Outputs expected to be "
                f"in the set {{{','.join(sorted(signature_def.outputs))}}}.")
        if alias in seen:
            raise InvalidArgument(f"duplicate output tensor alias: {alias}")
        seen.append(alias)
    return seen
