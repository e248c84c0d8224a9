"""Merging the inputs of several Predict requests into one batch and splitting the outputs back,
as TF Serving's batching session does (tensorflow_serving/batching/batching_session.cc:
MergeInputTensors, SplitOutputTensors; batching_util.cc: AddPadding).

- Inputs are concatenated along the 0th (batch) dimension, request after request.
- With `pad_variable_length_inputs`, every other dimension is padded up to the largest in the
  batch with the *first element* of that request's tensor (AddPadding's choice).
- With `allowed_batch_sizes`, the batch is padded up to the next allowed size with copies of
  the first row of the last request; those rows are dropped from the outputs.
- Every output must have the merged batch as its 0th dimension (FAILED_PRECONDITION otherwise,
  with TF Serving's words); request r gets rows [offset_r, offset_r + size_r).
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np

from tfvisrec.client.status import FailedPrecondition

Arrays = Dict[str, np.ndarray]


def rows(inputs: Arrays) -> int:
    """A request's batch size (its inputs share the 0th dimension, checked before)."""
    return next(iter(inputs.values())).shape[0]


def shape_key(inputs: Arrays, pad_variable_length: bool) -> Tuple:
    """Requests with equal keys can be merged: same non-batch dims (or same ranks when padded)."""
    if pad_variable_length:
        return tuple((alias, array.ndim) for alias, array in sorted(inputs.items()))
    return tuple((alias, array.shape[1:]) for alias, array in sorted(inputs.items()))


def _pad_to(array: np.ndarray, inner_shape: Sequence[int]) -> np.ndarray:
    if tuple(array.shape[1:]) == tuple(inner_shape):
        return array
    out = np.full((array.shape[0],) + tuple(inner_shape), array.flat[0], dtype=array.dtype)
    out[tuple(slice(0, n) for n in array.shape)] = array
    return out


def merge(requests: List[Arrays], batch_size: int) -> Arrays:
    """The requests' inputs as one batch of `batch_size` rows (>= their total; see module doc)."""
    merged = {}
    total = sum(rows(r) for r in requests)
    for alias in requests[0]:
        parts = [r[alias] for r in requests]
        inner = tuple(np.max([p.shape[1:] for p in parts], axis=0)) if parts[0].ndim > 1 else ()
        parts = [_pad_to(p, inner) for p in parts]
        if batch_size > total:
            parts.append(np.repeat(parts[-1][:1], batch_size - total, axis=0))
        merged[alias] = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    return merged


def split(outputs: Arrays, sizes: Sequence[int], batch_size: int) -> List[Arrays]:
    """Merged outputs -> one dict per request, in the order of `sizes`."""
    for array in outputs.values():
        if array.ndim == 0:
            raise FailedPrecondition("Batched output tensor has 0 dimensions")
        if array.shape[0] != batch_size:
            raise FailedPrecondition(
                "Batched output tensor's 0th dimension does not equal the sum of the 0th "
                "dimension sizes of the input tensors")
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return [{alias: array[start:end] for alias, array in outputs.items()}
            for start, end in zip(offsets[:-1], offsets[1:])]
