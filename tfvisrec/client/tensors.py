"""numpy arrays <-> `tensorflow.TensorProto`, in the typed value fields TF Serving answers with.

TF Serving fills responses with `Tensor::AsProtoField` (float_val, int64_val, string_val, ...),
not `tensor_content`; requests may use either. Only numpy and the protos are needed here, so
the client never loads the TensorFlow runtime (see `protos`); the server uses the same code.
"""
from typing import Dict

import numpy as np

from tfvisrec.client.protos import tensor_pb2, tensor_shape_pb2, types_pb2

# DataType -> (numpy dtype, typed value field)
_TYPES = {
    types_pb2.DT_FLOAT: (np.float32, "float_val"),
    types_pb2.DT_DOUBLE: (np.float64, "double_val"),
    types_pb2.DT_INT32: (np.int32, "int_val"),
    types_pb2.DT_INT16: (np.int16, "int_val"),
    types_pb2.DT_INT8: (np.int8, "int_val"),
    types_pb2.DT_UINT8: (np.uint8, "int_val"),
    types_pb2.DT_UINT16: (np.uint16, "int_val"),
    types_pb2.DT_INT64: (np.int64, "int64_val"),
    types_pb2.DT_UINT32: (np.uint32, "uint32_val"),
    types_pb2.DT_UINT64: (np.uint64, "uint64_val"),
    types_pb2.DT_BOOL: (np.bool_, "bool_val"),
    types_pb2.DT_STRING: (object, "string_val"),
}
_FROM_NUMPY = {np.dtype(np_type): dt for dt, (np_type, _) in _TYPES.items() if np_type is not object}
# Typed fields of fixed width, whose packed wire form is the little-endian array itself:
# field number of TensorProto and its wire dtype (tensor.proto: float_val = 5, double_val = 6).
_PACKED_FIXED = {types_pb2.DT_FLOAT: (5, "<f4"), types_pb2.DT_DOUBLE: (6, "<f8")}


class TensorError(ValueError):
    """A TensorProto that cannot be read (bad shape, unsupported dtype, wrong value count)."""


def dtype_name(dtype: int) -> str:
    """`types_pb2.DT_FLOAT` -> "DT_FLOAT" (the names TF Serving prints)."""
    try:
        return types_pb2.DataType.Name(dtype)
    except ValueError:
        return f"DataType({dtype})"


def to_tensor_proto(array) -> tensor_pb2.TensorProto:
    """numpy array (or nested list) -> TensorProto with typed value fields.

    Strings (str or bytes, numpy object/unicode/bytes arrays) become DT_STRING; str is UTF-8 encoded.
    """
    array = np.asarray(array)
    proto = tensor_pb2.TensorProto()
    proto.tensor_shape.CopyFrom(shape_proto(array.shape))
    if array.dtype.kind in ("U", "S", "O"):
        proto.dtype = types_pb2.DT_STRING
        values = array.reshape(-1).tolist()
        try:
            proto.string_val.extend(values)  # all bytes already (e.g. a TensorFlow output)
        except TypeError:
            proto.string_val.extend(_as_bytes(v) for v in values)
        return proto
    if array.dtype == np.float16:
        proto.dtype = types_pb2.DT_HALF
        proto.half_val.extend(array.reshape(-1).view(np.uint16).astype(np.int32).tolist())
        return proto
    if array.dtype not in _FROM_NUMPY:
        raise TensorError(f"unsupported numpy dtype {array.dtype}")
    proto.dtype = _FROM_NUMPY[array.dtype]
    if proto.dtype in _PACKED_FIXED and array.size:
        # the typed field straight from the array's bytes (no Python list: ~50x faster for
        # thousands of values); the wire form is the same as extend() would give
        number, wire_dtype = _PACKED_FIXED[proto.dtype]
        data = np.ascontiguousarray(array, dtype=wire_dtype).tobytes()
        proto.MergeFromString(_varint((number << 3) | 2) + _varint(len(data)) + data)
        return proto
    getattr(proto, _TYPES[proto.dtype][1]).extend(array.reshape(-1).tolist())
    return proto


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def to_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """TensorProto -> numpy array; reads `tensor_content` or the typed field.

    As in TensorFlow, a typed field with fewer values than the shape holds is padded with its
    last value (one value fills the tensor); more values than the shape holds is an error.
    """
    if proto.tensor_shape.unknown_rank:
        raise TensorError("tensor shape has unknown rank")
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    if any(d < 0 for d in shape):
        raise TensorError(f"tensor shape {list(shape)} has a negative dimension")
    size = int(np.prod(shape, dtype=np.int64))
    if proto.dtype == types_pb2.DT_HALF:
        np_type, field = np.float16, "half_val"
    elif proto.dtype in _TYPES:
        np_type, field = _TYPES[proto.dtype]
    else:
        raise TensorError(f"unsupported dtype {dtype_name(proto.dtype)}")
    if proto.tensor_content and np_type is not object:
        flat = np.frombuffer(proto.tensor_content, dtype=np.dtype(np_type).newbyteorder("<"))
        if flat.size != size:
            raise TensorError(f"tensor_content holds {flat.size} values but shape "
                              f"{list(shape)} needs {size}")
        return flat.astype(np_type).reshape(shape)
    values = list(getattr(proto, field))
    if np_type is np.float16:  # half_val holds the IEEE bits as int32
        values = list(np.asarray(values, np.uint16).view(np.float16))
    if len(values) > size:
        raise TensorError(f"{len(values)} values do not fit shape {list(shape)} ({size} elements)")
    if np_type is object:
        out = np.empty(size, dtype=object)
        out[:len(values)] = values
        if 0 < len(values) < size:
            out[len(values):] = values[-1]
        elif not values:
            out[:] = b""
        return out.reshape(shape)
    flat = np.asarray(values, dtype=np_type)
    if 0 < flat.size < size:
        flat = np.concatenate([flat, np.full(size - flat.size, flat[-1], np_type)])
    elif flat.size == 0:
        flat = np.zeros(size, np_type)
    return flat.reshape(shape)


def shape_proto(shape) -> tensor_shape_pb2.TensorShapeProto:
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in shape])


def to_ndarrays(protos) -> Dict[str, np.ndarray]:
    """A proto map of TensorProtos (request inputs / response outputs) -> dict of arrays."""
    return {name: to_ndarray(p) for name, p in protos.items()}


def _as_bytes(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, np.bytes_):
        return bytes(value)
    raise TensorError(f"string tensor holds a {type(value).__name__}, not str/bytes")
