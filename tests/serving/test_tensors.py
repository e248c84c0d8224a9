"""numpy <-> TensorProto conversion against TensorFlow's own make_tensor_proto/make_ndarray."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf

from tfvisrec.client.tensors import TensorError, to_ndarray, to_tensor_proto


@pytest.mark.parametrize("array", [
    np.array([[1.5, -2.25], [3.0, 0.125]], np.float32),
    np.array([1e300, -2.0], np.float64),
    np.array([[1, -2, 3]], np.int32),
    np.array([2 ** 40, -5], np.int64),
    np.array([True, False, True]),
    np.array([0.5, -1.5], np.float16),
    np.array([[b"a", b"\xff\x00jpeg"]], object),
    np.zeros((0, 3), np.float32),
])
def test_round_trip_matches_tensorflow(array):
    proto = to_tensor_proto(array)
    assert proto.tensor_content == b""  # typed value fields, as TF Serving answers
    np.testing.assert_array_equal(tf.make_ndarray(proto), array)
    np.testing.assert_array_equal(to_ndarray(proto), array)
    # and what TensorFlow writes (tensor_content for numbers) reads back the same
    np.testing.assert_array_equal(to_ndarray(tf.make_tensor_proto(array)), array)


def test_python_strings_become_utf8_bytes():
    proto = to_tensor_proto(np.array(["héllo", "u1"]))
    assert list(proto.string_val) == ["héllo".encode("utf-8"), b"u1"]
    assert list(proto.tensor_shape.dim[0].size for _ in [0]) == [2]


def test_typed_field_fills_like_tensorflow():
    proto = tf.make_tensor_proto(np.array([7.0], np.float32))
    proto.ClearField("tensor_content")
    proto.float_val.append(7.0)
    proto.tensor_shape.dim[0].size = 4  # one value fills the tensor, as in TensorFlow
    np.testing.assert_array_equal(to_ndarray(proto), tf.make_ndarray(proto))


def test_bad_protos_raise():
    proto = to_tensor_proto(np.array([1.0, 2.0, 3.0], np.float32))
    proto.tensor_shape.dim[0].size = 2
    with pytest.raises(TensorError, match="do not fit"):
        to_ndarray(proto)
    proto = to_tensor_proto(np.array([1.0], np.float32))
    proto.tensor_shape.unknown_rank = True
    with pytest.raises(TensorError, match="unknown rank"):
        to_ndarray(proto)
    proto = to_tensor_proto(np.array([1.0, 2.0], np.float32))
    proto.ClearField("float_val")
    proto.tensor_content = np.array([1.0], np.float32).tobytes()
    with pytest.raises(TensorError, match="tensor_content"):
        to_ndarray(proto)


@pytest.mark.parametrize("dtype, field", [(np.float32, "float_val"), (np.float64, "double_val")])
def test_floats_from_array_bytes_serialise_as_a_python_list_would(dtype, field):
    array = np.random.default_rng(0).normal(size=(3, 70)).astype(dtype)[:, ::2]  # not contiguous
    reference = tf.make_tensor_proto(array)  # TensorFlow's own proto, for shape and dtype
    reference.ClearField("tensor_content")
    getattr(reference, field).extend(array.reshape(-1).tolist())
    assert to_tensor_proto(array).SerializeToString() == reference.SerializeToString()
