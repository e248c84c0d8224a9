"""`flat_call.caller` gives what the keyword call of a loaded signature gives, without binding."""
import numpy as np
import pytest

import tfvisrec  # noqa: F401
import tensorflow as tf

from tfvisrec.serving import flat_call


class _Scorer(tf.Module):
    def __init__(self):
        super().__init__()
        self.table = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="rows"),
                                  tf.TensorSpec([None, 3], tf.float32, name="weights")])
    def score(self, rows, weights):
        picked = tf.gather(tf.convert_to_tensor(self.table), rows)
        return {"total": tf.reduce_sum(picked * weights, axis=1), "picked": picked,
                "label": tf.strings.as_string(rows)}


@pytest.fixture(scope="module")
def signature(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("flat") / "1")
    module = _Scorer()
    tf.saved_model.save(module, path, signatures={"score": module.score})
    return tf.saved_model.load(path).signatures["score"]


def test_flat_call_equals_the_keyword_call(signature):
    inputs = {"weights": np.array([[1, 0, 2], [0.5, 0.5, 0.5]], np.float32),
              "rows": np.array([3, 1], np.int64)}
    call = flat_call.caller(signature)
    assert call.__name__ == "flat"  # the fast path is taken, not the keyword fallback
    got = call(inputs)
    expected = signature(**{k: tf.constant(v) for k, v in inputs.items()})
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value.numpy())
    np.testing.assert_allclose(got["total"], [9 + 2 * 11, 0.5 * (3 + 4 + 5)])


def test_graph_errors_travel_as_op_errors(signature):
    with pytest.raises(tf.errors.InvalidArgumentError):
        flat_call.caller(signature)({"rows": np.array([7], np.int64),
                                     "weights": np.ones((1, 3), np.float32)})
